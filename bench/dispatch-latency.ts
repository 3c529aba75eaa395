/**
 * Lambda consumers, end to end on the local emulators: the time from a produce's commit (the
 * moment the produce call answered) to the consumer handler being invoked with the record.
 * The path is the local server's: the produce hook wakes the in-process dispatcher, which
 * takes the partition's lease, fetches, invokes the handler through @aws-sdk/client-lambda and
 * the local Invoke endpoint over HTTP, and commits.
 *
 *   npx tsx bench/dispatch-latency.ts [--records 1000] [--rate 200]
 *
 * Goal: p50 < 100 ms, p99 < 500 ms (batching window 0; a window adds up to its length).
 */
import { pathToFileURL } from 'node:url';
import { type Broker, createBroker, createStores } from '../lib/broker/broker.js';
import { LocalConsumers } from '../lib/local/consumers.js';
import { type LocalEnvironment, startLocalEnvironment } from '../lib/local/environment.js';
import { type ApiServer, startApiServer } from '../lib/local/server.js';
import type { KafkaEventRecord, SelfManagedKafkaEvent } from '../lib/log/lambda-kafka-event.js';
import { BENCH_TOPIC_CONFIGS } from './context.js';
import { type LatencySummary, round, summarize } from './stats.js';

export interface DispatchLatencyOptions {
  /** Emulators already running (bench/run.ts passes its own); else started and stopped here. */
  env?: LocalEnvironment;
  /** Records produced, one per produce request. @default 1000 */
  records?: number;
  /** Produce requests per second, spread over `producers`. @default 200 */
  rate?: number;
  /** Concurrent producers. @default 4 */
  producers?: number;
  partitions?: number;
  log?: (message: string) => void;
}

export interface DispatchLatencyResult {
  records: number;
  partitions: number;
  ratePerSecond: number;
  /** Commit (produce answered) to handler invoked, ms. */
  latencyMs: LatencySummary;
  invocations: number;
  recordsPerInvocation: number;
  goal: { p50Ms: number; p99Ms: number };
  met: boolean;
}

const GOAL = { p50Ms: 100, p99Ms: 500 };

export async function runDispatchLatencyBench(
  options: DispatchLatencyOptions = {},
): Promise<DispatchLatencyResult> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const total = options.records ?? 1000;
  const rate = options.rate ?? 200;
  const producers = options.producers ?? 4;
  const partitions = options.partitions ?? 4;
  const ownEnv = options.env === undefined;
  const env = options.env ?? (await startLocalEnvironment({ quiet: true }));
  const consumers = new LocalConsumers({ log: () => {} });
  let server: ApiServer | undefined;
  try {
    const broker: Broker = createBroker(createStores(env.clients, env.names), {
      onProduced: consumers.onProduced,
    });
    server = await startApiServer({ broker, clusterId: 'bench', functions: consumers.functions });
    const id = Date.now().toString(36);
    const topic = `bench-dispatch-${id}`;
    await broker.topics.create({ name: topic, partitions, configs: BENCH_TOPIC_CONFIGS });

    const received = new Map<string, number>();
    let invocations = 0;
    consumers.functions.register({
      name: `bench-consumer-${id}`,
      handler: async (event) => {
        const now = performance.now();
        invocations++;
        for (const records of Object.values((event as SelfManagedKafkaEvent).records)) {
          for (const r of records as KafkaEventRecord[]) {
            received.set(`${r.partition}:${r.offset}`, now);
          }
        }
        return null;
      },
    });
    await broker.subscriptions.create({
      name: `bench-dispatch-${id}`,
      topic,
      functionName: `bench-consumer-${id}`,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 100,
      maximumBatchingWindowInSeconds: 0,
    });
    await consumers.start(broker, server.url, undefined);

    log(
      `dispatch latency: ${total} records, ${rate}/s over ${producers} producers, ${partitions} partitions`,
    );
    const committed = await producePaced(broker, topic, { total, rate, producers, partitions });
    const deadline = Date.now() + 60_000;
    while (received.size < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (received.size < total) {
      throw new Error(`only ${received.size} of ${total} records reached the handler in 60 s`);
    }
    const latencies = [...committed].map(([key, at]) =>
      Math.max(0, (received.get(key) ?? at) - at),
    );
    const latencyMs = summarize(latencies);
    const result: DispatchLatencyResult = {
      records: total,
      partitions,
      ratePerSecond: rate,
      latencyMs: Object.fromEntries(
        Object.entries(latencyMs).map(([k, v]) => [k, k === 'count' ? v : round(v)]),
      ) as unknown as LatencySummary,
      invocations,
      recordsPerInvocation: round(total / Math.max(1, invocations)),
      goal: GOAL,
      met: latencyMs.p50 < GOAL.p50Ms && latencyMs.p99 < GOAL.p99Ms,
    };
    log(
      `dispatch latency: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms; ${invocations} invocations (${result.recordsPerInvocation} records each)`,
    );
    return result;
  } finally {
    await consumers.stop();
    await server?.close();
    if (ownEnv) await env.stop();
  }
}

/**
 * One record per produce request, `rate` requests a second spread evenly over `producers`;
 * returns when each record was committed (the produce answered), by partition:offset.
 */
async function producePaced(
  broker: Broker,
  topic: string,
  pace: { total: number; rate: number; producers: number; partitions: number },
): Promise<Map<string, number>> {
  const { total, rate, producers, partitions } = pace;
  const committed = new Map<string, number>();
  const interval = (1000 * producers) / rate;
  let next = 0;
  await Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      const start = performance.now() + (p * interval) / producers;
      for (let n = 0; ; n++) {
        const i = next++;
        if (i >= total) return;
        const due = start + n * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const result = await broker.produce.produce({
          topic,
          records: [{ value: Buffer.from(`record-${i}`), partition: i % partitions }],
        });
        const at = performance.now();
        const r = result.records[0];
        if (r?.offset === undefined) throw new Error(`produce failed: ${r?.error?.message}`);
        committed.set(`${r.partition}:${r.offset}`, at);
      }
    }),
  );
  return committed;
}

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : Number(process.argv[at + 1]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const records = argument('records');
  const rate = argument('rate');
  const result = await runDispatchLatencyBench({
    ...(records === undefined ? {} : { records }),
    ...(rate === undefined ? {} : { rate }),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.met ? 0 : 1);
}
