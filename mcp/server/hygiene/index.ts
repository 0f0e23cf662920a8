// Input hygiene for the tools that touch the file system, the network and container logs: the
// path guard (allowed roots, realpath, no symlink escapes, no special files), host validation,
// the SSRF guard of http_request_test (with an injectable resolver and connector, so tests can prove
// no traffic leaves the machine), the safe matcher for searches, and the log analysis rules. Every
// refusal is a ToolError with a stable code. This folder may import resources/, node builtins and
// ../framework.ts; the tools in ../tools/ import it.

export { FileRoots, MAX_PATH_BYTES, SPECIAL_TREES } from './paths.ts';
export type { GuardedPath, OpenedFile } from './paths.ts';
export { hostKind, validateHost } from './hosts.ts';
export type { ValidHost } from './hosts.ts';
export { AddressPolicy, blockedReason, unmapIPv4 } from './addresses.ts';
export { checkUrl, directConnector, guardedRequest, systemResolver } from './http-guard.ts';
export type { Connector, GuardedRequestOptions, GuardedResponse, Hop, Resolver, ResolvedAddress } from './http-guard.ts';
export { compileMatcher, MAX_PATTERN_LENGTH, MAX_GLOB_STARS } from './matcher.ts';
export type { Matcher, MatchMode } from './matcher.ts';
export { LogAnalyzer, normalizeSignature, LOG_RULES } from './log-analysis.ts';
export type { ContainerRuntimeState, LogAnalysis, LogRule } from './log-analysis.ts';
