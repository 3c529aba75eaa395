import { EventLogError } from './errors.js';

/**
 * Kafka-style authorization, pure: who (a principal) may do what (an operation) to which
 * resource (a topic, a consumer group, the cluster, a named idempotent producer), decided
 * by ACL bindings. The rules, as Kafka's AclAuthorizer has them:
 *
 * - nothing is allowed unless an `allow` binding matches;
 * - a matching `deny` wins over every `allow`;
 * - `produce`, `consume`, `alter` and `delete` each imply `describe` of the same resource;
 * - `admin` on a resource implies every operation on it, and `admin` on the cluster is the
 *   superuser: every operation on every resource (denies still win);
 * - a literal name `*` matches every name of its type, a `prefixed` binding every name that
 *   starts with it;
 * - a group that a Lambda subscription uses is *reserved*: only cluster admins (and the
 *   dispatcher, which does not go through the API) may touch it, whatever the wildcards or
 *   prefixes say, so that `consume` on `*` cannot join a subscription's group and take its
 *   partitions.
 *
 * Principals are strings of a kind and a name (Kafka's `User:alice`):
 * `iam:arn:aws:iam::123456789012:role/Producer` (SigV4, see {@link principalOfIamArn}),
 * `key:<key id>` (API keys), `jwt:<claim value>` (JWT from the configured OIDC issuer).
 * A binding's principal is one of those, `*` (any authenticated caller), or a prefix ending
 * in `*` (`iam:arn:aws:iam::123456789012:role/*`).
 */

