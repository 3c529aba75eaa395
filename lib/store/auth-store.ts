import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AclBinding } from '../log/acl.js';
import { EventLogError } from '../log/errors.js';
import { conditionalRequest, request } from './aws-errors.js';
import { partitionItems } from './query-items.js';

/**
 * Authorization data, in the groups table beside the subscriptions (few items, read through
 * a short cache, so no table of its own):
 *
 *   pk = acls,              sk = {acl id}       one ACL binding; `source` says who wrote it
 *                                               (api, or cdk for the construct's grants)
 *   pk = apikey#{key id},   sk = key            SHA-256 of the key's secret (hex), principal,
 *                                               description, createdAt, createdBy, expiresAt
 *                                               (epoch seconds: DynamoDB TTL removes it),
 *                                               revokedAt
 *   pk = producer#{id},     sk = owner          the principal that created producer id {id}
 *   pk = producer-name#{n}, sk = owner          the principal that first initialized name {n}
 *
 * One Query reads every ACL. Key secrets are never stored, only their hashes.
 */

export interface StoredAcl extends AclBinding {
  id: string;
  source: string;
  createdAt: number;
}

export interface StoredApiKey {
  id: string;
  /** Hex SHA-256 of the secret part of the key. */
  hash: string;
  description: string;
  createdAt: number;
  createdBy: string;
  /** ms; undefined: never expires. */
  expiresAt?: number;
  revokedAt?: number;
}

export interface AuthStore {
  listAcls(): Promise<StoredAcl[]>;
  putAcl(acl: StoredAcl): Promise<void>;
  /** The deleted binding, or undefined when there was none. */
  deleteAcl(id: string): Promise<StoredAcl | undefined>;
  createKey(key: StoredApiKey): Promise<void>;
  getKey(id: string): Promise<StoredApiKey | undefined>;
  listKeys(): Promise<StoredApiKey[]>;
  /** Marks a key revoked; false when there is no such key. */
  revokeKey(id: string, now: number): Promise<boolean>;
  /** The owner of a producer id or name (`kind` producer or producer-name), if recorded. */
  getOwner(kind: OwnedKind, name: string): Promise<string | undefined>;
  /** Records the owner unless one is recorded; returns the owner in force afterwards. */
  claimOwner(kind: OwnedKind, name: string, principal: string, now: number): Promise<string>;
}

export type OwnedKind = 'producer' | 'producer-name';

const ACL_PK = 'acls';
const KEY_LIST_PK = 'apikeys';
const keyPk = (id: string) => `apikey#${id}`;
const ownerPk = (kind: OwnedKind, name: string) => `${kind}#${name}`;

export class DynamoAuthStore implements AuthStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async listAcls(): Promise<StoredAcl[]> {
    const out: StoredAcl[] = [];
    const items = partitionItems(this.doc, this.table, ACL_PK, 'Listing ACLs');
    for await (const item of items) out.push(toAcl(item));
    return out;
  }

  async putAcl(acl: StoredAcl): Promise<void> {
    await request('Writing an ACL', () =>
      this.doc.send(
        new PutCommand({ TableName: this.table, Item: { pk: ACL_PK, sk: acl.id, ...acl } }),
      ),
    );
  }

  async deleteAcl(id: string): Promise<StoredAcl | undefined> {
    const response = await request(`Deleting ACL ${id}`, () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: ACL_PK, sk: id },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return response.Attributes === undefined ? undefined : toAcl(response.Attributes);
  }

  async createKey(key: StoredApiKey): Promise<void> {
    const ttl = key.expiresAt === undefined ? {} : { expiresAt: Math.ceil(key.expiresAt / 1000) };
    const outcome = await conditionalRequest('Creating an API key', async () => {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: keyPk(key.id), sk: 'key', ...key, expiresAtMs: key.expiresAt, ...ttl },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      // The listing entry: no hash, so listing keys never reads one.
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: KEY_LIST_PK,
            sk: key.id,
            description: key.description,
            createdAt: key.createdAt,
            createdBy: key.createdBy,
            ...(key.expiresAt === undefined ? {} : { expiresAtMs: key.expiresAt, ...ttl }),
          },
        }),
      );
    });
    if (!outcome.written) {
      throw new EventLogError('CONFLICT', `An API key with id ${key.id} exists`);
    }
  }

  async getKey(id: string): Promise<StoredApiKey | undefined> {
    const response = await request('Reading an API key', () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: keyPk(id), sk: 'key' } })),
    );
    return response.Item === undefined ? undefined : toKey(response.Item, id);
  }

  async listKeys(): Promise<StoredApiKey[]> {
    const out: StoredApiKey[] = [];
    const items = partitionItems(this.doc, this.table, KEY_LIST_PK, 'Listing API keys');
    for await (const item of items) out.push(toKey(item, String(item['sk'])));
    return out;
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const outcome = await conditionalRequest(`Revoking API key ${id}`, async () => {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keyPk(id), sk: 'key' },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: KEY_LIST_PK, sk: id },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
    });
    return outcome.written;
  }

  async getOwner(kind: OwnedKind, name: string): Promise<string | undefined> {
    const response = await request(`Reading the owner of ${kind} ${name}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: ownerPk(kind, name), sk: 'owner' },
          ConsistentRead: true,
        }),
      ),
    );
    const owner = response.Item?.['principal'];
    return typeof owner === 'string' ? owner : undefined;
  }

  async claimOwner(kind: OwnedKind, name: string, principal: string, now: number): Promise<string> {
    const outcome = await conditionalRequest(`Recording the owner of ${kind} ${name}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: ownerPk(kind, name), sk: 'owner', principal, createdAt: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (outcome.written) return principal;
    return (await this.getOwner(kind, name)) ?? principal;
  }
}

function toAcl(item: Record<string, unknown>): StoredAcl {
  return {
    id: String(item['sk']),
    principal: String(item['principal']),
    resourceType: item['resourceType'] as StoredAcl['resourceType'],
    patternType: item['patternType'] as StoredAcl['patternType'],
    resourceName: String(item['resourceName']),
    operation: item['operation'] as StoredAcl['operation'],
    permission: item['permission'] as StoredAcl['permission'],
    source: String(item['source'] ?? 'api'),
    createdAt: Number(item['createdAt'] ?? 0),
  };
}

function toKey(item: Record<string, unknown>, id: string): StoredApiKey {
  const number = (name: string) => (typeof item[name] === 'number' ? item[name] : undefined);
  const expiresAt = number('expiresAtMs');
  const revokedAt = number('revokedAt');
  return {
    id,
    hash: typeof item['hash'] === 'string' ? item['hash'] : '',
    description: String(item['description'] ?? ''),
    createdAt: Number(item['createdAt'] ?? 0),
    createdBy: String(item['createdBy'] ?? ''),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(revokedAt === undefined ? {} : { revokedAt }),
  };
}
