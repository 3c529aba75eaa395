import { beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, CLUSTER_ID, type Reply, reply } from '../helpers/api.js';

/**
 * Every kind of bad input gets a 4xx with a code and a message naming the problem, and writes
 * nothing: the partitions' high watermarks and the topic's S3 object count stay the same.
 */

const api = apiHarness();
let topic: string;
const JSON_TYPE = { 'content-type': 'application/json' };
const BINARY_V2 = { 'content-type': 'application/vnd.kafka.binary.v2+json' };
const SIX_MB = 6 * 1024 * 1024;

beforeAll(async () => {
  // Three partitions; records up to 1000 bytes.
  topic = await api.topic(3, { 'max.message.bytes': '1000' });
});

interface Case {
  name: string;
  send: () => Promise<Reply>;
  status: number;
  errorCode: number;
  code: string;
  message: string | RegExp;
}

const produce = (body: unknown, headers: Record<string, string> = JSON_TYPE) =>
  api.call('POST', `/v1/topics/${topic}/records`, body, headers);
const v3 = (body: string) =>
  api.call('POST', `/v3/clusters/${CLUSTER_ID}/topics/${topic}/records`, body, JSON_TYPE);
const v2 = (body: unknown, headers = BINARY_V2) =>
  api.call('POST', `/topics/${topic}`, body, headers);
/** A produce request built by hand, for bodies the JSON helper cannot express. */
const rawProduce = async (init: RequestInit) =>
  reply(await api.app.request(`/v1/topics/${topic}/records`, { method: 'POST', ...init }));
const fetch = (query: string) =>
  api.call('GET', `/v1/topics/${topic}/partitions/0/records?${query}`);

/** A body stream with no Content-Length, so only counting while reading can stop it. */
function streamOf(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(chunk.byteLength, bytes - sent);
      controller.enqueue(chunk.subarray(0, size));
      sent += size;
    },
  });
}

