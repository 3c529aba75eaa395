import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { IdempotencyService } from '../broker/idempotency.js';
import type { IdempotencyTicket, ProduceRequest, ProduceResult } from '../broker/produce.js';
import { ANONYMOUS, caller } from './auth.js';
import { readBodyBytes } from './body.js';
import type { ApiContext } from './route.js';

/**
 * The `Idempotency-Key` header on the produce routes (ours, Confluent v2 and v3). A route
 * wraps its handler with `withIdempotencyKey` and produces through `produceWithKey`, which
 * hands the key's ticket to ProduceService: the key then acts as a producer of its own, so
 * a retry after any crash finds what the first attempt wrote (docs/exactly-once.md).
 *
 * Only a full success is replayed. An error answer, or a 200 in which some records were not
 * written, releases the key: the retry runs again and writes only what is missing.
 */

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Marks a replayed answer, as Stripe does. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

interface KeyState {
  ticket: IdempotencyTicket;
  /** Some records were not written: the answer is not final. */
  incomplete: boolean;
}

const states = new WeakMap<Request, KeyState>();

type Handler = (c: Context) => Promise<Response> | Response;

export function withIdempotencyKey(api: ApiContext, handler: Handler): Handler {
  return async (c) => {
    const header = c.req.header(IDEMPOTENCY_KEY_HEADER);
    if (header === undefined) return handler(c);
    const key = IdempotencyService.parseKey(header);
    // The same key may only come back with the same request: method, path, type and body.
    const body = await readBodyBytes(c.req.raw.clone(), api.maxBodyBytes);
    const url = new URL(c.req.url);
    const fingerprint = createHash('sha256')
      .update(
        `${c.req.method}\n${url.pathname}${url.search}\n${c.req.header('content-type') ?? ''}\n`,
      )
      .update(body)
      .digest('hex');
    // A key belongs to its caller: another principal sending the same key (by chance or to
    // probe) neither gets this caller's answer nor blocks its key. With auth off every caller
    // is the same anonymous one, and the key's id stays what it always was.
    const { principal } = caller(c);
    const scoped =
      principal === undefined || principal === ANONYMOUS ? key : `${principal}\n${key}`;
    const result = await api.broker.idempotency.run(scoped, fingerprint, async (ticket) => {
      const state: KeyState = { ticket, incomplete: false };
      states.set(c.req.raw, state);
      const response = await handler(c);
      return {
        response: {
          status: response.status,
          contentType: response.headers.get('content-type') ?? 'application/json',
          body: await response.text(),
        },
        final: response.ok && !state.incomplete,
      };
    });
    return c.body(result.response.body, result.response.status as ContentfulStatusCode, {
      'content-type': result.response.contentType,
      ...(result.replayed ? { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } : {}),
    });
  };
}

/** Produces, as the key of the request (if any) says. */
export async function produceWithKey(
  c: Context,
  api: ApiContext,
  request: ProduceRequest,
): Promise<ProduceResult> {
  const state = states.get(c.req.raw);
  const result = await api.broker.produce.produce(
    state === undefined ? request : { ...request, idempotencyKey: state.ticket },
  );
  // Any record not written (even for a reason that is not retriable as such, like a crash
  // seen as INTERNAL) keeps the answer from being final: a retry writes only what is missing.
  if (state !== undefined && result.records.some((r) => r.error !== undefined)) {
    state.incomplete = true;
  }
  return result;
}
