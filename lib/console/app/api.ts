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

// The shapes the console reads (docs/api.md has them all).

export interface Topic {
  name: string;
  partitions: number;
  configs: Record<string, string>;
  createdAt: number;
}

export interface Bucket {
  start: number;
  records: number;
  bytes: number;
  requests: number;
}

export interface Throughput {
  topic: string;
  at: number;
  bucketMs: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  requestsPerSecond: number;
  partitions: {
    partition: number;
    logStartOffset: number;
    highWatermark: number;
    records: number;
    bytes: number;
    bytesExact: boolean;
    recordsPerSecond: number;
    bytesPerSecond: number;
  }[];
  series: Bucket[];
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number | null;
  logStartOffset: number;
  highWatermark: number;
  offsetLag: number | null;
  timeLagMs: number | null;
}

export interface Lag {
  group: string;
  at: number;
  partitions: PartitionLag[];
  totalOffsetLag: number;
  maxTimeLagMs: number | null;
}

export interface Subscription {
  name: string;
  topic: string;
  group: string;
  functionName: string;
  state: string;
  batchSize: number;
  maximumRetryAttempts: number;
  destinationConfig?: { onFailure: { destination: string } };
  failing: {
    partition: number;
    offset: number;
    attempts: number;
    since: number;
    lastError: string;
  }[];
}
