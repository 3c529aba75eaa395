import type { JwtOptions } from '../broker/auth.js';
import type { RateLimitOptions } from './rate-limit.js';

/**
 * Authorization settings from the environment, read the same way by the Lambda entry (where
 * the CDK construct sets them) and the local server. Names are in lib/store/resources.ts's
 * style: plain strings, no secrets (a JWKS is public, API keys live hashed in DynamoDB).
 */
export const AUTH_ENV = {
  /** `on` or `off`. The Lambda entry defaults to on, the local server to off. */
  mode: 'EVENTLOG_AUTH',
  jwtIssuer: 'EVENTLOG_JWT_ISSUER',
  jwtAudience: 'EVENTLOG_JWT_AUDIENCE',
  jwtPrincipalClaim: 'EVENTLOG_JWT_PRINCIPAL_CLAIM',
  jwtJwksUrl: 'EVENTLOG_JWT_JWKS_URL',
  /** A JWKS document (JSON) instead of a URL. */
  jwtJwks: 'EVENTLOG_JWT_JWKS',
  /** Requests per second per principal; unset: no limit. */
  rateLimit: 'EVENTLOG_RATE_LIMIT_RPS',
  rateBurst: 'EVENTLOG_RATE_LIMIT_BURST',
} as const;

export interface AuthSettings {
  enabled: boolean;
  jwt?: JwtOptions;
  rateLimit?: RateLimitOptions;
}

export function authSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  defaultMode: 'on' | 'off',
): AuthSettings {
  const get = (name: string) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const mode = get(AUTH_ENV.mode) ?? defaultMode;
  if (mode !== 'on' && mode !== 'off') {
    throw new Error(`${AUTH_ENV.mode} must be on or off, got "${mode}"`);
  }
  const settings: AuthSettings = { enabled: mode === 'on' };
  const issuer = get(AUTH_ENV.jwtIssuer);
  if (issuer !== undefined) {
    const audience = get(AUTH_ENV.jwtAudience);
    if (audience === undefined) {
      throw new Error(`${AUTH_ENV.jwtIssuer} needs ${AUTH_ENV.jwtAudience}`);
    }
    const claim = get(AUTH_ENV.jwtPrincipalClaim);
    const jwksUrl = get(AUTH_ENV.jwtJwksUrl);
    const jwks = get(AUTH_ENV.jwtJwks);
    settings.jwt = {
      issuer,
      audience,
      ...(claim === undefined ? {} : { principalClaim: claim }),
      ...(jwksUrl === undefined ? {} : { jwksUrl }),
      ...(jwks === undefined ? {} : { jwks: JSON.parse(jwks) }),
    };
  }
  const rps = get(AUTH_ENV.rateLimit);
  if (rps !== undefined) {
    const burst = get(AUTH_ENV.rateBurst);
    const requestsPerSecond = Number(rps);
    if (!(requestsPerSecond > 0)) throw new Error(`${AUTH_ENV.rateLimit} must be positive`);
    settings.rateLimit = {
      requestsPerSecond,
      ...(burst === undefined ? {} : { burst: Number(burst) }),
    };
  }
  return settings;
}