export const RESOURCE_TYPES = ['topic', 'group', 'cluster', 'producer'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const OPERATIONS = ['produce', 'consume', 'describe', 'alter', 'delete', 'admin'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const PATTERN_TYPES = ['literal', 'prefixed'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

export const PERMISSIONS = ['allow', 'deny'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The one cluster's resource name (Kafka's `kafka-cluster`). */
export const CLUSTER_RESOURCE = 'eventlog';

export interface AclBinding {
  principal: string;
  resourceType: ResourceType;
  patternType: PatternType;
  /** A name, `*` (literal: every name), or a prefix (prefixed). */
  resourceName: string;
  operation: Operation;
  permission: Permission;
}

export interface Resource {
  type: ResourceType;
  name: string;
  /** A group a Lambda subscription uses: cluster admins only. */
  reserved?: boolean;
}

export type Decision =
  | { allowed: true; by: AclBinding }
  | { allowed: false; reason: 'denied'; by: AclBinding }
  | { allowed: false; reason: 'no-allow' | 'reserved' };

const IMPLIES_DESCRIBE: ReadonlySet<Operation> = new Set(['produce', 'consume', 'alter', 'delete']);

export function principalMatches(pattern: string, principal: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return principal.startsWith(pattern.slice(0, -1));
  return pattern === principal;
}

function resourceMatches(binding: AclBinding, resource: Resource): boolean {
  if (binding.resourceType !== resource.type) return false;
  if (binding.patternType === 'prefixed') return resource.name.startsWith(binding.resourceName);
  return binding.resourceName === '*' || binding.resourceName === resource.name;
}

function operationCovers(granted: Operation, wanted: Operation): boolean {
  return (
    granted === wanted ||
    granted === 'admin' ||
    (wanted === 'describe' && IMPLIES_DESCRIBE.has(granted))
  );
}

const CLUSTER: Resource = { type: 'cluster', name: CLUSTER_RESOURCE };

/** Whether `principal` may do `operation` on `resource` under `acls`. */
export function authorize(
  acls: readonly AclBinding[],
  principal: string,
  resource: Resource,
  operation: Operation,
): Decision {
  let allow: AclBinding | undefined;
  let superuser: AclBinding | undefined;
  for (const binding of acls) {
    if (!principalMatches(binding.principal, principal)) continue;
    // Implied operations widen allows only: a deny of produce does not deny describe.
    const direct =
      resourceMatches(binding, resource) &&
      (binding.permission === 'allow'
        ? operationCovers(binding.operation, operation)
        : binding.operation === operation || binding.operation === 'admin');
    const admin = binding.operation === 'admin' && resourceMatches(binding, CLUSTER);
    if (!direct && !admin) continue;
    if (binding.permission === 'deny') return { allowed: false, reason: 'denied', by: binding };
    if (admin) superuser ??= binding;
    else allow ??= binding;
  }
  if (superuser !== undefined) return { allowed: true, by: superuser };
  if (resource.reserved === true) return { allowed: false, reason: 'reserved' };
  return allow === undefined
    ? { allowed: false, reason: 'no-allow' }
    : { allowed: true, by: allow };
}

/** Whether some `allow` gives `principal` `operation` on at least one resource of the type. */
export function allowedOnAny(
  acls: readonly AclBinding[],
  principal: string,
  type: ResourceType,
  operation: Operation,
): boolean {
  return acls.some(
    (b) =>
      b.permission === 'allow' &&
      principalMatches(b.principal, principal) &&
      ((b.resourceType === type && operationCovers(b.operation, operation)) ||
        (b.resourceType === 'cluster' && b.operation === 'admin')),
  );
}

/**
 * The principal of a SigV4 caller, from the IAM ARN in the front door's request context.
 *
 * A role's callers arrive as assumed-role sessions, `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`
 * (Lambda functions, ECS tasks, SSO users, `aws sts assume-role`). The session name is the
 * caller's choice, so it is dropped: the principal is the role, written as the role ARN
 * *without its path* — `iam:arn:aws:iam::ACCOUNT:role/NAME` — because the session ARN does not
 * carry the path (a role `arn:aws:iam::1:role/team/Producer` arrives as
 * `assumed-role/Producer/...`). Role names are unique within an account whatever their path,
 * so nothing is lost but the spelling: an ACL for a role with a path names it without.
 * IAM users (`arn:aws:iam::ACCOUNT:user/path/NAME`) and the account root keep their ARN as it
 * is; the partition (`aws`, `aws-cn`, `aws-us-gov`) is kept.
 */
export function principalOfIamArn(arn: string): string {
  const match = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  if (match !== null) return `iam:arn:${match[1]}:iam::${match[2]}:role/${match[3]}`;
  if (/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(arn)) return `iam:${arn}`;
  throw new EventLogError('UNAUTHENTICATED', 'The caller identity is not an IAM ARN');
}

/** The principal an ACL names for an IAM role or user ARN (a role's path is dropped). */
export function principalForIamArn(arn: string): string {
  const role = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (role !== null) return `iam:arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  return principalOfIamArn(arn);
}

const PRINCIPAL = /^(\*|(iam|key|jwt):[^\s]{1,1024})$/;

/** Checks a binding from outside (API, CLI): every field known, names in range. */
export function validateAclBinding(input: AclBinding): AclBinding {
  const bad = (why: string) =>
    new EventLogError('INVALID_REQUEST', `Invalid ACL: ${why}`, { details: { acl: input } });
  if (!PRINCIPAL.test(input.principal)) {
    throw bad('the principal is "*" or starts with iam:, key: or jwt: (a trailing * is a prefix)');
  }
  if (!RESOURCE_TYPES.includes(input.resourceType)) {
    throw bad(`resourceType is one of ${RESOURCE_TYPES.join(', ')}`);
  }
  if (!PATTERN_TYPES.includes(input.patternType)) {
    throw bad(`patternType is one of ${PATTERN_TYPES.join(', ')}`);
  }
  if (!OPERATIONS.includes(input.operation)) {
    throw bad(`operation is one of ${OPERATIONS.join(', ')}`);
  }
  if (!PERMISSIONS.includes(input.permission)) {
    throw bad(`permission is one of ${PERMISSIONS.join(', ')}`);
  }
  if (!/^[a-zA-Z0-9._*-]{0,249}$/.test(input.resourceName)) {
    throw bad('resourceName is up to 249 characters of [a-zA-Z0-9._-], or *');
  }
  if (input.resourceName === '' && input.patternType === 'literal') {
    throw bad('a literal resourceName is not empty');
  }
  return {
    principal: input.principal,
    resourceType: input.resourceType,
    patternType: input.patternType,
    resourceName: input.resourceName,
    operation: input.operation,
    permission: input.permission,
  };
}
