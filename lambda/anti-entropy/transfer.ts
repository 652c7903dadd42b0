/**
 * What a verify costs, in the two figures the anti-entropy comparison is judged by (docs/replication.md,
 * "Anti-entropy by range hashes"): read units, and bytes that cross regions, both per GB of the table.
 *
 * Bytes are counted where they are received: a DynamoDB response's Content-Length (every attempt, so a
 * retried page counts twice, as it crossed twice), and the bytes read of another region's hash files.
 * The comparison runs in one region (the one-way source; else the first): that region's own reads stay
 * in it, every other region's cross.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface ByteMeter {
  /** Response bytes received. */
  bytes: number;
  responses: number;
}

export const newByteMeter = (): ByteMeter => ({ bytes: 0, responses: 0 });

/** Counts the bytes of every response `client` receives. Call once per client. */
export function meterResponseBytes(client: DynamoDBClient, meter: ByteMeter): void {
  type Handler = (args: object) => Promise<{ response?: { headers?: Record<string, string> } }>;
  const stack = client.middlewareStack as unknown as {
    add(mw: (next: Handler) => Handler, options: object): void;
  };
  stack.add(
    (next) => async (args) => {
      const result = await next(args);
      meter.bytes += Number(result.response?.headers?.['content-length'] ?? 0);
      meter.responses += 1;
      return result;
    },
    { step: 'deserialize', name: 'ddbMirrorResponseBytes' },
  );
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
