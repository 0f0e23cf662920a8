// The matcher of file searches. Patterns are never regular expressions: a pattern is a literal
// substring, or a restricted glob (`*` any run, `?` one character) matched by the classic
// two-pointer wildcard algorithm, which backtracks only to the last `*` — time O(text × pattern)
// at worst, never exponential. Pattern length and the number of `*` are capped too, and searches
// run under a deadline besides, so no pattern can hold the server.

import { ToolError } from '../framework.ts';

/** MatchMode is how a pattern is read. */
export type MatchMode = 'literal' | 'glob';

/** MAX_PATTERN_LENGTH is the longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 256;
/** MAX_GLOB_STARS is the most `*` a glob may have. */
export const MAX_GLOB_STARS = 8;

/** Matcher tests one string. `whole`: the glob must match the whole text (names); otherwise anywhere in it (content). */
export type Matcher = (text: string) => boolean;

/** compileMatcher checks a pattern and returns its matcher; over-long or over-starred patterns throw PATTERN_TOO_COMPLEX. */
export function compileMatcher(pattern: string, mode: MatchMode, opts: { whole: boolean; caseSensitive?: boolean }): Matcher {
  if (pattern.length === 0) throw new ToolError('INVALID_ARGUMENTS', 'the search pattern is empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new ToolError('PATTERN_TOO_COMPLEX', `refused pattern: ${pattern.length} characters; the limit is ${MAX_PATTERN_LENGTH}`);
  if (pattern.includes('\0')) throw new ToolError('INVALID_ARGUMENTS', 'the search pattern contains a NUL byte');
  const fold = opts.caseSensitive === false;
  const p = fold ? pattern.toLowerCase() : pattern;
  if (mode === 'literal') {
    return opts.whole ? (text) => (fold ? text.toLowerCase() : text) === p : (text) => (fold ? text.toLowerCase() : text).includes(p);
  }
  const stars = [...pattern].filter((c) => c === '*').length;
  if (stars > MAX_GLOB_STARS) {
    throw new ToolError('PATTERN_TOO_COMPLEX', `refused pattern: a glob may have at most ${MAX_GLOB_STARS} "*" (this one has ${stars}); patterns are literal text or simple globs, never regular expressions`);
  }
  // Content search looks for the glob anywhere in a line: the same as a whole match of *glob*.
  const glob = opts.whole ? p : `*${p}*`;
  return (text) => wildcardMatch(fold ? text.toLowerCase() : text, glob);
}

function wildcardMatch(text: string, glob: string): boolean {
  let t = 0;
  let g = 0;
  let starG = -1;
  let starT = 0;
  while (t < text.length) {
    const c = glob[g];
    if (c === '?' || (c !== undefined && c !== '*' && c === text[t])) {
      t++;
      g++;
    } else if (c === '*') {
      starG = g++;
      starT = t;
    } else if (starG >= 0) {
      g = starG + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}
