import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../lib/log/partitioner.js';
import { apiHarness, failingPartition, SEQUENCE_PER_PARTITION } from '../helpers/api.js';

const api = apiHarness();
const utf8 = (text: string) => Buffer.from(text, 'utf8');

describe('produce and fetch (/v1)', () => {
  it('runs the docs example: keys pick partitions as Kafka does, fetch shows them back', async () => {
    const topic = await api.topic(3);
    const produced = await api.call('POST', `/v1/topics/${topic}/records`, {
      valueFormat: 'json',
      records: [
        {
          key: 'customer-42',
          value: { item: 'book', qty: 1 },
          headers: [{ key: 'source', value: 'web' }],
        },
        {
          key: 'customer-7',
          value: { item: 'pen', qty: 3 },
          partition: 2,
          timestamp: 1700000000000,
        },
      ],
    });
    expect(produced.status).toBe(200);
    const byKey = partitionForKey(utf8('customer-42'), 3);
    expect(produced.json.topic).toBe(topic);
    expect(produced.json.records).toEqual([
      { partition: byKey, offset: 0, timestamp: expect.any(Number) },
      { partition: 2, offset: byKey === 2 ? 1 : 0, timestamp: 1700000000000 },
    ]);

    const first = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/${byKey}/records?offset=0&valueFormat=json`,
    );
    expect(first.status).toBe(200);
    expect(first.json.records[0]).toEqual({
      offset: 0,
      timestamp: produced.json.records[0].timestamp,
      timestampType: 'CreateTime',
      key: 'customer-42',
      value: { item: 'book', qty: 1 },
      headers: [{ key: 'source', value: 'web' }],
    });

    const second = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/2/records?offset=${produced.json.records[1].offset}&valueFormat=json&waitMs=5000`,
    );
    expect(second.json.records[0]).toMatchObject({
      key: 'customer-7',
      value: { item: 'pen', qty: 3 },
    });
    expect(second.json.nextOffset).toBe(produced.json.records[1].offset + 1);
    expect(second.json.highWatermark).toBe(second.json.nextOffset);
  });

  it('stores exactly the bytes each format stands for, and hashes JSON keys as Jackson writes them', async () => {
    const name = await api.topic(7);
    // Sent as text: a JS object would reorder "2" before "id" and print 1.0 as 1.
    const produced = await api.call(
      'POST',
      `/v1/topics/${name}/records`,
      `{"headerFormat": "base64", "records": [
        {"key": {"id": 1.0, "2": [1e2]}, "keyFormat": "json", "value": "AAEC/w==", "valueFormat": "base64",
         "headers": [{"key": "bin", "value": "/wA="}]},
        {"key": null, "value": null},
        {"key": "plain", "value": ""}]}`,
    );
    expect(produced.status).toBe(200);
    const jsonKey = utf8('{"id":1.0,"2":[100.0]}');
    expect(produced.json.records[0].partition).toBe(partitionForKey(jsonKey, 7));
    expect(produced.json.records[2].partition).toBe(partitionForKey(utf8('plain'), 7));

    const p0 = produced.json.records[0].partition;
    const asBase64 = await api.call(
      'GET',
      `/v1/topics/${name}/partitions/${p0}/records?offset=${produced.json.records[0].offset}&format=base64&headerFormat=base64&maxRecords=1`,
    );
    expect(asBase64.json.records).toEqual([
      expect.objectContaining({
        key: jsonKey.toString('base64'),
        value: 'AAEC/w==',
        headers: [{ key: 'bin', value: '/wA=' }],
      }),
    ]);
    // The json format splices the stored text in as it is: 1.0 stays 1.0.
    const asJson = await api.call(
      'GET',
      `/v1/topics/${name}/partitions/${p0}/records?offset=${produced.json.records[0].offset}&keyFormat=json&valueFormat=base64&headerFormat=base64&maxRecords=1`,
    );
    expect(asJson.text).toContain('"key":{"id":1.0,"2":[100.0]}');

    const nulls = produced.json.records[1];
    const fetchedNulls = await api.call(
      'GET',
      `/v1/topics/${name}/partitions/${nulls.partition}/records?offset=${nulls.offset}&maxRecords=1`,
    );
    expect(fetchedNulls.json.records[0]).toMatchObject({ key: null, value: null, headers: [] });
  });

  it('refuses to show bytes that are not UTF-8 as a string, and says what to use', async () => {
    const topic = await api.topic();
    await api.call('POST', `/v1/topics/${topic}/records`, {
      records: [{ value: '/w==', valueFormat: 'base64' }],
    });
    const fetched = await api.call('GET', `/v1/topics/${topic}/partitions/0/records?offset=0`);
    expect(fetched.status).toBe(400);
    expect(fetched.json.message).toBe(
      'The value of the record at offset 0 is not valid UTF-8, so it cannot be shown in the "string" format; fetch it with valueFormat=base64',
    );
  });

  it('pages with maxRecords and refuses an offset past the high watermark with 416', async () => {
    const topic = await api.topic();
    await api.call('POST', `/v1/topics/${topic}/records`, {
      records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }],
    });
    const page = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=1&maxRecords=1`,
    );
    expect(page.json.records.map((r: { value: string }) => r.value)).toEqual(['b']);
    expect(page.json.nextOffset).toBe(2);
    const atEnd = await api.call('GET', `/v1/topics/${topic}/partitions/0/records?offset=3`);
    expect(atEnd.status).toBe(200);
    expect(atEnd.json.records).toEqual([]);
    const past = await api.call('GET', `/v1/topics/${topic}/partitions/0/records?offset=4`);
    expect(past.status).toBe(416);
    expect(past.json).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 0,
      highWatermark: 3,
    });
  });
});

describe('long poll', () => {
  it('answers as soon as a record is produced while it waits', async () => {
    const topic = await api.topic();
    const started = performance.now();
    const waiting = api.call(
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=0&waitMs=15000`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await api.call('POST', `/v1/topics/${topic}/records`, { records: [{ value: 'late' }] });
    const fetched = await waiting;
    const elapsed = performance.now() - started;
    expect(fetched.json.records.map((r: { value: string }) => r.value)).toEqual(['late']);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(5000);
  });

  it('answers empty when the wait ends without records', async () => {
    const topic = await api.topic();
    const started = performance.now();
    const fetched = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=0&waitMs=400`,
    );
    expect(fetched.status).toBe(200);
    expect(fetched.json.records).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('stops waiting when the client goes away', async () => {
    const topic = await api.topic();
    const controller = new AbortController();
    const started = performance.now();
    const waiting = api.app.request(
      new Request(
        `http://localhost/v1/topics/${topic}/partitions/0/records?offset=0&waitMs=15000`,
        {
          signal: controller.signal,
        },
      ),
    );
    setTimeout(() => controller.abort(), 200);
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

