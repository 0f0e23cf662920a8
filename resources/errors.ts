// Every failure the server reports has one class here with a stable code. Codes are part of the API
// (CLI `-o json`, REST bodies, MCP tool results): never rename one. docs/errors.md documents each,
// and a test keeps the two in step.

/** ERROR_CODES lists every stable error code with the HTTP status it maps to and a one-line meaning. */
export const ERROR_CODES = {
  YAML_INVALID: { status: 400, summary: 'A manifest is not well-formed YAML, or uses a YAML feature the safe codec refuses.' },
  FILE_UNREADABLE: { status: 400, summary: 'A manifest file cannot be read: too large, not UTF-8 text, a special file, or outside the manifests directory.' },
  SCHEMA_INVALID: { status: 422, summary: 'A resource does not match the JSON Schema of its kind.' },
  UNKNOWN_KIND: { status: 422, summary: 'A document names an apiVersion or kind this server does not know.' },
  DUPLICATE_RESOURCE: { status: 409, summary: 'Two manifest files define the same kind/name.' },
  NOT_FOUND: { status: 404, summary: 'The named resource does not exist.' },
  CONFLICT: { status: 409, summary: 'An update carried a stale resourceVersion; re-read the resource and try again.' },
  ALREADY_EXISTS: { status: 409, summary: 'A create named a resource that already exists.' },
  STATE_IO: { status: 500, summary: 'The state directory could not be read or written.' },
  BAD_REQUEST: { status: 400, summary: 'A request is malformed: not valid JSON or YAML, or missing a required field.' },
  TOKEN_IN_QUERY: { status: 400, summary: 'A bearer token was sent in the URL query string; it is refused there and must go in the Authorization header.' },
  UNAUTHENTICATED: { status: 401, summary: 'No bearer token, or one that is malformed, unknown, expired or revoked.' },
  FORBIDDEN_SCOPE: { status: 403, summary: 'The token lacks the scope the request needs (insufficient_scope).' },
  FORBIDDEN_HOST: { status: 403, summary: 'The Host header names a host this server does not answer for (DNS-rebinding protection).' },
  FORBIDDEN_ORIGIN: { status: 403, summary: 'A browser Origin that is not allowed (DNS-rebinding and cross-site protection).' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'The REST API does not change resources directly; changes go through proposals.' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'The request body is larger than the server accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The request body has a Content-Type the endpoint does not read.' },
  RATE_LIMITED: { status: 429, summary: 'Too many requests with this token in the last minute; retry after the Retry-After seconds.' },
  PROPOSAL_NOT_FOUND: { status: 404, summary: 'No proposal has this name.' },
  SELF_APPROVAL: { status: 403, summary: 'The approver is the proposer; approval needs a different identity (two-person rule).' },
  PROPOSAL_NOT_PENDING: { status: 409, summary: 'The proposal can no longer be decided: it is expired, rejected, applied, stale, failed or being applied.' },
  PROPOSAL_STALE: { status: 409, summary: 'A target changed since the proposal was made; it was marked Stale and not applied.' },
  PROPOSAL_TOO_LARGE: { status: 413, summary: 'The proposal has more changes, or a larger diff, than the server accepts.' },
  AUDIT_UNAVAILABLE: { status: 503, summary: 'The audit log cannot be written, so mutating requests are refused (fail closed).' },
  MANIFEST_PATH_OUTSIDE: { status: 400, summary: 'A manifest path a proposal would write resolves outside the manifests directory.' },
  APPLY_FAILED: { status: 500, summary: 'Writing an approved proposal to the manifests directory (or committing it) failed; the proposal is Failed.' },
  PACKAGE_INVALID: { status: 422, summary: 'A package name or version breaks Debian\'s rules; nothing was passed to apt.' },
  PACKAGE_NOT_AVAILABLE: { status: 404, summary: 'The configured repositories offer no such package, or not the pinned version.' },
  APT_LOCKED: { status: 503, summary: 'Another process held the dpkg lock for longer than the lock timeout.' },
  APT_FAILED: { status: 500, summary: 'apt-get or dpkg ran and failed; the message carries their own error lines.' },
  APT_MISSING: { status: 503, summary: 'apt-get, apt-cache or dpkg-query is not installed on this host.' },
  INVALID_ARGUMENTS: { status: 400, summary: 'An MCP tool call\'s arguments do not match the tool\'s input schema (unknown fields, wrong types, too long).' },
  NO_CHANGE: { status: 409, summary: 'The requested change would not change anything, so no proposal was made.' },
  SERVICE_UNAVAILABLE: { status: 503, summary: 'A service the request needs (the proposal service) is not running on this server.' },
  FILE_ROOTS_NOT_CONFIGURED: { status: 503, summary: 'file_operations is off: the server was started without any --file-root.' },
  PATH_INVALID: { status: 400, summary: 'A file path is malformed: a NUL byte, `~`, a `..` segment, percent-encoding, or too long.' },
  PATH_FORBIDDEN: { status: 403, summary: 'A file path resolves outside the allowed roots (also through a symlink), or names a special file (FIFO, device, socket, /proc).' },
  PATTERN_TOO_COMPLEX: { status: 400, summary: 'A search pattern is longer, or has more wildcards, than the safe matcher accepts.' },
  HOST_INVALID: { status: 400, summary: 'A host is neither a valid hostname nor an IP literal (or starts with `-`).' },
  URL_INVALID: { status: 400, summary: 'A URL is malformed, not http/https, or carries credentials.' },
  ADDRESS_BLOCKED: { status: 403, summary: 'http_request_test refused an address (loopback, private, link-local, CGNAT/tailnet, unspecified, metadata...) that the allowlist does not permit.' },
  HTTP_REQUEST_FAILED: { status: 502, summary: 'http_request_test or check_ssl_certificate could not complete (connection, TLS handshake, timeout, too many redirects).' },
  BINARY_MISSING: { status: 503, summary: 'A system program a tool runs (ping, traceroute) is not installed on this host.' },
  INTERNAL: { status: 500, summary: 'An unexpected failure; the server log has the details.' },
  DOCKER_UNAVAILABLE: { status: 503, summary: 'The Docker engine cannot be reached on its socket (not running, restarting, or no permission).' },
  DOCKER_API_ERROR: { status: 502, summary: "The Docker engine refused a request; the message is the daemon's own." },
  IMAGE_NOT_PRESENT: { status: 409, summary: 'The image is missing locally and pullPolicy Never forbids pulling it.' },
  IMAGE_PULL_FAILED: { status: 502, summary: 'Pulling the image failed (registry unreachable, unknown image, no permission).' },
  CONTAINER_START_FAILED: { status: 500, summary: 'Docker created the container but could not start it (port in use, missing command...); retried with backoff.' },
} as const;

