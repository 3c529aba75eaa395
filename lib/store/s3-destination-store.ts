import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { EventLogError } from '../log/errors.js';
import type { S3Destination } from '../log/subscription-config.js';
import { mapAwsError } from './aws-errors.js';

/**
 * S3 bucket on-failure destinations of Lambda consumers: one object per failure, written with
 * PutObject only (the dispatcher's role needs s3:PutObject on the bucket and nothing else; Lambda
 * also asks for s3:ListBucket, which this log never calls). The client is the one the broker
 * keeps for its segments: the dispatcher's region on AWS, the emulator's endpoint locally, so
 * a local subscription can name a bucket of the local S3 (s3rver).
 */
export interface S3FailureDestinationStore {
  /** Resolves once S3 stored the object; otherwise throws an EventLogError (records stay). */
  put(destination: S3Destination, key: string, body: string): Promise<void>;
}

export class AwsS3FailureDestinationStore implements S3FailureDestinationStore {
  constructor(private readonly s3: S3Client) {}

  async put(destination: S3Destination, key: string, body: string): Promise<void> {
    const bytes = Buffer.from(body, 'utf8');
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: destination.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      const mapped = mapAwsError(
        error,
        `Writing to the on-failure S3 bucket ${destination.bucket}`,
      );
      throw new EventLogError(mapped.code, mapped.message, {
        cause: error,
        retriable: mapped.retriable,
        details: { destination: destination.arn, key, ...mapped.details },
      });
    }
  }
}
