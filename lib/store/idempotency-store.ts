import { gunzipSync, gzipSync } from 'node:zlib';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalRequest } from './aws-errors.js';
import { unmarshallItem } from './dynamo-items.js';

/**
 * Idempotency-Key records, in the log table (pk = `idempotency#{hash of the key}`, sk = 0; its
 * TTL attribute `expiresAt` removes them). A record says who is working on the key (the
 * attempt number, and until when its lock holds) and, once done, the answer to replay.
 *
 * The record alone does not make a produce exactly-once (a process can die after publishing
 * and before completing it): the per-partition producer state, written in the publish
 * transaction, does that. The record adds the in-flight lock and the stored answer.
 */

export interface StoredResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface IdempotencyRecord {
  id: string;
  /** Hash of method, path, content type and body: a key may be reused only for the same request. */
  fingerprint: string;
  status: 'IN_PROGRESS' | 'COMPLETE';
  /** 1 for the first request with the key, + 1 per takeover. */
  attempt: number;
  /** Random, per attempt: tells our own write, retried after a lost answer, from another's. */
  token: string;
  /** ms; an IN_PROGRESS record past this belongs to nobody (its request died or gave up). */
  lockExpiresAt: number;
  /** Epoch seconds. */
  expiresAt: number;
  /** The answer of a COMPLETE record, when it was small enough to keep. */
  response?: StoredResponse;
}

export type CreateOutcome = { created: true } | { created: false; existing: IdempotencyRecord };

export interface IdempotencyStore {
  /** Creates the record unless a live one exists, which is then returned. */
  create(record: IdempotencyRecord, nowSeconds: number): Promise<CreateOutcome>;
  /** Takes a record over from `previous.attempt`; false when another request got it first. */
  takeOver(previous: IdempotencyRecord, token: string, lockExpiresAt: number): Promise<boolean>;
  /** Marks the attempt's work done, with the answer to replay (none when it is too large). */
  complete(id: string, attempt: number, response: StoredResponse | undefined): Promise<void>;
  /** Gives the key up without an answer: the next request with it runs at once. */
  release(id: string, attempt: number): Promise<void>;
}

/** Bodies above this are stored gzipped; above MAX_STORED_BYTES after that, not at all. */
const GZIP_ABOVE = 16 * 1024;
/** DynamoDB items hold 400 KB; keep room for the other attributes. */
const MAX_STORED_BYTES = 350 * 1024;

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: IdempotencyRecord, nowSeconds: number): Promise<CreateOutcome> {
    const { id, response: _response, ...rest } = record;
    const outcome = await conditionalRequest('Creating an idempotency record', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: pkOf(id), sk: 0, ...rest },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowSeconds },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (outcome.written) return { created: true };
    const old = outcome.item;
    const existing = toRecord(id, unmarshallItem(old ?? {}));
    // Our own put, sent again by the SDK after its answer was lost.
    if (existing.token === record.token) return { created: true };
    return { created: false, existing };
  }

  async takeOver(
    previous: IdempotencyRecord,
    token: string,
    lockExpiresAt: number,
  ): Promise<boolean> {
    const outcome = await conditionalRequest('Taking over an idempotency record', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pkOf(previous.id), sk: 0 },
          UpdateExpression:
            'SET attempt = :next, #token = :token, #status = :inProgress, lockExpiresAt = :lock REMOVE #response',
          ConditionExpression: 'attempt = :previous',
          ExpressionAttributeNames: {
            '#token': 'token',
            '#status': 'status',
            '#response': 'response',
          },
          ExpressionAttributeValues: {
            ':next': previous.attempt + 1,
            ':previous': previous.attempt,
            ':token': token,
            ':inProgress': 'IN_PROGRESS',
            ':lock': lockExpiresAt,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (outcome.written) return true;
    const old = outcome.item;
    return old !== undefined && unmarshallItem(old)['token'] === token;
  }

  async complete(id: string, attempt: number, response: StoredResponse | undefined): Promise<void> {
    const stored = response === undefined ? undefined : encodeResponse(response);
    // A failed condition: a later attempt took the key over, and its answer (the same offsets)
    // is the one kept.
    await conditionalRequest('Completing an idempotency record', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pkOf(id), sk: 0 },
          UpdateExpression:
            stored === undefined
              ? 'SET #status = :complete, lockExpiresAt = :zero'
              : 'SET #status = :complete, lockExpiresAt = :zero, #response = :response',
          ConditionExpression: 'attempt = :attempt',
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(stored === undefined ? {} : { '#response': 'response' }),
          },
          ExpressionAttributeValues: {
            ':complete': 'COMPLETE',
            ':zero': 0,
            ':attempt': attempt,
            ...(stored === undefined ? {} : { ':response': stored }),
          },
        }),
      ),
    );
  }

  async release(id: string, attempt: number): Promise<void> {
    await conditionalRequest('Releasing an idempotency record', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pkOf(id), sk: 0 },
          UpdateExpression: 'SET lockExpiresAt = :zero',
          ConditionExpression: 'attempt = :attempt AND #status = :inProgress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':attempt': attempt,
            ':inProgress': 'IN_PROGRESS',
          },
        }),
      ),
    );
  }
}

function pkOf(id: string): string {
  return `idempotency#${id}`;
}

interface EncodedResponse {
  status: number;
  contentType: string;
  body?: string;
  gzip?: Uint8Array;
}

function encodeResponse(response: StoredResponse): EncodedResponse | undefined {
  const bytes = Buffer.byteLength(response.body, 'utf8');
  if (bytes <= GZIP_ABOVE) return response;
  // Offsets count up by one per record: a large answer compresses very well.
  const gzip = gzipSync(response.body);
  if (gzip.byteLength > MAX_STORED_BYTES) return undefined;
  return { status: response.status, contentType: response.contentType, gzip };
}

function decodeResponse(value: unknown): StoredResponse | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const encoded = value as EncodedResponse;
  const body =
    encoded.body ?? (encoded.gzip === undefined ? undefined : gunzipSync(encoded.gzip).toString());
  if (body === undefined) return undefined;
  return { status: encoded.status, contentType: encoded.contentType, body };
}

function toRecord(id: string, item: Record<string, unknown>): IdempotencyRecord {
  const response = decodeResponse(item['response']);
  return {
    id,
    fingerprint: item['fingerprint'] as string,
    status: item['status'] as IdempotencyRecord['status'],
    attempt: item['attempt'] as number,
    token: item['token'] as string,
    lockExpiresAt: item['lockExpiresAt'] as number,
    expiresAt: item['expiresAt'] as number,
    ...(response === undefined ? {} : { response }),
  };
}
