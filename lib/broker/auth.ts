import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import {
  type AclBinding,
  allowedOnAny,
  authorize,
  type Operation,
  type Resource,
  type ResourceType,
  validateAclBinding,
} from '../log/acl.js';
import { EventLogError } from '../log/errors.js';
import type { AuthStore, OwnedKind, StoredAcl, StoredApiKey } from '../store/auth-store.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { type Clock, systemClock } from './clock.js';

/**
 * Authentication of bearer credentials (API keys, JWT) and authorization of principals
 * against the ACLs. The ACLs and the groups of Lambda subscriptions are read through a
 * short per-process cache ({@link AuthServiceOptions.cacheTtlMs}, 5 s by default): an ACL
 * change, a revoked key or a new subscription takes effect everywhere within that time.
 */

export interface JwtOptions {
  /** The OIDC issuer (`iss`), e.g. https://login.example.com/. */
  issuer: string;
  /** The expected `aud`. */
  audience: string;
  /** The claim whose value names the principal (`jwt:<value>`); default `sub`. */
  principalClaim?: string;
  /** Where the issuer's keys are; default the `jwks_uri` of its OIDC discovery document. */
  jwksUrl?: string;
  /** The keys themselves, instead of fetching them (tests, air-gapped issuers). */
  jwks?: JSONWebKeySet;
}

export interface AuthServiceOptions {
  clock?: Clock;
  cacheTtlMs?: number;
  jwt?: JwtOptions;
}

/** API keys are `elk_<id>_<secret>`: the id finds the stored hash, the secret is 32 random bytes. */
const KEY_PATTERN = /^elk_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

export interface CreatedKey {
  id: string;
  principal: string;
  /** The key itself: shown once, never stored. */
  key: string;
  expiresAt?: number;
}