describe('offsets', () => {
  it('lists earliest, latest and by timestamp, per partition and for the topic', async () => {
    const topic = await api.topic(2);
    await api.call('POST', `/v1/topics/${topic}/records`, {
      records: [
        { value: 'a', partition: 1, timestamp: 1000 },
        { value: 'b', partition: 1, timestamp: 2000 },
        { value: 'c', partition: 1, timestamp: 3000 },
      ],
    });
    const base = `/v1/topics/${topic}/partitions/1/offsets`;
    expect((await api.call('GET', `${base}?at=earliest`)).json).toEqual({
      topic,
      at: 'earliest',
      partition: 1,
      offset: 0,
      logStartOffset: 0,
      highWatermark: 3,
    });
    expect((await api.call('GET', base)).json).toMatchObject({ at: 'latest', offset: 3 });
    expect((await api.call('GET', `${base}?at=1500`)).json).toMatchObject({
      offset: 1,
      timestamp: 2000,
    });
    expect((await api.call('GET', `${base}?at=9999`)).json).toMatchObject({ offset: null });

    const all = await api.call('GET', `/v1/topics/${topic}/offsets?at=latest`);
    expect(all.json).toEqual({
      topic,
      at: 'latest',
      partitions: [
        { partition: 0, offset: 0, logStartOffset: 0, highWatermark: 0 },
        { partition: 1, offset: 3, logStartOffset: 0, highWatermark: 3 },
      ],
    });
    const bad = await api.call('GET', `${base}?at=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('at must be earliest, latest or a timestamp in ms');
  });
});

describe('a partition that fails to be written', () => {
  /** An index store whose reservations fail for partition 1, as if DynamoDB were down there. */
  const failing = apiHarness({ stores: failingPartition(1) });

  it('gets a per-record error while the other partitions are written', async () => {
    const topic = await failing.topic(2, SEQUENCE_PER_PARTITION);
    const produced = await failing.call('POST', `/v1/topics/${topic}/records`, {
      records: [
        { value: 'ok', partition: 0 },
        { value: 'lost', partition: 1 },
      ],
    });
    expect(produced.status).toBe(200);
    expect(produced.json.records[0]).toEqual({
      partition: 0,
      offset: 0,
      timestamp: expect.any(Number),
    });
    expect(produced.json.records[1]).toEqual({
      partition: 1,
      error: {
        error_code: 50003,
        message: 'DynamoDB is down',
        code: 'STORAGE_UNAVAILABLE',
        retriable: true,
      },
    });
  });

  it('answers with the error itself when every record failed', async () => {
    const topic = await failing.topic(2, SEQUENCE_PER_PARTITION);
    const produced = await failing.call('POST', `/v1/topics/${topic}/records`, {
      records: [{ value: 'lost', partition: 1 }],
    });
    expect(produced.status).toBe(503);
    expect(produced.json).toMatchObject({
      error_code: 50003,
      code: 'STORAGE_UNAVAILABLE',
      retriable: true,
    });
  });
});
