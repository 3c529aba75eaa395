import { once } from 'node:events';
import { HttpClient } from '../http.js';

/** Options every command has (see bin/eventlog.ts). */
export interface GlobalOptions {
  url: string;
  sigv4?: boolean;
  /** An API key or JWT (Authorization: Bearer). */
  token?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8787';

/**
 * A mistake in how the command was called (conflicting options, a bad value found only
 * once the command ran): exit code 2, like commander's own usage errors.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function httpClient(options: GlobalOptions): HttpClient {
  return new HttpClient({
    url: options.url,
    // Without --sigv4: signed only for AWS endpoint URLs (execute-api, function URLs).
    ...(options.sigv4 === true ? { sigv4: true } : {}),
    ...(options.token === undefined || options.token === '' ? {} : { token: options.token }),
  });
}

/** Writes to stdout, waiting when the pipe is full so a slow reader bounds memory. */
export async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

export function writeErr(text: string): void {
  process.stderr.write(text);
}

/** `--at`: earliest, latest, milliseconds since the epoch, or an ISO-8601 time. */
export function parseTime(text: string): number | 'earliest' | 'latest' {
  if (text === 'earliest' || text === 'latest') return text;
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `"${text}" is not a time: use milliseconds since the epoch or ISO-8601 (2024-05-01T12:00:00Z)`,
    );
  }
  return ms;
}