const cases: Case[] = [
  {
    name: 'malformed JSON (/v1)',
    send: () => produce('{"records": [{"value": "a"},]}'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Malformed JSON at line 1, column 29: unexpected character "]", expected a value',
  },
  {
    name: 'malformed JSON (v3)',
    send: () => v3('{"value": {"type": "STRING", "data": "a"}'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: /^Malformed JSON at line 1, column 42: unexpected end of input/,
  },
  {
    name: 'malformed JSON (v2)',
    send: () => v2("{'records': []}"),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Malformed JSON at line 1, column 2: expected a member name in double quotes',
  },
  {
    name: 'a body that is not UTF-8',
    send: () => rawProduce({ headers: JSON_TYPE, body: new Uint8Array([0x7b, 0xff, 0x7d]) }),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'The request body is not valid UTF-8',
  },
  {
    name: 'wrong content type',
    send: () => produce({ records: [{ value: 'a' }] }, { 'content-type': 'text/plain' }),
    status: 415,
    errorCode: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Content-Type text/plain is not supported here; send application/json',
  },
  {
    name: 'no content type',
    send: () => rawProduce({ body: new TextEncoder().encode('{"records":[{"value":"a"}]}') }),
    status: 415,
    errorCode: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'The request has no Content-Type; send application/json',
  },
  {
    name: 'v2 with plain application/json',
    send: () => v2({ records: [{ value: 'YQ==' }] }, { 'content-type': 'application/json' }),
    status: 415,
    errorCode: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message:
      /^Content-Type application\/json is not supported here; send application\/vnd\.kafka\.binary\.v2\+json/,
  },
  {
    name: 'unknown topic',
    send: () => api.call('POST', '/v1/topics/no-such-topic/records', { records: [{ value: 'a' }] }),
    status: 404,
    errorCode: 40401,
    code: 'UNKNOWN_TOPIC',
    message: 'Topic "no-such-topic" does not exist',
  },
  {
    name: 'partition out of range (/v1)',
    send: () =>
      produce({
        records: [
          { value: 'a', partition: 0 },
          { value: 'b', partition: 3 },
        ],
      }),
    status: 404,
    errorCode: 40402,
    code: 'UNKNOWN_PARTITION',
    message: /^Record 1: topic "api-[^"]+" has partitions 0-2; there is no partition 3$/,
  },
  {
    name: 'partition out of range (v3)',
    send: () => v3('{"partition_id": 9, "value": {"type": "STRING", "data": "a"}}'),
    status: 404,
    errorCode: 40402,
    code: 'UNKNOWN_PARTITION',
    message: /there is no partition 9/,
  },
  {
    name: 'partition out of range (v2 path)',
    send: () =>
      api.call(
        'POST',
        `/topics/${topic}/partitions/7`,
        { records: [{ value: 'YQ==' }] },
        BINARY_V2,
      ),
    status: 404,
    errorCode: 40402,
    code: 'UNKNOWN_PARTITION',
    message: /there is no partition 7/,
  },
  {
    name: "a record over the topic's max.message.bytes",
    send: () => produce({ records: [{ value: 'small' }, { value: 'x'.repeat(1000) }] }),
    status: 413,
    errorCode: 413,
    code: 'RECORD_TOO_LARGE',
    message: "Record 1 is 1021 bytes; the topic's max.message.bytes is 1000",
  },
  {
    name: 'a body over 6 MB, by its Content-Length',
    send: () =>
      api.call('POST', `/v1/topics/${topic}/records`, '{"records":[{"value":"a"}]}', {
        ...JSON_TYPE,
        'content-length': String(SIX_MB + 1),
      }),
    status: 413,
    errorCode: 413,
    code: 'REQUEST_TOO_LARGE',
    message: `The request body is ${SIX_MB + 1} bytes; the limit is ${SIX_MB} bytes (a Lambda payload is at most 6 MB)`,
  },
  {
    name: 'a body over 6 MB without a Content-Length (counted while reading)',
    send: () => rawProduce({ headers: JSON_TYPE, body: streamOf(SIX_MB + 1), duplex: 'half' }),
    status: 413,
    errorCode: 413,
    code: 'REQUEST_TOO_LARGE',
    message: `The request body is over ${SIX_MB} bytes; the limit is ${SIX_MB} bytes (a Lambda payload is at most 6 MB)`,
  },
  {
    name: 'invalid base64 key (/v1)',
    send: () => produce({ keyFormat: 'base64', records: [{ key: 'not base64!', value: 'a' }] }),
    status: 422,
    errorCode: 42201,
    code: 'INVALID_REQUEST',
    message: /^Record 0: key is not valid base64/,
  },
  {
    name: 'base64 with bad padding (/v1 value)',
    send: () => produce({ valueFormat: 'base64', records: [{ value: 'YQ==' }, { value: 'YQ=' }] }),
    status: 422,
    errorCode: 42202,
    code: 'INVALID_REQUEST',
    message: /^Record 1: value is not valid base64/,
  },
  {
    name: 'invalid base64 value (v3 BINARY)',
    send: () => v3('{"value": {"type": "BINARY", "data": "Zm9v YmFy"}}'),
    status: 422,
    errorCode: 42202,
    code: 'INVALID_REQUEST',
    message: /^Record 0: value is not valid base64/,
  },
  {
    name: 'invalid base64 value (v2 binary)',
    send: () => v2({ records: [{ value: 'S2Fma2E' }] }),
    status: 422,
    errorCode: 42202,
    code: 'INVALID_REQUEST',
    message: /^Record 0: value is not valid base64/,
  },
  {
    name: 'invalid base64 header value (v3)',
    send: () =>
      v3('{"headers": [{"name": "h", "value": "%%"}], "value": {"type": "STRING", "data": "a"}}'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: /^Record 0: header "h" is not valid base64/,
  },
  {
    name: 'a value of the wrong type for its format',
    send: () => produce({ records: [{ value: { not: 'a string' } }] }),
    status: 422,
    errorCode: 42202,
    code: 'INVALID_REQUEST',
    message: 'Record 0: value must be a JSON string in the "string" format, got object',
  },
  {
    name: 'a schema-registry type (v3)',
    send: () => v3('{"value": {"type": "PROTOBUF", "data": "a"}}'),
    status: 422,
    errorCode: 42202,
    code: 'INVALID_REQUEST',
    message: /value\.type must be BINARY, JSON or STRING, got PROTOBUF/,
  },
  {
    name: 'invalid topic name',
    send: () => api.call('POST', '/v1/topics/bad%20name/records', { records: [{ value: 'a' }] }),
    status: 400,
    errorCode: 40002,
    code: 'INVALID_TOPIC_NAME',
    message: `Topic name "bad name" is invalid: use only ASCII letters, digits, '.', '_' and '-'`,
  },
  {
    name: 'invalid topic name on create',
    send: () => api.call('POST', '/v1/topics', { name: 'a/b', partitions: 1 }),
    status: 400,
    errorCode: 40002,
    code: 'INVALID_TOPIC_NAME',
    message: /^Topic name "a\/b" is invalid/,
  },
  {
    name: 'negative offset',
    send: () => fetch('offset=-1'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Invalid query: offset: offset must be a non-negative integer',
  },
  {
    name: 'fractional offset',
    send: () => fetch('offset=1.5'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Invalid query: offset: offset must be a non-negative integer',
  },
  {
    name: 'huge offset',
    send: () => fetch('offset=99999999999999999999'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'offset must be an integer below 2^53 (9007199254740992), got 99999999999999999999',
  },
  {
    name: 'missing offset',
    send: () => fetch('maxRecords=1'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: /^Invalid query: offset: /,
  },
  {
    name: 'offset above the high watermark',
    send: () => fetch('offset=1000'),
    status: 416,
    errorCode: 416,
    code: 'OFFSET_OUT_OF_RANGE',
    message: /^Offset 1000 is out of range for partition 0/,
  },
  {
    name: 'waitMs over the limit',
    send: () => fetch('offset=0&waitMs=20001'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'waitMs must be at most 20000, got 20001',
  },
  {
    name: 'maxRecords over the limit',
    send: () => fetch('offset=0&maxRecords=10001'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'maxRecords must be an integer from 1 to 10000',
  },
  {
    name: 'empty record list (/v1)',
    send: () => produce({ records: [] }),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Invalid produce request: records: records must hold at least one record',
  },
  {
    name: 'empty record list (v2)',
    send: () => v2({ records: [] }),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'Invalid produce request: records: records must hold at least one record',
  },
  {
    name: 'no records (v3)',
    send: () => v3('  \n'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: 'The request holds no records; send one JSON object per record',
  },
  {
    name: 'too many records',
    send: () => produce({ records: Array.from({ length: 10_001 }, () => ({ value: '' })) }),
    status: 413,
    errorCode: 413,
    code: 'REQUEST_TOO_LARGE',
    message: 'A produce request carries at most 10000 records; this one has 10001',
  },
  {
    name: 'a misspelt member',
    send: () => produce({ records: [{ vaule: 'a' }] }),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: /^Invalid produce request: records\[0\]: Unrecognized key: "vaule"/,
  },
  {
    name: 'a negative timestamp',
    send: () => produce({ records: [{ value: 'a', timestamp: -5 }] }),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message: /^Invalid produce request: records\[0\]\.timestamp: /,
  },
  {
    name: 'a timestamp that is not ISO-8601 (v3)',
    send: () => v3('{"value": {"type": "STRING", "data": "a"}, "timestamp": "yesterday"}'),
    status: 400,
    errorCode: 400,
    code: 'INVALID_REQUEST',
    message:
      'Record 0: timestamp must be an ISO-8601 date-time such as 2021-02-05T19:14:42Z, got yesterday',
  },
  {
    name: 'an unknown cluster (v3 produce)',
    send: () =>
      api.call(
        'POST',
        `/v3/clusters/nope/topics/${topic}/records`,
        '{"value":{"type":"STRING","data":"a"}}',
      ),
    status: 404,
    errorCode: 404,
    code: 'NOT_FOUND',
    message: 'Cluster nope cannot be found.',
  },
];

describe('bad input', () => {
  it.each(cases)('$name → $status', async (c) => {
    const before = await api.state(topic);
    const answer = await c.send();
    expect(answer.status).toBe(c.status);
    expect(answer.json).toMatchObject({ error_code: c.errorCode, code: c.code, retriable: false });
    if (typeof c.message === 'string') expect(answer.json.message).toBe(c.message);
    else expect(answer.json.message).toMatch(c.message);
    expect(await api.state(topic)).toEqual(before);
  });

  it('leaves the topic empty after all of it', async () => {
    expect(await api.state(topic)).toEqual({ highWatermarks: [0, 0, 0], objects: 0 });
  });
});
