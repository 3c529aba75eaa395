import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  type Broker,
  type BrokerOptions,
  createBroker,
  createStores,
} from '../../../lib/broker/broker.js';
import type { FetchedRecord } from '../../../lib/broker/fetch.js';
import { SEGMENT_PREFIX } from '../../../lib/infra/resources.js';
import { testClients, testNames } from '../../helpers/aws.js';

export function brokerForTest(options: BrokerOptions = {}): Broker {
  return createBroker(createStores(testClients(), testNames()), options);
}

export const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** Every record of a partition from `from` up to the high watermark, fetched page by page. */
export async function readAll(
  broker: Broker,
  topic: string,
  partition: number,
  from = 0,
): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  let offset = from;
  for (;;) {
    const page = await broker.fetch.fetch({ topic, partition, offset, maxRecords: 5000 });
    records.push(...page.records);
    if (page.nextOffset === offset) return records;
    offset = page.nextOffset;
  }
}

export async function countSegmentObjects(topicId: string): Promise<number> {
  const { s3 } = testClients();
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: testNames().bucket,
        Prefix: `${SEGMENT_PREFIX}${topicId}/`,
        ContinuationToken: token,
      }),
    );
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return count;
}
