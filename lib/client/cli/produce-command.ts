import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type EventLogError, toEventLogError } from '../../log/errors.js';
import { DEFAULT_BATCH_LIMITS } from '../batcher.js';
import { Producer } from '../producer.js';
import type { ProducerRecord } from '../records.js';
import { type GlobalOptions, httpClient, UsageError, writeErr } from './context.js';
import { type EnvelopeFormats, parseEnvelopeLine } from './envelope-input.js';
import {
  type DataFormat,
  formatCount,
  formatDuration,
  formatRate,
  type HeaderFormat,
} from './output.js';
import { ProgressBar } from './progress.js';
import {
  formatFromFileName,
  type InputFormat,
  type InputOptions,
  parseRecordLine,
  readRecords,
  unescapeDelimiter,
} from './record-input.js';

export interface ProduceOptions {
  file?: string;
  format?: InputFormat;
  key?: string;
  keyField?: string;
  keySeparator?: string;
  partition?: number;
  header?: string[];
  batchRecords?: number;
  batchBytes?: number;
  inFlight?: number;
  /** kcat -D: the record delimiter (escapes \n \t \xNN…); default a newline. */
  delimiter?: string;
  /** kcat -Z: an empty value is sent as null. */
  nullEmpty?: boolean;
  /** --format json: how consume printed keys, values and header values. */
  keyFormat?: DataFormat;
  valueFormat?: DataFormat;
  headerFormat?: HeaderFormat;
}

/** Requests in flight for records without keys: the order between them means nothing. */
const UNKEYED_IN_FLIGHT = 4;

/**
 * Reads records from a file or stdin, one per line, and writes them in batched requests.
 * Prints a progress bar on a terminal when reading a file, and always a summary line.
 * Returns the process exit code: 0, or 130 when interrupted (what was read until then is
 * still sent).
 */
export async function produce(
  global: GlobalOptions,
  topic: string,
  options: ProduceOptions,
): Promise<number> {
  const input = inputOptions(options);
  const delimiter = unescapeDelimiter(options.delimiter ?? '\n');
  if (delimiter === '') throw new UsageError('--delimiter must not be empty');
  const envelopes: EnvelopeFormats = {
    key: options.keyFormat ?? 'string',
    value: options.valueFormat ?? 'string',
    header: options.headerFormat ?? 'string',
  };
  const parse = (text: string, line: number): ProducerRecord | undefined =>
    input.format === 'json'
      ? withOptions(parseEnvelopeLine(text, line, envelopes), input)
      : parseRecordLine(text, line, input);
  const keyed =
    input.key !== undefined ||
    input.keyField !== undefined ||
    input.keySeparator !== undefined ||
    input.format === 'json';
  // One request at a time keeps the records of a key in the order read, whatever happens
  // to the requests (retries, failures). Records without keys are spread anyway.
  const inFlight =
    options.inFlight ?? (keyed || input.partition !== undefined ? 1 : UNKEYED_IN_FLIGHT);
  const producer = new Producer(httpClient(global), {
    batch: {
      maxRecords: options.batchRecords ?? DEFAULT_BATCH_LIMITS.maxRecords,
      maxBytes: options.batchBytes ?? DEFAULT_BATCH_LIMITS.maxBytes,
    },
    maxInFlight: inFlight,
  });
  const writer = producer.writer(topic);

  const fromFile = options.file !== undefined && options.file !== '-';
  let stream: Readable;
  let progress: ProgressBar | undefined;
  if (fromFile) {
    const path = options.file as string;
    const size = await stat(path).then(
      (info) => info.size,
      (error: NodeJS.ErrnoException) => {
        throw new UsageError(
          `Cannot read ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        );
      },
    );
    stream = createReadStream(path);
    if (process.stderr.isTTY) progress = new ProgressBar(process.stderr, size);
  } else {
    stream = process.stdin;
  }
  let bytesRead = 0;
  stream.on('data', (chunk: Buffer | string) => {
    bytesRead += chunk.length;
  });

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  let failure: EventLogError | undefined;
  try {
    for await (const { text, line } of readRecords(stream, delimiter, stop.signal)) {
      const record = parse(text, line);
      if (record === undefined) continue;
      await writer.write(record);
      progress?.update(bytesRead, writer.stats.written);
    }
  } catch (error) {
    failure = toEventLogError(error);
  }
  const interrupted = stop.signal.aborted;
  try {
    // Whatever was read is sent, also after a bad line or Ctrl-C: it was meant to be.
    await writer.close();
  } catch (error) {
    failure ??= toEventLogError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  progress?.update(bytesRead, writer.stats.written, true);
  progress?.clear();

  const elapsed = Date.now() - started;
  const { written, requests } = writer.stats;
  writeErr(
    `produced ${formatCount(written)} record${written === 1 ? '' : 's'} to ${topic} in ${formatCount(requests)} request${requests === 1 ? '' : 's'}, ${formatDuration(elapsed)}, ${formatRate(written, elapsed)} records/s${interrupted ? ' (interrupted)' : ''}\n`,
  );
  if (failure !== undefined) throw failure;
  return interrupted ? 130 : 0;
}

function inputOptions(options: ProduceOptions): InputOptions {
  const given = [
    options.key !== undefined && '--key',
    options.keyField !== undefined && '--key-field',
    options.keySeparator !== undefined && '--key-separator',
  ].filter((o): o is string => o !== false);
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} cannot be used together`);
  const format: InputFormat =
    options.format ??
    (options.keyField !== undefined ? 'jsonl' : (formatFromFileName(options.file) ?? 'lines'));
  if (options.keyField !== undefined && format !== 'jsonl') {
    throw new UsageError('--key-field reads a field of JSON lines: use it with --format jsonl');
  }
  if (options.keySeparator !== undefined && format !== 'lines') {
    throw new UsageError('--key-separator splits plain lines: use it with --format lines');
  }
  if (options.keySeparator === '') throw new UsageError('--key-separator must not be empty');
  if (format === 'json' && (options.key !== undefined || options.nullEmpty === true)) {
    throw new UsageError('--format json takes keys and nulls from each record: drop --key and -Z');
  }
  let headers: Record<string, string> | undefined;
  for (const pair of options.header ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--header takes name=value, got "${pair}"`);
    headers ??= {};
    headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    format,
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.keyField === undefined ? {} : { keyField: options.keyField }),
    ...(options.keySeparator === undefined
      ? {}
      : { keySeparator: unescapeDelimiter(options.keySeparator) }),
    ...(options.nullEmpty === true ? { emptyAsNull: true } : {}),
    ...(options.partition === undefined ? {} : { partition: options.partition }),
    ...(headers === undefined ? {} : { headers }),
  };
}

/** --partition and -H on a record read from an envelope (-H headers come after its own). */
function withOptions(
  record: ProducerRecord | undefined,
  input: InputOptions,
): ProducerRecord | undefined {
  if (record === undefined) return undefined;
  if (input.partition !== undefined) record.partition = input.partition;
  if (input.headers !== undefined) {
    const own = Array.isArray(record.headers) ? record.headers : [];
    record.headers = [
      ...own,
      ...Object.entries(input.headers).map(([key, value]) => ({ key, value })),
    ];
  }
  return record;
}
