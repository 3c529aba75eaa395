import type { Context } from 'hono';

/** Confluent's v2 media type: its producer and consumer answers both carry it. */
export const V2_CONTENT_TYPE = 'application/vnd.kafka.v2+json';

/** A 200 answer as Confluent's v2 API sends it: JSON under its own media type. */
export const v2Json = (c: Context, body: unknown) =>
  c.body(JSON.stringify(body), 200, { 'content-type': V2_CONTENT_TYPE });
