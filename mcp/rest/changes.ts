// Turning a proposal request into changes: either the JSON `{changes, reason}` body or a raw
// multi-document YAML body, read with the safe codec. Each change is completed from the store the
// way `kubectl apply` decides: kind and name come from the object, an object that exists becomes an
// update against its current resourceVersion, one that does not becomes a create.

import { toDesired } from '../../resources/manifests.ts';
import { NotFoundError, SystemManagerError } from '../../resources/errors.ts';
import { isKindName, KINDS, type KindName } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { parseManifestText } from '../../resources/yaml-codec.ts';

/** MAX_REQUEST_CHANGES bounds the changes one request may carry; the Proposal schema allows 100. */
export const MAX_REQUEST_CHANGES = 100;

/** ProposedChange is one change as the Proposal schema defines it (`spec.changes[]`). */
export interface ProposedChange {
  operation: 'create' | 'update' | 'delete';
  kind: KindName;
  name: string;
  baseResourceVersion?: string;
  object?: DesiredResource;
}

const OPERATIONS = new Set(['create', 'update', 'delete', 'apply']);

/** changesFromBody reads the `changes` of a JSON request body and completes each from the store. */
export function changesFromBody(raw: unknown, store: ResourceStore): ProposedChange[] {
  if (!Array.isArray(raw)) throw badRequest('changes must be an array of {operation, object} (or {operation: delete, kind, name})');
  checkCount(raw.length);
  return raw.map((c, i) => completeChange(c, i, store));
}

/** changesFromYaml reads every document of a YAML text as an object to create or update. */
export function changesFromYaml(text: string, store: ResourceStore): ProposedChange[] {
  const { documents, errors } = parseManifestText(text, 'request body');
  if (errors.length) throw new SystemManagerError(errors[0]!.code, errors.map((e) => e.message).join('; '));
  checkCount(documents.length);
  return documents.map((d, i) => completeChange({ operation: 'apply', object: d.value }, i, store));
}

function checkCount(n: number): void {
  if (n === 0) throw badRequest('a proposal needs at least one change');
  if (n > MAX_REQUEST_CHANGES) {
    throw new SystemManagerError('PROPOSAL_TOO_LARGE', `a proposal may hold at most ${MAX_REQUEST_CHANGES} changes, this one has ${n}; split it`);
  }
}

function completeChange(raw: unknown, i: number, store: ResourceStore): ProposedChange {
  const where = `changes[${i}]`;
  if (!isObject(raw)) throw badRequest(`${where} must be an object`);
  const op = raw.operation ?? 'apply';
  if (typeof op !== 'string' || !OPERATIONS.has(op)) throw badRequest(`${where}.operation must be create, update, delete or apply`);
  const object = raw.object;
  let kind: unknown = raw.kind;
  let name: unknown = raw.name;
  if (object !== undefined) {
    if (!isObject(object) || !isObject(object.metadata)) throw badRequest(`${where}.object must be a resource with metadata`);
    kind ??= object.kind;
    name ??= object.metadata.name;
    if (object.kind !== kind || object.metadata.name !== name) throw badRequest(`${where}: kind and name must match the object's`);
  }
  if (!isKindName(kind)) throw new SystemManagerError('UNKNOWN_KIND', `${where}: unknown kind ${JSON.stringify(kind)}`);
  if (KINDS[kind].storage === 'state') throw badRequest(`${where}: ${kind} resources are created by the server, not proposed`);
  if (typeof name !== 'string' || name === '') throw badRequest(`${where}: a name is needed`);
  const current = store.get(kind, name);
  if (op === 'delete') {
    if (object !== undefined) throw badRequest(`${where}: delete takes kind and name, not an object`);
    if (!current && str(raw.baseResourceVersion) === undefined) throw new NotFoundError(kind, name);
    return { operation: 'delete', kind, name, baseResourceVersion: str(raw.baseResourceVersion) ?? current?.metadata.resourceVersion ?? '0' };
  }
  if (object === undefined) throw badRequest(`${where}: ${op} needs an object`);
  const operation = op === 'apply' ? (current ? 'update' : 'create') : op;
  const desired = toDesired(object as unknown as DesiredResource); // validated against its kind by the proposal service
  if (operation === 'create') return { operation, kind, name, object: desired };
  return { operation: 'update', kind, name, baseResourceVersion: str(raw.baseResourceVersion) ?? current?.metadata.resourceVersion ?? '0', object: desired };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> & { metadata?: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function badRequest(message: string): SystemManagerError {
  return new SystemManagerError('BAD_REQUEST', message);
}
