import { EventLogError } from '../log/errors.js';

/**
 * What the local server refuses before the app sees a request, beyond what the app itself
 * checks: requests a web page in a browser could send to a server on this machine.
 *
 * - Cross-site requests: an `Origin` other than the server's own, or `Sec-Fetch-Site` other
 *   than same-origin or none (a typed URL). Browsers send these on every cross-site POST.
 * - DNS rebinding, with auth off: a `Host` that is not a loopback name or address (a page of
 *   evil.example resolved to 127.0.0.1 still says Host: evil.example).
 * - Bodies of the types a page may send without a CORS preflight (text/plain, forms) or
 *   none at all: bodies are JSON (`application/json`, `...+json`), and on Lambda's Invoke
 *   path also `application/octet-stream`, which the AWS SDK sends and no simple request can.
 */

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const JSON_TYPE = /^application\/(?:json|[a-z0-9.+-]+\+json)$/i;
const INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations$/;

export interface GuardOptions {
  /** With auth on, any Host is fine: every request needs credentials anyway. */
  authEnabled: boolean;
  /** The peer's address: Lambda's Invoke API (local handlers) answers loopback peers only. */
  remoteAddress?: string | undefined;
}

const LOOPBACK_PEER = /^(127\.|::1$|::ffff:127\.)/;

export function localRequestProblem(
  request: Request,
  options: GuardOptions,
): EventLogError | undefined {
  const url = new URL(request.url);
  const host = request.headers.get('host') ?? url.host;
  const hostname = host.replace(/:\d+$/, '');
  if (!options.authEnabled && !LOOPBACK_HOST.test(hostname)) {
    return forbidden(
      `Host ${host} is not a loopback name; with auth off this server answers only those`,
    );
  }
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== `http://${host}` && origin !== `https://${host}`) {
    return forbidden(`Cross-site request from ${origin} refused`);
  }
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    return forbidden(`Cross-site request (Sec-Fetch-Site: ${site}) refused`);
  }
  if (INVOKE_PATH.test(url.pathname) && !LOOPBACK_PEER.test(options.remoteAddress ?? '')) {
    return forbidden('Lambda’s Invoke API of the local server answers this machine only');
  }
  const length = request.headers.get('content-length');
  const hasBody = (length !== null && length !== '0') || request.headers.has('transfer-encoding');
  if (hasBody) {
    const type = (request.headers.get('content-type') ?? '').split(';', 1)[0]?.trim() ?? '';
    const invoke = INVOKE_PATH.test(url.pathname);
    if (!JSON_TYPE.test(type) && !(invoke && type.toLowerCase() === 'application/octet-stream')) {
      return new EventLogError(
        'UNSUPPORTED_MEDIA_TYPE',
        `A request body here is JSON${invoke ? ' (or application/octet-stream)' : ''}; got ${type === '' ? 'no Content-Type' : type}`,
      );
    }
  }
  return undefined;
}

function forbidden(message: string): EventLogError {
  return new EventLogError('AUTHORIZATION_FAILED', message, { details: { local: true } });
}
