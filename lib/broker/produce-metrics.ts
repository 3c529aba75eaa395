import { isEventLogError } from '../log/errors.js';
import type { MetricsEmitter } from './metrics.js';
import type { ProduceRecord, ProduceService } from './produce.js';

/**
 * Per-topic produce metrics (docs/metrics.md): one EMF line per produce request, written by
 * the function that served it. Like observeProduce, it wraps the service's method, so every
 * route (v1, Confluent v2 and v3, the dispatcher's dead-letter writes) is counted the same way.
 *
 * A request naming a topic that does not exist is not counted: its name is the caller's
 * choice, and each new Topic value would be a new CloudWatch metric ($0.30 a month each).
 */
export function observeProduceMetrics(service: ProduceService, metrics: MetricsEmitter): void {
  const produce = service.produce.bind(service);
  service.produce = async (request) => {
    let result: Awaited<ReturnType<ProduceService['produce']>>;
    try {
      result = await produce(request);
    } catch (error) {
      if (
        !isEventLogError(error, 'UNKNOWN_TOPIC') &&
        !isEventLogError(error, 'INVALID_TOPIC_NAME')
      ) {
        metrics.emit({ Topic: request.topic }, { ProduceRequests: 1, ProduceErrors: 1 });
      }
      throw error;
    }
    let records = 0;
    let bytes = 0;
    let failed = false;
    result.records.forEach((written, i) => {
      if (written.error !== undefined || written.offset === undefined) {
        failed = true;
        return;
      }
      records++;
      bytes += payloadBytes(request.records[i]);
    });
    metrics.emit(
      { Topic: result.topic },
      {
        ProduceRequests: 1,
        ProduceErrors: failed ? 1 : 0,
        ProducedRecords: records,
        ProducedBytes: bytes,
      },
    );
    return result;
  };
}

/** What the producer sent: key, value, header names and values (no framing). */
function payloadBytes(record: ProduceRecord | undefined): number {
  if (record === undefined) return 0;
  let bytes = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) {
    bytes += Buffer.byteLength(header.key) + (header.value?.byteLength ?? 0);
  }
  return bytes;
}
