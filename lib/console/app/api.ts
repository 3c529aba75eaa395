/**
 * Calls to the API, from the same origin. With a credential from the sign-in form (an API key
 * or a JWT, kept in sessionStorage: gone when the tab closes), each call carries
 * `Authorization: Bearer`; a browser cannot sign SigV4, so on AWS the console is used through
 * the bearer front door (docs/security.md).
 */

const TOKEN_KEY = 'eventlog.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value === null || value === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const bearer = token();
  if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = text === '' ? {} : JSON.parse(text);
  if (!response.ok) {
    throw new ApiError(response.status, json.code ?? 'ERROR', json.message ?? response.statusText);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

// The shapes the console reads: the API's own types (type imports: nothing of the server
// reaches the bundle).
import type { GroupLag } from '../../broker/lag.js';
import type { ThroughputBucket, TopicThroughput } from '../../broker/throughput.js';
import type { SubscriptionView } from '../../log/subscription-config.js';

export type { PartitionLag } from '../../broker/lag.js';
export type Lag = GroupLag;
export type Throughput = TopicThroughput;
export type Bucket = ThroughputBucket;
export type Subscription = SubscriptionView;

export interface Topic {
  name: string;
  partitions: number;
  configs: Record<string, string>;
  createdAt: number;
}