export class AuthService {
  private readonly clock: Clock;
  private readonly cacheTtlMs: number;
  private aclCache: { at: number; value: Promise<AuthSnapshot> } | undefined;
  private readonly keyCache = new Map<string, { at: number; key: StoredApiKey | undefined }>();
  private readonly ownerCache = new Map<string, string>();
  private readonly jwtKeys: JWTVerifyGetKey | undefined;
  private jwtDiscovered: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly store: AuthStore,
    private readonly subscriptions: SubscriptionStore,
    private readonly options: AuthServiceOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.cacheTtlMs = options.cacheTtlMs ?? 5000;
    const jwt = options.jwt;
    if (jwt?.jwks !== undefined) this.jwtKeys = createLocalJWKSet(jwt.jwks);
    else if (jwt?.jwksUrl !== undefined) this.jwtKeys = createRemoteJWKSet(new URL(jwt.jwksUrl));
  }

  /** Forgets cached ACLs and keys (after a change made through this process). */
  invalidate(): void {
    this.aclCache = undefined;
    this.keyCache.clear();
  }

  // --- Authentication -------------------------------------------------------------------

  /** The principal of an `Authorization: Bearer` credential: an API key or a JWT. */
  async authenticateBearer(token: string): Promise<string> {
    if (token.startsWith('elk_')) return this.authenticateKey(token);
    if (this.options.jwt !== undefined && token.split('.').length === 3) {
      return this.authenticateJwt(token, this.options.jwt);
    }
    throw unauthenticated('The bearer token is neither an API key nor a JWT this API accepts');
  }

  private async authenticateKey(token: string): Promise<string> {
    const match = KEY_PATTERN.exec(token);
    if (match === null) throw unauthenticated('Malformed API key');
    const [, id, secret] = match as unknown as [string, string, string];
    const now = this.clock.now();
    let cached = this.keyCache.get(id);
    if (cached === undefined || now - cached.at > this.cacheTtlMs) {
      cached = { at: now, key: await this.store.getKey(id) };
      this.keyCache.set(id, cached);
      if (this.keyCache.size > 10_000) this.keyCache.clear();
    }
    const stored = cached.key;
    // Compare hashes of equal length in constant time; an unknown id is compared too.
    const expected = Buffer.from(stored?.hash ?? '0'.repeat(64), 'hex');
    const actual = createHash('sha256').update(secret).digest();
    const equal = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (stored === undefined || !equal) throw unauthenticated('Unknown API key');
    if (stored.revokedAt !== undefined) throw unauthenticated('The API key was revoked');
    if (stored.expiresAt !== undefined && stored.expiresAt <= now) {
      throw unauthenticated('The API key has expired');
    }
    return `key:${id}`;
  }

  private async authenticateJwt(token: string, jwt: JwtOptions): Promise<string> {
    const keys = this.jwtKeys ?? (await this.discoverJwks(jwt));
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        currentDate: new Date(this.clock.now()),
      });
      const claim = payload[jwt.principalClaim ?? 'sub'];
      if (typeof claim !== 'string' || claim === '') {
        throw unauthenticated(`The JWT has no ${jwt.principalClaim ?? 'sub'} claim`);
      }
      return `jwt:${claim}`;
    } catch (error) {
      if (error instanceof EventLogError) throw error;
      throw unauthenticated(`Invalid JWT: ${(error as Error).message}`);
    }
  }

  private discoverJwks(jwt: JwtOptions): Promise<JWTVerifyGetKey> {
    this.jwtDiscovered ??= (async () => {
      const base = jwt.issuer.endsWith('/') ? jwt.issuer : `${jwt.issuer}/`;
      const response = await fetch(new URL('.well-known/openid-configuration', base), {
        signal: AbortSignal.timeout(5000),
      });
      const document = (await response.json()) as { jwks_uri?: unknown };
      if (typeof document.jwks_uri !== 'string') {
        throw new EventLogError('INTERNAL', `The issuer ${jwt.issuer} publishes no jwks_uri`);
      }
      return createRemoteJWKSet(new URL(document.jwks_uri));
    })();
    this.jwtDiscovered.catch(() => {
      this.jwtDiscovered = undefined;
    });
    return this.jwtDiscovered;
  }

  // --- Authorization --------------------------------------------------------------------

  /** Throws AUTHORIZATION_FAILED unless the ACLs allow `operation` on the resource. */
  async require(principal: string, type: ResourceType, name: string, operation: Operation) {
    const snapshot = await this.snapshot();
    const resource: Resource = {
      type,
      name,
      ...(type === 'group' && snapshot.reservedGroups.has(name) ? { reserved: true } : {}),
    };
    const decision = authorize(snapshot.acls, principal, resource, operation);
    if (!decision.allowed) {
      throw new EventLogError(
        'AUTHORIZATION_FAILED',
        decision.reason === 'reserved'
          ? `Group "${name}" belongs to a Lambda subscription: only cluster admins may use it`
          : `${principal} may not ${operation} ${type} "${name}"`,
        { details: { principal, resourceType: type, resourceName: name, operation } },
      );
    }
  }

  async allows(principal: string, type: ResourceType, name: string, operation: Operation) {
    try {
      await this.require(principal, type, name, operation);
      return true;
    } catch (error) {
      if (error instanceof EventLogError && error.code === 'AUTHORIZATION_FAILED') return false;
      throw error;
    }
  }

  /** Kafka 3's rule for idempotent producers: write access to at least one topic. */
  async requireAnyProduce(principal: string): Promise<void> {
    const { acls } = await this.snapshot();
    if (!allowedOnAny(acls, principal, 'topic', 'produce')) {
      throw new EventLogError(
        'AUTHORIZATION_FAILED',
        `${principal} may produce to no topic, so it may not initialize a producer`,
        { details: { principal, resourceType: 'topic', operation: 'produce' } },
      );
    }
  }

  private snapshot(): Promise<AuthSnapshot> {
    const now = this.clock.now();
    if (this.aclCache === undefined || now - this.aclCache.at > this.cacheTtlMs) {
      const value = (async () => {
        const [acls, subscriptions] = await Promise.all([
          this.store.listAcls(),
          this.subscriptions.list(),
        ]);
        return { acls, reservedGroups: new Set(subscriptions.map((s) => s.config.group)) };
      })();
      this.aclCache = { at: now, value };
      value.catch(() => {
        if (this.aclCache?.value === value) this.aclCache = undefined;
      });
    }
    return this.aclCache.value;
  }

  // --- Producer ownership ---------------------------------------------------------------

  /** The recorded owner of a producer id or name; cached, since an owner never changes. */
  async ownerOf(kind: OwnedKind, name: string): Promise<string | undefined> {
    const cacheKey = `${kind}#${name}`;
    const cached = this.ownerCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const owner = await this.store.getOwner(kind, name);
    if (owner !== undefined) this.remember(cacheKey, owner);
    return owner;
  }

  async claim(kind: OwnedKind, name: string, principal: string): Promise<string> {
    const owner = await this.store.claimOwner(kind, name, principal, this.clock.now());
    this.remember(`${kind}#${name}`, owner);
    return owner;
  }

  private remember(cacheKey: string, owner: string): void {
    if (this.ownerCache.size > 100_000) this.ownerCache.clear();
    this.ownerCache.set(cacheKey, owner);
  }

  // --- Administration -------------------------------------------------------------------

  async listAcls(): Promise<StoredAcl[]> {
    return (await this.store.listAcls()).sort((a, b) => a.createdAt - b.createdAt);
  }

  async addAcl(binding: AclBinding, source = 'api'): Promise<StoredAcl> {
    const acl: StoredAcl = {
      ...validateAclBinding(binding),
      id: aclId(binding),
      source,
      createdAt: this.clock.now(),
    };
    await this.store.putAcl(acl);
    this.invalidate();
    return acl;
  }

  async deleteAcl(id: string): Promise<StoredAcl> {
    const deleted = await this.store.deleteAcl(id);
    this.invalidate();
    if (deleted === undefined) {
      throw new EventLogError('NOT_FOUND', `No ACL with id ${id}`, { details: { acl: id } });
    }
    return deleted;
  }

  async createKey(input: {
    createdBy: string;
    description?: string;
    expiresInMs?: number;
    acls?: Omit<AclBinding, 'principal'>[];
  }): Promise<CreatedKey> {
    const id = randomBytes(10).toString('hex').slice(0, 16);
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const principal = `key:${id}`;
    const bindings = (input.acls ?? []).map((acl) => validateAclBinding({ ...acl, principal }));
    const expiresAt = input.expiresInMs === undefined ? undefined : now + input.expiresInMs;
    await this.store.createKey({
      id,
      hash: createHash('sha256').update(secret).digest('hex'),
      description: input.description ?? '',
      createdAt: now,
      createdBy: input.createdBy,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    for (const binding of bindings) await this.addAcl(binding);
    return {
      id,
      principal,
      key: `elk_${id}_${secret}`,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
  }

  async listKeys(): Promise<Omit<StoredApiKey, 'hash'>[]> {
    return (await this.store.listKeys()).map(({ hash: _hash, ...rest }) => rest);
  }

  async revokeKey(id: string): Promise<void> {
    if (!(await this.store.revokeKey(id, this.clock.now()))) {
      throw new EventLogError('NOT_FOUND', `No API key with id ${id}`, { details: { key: id } });
    }
    this.invalidate();
  }
}

interface AuthSnapshot {
  acls: StoredAcl[];
  reservedGroups: Set<string>;
}

function unauthenticated(message: string): EventLogError {
  return new EventLogError('UNAUTHENTICATED', message);
}

/** The same binding always gets the same id: adding it twice is one ACL. */
export function aclId(binding: AclBinding): string {
  return createHash('sha256')
    .update(
      [
        binding.principal,
        binding.resourceType,
        binding.patternType,
        binding.resourceName,
        binding.operation,
        binding.permission,
      ].join('\n'),
    )
    .digest('base64url')
    .slice(0, 22);
}
