/**
 * A Lambda consumer of the `orders` topic. It is written for Lambda's self-managed Kafka event
 * source and runs unchanged under the event log's dispatcher, locally (npm start with
 * eventlog.config.ts) and on AWS (EventLogConsumer).
 *
 * Records whose value is not JSON are reported with ReportBatchItemFailures: the dispatcher
 * commits everything before the first one, retries from it (maximumRetryAttempts), and then
 * sends it to the dead-letter topic with the reason.
 */
import type { SelfManagedKafkaEvent } from '../../lib/log/lambda-kafka-event.js';

interface BatchItemFailure {
  itemIdentifier: { 'topic-partition': string; offset: number };
}

export const handler = async (
  event: SelfManagedKafkaEvent,
): Promise<{ batchItemFailures: BatchItemFailure[] }> => {
  const batchItemFailures: BatchItemFailure[] = [];
  for (const [topicPartition, records] of Object.entries(event.records)) {
    for (const record of records) {
      const key = record.key === undefined ? null : Buffer.from(record.key, 'base64').toString();
      const value =
        record.value === undefined ? '' : Buffer.from(record.value, 'base64').toString();
      let order: unknown;
      try {
        order = JSON.parse(value);
      } catch {
        console.log(`${topicPartition}@${record.offset}: not JSON, reporting it: ${value}`);
        batchItemFailures.push({
          itemIdentifier: { 'topic-partition': topicPartition, offset: record.offset },
        });
        // Everything from the first failure on is retried: processing the rest now would
        // process it twice.
        break;
      }
      console.log(`${topicPartition}@${record.offset} key=${key}`, order);
    }
  }
  return { batchItemFailures };
};
