import { type LatencySummary, summarize } from './stats.js';

/** Closed-loop load: `concurrency` workers, each sending its next request when the last one answered. */
export interface LoadOptions {
  concurrency: number;
  /** Stop sending new requests after this long (requests in flight finish). */
  durationMs: number;
  /** Stop after this many requests in all, whatever the time. */
  maxRequests: number;
  /** Requests sent (and not measured) before the clock starts, to warm sockets and caches. */
  warmupRequests?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** Successful requests per second. */
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  /** Every successful request's latency, ms (for merging runs; not for the JSON results). */
  samplesMs: number[];
  /** CPU time (user + system) this process spent during the measured phase, µs. */
  cpuMicros: number;
}

/** Runs `operation` under closed-loop load; times each call (ms). */
export async function runLoad(
  options: LoadOptions,
  operation: (worker: number, sequence: number) => Promise<unknown>,
): Promise<LoadResult> {
  const warmup = options.warmupRequests ?? Math.min(options.concurrency, 8);
  let sequence = 0;
  if (warmup > 0) {
    await Promise.all(
      Array.from({ length: Math.min(warmup, options.concurrency) }, (_, worker) =>
        operation(worker, sequence++).catch(() => undefined),
      ),
    );
  }

  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async (id: number) => {
    while (issued < options.maxRequests && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      try {
        await operation(id, sequence++);
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    requests: latencies.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    elapsedMs,
    requestsPerSecond: (latencies.length / elapsedMs) * 1000,
    latencyMs: summarize(latencies),
    samplesMs: latencies,
    cpuMicros: cpu.user + cpu.system,
  };
}

/** Several runs of the same operation as one: requests and time add up, latencies pool. */
export function mergeLoads(results: LoadResult[]): LoadResult {
  const samplesMs = results.flatMap((r) => r.samplesMs);
  const elapsedMs = results.reduce((sum, r) => sum + r.elapsedMs, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    requests: samplesMs.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (samplesMs.length / elapsedMs) * 1000 : 0,
    latencyMs: summarize(samplesMs),
    samplesMs,
    cpuMicros: results.reduce((sum, r) => sum + r.cpuMicros, 0),
  };
}

/**
 * Two operations measured in alternating rounds (a, b, a, b, ...), so that both see the same
 * machine: on a shared host, load from elsewhere then hits both sides alike.
 */
export async function alternate(
  options: LoadOptions,
  rounds: number,
  a: (worker: number, sequence: number) => Promise<unknown>,
  b: (worker: number, sequence: number) => Promise<unknown>,
): Promise<Alternated> {
  const perRound = { ...options, durationMs: options.durationMs / rounds };
  const as: LoadResult[] = [];
  const bs: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await runLoad(perRound, a));
    bs.push(await runLoad(perRound, b));
  }
  return {
    a: mergeLoads(as),
    b: mergeLoads(bs),
    rounds: as.map((r, i) => [r, bs[i] as LoadResult]),
  };
}

export interface Alternated {
  a: LoadResult;
  b: LoadResult;
  /** Each round's pair, in order. */
  rounds: [LoadResult, LoadResult][];
}
