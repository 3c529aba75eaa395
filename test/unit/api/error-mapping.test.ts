import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_MAPPING, errorBody, httpErrorOf } from '../../../lib/api/error-mapping.js';
import { ERROR_CODES, type ErrorCode, EventLogError } from '../../../lib/log/errors.js';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe('error mapping', () => {
  it.each(codes)('maps %s to an error status and a Confluent error_code', (code) => {
    const mapping = ERROR_MAPPING[code];
    expect(mapping, `${code} has no mapping`).toBeDefined();
    expect(mapping.status).toBeGreaterThanOrEqual(400);
    expect(mapping.status).toBeLessThan(600);
    // Confluent's codes are an HTTP status or one followed by two digits, of the same class.
    expect(String(mapping.errorCode)).toMatch(/^[45][0-9]{2}([0-9]{2})?$/);
    expect(String(mapping.errorCode)[0]).toBe(String(mapping.status)[0]);
  });

  it('maps nothing that is not an error code', () => {
    expect(Object.keys(ERROR_MAPPING).sort()).toEqual([...codes].sort());
  });

  it('gives retriable codes a status a client retries (429 or 5xx) and the rest a 4xx, except server faults', () => {
    for (const code of codes) {
      const { status } = ERROR_MAPPING[code];
      // IDEMPOTENCY_IN_PROGRESS is 409 as the IETF Idempotency-Key draft says; its envelope
      // still says retriable.
      if (code === 'IDEMPOTENCY_IN_PROGRESS') expect(status).toBe(409);
      else if (ERROR_CODES[code].retriable) expect([429, 503, 504], code).toContain(status);
      else if (!['INTERNAL', 'CORRUPT_RECORD', 'UNSUPPORTED_COMPRESSION'].includes(code)) {
        expect(status, code).toBeLessThan(500);
      }
    }
  });

  it("uses Confluent's codes for unknown topics and partitions", () => {
    expect(ERROR_MAPPING.UNKNOWN_TOPIC).toEqual({ status: 404, errorCode: 40401 });
    expect(ERROR_MAPPING.UNKNOWN_PARTITION).toEqual({ status: 404, errorCode: 40402 });
    expect(ERROR_MAPPING.STORAGE_UNAVAILABLE.errorCode).toBe(50003);
  });

  it('tells a bad key (42201) from a bad value (42202)', () => {
    const key = new EventLogError('INVALID_REQUEST', 'bad key', { details: { field: 'key' } });
    const value = new EventLogError('INVALID_REQUEST', 'bad value', {
      details: { field: 'value' },
    });
    const other = new EventLogError('INVALID_REQUEST', 'bad', { details: { field: 'headers' } });
    expect(httpErrorOf(key)).toEqual({ status: 422, errorCode: 42201 });
    expect(httpErrorOf(value)).toEqual({ status: 422, errorCode: 42202 });
    expect(httpErrorOf(other)).toEqual({ status: 400, errorCode: 400 });
  });

  it('builds the envelope with details, which cannot overwrite its own members', () => {
    const error = new EventLogError('UNKNOWN_TOPIC', 'Topic "x" does not exist', {
      details: { topic: 'x', error_code: 1, code: 'NOPE' },
    });
    expect(errorBody(error)).toEqual({
      error_code: 40401,
      message: 'Topic "x" does not exist',
      code: 'UNKNOWN_TOPIC',
      retriable: false,
      topic: 'x',
    });
  });
});

describe('docs/api.md error table', () => {
  const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  const rows = [
    ...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/gm),
  ].map((m) => ({
    code: m[1] as string,
    status: Number(m[2]),
    errorCode: Number(m[3]),
    retriable: m[4] === 'yes',
  }));

  it('documents every code, and only codes that exist', () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...codes].sort());
  });

  it.each(codes)('documents %s with its real status, error_code and retriability', (code) => {
    const row = rows.find((r) => r.code === code);
    expect(row).toEqual({
      code,
      status: ERROR_MAPPING[code].status,
      errorCode: ERROR_MAPPING[code].errorCode,
      retriable: ERROR_CODES[code].retriable,
    });
  });
});
