import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  encodedRecordSize,
  envelopeSize,
  readBatchResponse,
  toEventRecord,
} from '../../../lib/log/lambda-kafka-event.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('the self-managed Kafka event', () => {
  it('matches the shape of Lambda’s documented example', () => {
    const record = toEventRecord('mytopic', 0, {
      offset: 15,
      timestamp: 1545084650987,
      timestampType: 'CreateTime',
      key: bytes('recordKey'),
      value: bytes('{"key":"value"}'),
      headers: [{ key: 'headerKey', value: bytes('headerValue') }],
    });
    // The example event in Lambda's "Using Lambda with self-managed Apache Kafka".
    expect(buildEvent('b-2.demo:9092,b-1.demo:9092', 'mytopic', 0, [record])).toEqual({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'b-2.demo:9092,b-1.demo:9092',
      records: {
        'mytopic-0': [
          {
            topic: 'mytopic',
            partition: 0,
            offset: 15,
            timestamp: 1545084650987,
            timestampType: 'CREATE_TIME',
            key: 'cmVjb3JkS2V5',
            value: 'eyJrZXkiOiJ2YWx1ZSJ9',
            headers: [{ headerKey: [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101] }],
          },
        ],
      },
    });
  });

  it('leaves out a null key and value, gives a null header an empty array, names LOG_APPEND_TIME', () => {
    const record = toEventRecord('t', 3, {
      offset: 0,
      timestamp: 1,
      timestampType: 'LogAppendTime',
      key: null,
      value: null,
      headers: [{ key: 'h', value: null }],
    });
    expect(record).toEqual({
      topic: 't',
      partition: 3,
      offset: 0,
      timestamp: 1,
      timestampType: 'LOG_APPEND_TIME',
      headers: [{ h: [] }],
    });
  });

  it('measures the event exactly: envelope plus each record and a comma between', () => {
    const records = [0, 1, 2].map((offset) =>
      toEventRecord('t', 0, {
        offset,
        timestamp: 1,
        timestampType: 'CreateTime',
        key: null,
        value: bytes('é'.repeat(offset + 1)),
        headers: [],
      }),
    );
    const measured =
      envelopeSize('host:1', 't', 0) +
      records.reduce((n, r) => n + encodedRecordSize(r), 0) +
      records.length -
      1;
    expect(measured).toBe(Buffer.byteLength(JSON.stringify(buildEvent('host:1', 't', 0, records))));
  });
});

describe('readBatchResponse', () => {
  const offsets = new Set([10, 11, 12]);
  const read = (payload: unknown) => readBatchResponse(payload, 'orders', 0, offsets);

  it.each([null, undefined, {}, { batchItemFailures: null }, { batchItemFailures: [] }, 'ok'])(
    'treats %j as a success',
    (payload) => expect(read(payload)).toEqual({ kind: 'success' }),
  );

  it('checkpoints at the lowest failed offset, object or string identifiers', () => {
    expect(
      read({
        batchItemFailures: [
          { itemIdentifier: { 'topic-partition': 'orders-0', offset: 12 } },
          { itemIdentifier: 'orders-0-11' },
        ],
      }),
    ).toEqual({ kind: 'partial', offset: 11 });
  });

  it.each([
    [{ batchItemFailures: [{ itemIdentifier: '' }] }],
    [{ batchItemFailures: [{ itemIdentifier: null }] }],
    [{ batchItemFailures: [{ id: 'orders-0-11' }] }],
    [{ batchItemFailures: [{ itemIdentifier: 'orders-0-99' }] }],
    [{ batchItemFailures: [{ itemIdentifier: { 'topic-partition': 'orders-1', offset: 11 } }] }],
    [{ batchItemFailures: 'all' }],
  ])('treats %j as a failure of the whole batch', (payload) => {
    expect(read(payload).kind).toBe('invalid');
  });
});
