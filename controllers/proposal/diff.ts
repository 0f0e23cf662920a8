// What a proposal shows: each target rendered as the manifest YAML the server would write, a
// unified diff per resource (stored uncolored in status.diff), and the terminal rendering with
// ANSI colors. Also the desired-state fingerprint that staleness is decided by.

import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { sha256Hex } from '../../resources/canonical.ts';
import type { Resource, DesiredResource } from '../../resources/types.ts';
import { stringifyManifest } from '../../resources/yaml-codec.ts';

/** toDesired is resources/manifests.ts's: what a manifest declares, without server-set fields. */
export { toDesired } from '../../resources/manifests.ts';

/**
 * ABSENT is the fingerprint of a target that does not exist. A fingerprint is the hash of a target's
 * desired state (labels, annotations, spec), not its resourceVersion: status writes bump
 * resourceVersion constantly, and they must not make proposals stale.
 */
export const ABSENT = 'absent';

/** desiredFingerprint hashes a target's desired state; ABSENT when there is none. */
export function desiredFingerprint(object: Pick<Resource, 'spec'> & { metadata: DesiredResource['metadata'] } | undefined): string {
  if (!object) return ABSENT;
  return `sha256:${sha256Hex({ labels: object.metadata.labels ?? {}, annotations: object.metadata.annotations ?? {}, spec: object.spec ?? {} })}`;
}

/** manifestYaml renders one resource as the YAML document the server writes. */
export function manifestYaml(resource: DesiredResource | undefined): string {
  return resource ? stringifyManifest([resource]) : '';
}

/** resourceDiff is the unified diff of one resource at `path` (relative to the manifests directory). */
export function resourceDiff(path: string, before: DesiredResource | undefined, after: DesiredResource | undefined): string {
  return createTwoFilesPatch(
    before ? `a/${path}` : '/dev/null',
    after ? `b/${path}` : '/dev/null',
    manifestYaml(before),
    manifestYaml(after),
    undefined,
    undefined,
    { context: 3, headerOptions: FILE_HEADERS_ONLY },
  );
}

const ANSI = { red: '\u001b[31m', green: '\u001b[32m', cyan: '\u001b[36m', bold: '\u001b[1m', reset: '\u001b[0m' };

/** renderDiff returns a proposal's stored diff, with ANSI colors for a terminal when `color` is set. */
export function renderDiff(proposal: Pick<Resource, 'status'>, opts: { color: boolean }): string {
  const diff = typeof proposal.status?.diff === 'string' ? proposal.status.diff : '';
  if (!opts.color) return diff;
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++')) return `${ANSI.bold}${line}${ANSI.reset}`;
      if (line.startsWith('@@')) return `${ANSI.cyan}${line}${ANSI.reset}`;
      if (line.startsWith('+')) return `${ANSI.green}${line}${ANSI.reset}`;
      if (line.startsWith('-')) return `${ANSI.red}${line}${ANSI.reset}`;
      return line;
    })
    .join('\n');
}
