import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest } from './broker/helpers.js';

/**
 * `eventlog keys` and `eventlog acls` as processes, against a local server with auth on: an
 * admin creates a key that may produce to one topic; the key produces there, is refused
 * elsewhere, and stops working when revoked.
 */

const broker = brokerForTest();
const cli = cliAgainst(broker, { auth: true });

describe('eventlog keys and acls', () => {
  it('creates a key shown once, which produces where its ACLs allow and nowhere after revoke', async () => {
    const admin = await broker.auth.createKey({
      createdBy: 'test',
      acls: [
        {
          resourceType: 'cluster',
          patternType: 'literal',
          resourceName: 'eventlog',
          operation: 'admin',
          permission: 'allow',
        },
      ],
    });
    const topic = uniqueName('cli-auth');
    const other = uniqueName('cli-auth-other');
    for (const name of [topic, other]) await broker.topics.create({ name, partitions: 1 });

    const none = await cli('topics', 'list');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('UNAUTHENTICATED');

    const created = await cli('--token', admin.key, 'keys', 'create', '--produce', topic, '--json');
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; principal: string };
    expect(key.key).toMatch(/^elk_/);

    const listed = await cli('--token', admin.key, 'keys', 'list');
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key.slice(-20));

    const acls = await cli('--token', admin.key, 'acls', 'list', '--principal', key.principal);
    expect(acls.stdout).toContain(`topic:${topic}`);
    expect(acls.stdout).toContain('produce');

    const allowed = await cli('--token', key.key, 'topics', 'describe', topic);
    expect(allowed.code, allowed.stderr).toBe(0);
    const refused = await cli('--token', key.key, 'topics', 'describe', other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AUTHORIZATION_FAILED');

    const added = await cli(
      '--token',
      admin.key,
      'acls',
      'add',
      key.principal,
      '--topic',
      `${other.slice(0, 12)}*`,
      '--operation',
      'describe',
      '--json',
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      patternType: 'prefixed',
      operation: 'describe',
    });
    const now = await cli('--token', key.key, 'topics', 'describe', other);
    expect(now.code, now.stderr).toBe(0);

    const revoked = await cli('--token', admin.key, 'keys', 'revoke', key.id);
    expect(revoked.stdout).toBe(`revoked key ${key.id}\n`);
    const after = await cli('--token', key.key, 'topics', 'describe', topic);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('UNAUTHENTICATED');
  }, 60_000);
});
