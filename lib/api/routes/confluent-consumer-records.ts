import type { InstanceFormat, InstanceRecord } from '../../broker/consumer-instances.js';
import { decodeData } from '../../log/encoding.js';
import { EventLogError, isEventLogError } from '../../log/errors.js';

/**
 * The records a Confluent v2 consumer instance polls (GET .../records, in
 * confluent-consumers.ts): the embedded format the Accept header asks for, and each record
 * rendered in it.
 */

const EMBEDDED = /^application\/vnd\.kafka\.(binary|json|avro|jsonschema|protobuf)\.v2\+json$/;

/** The embedded format the Accept header asks for, if it names one. */
export function acceptedFormat(accept: string | undefined): string | undefined {
  if (accept === undefined) return undefined;
  for (const part of accept.split(',')) {
    const type = part.split(';', 1)[0]?.trim().toLowerCase() ?? '';
    const match = EMBEDDED.exec(type);
    if (match !== null) return match[1];
  }
  return undefined;
}

/** A polled record as Confluent renders it: key and value in the instance's embedded format. */
export function recordJson(record: InstanceRecord, format: InstanceFormat) {
  const show = (bytes: Buffer | null, field: 'key' | 'value') => {
    try {
      return decodeData(bytes, format === 'binary' ? 'base64' : 'json', {
        offset: record.offset,
        field,
      });
    } catch (error) {
      if (!isEventLogError(error)) throw error;
      throw new EventLogError(
        'INVALID_REQUEST',
        `The ${field} of ${record.topic}/${record.partition} at offset ${record.offset} is not JSON; read it with a binary consumer instance`,
        { details: { topic: record.topic, partition: record.partition, offset: record.offset } },
      );
    }
  };
  return {
    topic: record.topic,
    key: show(record.key, 'key'),
    value: show(record.value, 'value'),
    partition: record.partition,
    offset: record.offset,
  };
}
