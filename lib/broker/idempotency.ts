import { createHash, randomUUID } from 'node:crypto';
import { EventLogError } from '../log/errors.js';
import type {
  IdempotencyRecord,
  IdempotencyStore,
  StoredResponse,
} from '../store/idempotency-store.js';
import { type Clock, systemClock } from './clock.js';
import type { IdempotencyTicket } from './produce.js';

export interface IdempotencyOptions {
  /** How long a key is remembered; default 24 h. */
  keyExpirationMs: number;
  /**
   * How long a request holds its key before another request with it may take over: the
   * produce deadline (maxProduceMs), after which the first request can no longer publish.
   */
  lockMs: number;
}

export const DEFAULT_KEY_EXPIRATION_MS = 86_400_000;

/** What the work behind a key answered, and whether that answer is final. */
export interface WorkOutcome {
  response: StoredResponse;
  /**
   * False when a retry could still change the answer (a failure, or some records not written
   * for a retriable reason): the key is then released instead of completed.
   */
  final: boolean;
}

export interface IdempotentResult {
  response: StoredResponse;
  /** The answer of an earlier request with the key, not of this one. */
  replayed: boolean;
}

/** Key length, as the IETF Idempotency-Key draft's examples and Stripe's limit. */
const MAX_KEY_LENGTH = 255;

/**
 * Idempotency keys for plain HTTP clients (the IETF "Idempotency-Key HTTP Header Field"
 * draft): the first request with a key runs; a request with the same key and the same body
 * gets the first one's answer; with another body it is refused (422); while the first still
 * runs, it is told to retry (409). Exactly-once across crashes comes from the produce path
 * (the key's per-partition state, written with the publish), not from this record: see
 * docs/exactly-once.md.
 */
export class IdempotencyService {
  private readonly clock: Clock;
  private readonly options: IdempotencyOptions;

  constructor(
    private readonly store: IdempotencyStore,
    options: Partial<IdempotencyOptions> & { clock?: Clock; lockMs: number },
  ) {
    this.clock = options.clock ?? systemClock;
    this.options = {
      keyExpirationMs: options.keyExpirationMs ?? DEFAULT_KEY_EXPIRATION_MS,
      lockMs: options.lockMs,
    };
  }

  /** The key's identity: a hash, so any key fits the table's key size. */
  static keyId(key: string): string {
    return createHash('sha256').update(key, 'utf8').digest('hex');
  }

  /** Validates an Idempotency-Key header value; a structured-field string loses its quotes. */
  static parseKey(header: string): string {
    const quoted = /^"(.*)"$/.exec(header);
    const key = quoted === null ? header : (quoted[1] as string);
    if (key.length === 0 || key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `An Idempotency-Key is 1-${MAX_KEY_LENGTH} printable ASCII characters`,
        { details: { header: 'Idempotency-Key' } },
      );
    }
    return key;
  }

  async run(
    key: string,
    fingerprint: string,
    work: (ticket: IdempotencyTicket) => Promise<WorkOutcome>,
  ): Promise<IdempotentResult> {
    const id = IdempotencyService.keyId(key);
    const now = this.clock.now();
    const nowSeconds = Math.floor(now / 1000);
    const token = randomUUID();
    const lockExpiresAt = now + this.options.lockMs;
    const record: IdempotencyRecord = {
      id,
      fingerprint,
      status: 'IN_PROGRESS',
      attempt: 1,
      token,
      lockExpiresAt,
      expiresAt: nowSeconds + Math.ceil(this.options.keyExpirationMs / 1000),
    };
    const created = await this.store.create(record, nowSeconds);
    let ticket: IdempotencyTicket = { id, fresh: true, expiresAt: record.expiresAt };
    let attempt = 1;
    if (!created.created) {
      const existing = created.existing;
      if (existing.fingerprint !== fingerprint) {
        throw new EventLogError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request (method, path, content type or body); use a new key for a new request',
        );
      }
      if (existing.status === 'COMPLETE' && existing.response !== undefined) {
        return { response: existing.response, replayed: true };
      }
      if (existing.status === 'IN_PROGRESS' && existing.lockExpiresAt > now) {
        throw inProgress(existing.lockExpiresAt - now);
      }
      // The request that held the key died, gave up, or failed: this one carries on with the
      // same owner, so whatever it had written is answered from state, not written again.
      if (!(await this.store.takeOver(existing, token, lockExpiresAt))) {
        throw inProgress(this.options.lockMs);
      }
      attempt = existing.attempt + 1;
      ticket = { id, fresh: false, expiresAt: existing.expiresAt };
    }

    let outcome: WorkOutcome;
    try {
      outcome = await work(ticket);
    } catch (error) {
      await this.store.release(id, attempt).catch(() => {});
      throw error;
    }
    // The answer is already decided: failing to record it only costs a later retry a run
    // that the state answers, so a storage error here must not turn success into failure.
    if (outcome.final) await this.store.complete(id, attempt, outcome.response).catch(() => {});
    else await this.store.release(id, attempt).catch(() => {});
    return { response: outcome.response, replayed: false };
  }
}

function inProgress(retryAfterMs: number): EventLogError {
  return new EventLogError(
    'IDEMPOTENCY_IN_PROGRESS',
    'A request with this Idempotency-Key is still being processed; retry after it finished',
    { details: { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) } },
  );
}
