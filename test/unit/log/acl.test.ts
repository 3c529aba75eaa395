import { describe, expect, it } from 'vitest';
import {
  type AclBinding,
  allowedOnAny,
  authorize,
  principalForIamArn,
  principalOfIamArn,
  validateAclBinding,
} from '../../../lib/log/acl.js';

const acl = (over: Partial<AclBinding>): AclBinding => ({
  principal: 'key:alice',
  resourceType: 'topic',
  patternType: 'literal',
  resourceName: 'orders',
  operation: 'consume',
  permission: 'allow',
  ...over,
});
const topic = (name: string) => ({ type: 'topic' as const, name });

describe('authorize', () => {
  it('allows nothing without an allow', () => {
    expect(authorize([], 'key:alice', topic('orders'), 'describe')).toEqual({
      allowed: false,
      reason: 'no-allow',
    });
  });

  it('matches literal names, the literal wildcard and prefixes', () => {
    expect(authorize([acl({})], 'key:alice', topic('orders'), 'consume').allowed).toBe(true);
    expect(authorize([acl({})], 'key:alice', topic('orders2'), 'consume').allowed).toBe(false);
    const wildcard = acl({ resourceName: '*' });
    expect(authorize([wildcard], 'key:alice', topic('anything'), 'consume').allowed).toBe(true);
    const prefix = acl({ patternType: 'prefixed', resourceName: 'team-a.' });
    expect(authorize([prefix], 'key:alice', topic('team-a.orders'), 'consume').allowed).toBe(true);
    expect(authorize([prefix], 'key:alice', topic('team-b.orders'), 'consume').allowed).toBe(false);
  });

  it('matches principals exactly, by trailing-* prefix, or * for anyone', () => {
    expect(authorize([acl({})], 'key:bob', topic('orders'), 'consume').allowed).toBe(false);
    const roles = acl({ principal: 'iam:arn:aws:iam::123456789012:role/*' });
    expect(
      authorize([roles], 'iam:arn:aws:iam::123456789012:role/X', topic('orders'), 'consume')
        .allowed,
    ).toBe(true);
    expect(authorize([roles], 'jwt:x', topic('orders'), 'consume').allowed).toBe(false);
    expect(authorize([acl({ principal: '*' })], 'jwt:x', topic('orders'), 'consume').allowed).toBe(
      true,
    );
  });

  it('lets produce, consume, alter and delete imply describe, and admin imply everything', () => {
    for (const operation of ['produce', 'consume', 'alter', 'delete'] as const) {
      expect(
        authorize([acl({ operation })], 'key:alice', topic('orders'), 'describe').allowed,
      ).toBe(true);
    }
    expect(
      authorize([acl({ operation: 'consume' })], 'key:alice', topic('orders'), 'produce').allowed,
    ).toBe(false);
    expect(
      authorize([acl({ operation: 'admin' })], 'key:alice', topic('orders'), 'delete').allowed,
    ).toBe(true);
  });

  it('makes cluster admin a superuser, but a deny still wins', () => {
    const admin = acl({ resourceType: 'cluster', resourceName: 'eventlog', operation: 'admin' });
    expect(authorize([admin], 'key:alice', topic('x'), 'delete').allowed).toBe(true);
    const deny = acl({ resourceName: 'x', operation: 'delete', permission: 'deny' });
    expect(authorize([admin, deny], 'key:alice', topic('x'), 'delete')).toMatchObject({
      allowed: false,
      reason: 'denied',
    });
  });

  it('lets a deny win over any allow, and not widen: denying produce leaves describe', () => {
    const allowAll = acl({ resourceName: '*', operation: 'admin' });
    const deny = acl({ operation: 'produce', permission: 'deny' });
    expect(authorize([allowAll, deny], 'key:alice', topic('orders'), 'produce').allowed).toBe(
      false,
    );
    expect(authorize([allowAll, deny], 'key:alice', topic('orders'), 'describe').allowed).toBe(
      true,
    );
  });

  it('keeps reserved groups (Lambda subscriptions) from wildcards and prefixes: cluster admins only', () => {
    const any = acl({ resourceType: 'group', resourceName: '*' });
    const literal = acl({ resourceType: 'group', resourceName: 'sub' });
    const group = { type: 'group' as const, name: 'sub', reserved: true };
    expect(authorize([any], 'key:alice', group, 'consume')).toEqual({
      allowed: false,
      reason: 'reserved',
    });
    expect(authorize([literal], 'key:alice', group, 'consume').allowed).toBe(false);
    const admin = acl({ resourceType: 'cluster', resourceName: 'eventlog', operation: 'admin' });
    expect(authorize([admin], 'key:alice', group, 'consume').allowed).toBe(true);
  });

  it('tells whether a principal may produce anywhere (InitProducerId)', () => {
    expect(allowedOnAny([acl({ operation: 'produce' })], 'key:alice', 'topic', 'produce')).toBe(
      true,
    );
    expect(allowedOnAny([acl({})], 'key:alice', 'topic', 'produce')).toBe(false);
  });
});

describe('the SigV4 principal mapping', () => {
  it('maps an assumed-role session to its role, without session name (and without path)', () => {
    expect(principalOfIamArn('arn:aws:sts::123456789012:assumed-role/Producer/i-0abc123')).toBe(
      'iam:arn:aws:iam::123456789012:role/Producer',
    );
    expect(principalOfIamArn('arn:aws-cn:sts::123456789012:assumed-role/R/s@example.com')).toBe(
      'iam:arn:aws-cn:iam::123456789012:role/R',
    );
  });

  it('names a role with a path the way its sessions arrive: without the path', () => {
    const role = 'arn:aws:iam::123456789012:role/team/payments/Producer';
    expect(principalForIamArn(role)).toBe('iam:arn:aws:iam::123456789012:role/Producer');
    expect(principalForIamArn(role)).toBe(
      principalOfIamArn('arn:aws:sts::123456789012:assumed-role/Producer/session'),
    );
  });

  it('keeps IAM users and the root as they are, and refuses what is not an IAM ARN', () => {
    expect(principalOfIamArn('arn:aws:iam::123456789012:user/ops/alice')).toBe(
      'iam:arn:aws:iam::123456789012:user/ops/alice',
    );
    expect(principalOfIamArn('arn:aws:iam::123456789012:root')).toBe(
      'iam:arn:aws:iam::123456789012:root',
    );
    expect(() => principalOfIamArn('anonymous')).toThrow(/not an IAM ARN/);
  });
});

describe('validateAclBinding', () => {
  it('accepts the kinds and refuses unknown fields and bad names', () => {
    expect(validateAclBinding(acl({})).resourceName).toBe('orders');
    expect(() => validateAclBinding(acl({ principal: 'User:alice' }))).toThrow(/principal/);
    expect(() => validateAclBinding(acl({ operation: 'write' as never }))).toThrow(/operation/);
    expect(() => validateAclBinding(acl({ resourceName: 'a/b' }))).toThrow(/resourceName/);
  });
});
