/** The pure domain of the event log: Kafka's record format and the functions around it. */
export * from './compression.js';
export * from './crc32c.js';
export * from './errors.js';
export * from './murmur2.js';
export * from './partitioner.js';
export * from './record-batch.js';
export * from './ulid.js';
export * from './varint.js';
