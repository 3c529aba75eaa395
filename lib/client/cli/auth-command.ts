import type { Command } from 'commander';
import { Option } from 'commander';
import {
  type AclBinding,
  OPERATIONS,
  type Operation,
  RESOURCE_TYPES,
  type ResourceType,
} from '../../log/acl.js';
import { type GlobalOptions, httpClient, UsageError, writeOut } from './context.js';
import { formatTime, table } from './output.js';

/**
 * `eventlog acls ...` and `eventlog keys ...`: the ACL bindings and API keys of
 * docs/security.md, managed through the admin routes (/v1/acls, /v1/keys).
 */

interface StoredAcl extends AclBinding {
  id: string;
  source: string;
  createdAt: number;
}

type Grant = Omit<AclBinding, 'principal'>;

/** `orders` literal, `orders*` a prefix, `*` every name. */
function grantOf(resourceType: ResourceType, name: string, operation: Operation): Grant {
  const prefixed = name.length > 1 && name.endsWith('*');
  return {
    resourceType,
    patternType: prefixed ? 'prefixed' : 'literal',
    resourceName: prefixed ? name.slice(0, -1) : name,
    operation,
    permission: 'allow',
  };
}

/** The grants that --produce, --consume, --group and --admin ask for. */
export function grantsOf(options: {
  produce?: string[];
  consume?: string[];
  group?: string[];
  admin?: boolean;
}): Grant[] {
  const grants: Grant[] = [];
  for (const topic of options.produce ?? []) {
    grants.push(grantOf('topic', topic, 'produce'), grantOf('producer', '*', 'produce'));
  }
  for (const topic of options.consume ?? []) grants.push(grantOf('topic', topic, 'consume'));
  for (const group of options.group ?? []) grants.push(grantOf('group', group, 'consume'));
  if (options.admin === true) grants.push(grantOf('cluster', 'eventlog', 'admin'));
  const seen = new Set<string>();
  return grants.filter((g) => {
    const key = JSON.stringify(g);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `eventlog acls ...` then `eventlog keys ...`, in that order (as `eventlog --help` lists them). */
export function registerAuthCommands(
  program: Command,
  globals: (command: Command) => GlobalOptions,
): void {
  registerAclCommands(program, globals);
  registerKeyCommands(program, globals);
}

/** `eventlog acls list | add | remove`. */
function registerAclCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const acls = program
    .command('acls')
    .description('list, add and remove ACL bindings (admin; see docs/security.md)');

  acls
    .command('list')
    .description('every ACL binding')
    .option('--principal <principal>', 'only those of this principal')
    .option('--json', 'print JSON')
    .action(async (options: { principal?: string; json?: boolean }, command: Command) => {
      const answer = await httpClient(globals(command)).request<{ acls: StoredAcl[] }>(
        'GET',
        '/v1/acls',
      );
      const list = answer.acls.filter(
        (a) => options.principal === undefined || a.principal === options.principal,
      );
      if (options.json) return writeOut(`${JSON.stringify(list)}\n`);
      if (list.length === 0) return writeOut('no ACLs\n');
      return writeOut(
        `${table(
          ['ID', 'PRINCIPAL', 'PERMISSION', 'OPERATION', 'RESOURCE', 'SOURCE'],
          list.map((a) => [
            a.id,
            a.principal,
            a.permission,
            a.operation,
            `${a.resourceType}:${a.resourceName}${a.patternType === 'prefixed' ? '*' : ''}`,
            a.source,
          ]),
        )}\n`,
      );
    });

  acls
    .command('add <principal>')
    .description(
      'allow (or --deny) an operation: eventlog acls add iam:arn:aws:iam::123456789012:role/Billing --topic orders --operation consume',
    )
    .addOption(new Option('--topic <name>', 'a topic; a trailing * makes a prefix'))
    .addOption(new Option('--group <name>', 'a consumer group; a trailing * makes a prefix'))
    .addOption(new Option('--producer <name>', 'a named idempotent producer'))
    .option('--cluster', 'the cluster (describe, admin)')
    .addOption(new Option('--operation <op>', 'what is allowed').choices([...OPERATIONS]))
    .option('--deny', 'deny instead of allow (a deny wins over every allow)')
    .option('--json', 'print the binding as JSON')
    .action(async (principal: string, options, command: Command) => {
      const targets = (
        [
          ['topic', options.topic],
          ['group', options.group],
          ['producer', options.producer],
          ['cluster', options.cluster === true ? 'eventlog' : undefined],
        ] as [ResourceType, string | undefined][]
      ).filter(([, name]) => name !== undefined);
      if (targets.length !== 1) {
        throw new UsageError(`Name one resource: --topic, --group, --producer or --cluster`);
      }
      if (options.operation === undefined) throw new UsageError('--operation is required');
      const [type, name] = targets[0] as [ResourceType, string];
      if (!RESOURCE_TYPES.includes(type)) throw new UsageError(`Unknown resource ${type}`);
      const grant = grantOf(type, name, options.operation as Operation);
      const acl = await httpClient(globals(command)).request<StoredAcl>('POST', '/v1/acls', {
        body: { principal, ...grant, permission: options.deny === true ? 'deny' : 'allow' },
      });
      await writeOut(
        options.json
          ? `${JSON.stringify(acl)}\n`
          : `added ACL ${acl.id}: ${acl.permission} ${acl.principal} ${acl.operation} ${acl.resourceType}:${acl.resourceName}${acl.patternType === 'prefixed' ? '*' : ''}\n`,
      );
    });

  acls
    .command('remove <id>')
    .description('remove an ACL binding by its id (eventlog acls list shows them)')
    .action(async (id: string, _options, command: Command) => {
      await httpClient(globals(command)).request('DELETE', `/v1/acls/${encodeURIComponent(id)}`);
      await writeOut(`removed ACL ${id}\n`);
    });
}

/** `eventlog keys create | list | revoke`. */
function registerKeyCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const keys = program
    .command('keys')
    .description('create, list and revoke API keys (admin; see docs/security.md)');

  keys
    .command('create')
    .description('create an API key and its ACLs; the key is printed once and never stored')
    .option('--produce <topic...>', 'may produce to these topics (trailing * for a prefix)')
    .option('--consume <topic...>', 'may consume these topics')
    .option('--group <group...>', 'may use these consumer groups')
    .option('--admin', 'cluster admin')
    .option('--description <text>', 'what the key is for')
    .option('--expires-in <seconds>', 'the key stops working after this many seconds')
    .option('--json', 'print JSON')
    .action(async (options, command: Command) => {
      const expires = options.expiresIn === undefined ? undefined : Number(options.expiresIn);
      if (expires !== undefined && !(Number.isSafeInteger(expires) && expires > 0)) {
        throw new UsageError('--expires-in is a positive number of seconds');
      }
      const created = await httpClient(globals(command)).request<{
        id: string;
        principal: string;
        key: string;
        expiresAt?: number;
      }>('POST', '/v1/keys', {
        body: {
          ...(options.description === undefined ? {} : { description: options.description }),
          ...(expires === undefined ? {} : { expiresInSeconds: expires }),
          acls: grantsOf(options),
        },
      });
      await writeOut(
        options.json
          ? `${JSON.stringify(created)}\n`
          : `${created.key}\n\nkey ${created.id} (principal ${created.principal})${created.expiresAt === undefined ? '' : `, expires ${formatTime(created.expiresAt)}`}: shown once, store it now\n`,
      );
    });

  keys
    .command('list')
    .description('every API key (ids, never secrets)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const answer = await httpClient(globals(command)).request<{
        keys: {
          id: string;
          description: string;
          createdAt: number;
          createdBy: string;
          expiresAt?: number;
          revokedAt?: number;
        }[];
      }>('GET', '/v1/keys');
      if (options.json) return writeOut(`${JSON.stringify(answer.keys)}\n`);
      if (answer.keys.length === 0) return writeOut('no API keys\n');
      return writeOut(
        `${table(
          ['ID', 'CREATED', 'BY', 'EXPIRES', 'REVOKED', 'DESCRIPTION'],
          answer.keys.map((k) => [
            k.id,
            formatTime(k.createdAt),
            k.createdBy,
            k.expiresAt === undefined ? '' : formatTime(k.expiresAt),
            k.revokedAt === undefined ? '' : formatTime(k.revokedAt),
            k.description,
          ]),
        )}\n`,
      );
    });

  keys
    .command('revoke <id>')
    .description('revoke an API key (its ACLs stay until removed)')
    .action(async (id: string, _options, command: Command) => {
      await httpClient(globals(command)).request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
      await writeOut(`revoked key ${id}\n`);
    });
}
