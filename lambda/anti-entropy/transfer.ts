/**
 * What a verify costs, in the two figures the anti-entropy comparison is judged by (docs/replication.md,
 * "Anti-entropy by range hashes"): read units, and bytes that cross regions, both per GB of the table.
 *
 * Bytes are counted on the wire: a DynamoDB request's body and its response's Content-Length (every
 * attempt, so a retried page counts twice, as it crossed twice), and the bytes read of another region's
 * hash files.
 * The comparison runs in one region (the one-way source; else the first): that region's own reads stay
 * in it, every other region's cross.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CapacityMeter } from '../ops/capacity';

export interface ByteMeter {
  /** Bytes sent and received: request bodies and response bodies. */
  bytes: number;
  requests: number;
}

export const newByteMeter = (): ByteMeter => ({ bytes: 0, requests: 0 });

/** Counts the bytes of every request `client` sends and every response it receives. Call once per client. */
export function meterBytes(client: DynamoDBClient, meter: ByteMeter): void {
  type Handler = (args: {
    request?: { body?: unknown };
  }) => Promise<{ response?: { headers?: Record<string, string> } }>;
  const stack = client.middlewareStack as unknown as {
    add(mw: (next: Handler) => Handler, options: object): void;
  };
  stack.add(
    (next) => async (args) => {
      meter.bytes += bodyLength(args.request?.body);
      meter.requests += 1;
      const result = await next(args);
      meter.bytes += Number(result.response?.headers?.['content-length'] ?? 0);
      return result;
    },
    { step: 'deserialize', name: 'ddbMirrorBytes' },
  );
}

/** A request body's length: a string, bytes, or the SDK's JSON body (a string adapter with a length). */
function bodyLength(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  const length = (body as { length?: unknown } | undefined)?.length;
  return typeof length === 'number' ? length : 0;
}

/** The steps a verify goes through (`VerifyPhase` in lambda/ops/verify.ts). */
export type Step = 'scan' | 'compare' | 'recheck';

/** What a hash verify read of each region's hash files (`HashFigures.reads`). */
export interface HashReads {
  readonly reads: Readonly<Record<string, { readonly bytes: number }>>;
}

/**
 * The cost of one verify, from its clients' meters: marks the meters as each step starts
 * (`onPhase: cost.mark`), then gives the figures from the first step until now, so a repair that
 * follows is not counted.
 */
export class VerifyCost {
  private readonly marks: Partial<Record<Step, Record<string, { units: number; bytes: number }>>> = {};

  constructor(
    private readonly regions: readonly string[],
    private readonly units: Readonly<Record<string, CapacityMeter>>,
    private readonly bytes: Readonly<Record<string, ByteMeter>>,
  ) {}

  readonly mark = (step: Step): void => void (this.marks[step] = this.now());

  /** The home region is the first of `regions` (the one-way source). */
  figures(r: {
    readonly method: 'full' | 'hash';
    readonly itemBytes: Readonly<Record<string, number>>;
    readonly hash?: HashReads;
  }): TransferFigures {
    const end = this.now();
    const [home, ...others] = this.regions;
    const since = (step: Step, region: string) => end[region].bytes - (this.marks[step] ?? end)[region].bytes;
    const crossed =
      r.method === 'hash' && r.hash
        ? others.reduce((n, x) => n + (r.hash!.reads[x]?.bytes ?? 0) + since('recheck', x), 0)
        : others.reduce((n, x) => n + since('scan', x), 0);
    return transferFigures({
      tableBytes: r.itemBytes[home] ?? 0,
      home,
      readUnits: this.regions.reduce((n, x) => n + end[x].units - (this.marks.scan ?? end)[x].units, 0),
      crossRegionBytes: crossed,
    });
  }

  private now() {
    return Object.fromEntries(
      this.regions.map((r) => [r, { units: this.units[r].readUnits, bytes: this.bytes[r].bytes }]),
    );
  }
}

export const GB = 1e9;

export interface TransferFigures {
  /** DynamoDB's size of the compared copy in the home region: what "per GB" divides by. */
  readonly tableBytes: number;
  readonly home: string;
  readonly readUnits: number;
  /** Bytes that crossed regions: another region's items (full) or hash files (hash), and the re-reads. */
  readonly crossRegionBytes: number;
  readonly perGB: { readonly readUnits: number; readonly crossRegionBytes: number };
  /** Cross-region bytes as a percentage of the table's size. */
  readonly crossRegionPercent: number;
}

export function transferFigures(o: {
  readonly tableBytes: number;
  readonly home: string;
  readonly readUnits: number;
  readonly crossRegionBytes: number;
}): TransferFigures {
  const gb = o.tableBytes / GB;
  return {
    ...o,
    perGB: {
      readUnits: gb > 0 ? Math.round(o.readUnits / gb) : 0,
      crossRegionBytes: gb > 0 ? Math.round(o.crossRegionBytes / gb) : 0,
    },
    crossRegionPercent: o.tableBytes > 0 ? (100 * o.crossRegionBytes) / o.tableBytes : 0,
  };
}

/** `12.3 MB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u += 1;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[u]}`;
}
