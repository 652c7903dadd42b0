/**
 * Where anti-entropy keeps its files: one store per region (an S3 bucket in that region when deployed,
 * memory when `ddb-mirror verify` runs the same steps in one process), and what reading them costs.
 */
import type { ReadRange } from './tree';

export interface ObjectStore {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  range(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Keys under `prefix`, in key order. */
  list(prefix: string): Promise<string[]>;
}

export class MemoryStore implements ObjectStore {
  private readonly objects = new Map<string, Uint8Array>();

  async put(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(key, body);
  }

  async get(key: string): Promise<Uint8Array> {
    const body = this.objects.get(key);
    if (!body) throw new Error(`no object ${key}`);
    return body;
  }

  async range(key: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.get(key)).subarray(offset, offset + length);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Bytes held under `prefix`. */
  bytes(prefix = ''): number {
    let n = 0;
    for (const [k, v] of this.objects) if (k.startsWith(prefix)) n += v.byteLength;
    return n;
  }
}

/** What reading one region's files cost: bytes returned and read requests. */
export interface ReadMeter {
  bytes: number;
  reads: number;
}

export const newReadMeter = (): ReadMeter => ({ bytes: 0, reads: 0 });

/** Range reads of one object, each counted on `meter`. */
export function meteredRange(store: ObjectStore, key: string, meter: ReadMeter): ReadRange {
  return async (offset, length) => {
    const bytes = await store.range(key, offset, length);
    meter.bytes += bytes.byteLength;
    meter.reads += 1;
    return bytes;
  };
}

/** The objects of one run: parts by partition and worker; per partition a tree, a result and a repair. */
export const runPaths = {
  run: (runId: string) => `runs/${runId}/`,
  parts: (runId: string, partition: number) => `runs/${runId}/parts/${partition}/`,
  part: (runId: string, partition: number, worker: string) =>
    `runs/${runId}/parts/${partition}/${worker}.bin`,
  tree: (runId: string, partition: number) => `runs/${runId}/trees/${partition}.bin`,
  result: (runId: string, partition: number) => `runs/${runId}/results/${partition}.json`,
  results: (runId: string) => `runs/${runId}/results/`,
  repair: (runId: string, partition: number) => `runs/${runId}/repairs/${partition}.json`,
  repairs: (runId: string) => `runs/${runId}/repairs/`,
};
