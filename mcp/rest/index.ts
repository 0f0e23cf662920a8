// The REST API under /api/v1alpha1: Kubernetes-shaped reads of every kind (list, get, describe),
// proposals (list, get, create from changes or a YAML body, approve, reject) and whoami. It is what
// the operator CLI and the approvals page talk to. It never changes a resource directly: every
// write is a proposal. The guards in mcp/http run before it. This folder imports resources/,
// controllers/ and mcp/http only.

export { createRestRouter, REST_PREFIX } from './router.ts';
export type { ProposalApi, RestOptions } from './router.ts';
export { changesFromBody, changesFromYaml, MAX_REQUEST_CHANGES } from './changes.ts';
export type { ProposedChange } from './changes.ts';
export { describeResource } from './describe.ts';
export type { Description } from './describe.ts';
