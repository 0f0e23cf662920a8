// Proves the wiring for real parts: the Docker engine started by scripts/start-dockerd.sh answers on
// its socket and holds the test image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_HINT, TEST_IMAGE, dockerAvailable, dockerRequest, requirePart } from '../support/parts.ts';

test('Docker engine answers /_ping with OK', async (t) => {
  if (!(await requirePart(t, 'Docker engine', dockerAvailable, DOCKER_HINT))) return;
  const res = await dockerRequest('/_ping');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'OK');
});

test(`test image ${TEST_IMAGE} exists`, async (t) => {
  if (!(await requirePart(t, 'Docker engine', dockerAvailable, DOCKER_HINT))) return;
  const res = await dockerRequest(`/images/${TEST_IMAGE}/json`);
  assert.equal(res.status, 200, `GET /images/${TEST_IMAGE}/json: ${res.status} ${res.body}`);
  const image = JSON.parse(res.body) as { RepoTags?: string[] };
  assert.ok(image.RepoTags?.includes(TEST_IMAGE), `RepoTags: ${JSON.stringify(image.RepoTags)}`);
});
