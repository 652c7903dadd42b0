/**
 * A region's run bucket as an `ObjectStore`: whole objects, ranged GETs for the tree reads, and listings.
 * Range reads are many and small; at most `inFlight` of them run at once per bucket.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from './store';

export class S3Store implements ObjectStore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly client: Pick<S3Client, 'send'>,
    readonly bucket: string,
    private readonly inFlight = 32,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async get(key: string): Promise<Uint8Array> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return res.Body ? res.Body.transformToByteArray() : new Uint8Array();
  }

  async range(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array();
    await this.slot();
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      return res.Body ? res.Body.transformToByteArray() : new Uint8Array();
    } finally {
      // A waiting read takes this slot over; otherwise it is free.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  private async slot(): Promise<void> {
    if (this.running < this.inFlight) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}
