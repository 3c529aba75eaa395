import { EventLogError } from '../log/errors.js';

/**
 * Request paths that could mean one route to a front door's path check (an IAM grant on the
 * request path, a WAF rule, a log filter) and another to the router are refused with 400
 * before anything routes them: dot segments (`.`, `..`, literal or percent-encoded in any
 * case: `%2e`, `%2E.`), backslashes (which URL parsers turn into `/`) and encoded slashes and
 * backslashes (`%2F`, `%5C`, which routers and proxies disagree about).
 *
 * Checked twice, since a URL parser resolves dot segments before the app sees them: on the
 * raw path in the Lambda entry and the local server (before Hono's adapter builds a URL), and
 * in the app itself on whatever URL it was given.
 */

const ENCODED_SEPARATOR = /%2f|%5c/i;

/** The reason a raw path is refused, or undefined when it is fine. */
export function rawPathProblem(rawPath: string): string | undefined {
  const path = rawPath.split('?', 1)[0] ?? '';
  if (path.includes('\\')) return 'a backslash';
  if (ENCODED_SEPARATOR.test(path)) return 'an encoded "/" or "\\"';
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return 'a dot segment';
  }
  return undefined;
}

export function checkRawPath(rawPath: string): void {
  const problem = rawPathProblem(rawPath);
  if (problem !== undefined) throw badPath(problem);
}

export function badPath(problem: string): EventLogError {
  return new EventLogError(
    'INVALID_REQUEST',
    `The request path holds ${problem}, which this API refuses before routing`,
    { details: { field: 'path' } },
  );
}

/** The path part of an absolute URL as written, before any parser normalizes it. */
export function pathOfUrl(url: string): string {
  const match = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  const rest = match === null ? url : url.slice(match[0].length);
  return rest.split('#', 1)[0] ?? '';
}
