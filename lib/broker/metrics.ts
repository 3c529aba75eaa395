import { appendFileSync, renameSync, statSync } from 'node:fs';
import {
  DEFAULT_METRICS_NAMESPACE,
  emfDocument,
  type MetricDimension,
  type MetricName,
} from '../log/metrics.js';
import { type Clock, systemClock } from './clock.js';

/** Where EMF lines go: stdout in a Lambda (CloudWatch Logs extracts them), a file locally. */
export type MetricsSink = (line: string) => void;

export interface MetricsOptions {
  /** @default 'EventLog' */
  namespace?: string;
  /** Lag per partition as well as per group or subscription (one metric per partition). */
  perPartition?: boolean;
  clock?: Clock;
}

/** The environment variables the CDK construct sets for the functions. */
export const METRICS_ENV = {
  namespace: 'EVENTLOG_METRICS_NAMESPACE',
  perPartition: 'EVENTLOG_METRICS_PER_PARTITION',
} as const;

/**
 * Writes metrics as EMF documents, one line each, synchronously: a Lambda may be frozen right
 * after it answers, so nothing is buffered for later.
 */
export class MetricsEmitter {
  readonly namespace: string;
  readonly perPartition: boolean;
  private readonly clock: Clock;

  constructor(
    private readonly sink: MetricsSink,
    options: MetricsOptions = {},
  ) {
    this.namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
    this.perPartition = options.perPartition ?? false;
    this.clock = options.clock ?? systemClock;
  }

  emit(
    dimensions: Partial<Record<MetricDimension, string>>,
    values: Partial<Record<MetricName, number | undefined>>,
  ): void {
    const document = emfDocument(this.namespace, this.clock.now(), dimensions, values);
    if (document === undefined) return;
    try {
      this.sink(JSON.stringify(document));
    } catch {
      // A metric that cannot be written must never fail the request that produced it.
    }
  }
}

/**
 * The functions' emitter: stdout, with the namespace and options the construct set. Written
 * with process.stdout.write, not console.log: Lambda's Node.js runtime prefixes console lines
 * with a time, request id and level, and CloudWatch only extracts EMF from a line that is the
 * JSON object alone.
 */
export function metricsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  sink: MetricsSink = (line) => process.stdout.write(`${line}\n`),
): MetricsEmitter {
  const namespace = env[METRICS_ENV.namespace];
  return new MetricsEmitter(sink, {
    ...(namespace ? { namespace } : {}),
    perPartition: env[METRICS_ENV.perPartition] === 'true',
  });
}

/**
 * The local server's emitter: the same lines, appended to a file of the data directory. The
 * file is kept under `maxBytes` by moving it to `<path>.1` (the one before is dropped).
 */
export function fileMetricsSink(path: string, maxBytes = 10 * 1024 * 1024): MetricsSink {
  let size: number | undefined;
  return (line) => {
    size ??= sizeOf(path);
    if (size > maxBytes) {
      renameSync(path, `${path}.1`);
      size = 0;
    }
    const text = `${line}\n`;
    appendFileSync(path, text);
    size += Buffer.byteLength(text);
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
