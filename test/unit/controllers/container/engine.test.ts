import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerApiError, DockerUnavailableError, createDockerEngine, demultiplex, mapError } from '../../../../controllers/container/engine.ts';

test('demultiplex strips the frame headers of non-TTY container logs', () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };
  assert.equal(demultiplex(Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n')])), 'out line\nerr line\n');
  assert.equal(demultiplex(Buffer.from('plain tty text\n')), 'plain tty text\n');
});

test("mapError keeps the daemon's message, also for streamed endpoints, and names the socket for transport failures", () => {
  const api = Object.assign(new Error('(HTTP code 400) unexpected - ignored'), { statusCode: 400, json: { message: 'invalid mount config' } });
  const e1 = mapError('create container web', '/s.sock', api);
  assert.ok(e1 instanceof DockerApiError);
  assert.equal(e1.statusCode, 400);
  assert.equal(e1.daemonMessage, 'invalid mount config');
  const streamed = Object.assign(new Error('(HTTP code 500) server error - Get "http://127.0.0.1:1/v2/": connection refused '), { statusCode: 500, json: null, reason: 'server error' });
  assert.equal((mapError('pull x', '/s.sock', streamed) as DockerApiError).daemonMessage, 'Get "http://127.0.0.1:1/v2/": connection refused');
  const refused = Object.assign(new Error('connect ECONNREFUSED /s.sock'), { code: 'ECONNREFUSED' });
  const e3 = mapError('list containers', '/s.sock', refused);
  assert.ok(e3 instanceof DockerUnavailableError);
  assert.equal((e3 as DockerUnavailableError & { code: string }).code, 'DOCKER_UNAVAILABLE');
  assert.match(e3.message, /cannot reach the Docker engine at \/s\.sock: list containers: ECONNREFUSED/);
});

test('the dockerode adapter reports a missing socket as DockerUnavailable, with the socket path', async () => {
  const engine = createDockerEngine({ socketPath: '/nonexistent/docker.sock', callTimeoutMs: 2000 });
  await assert.rejects(engine.ping(), (err: Error) => err instanceof DockerUnavailableError && /\/nonexistent\/docker\.sock/.test(err.message));
  await assert.rejects(engine.listContainers({}), DockerUnavailableError);
});