/** ErrorCode is one of the stable codes in ERROR_CODES. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** SystemManagerError is the base of every error with a stable code. */
export class SystemManagerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  /** httpStatus is the status code a REST response for this error carries. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].status;
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Where points at the place in a manifest a problem was found. */
export interface Where {
  file?: string;
  line?: number;
  column?: number;
  /** 0-based index of the YAML document in its file. */
  document?: number;
  /** `Kind/name` when known. */
  resource?: string;
  /** JSON pointer into the document, e.g. `/spec/ports/0/hostPort`. */
  pointer?: string;
}

/** formatWhere renders `file:line:col: Kind/name: /pointer: ` for the front of a message. */
export function formatWhere(where: Where): string {
  const parts: string[] = [];
  if (where.file) {
    let loc = where.file;
    if (where.line !== undefined) loc += `:${where.line}`;
    if (where.line !== undefined && where.column !== undefined) loc += `:${where.column}`;
    parts.push(loc);
  }
  if (where.document !== undefined && where.resource === undefined) parts.push(`document ${where.document + 1}`);
  if (where.resource) parts.push(where.resource);
  if (where.pointer !== undefined) parts.push(where.pointer === '' ? '/' : where.pointer);
  return parts.length ? `${parts.join(': ')}: ` : '';
}

/** ManifestError is a problem with one place in one manifest file. Its message starts with where it is. */
export class ManifestError extends SystemManagerError {
  readonly where: Where;
  readonly detail: string;
  constructor(code: ErrorCode, where: Where, detail: string, options?: { cause?: unknown }) {
    super(code, `${formatWhere(where)}${detail}`, options);
    this.where = where;
    this.detail = detail;
  }
  override toJSON(): { code: ErrorCode; message: string } & Where & { detail: string } {
    return { code: this.code, message: this.message, ...this.where, detail: this.detail };
  }
}

/** NotFoundError: the named resource does not exist. */
export class NotFoundError extends SystemManagerError {
  constructor(kind: string, name: string) {
    super('NOT_FOUND', `${kind}/${name} not found`);
  }
}

/** ConflictError: optimistic concurrency refused an update with a stale resourceVersion. */
export class ConflictError extends SystemManagerError {
  constructor(kind: string, name: string, expected: string, actual: string | undefined) {
    super(
      'CONFLICT',
      `${kind}/${name}: the object has been modified (resourceVersion ${expected} expected, ${actual ?? 'none'} found); re-read it and try again`,
    );
  }
}

/** AlreadyExistsError: a create named an existing resource. */
export class AlreadyExistsError extends SystemManagerError {
  constructor(kind: string, name: string) {
    super('ALREADY_EXISTS', `${kind}/${name} already exists`);
  }
}

/** StateIOError: the state directory failed us. */
export class StateIOError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_IO', message, options);
  }
}

/** ForbiddenScopeError: the caller's token lacks `scope` (OAuth's insufficient_scope). */
export class ForbiddenScopeError extends SystemManagerError {
  readonly scope: string;
  constructor(scope: string, action?: string) {
    super('FORBIDDEN_SCOPE', `insufficient_scope: ${action ? `${action} needs` : 'this needs'} the ${scope} scope`);
    this.scope = scope;
  }
  override toJSON(): { code: ErrorCode; message: string; error: 'insufficient_scope'; scope: string } {
    return { code: this.code, message: this.message, error: 'insufficient_scope', scope: this.scope };
  }
}
