import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { AuthService } from '../../lib/broker/auth.js';
import type { Grant, MatrixRequest } from './auth-matrix.js';

/**
 * A local OIDC issuer for tests: its own key pair, its discovery document and JWKS served on
 * loopback (no network), and tokens signed with its private key.
 */
export interface TestIssuer {
  issuer: string;
  audience: string;
  jwks: { keys: JWK[] };
  token(subject: string, options?: { audience?: string; expiresIn?: string }): Promise<string>;
  /** The JWKS was fetched this many times (discovery included). */
  fetches(): number;
  close(): Promise<void>;
}

export async function startTestIssuer(audience = 'eventlog-test'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  let fetches = 0;
  let base = '';
  const server: Server = createServer((request, response) => {
    fetches++;
    response.setHeader('content-type', 'application/json');
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks.json` }));
    } else if (request.url === '/jwks.json') {
      response.end(JSON.stringify({ keys: [jwk] }));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: base,
    audience,
    jwks: { keys: [jwk] },
    token: (subject, options = {}) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setIssuer(base)
        .setAudience(options.audience ?? audience)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m')
        .sign(privateKey),
    fetches: () => fetches,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Writes a principal's grants. */
export async function grant(auth: AuthService, principal: string, grants: Grant[]): Promise<void> {
  for (const g of grants) await auth.addAcl({ ...g, principal });
}

/** A fetch Request for a matrix row's request. */
export function toRequest(
  base: string,
  request: MatrixRequest,
  headers: Record<string, string> = {},
): Request {
  const all: Record<string, string> = { ...headers };
  if (request.contentType !== undefined) all['content-type'] = request.contentType;
  if (request.accept !== undefined) all['accept'] = request.accept;
  return new Request(`${base}${request.path}`, {
    method: request.method,
    headers: all,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
}
