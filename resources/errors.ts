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
