import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { request } from './aws-errors.js';

/** Where segment objects live: one object per produce request, read back by byte range. */
export interface SegmentStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** Bytes [start, end) of an object. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  list(prefix: string, startAfter?: string): AsyncIterable<SegmentObject>;
  /** Deletes keys in batches of 1000; returns how many S3 reported deleted. */
  delete(keys: readonly string[]): Promise<number>;
}

export interface SegmentObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

const DELETE_BATCH = 1000;

export class S3SegmentStore implements SegmentStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    await request(`Uploading segment ${key}`, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: 'application/vnd.apache.kafka.record-batch',
        }),
      ),
    );
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return request(`Reading segment ${key} [${start}, ${end})`, async () => {
      // An explicit first-last range: suffix ranges are not needed and some emulators get
      // them wrong.
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      const bytes = await response.Body?.transformToByteArray();
      if (bytes === undefined) throw new Error('empty response body');
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (buffer.byteLength !== end - start) {
        throw new Error(`expected ${end - start} bytes, got ${buffer.byteLength}`);
      }
      return buffer;
    });
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<SegmentObject> {
    let token: string | undefined;
    do {
      const page = await request(`Listing segments under ${prefix}`, () =>
        this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            StartAfter: token === undefined ? startAfter : undefined,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified };
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
  }

  async delete(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      // Objects S3 did not delete fail the call as a failed request would (mapped, retriable).
      deleted += await request(`Deleting ${batch.length} segments`, async () => {
        const response = await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
          }),
        );
        const failed = response.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new Error(
            `${failed.length} objects not deleted, first: ${first?.Key} ${first?.Code}`,
          );
        }
        return response.Deleted?.length ?? batch.length;
      });
    }
    return deleted;
  }
}
