// The load generator of mcp.bench.ts, in its own process as real MCP clients are: N SDK clients over
// Streamable HTTP call one tool in a loop for a fixed time and print their counts as JSON.
//   node --import tsx test/bench/mcp-load-client.ts URL DURATION_MS TOOL TOKEN...

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, durationArg, tool, ...tokens] = process.argv.slice(2);
const clients: Client[] = [];
for (const [i, token] of tokens.entries()) {
  const c = new Client({ name: `bench-${i}`, version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  clients.push(c);
}
let ok = 0;
let errors = 0;
const t0 = performance.now();
const end = t0 + Number(durationArg);
await Promise.all(
  clients.map(async (c) => {
    while (performance.now() < end) {
      try {
        const r = await c.callTool({ name: tool!, arguments: {} });
        if (r.isError) errors++;
        else ok++;
      } catch {
        errors++;
      }
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
for (const c of clients) await c.close();
process.stdout.write(`${JSON.stringify({ ok, errors, seconds })}\n`);
