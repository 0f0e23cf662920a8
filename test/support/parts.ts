// Helpers for tests that need real parts (DESIGN §10): a missing part skips the test and says why,
// or fails it naming the part when SYSTEMMANAGER_REQUIRE_ALL=1 (as in CI).
import { request } from 'node:http';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';

/** TEST_IMAGE is the local image built by scripts/start-dockerd.sh (nothing can be pulled). */
export const TEST_IMAGE = 'systemmanager-test/busybox:1';

/** DOCKER_SOCKET is the Docker engine's socket: $DOCKER_SOCKET or /var/run/docker.sock. */
export const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';

/**
 * requirePart returns true when `available` says the part is there. Otherwise it throws (when
 * SYSTEMMANAGER_REQUIRE_ALL=1) or skips the test `t`, naming the part and the hint, and returns false;
 * the caller then returns: `if (!(await requirePart(t, 'Docker engine', dockerAvailable, DOCKER_HINT))) return;`
 * Message: "<part> is required (SYSTEMMANAGER_REQUIRE_ALL=1) but not available: <hint>".
 */
export async function requirePart(
  t: TestContext,
  part: string,
  available: () => Promise<boolean> | boolean,
  hint: string,
): Promise<boolean> {
  let ok = false;
  try {
    ok = await available();
  } catch {
    ok = false;
  }
  if (ok) return true;
  if (process.env.SYSTEMMANAGER_REQUIRE_ALL === '1') {
    throw new Error(`${part} is required (SYSTEMMANAGER_REQUIRE_ALL=1) but not available: ${hint}`);
  }
  t.skip(`${part} not available: ${hint}`);
  return false;
}

/** dockerRequest sends one HTTP request to the Docker engine over its unix socket (2 s timeout). */
export function dockerRequest(
  path: string,
  socketPath: string = DOCKER_SOCKET,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within 2 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** dockerAvailable tells whether a Docker engine answers GET /_ping with OK on socketPath. */
export async function dockerAvailable(socketPath: string = DOCKER_SOCKET): Promise<boolean> {
  try {
    const { status, body } = await dockerRequest('/_ping', socketPath);
    return status === 200 && body.trim() === 'OK';
  } catch {
    return false;
  }
}

/** commandAvailable tells whether cmd is an executable file, by path or found in $PATH. */
export function commandAvailable(cmd: string): boolean {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d)).map((d) => join(d, cmd));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** DOCKER_HINT is the hint for requirePart when the Docker engine is missing. */
export const DOCKER_HINT = `no answer on ${DOCKER_SOCKET}; run scripts/start-dockerd.sh (as root)`;
