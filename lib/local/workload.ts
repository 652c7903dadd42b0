import {
  AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type KeyAttribute,
  type MultiActiveTableModel,
  type OneWayTableModel,
  tableRegions,
  type TableModel,
} from '../config/model';

/**
 * The demo workload, modelled on the article: Stories (one-way tables) are published and edited in
 * their source region; Sessions (multi-active tables) are saved in every region following the write
 * contract (`UpdateItem ... ADD version :one`), with deliberate concurrent saves of one session in two
 * regions, and deletes. The operations are planned up front from a seeded PRNG, so one seed always
 * gives the same sequence; item shapes come from each table's key schema, so any config works.
 */

export interface WorkloadOptions {
  /** @default 1 */
  readonly seed: number;
  /** Operations per second. @default 20 */
  readonly rate: number;
  /** @default 15 */
  readonly durationSeconds: number;
  /** Wall-clock base for time-valued attributes (TTL), epoch ms; fixed in tests. @default Date.now() at planning */
  readonly epochMs?: number;
  /**
   * Share of multi-active operations that save one item in two regions at the same moment (each such
   * conflict is two saves). Conflict-rich by default, so the demo shows conflicts being resolved.
   * @default 0.15
   */
  readonly conflictRate?: number;
  /** Share of multi-active operations that delete an item. @default 0.1 */
  readonly deleteRate?: number;
}

export const WORKLOAD_DEFAULTS: WorkloadOptions = {
  seed: 1,
  rate: 20,
  durationSeconds: 15,
  conflictRate: 0.15,
  deleteRate: 0.1,
};

/** Share of multi-active operations that create an item (a fifth of them re-create a deleted one). */
const CREATE_RATE = 0.25;

export type OpKind = 'create' | 'edit' | 'save' | 'delete';

export interface PlannedOp {
  /** Offset from the start of the workload, ms. */
  readonly at: number;
  readonly index: number;
  readonly table: string;
  readonly region: string;
  readonly kind: OpKind;
  readonly key: Record<string, AttributeValue>;
  /** Attributes written (not the key, not the version). */
  readonly attributes: Record<string, AttributeValue>;
  /** Ops sharing a group id run at the same moment in different regions (a deliberate conflict). */
  readonly concurrentGroup?: number;
  /** Unique id of this write, stored in {@link WRITE_ID}: replication lag is measured by looking for it. */
  readonly writeId: string;
}

/** Attribute the workload writes on every save so a target can tell it holds that exact write. */
export const WRITE_ID = 'writeId';

/** mulberry32: small, fast, good enough for a demo and fully deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function keyValue(attr: KeyAttribute, text: string, n: number): AttributeValue {
  if (attr.type === 'N') return { N: String(n) };
  if (attr.type === 'B') return { B: Buffer.from(text) };
  return { S: text };
}

/** The key of entity `n` of a table, whatever its key schema (S, N or B, with or without sort key). */
export function entityKey(table: TableModel, n: number): Record<string, AttributeValue> {
  const noun = table.mode === 'one-way' ? 'story' : 'session';
  const key: Record<string, AttributeValue> = {
    [table.key.partitionKey.name]: keyValue(
      table.key.partitionKey,
      `${noun}-${String(n).padStart(4, '0')}`,
      n,
    ),
  };
  if (table.key.sortKey) key[table.key.sortKey.name] = keyValue(table.key.sortKey, `part-${n % 3}`, n % 3);
  return key;
}

const WORDS = [
  'aurora',
  'harbor',
  'granite',
  'meadow',
  'signal',
  'copper',
  'lantern',
  'orbit',
  'tundra',
  'willow',
  'ember',
  'delta',
];

function attributesFor(
  table: TableModel,
  region: string,
  rand: () => number,
  nowMs: number,
): Record<string, AttributeValue> {
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)];
  const reserved = new Set([
    table.key.partitionKey.name,
    table.key.sortKey?.name,
    versionOf(table),
    WRITE_ID,
  ]);
  const attrs: Record<string, AttributeValue> =
    table.mode === 'one-way'
      ? {
          title: { S: `${pick()} ${pick()}` },
          body: { S: Array.from({ length: 8 }, pick).join(' ') },
          wordCount: { N: String(8 + Math.floor(rand() * 400)) },
          tags: { SS: [...new Set([pick(), pick()])] },
        }
      : {
          user: { S: `user-${Math.floor(rand() * 50)}` },
          cart: { L: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({ S: pick() })) },
          lastRegion: { S: region },
          prefs: { M: { theme: { S: rand() < 0.5 ? 'dark' : 'light' } } },
        };
  // Excluded attributes are region-local by definition: written here, never expected elsewhere.
  for (const ex of table.excludeAttributes) attrs[ex] = { S: `${region}-local-${pick()}` };
  if (table.ttl) attrs[table.ttl.attribute] = { N: String(Math.floor(nowMs / 1000) + 86400) };
  for (const r of reserved) if (r && r in attrs) delete attrs[r];
  return attrs;
}

/** The version attribute of a multi-active table; one-way tables have none. */
function versionOf(table: TableModel): string | undefined {
  return table.mode === 'multi-active' && table.conflicts === 'version' ? table.versionAttribute : undefined;
}

/**
 * Plans the whole workload. A one-way table is written in its source only; a multi-active table in
 * every region. Item counts stay small so edits and conflicts are frequent.
 */
export function planWorkload(
  tables: readonly TableModel[],
  options: Partial<WorkloadOptions> = {},
): PlannedOp[] {
  const o = { ...WORKLOAD_DEFAULTS, ...options };
  if (!tables.length) return [];
  const conflictRate = o.conflictRate ?? 0.15;
  const deleteRate = o.deleteRate ?? 0.1;
  if (!(conflictRate >= 0 && deleteRate >= 0 && CREATE_RATE + conflictRate + deleteRate <= 1))
    throw new Error(
      `conflict rate ${conflictRate} and delete rate ${deleteRate} must be at least 0 and leave room for creates (${CREATE_RATE}): their sum may be at most ${1 - CREATE_RATE}`,
    );
  const planner = new WorkloadPlanner(tables, o.seed, o.epochMs ?? Date.now(), { conflictRate, deleteRate });
  const total = Math.max(1, Math.round(o.rate * o.durationSeconds));
  for (let i = 0; i < total; i++) planner.step(Math.round((i * 1000) / o.rate));
  return planner.ops;
}

/** The planning state: which entities of each table exist, and the PRNG every choice is drawn from. */
class WorkloadPlanner {
  readonly ops: PlannedOp[] = [];
  private readonly rand: () => number;
  private readonly live = new Map<string, Set<number>>();
  private readonly next = new Map<string, number>();
  private group = 0;

  constructor(
    private readonly tables: readonly TableModel[],
    private readonly seed: number,
    private readonly epochMs: number,
    private readonly rates: { readonly conflictRate: number; readonly deleteRate: number },
  ) {
    this.rand = prng(seed);
    for (const t of tables) {
      this.live.set(t.name, new Set());
      this.next.set(t.name, 0);
    }
  }

  /** One operation (two for a deliberate conflict) at `at` ms. */
  step(at: number): void {
    const t = this.tables[Math.floor(this.rand() * this.tables.length)];
    const roll = this.rand();
    const existing = this.chooseLive(t);
    if (t.mode === 'one-way') this.oneWay(t, at, roll, existing);
    else this.multiActive(t, at, roll, existing);
  }

  private oneWay(t: OneWayTableModel, at: number, roll: number, existing: number | undefined): void {
    if (existing === undefined || roll < 0.4)
      this.write(t, this.born(t, this.fresh(t)), t.source, at, 'create');
    else if (roll < 0.9) this.write(t, existing, t.source, at, 'edit');
    else this.remove(t, existing, t.source, at);
  }

  private multiActive(
    t: MultiActiveTableModel,
    at: number,
    roll: number,
    existing: number | undefined,
  ): void {
    const region = t.regions[Math.floor(this.rand() * t.regions.length)];
    const conflictUpTo = CREATE_RATE + this.rates.conflictRate;
    if (existing === undefined || roll < CREATE_RATE) {
      // A new session, or (one time in five) a deleted one coming back: the generation rule's case.
      const dead = [...Array(this.next.get(t.name)!).keys()].filter((k) => !this.live.get(t.name)!.has(k));
      const n =
        dead.length && this.rand() < 0.2 ? dead[Math.floor(this.rand() * dead.length)] : this.fresh(t);
      this.write(t, this.born(t, n), region, at, 'save');
    } else if (roll < conflictUpTo && t.regions.length > 1) {
      // The same session saved at the same moment in two regions: one of the two loses everywhere.
      const others = t.regions.filter((r) => r !== region);
      const other = others[Math.floor(this.rand() * (t.regions.length - 1))];
      this.group += 1;
      for (const r of [region, other]) this.write(t, existing, r, at, 'save', this.group);
    } else if (roll < conflictUpTo + this.rates.deleteRate) {
      this.remove(t, existing, region, at);
    } else {
      this.write(t, existing, region, at, 'save');
    }
  }

  private write(t: TableModel, n: number, region: string, at: number, kind: OpKind, group?: number): void {
    const attributes = attributesFor(t, region, this.rand, this.epochMs + at);
    this.push(t, n, {
      at,
      table: t.name,
      region,
      kind,
      attributes,
      ...(group ? { concurrentGroup: group } : {}),
    });
  }

  private remove(t: TableModel, n: number, region: string, at: number): void {
    this.live.get(t.name)!.delete(n);
    this.push(t, n, { at, table: t.name, region, kind: 'delete', attributes: {} });
  }

  private push(t: TableModel, n: number, op: Omit<PlannedOp, 'index' | 'writeId' | 'key'>): void {
    const index = this.ops.length;
    this.ops.push({ ...op, index, key: entityKey(t, n), writeId: `w${this.seed}-${index}` });
  }

  private chooseLive(t: TableModel): number | undefined {
    const s = [...this.live.get(t.name)!];
    return s.length ? s[Math.floor(this.rand() * s.length)] : undefined;
  }

  private fresh(t: TableModel): number {
    const n = this.next.get(t.name)!;
    this.next.set(t.name, n + 1);
    return n;
  }

  /** Marks entity `n` as existing; returns it. */
  private born(t: TableModel, n: number): number {
    this.live.get(t.name)!.add(n);
    return n;
  }
}

/** One write's journey: written at `writtenAt` in `origin`, to be looked for in `targets`. */
export interface WriteSample {
  readonly table: string;
  readonly origin: string;
  readonly targets: readonly string[];
  readonly key: Record<string, AttributeValue>;
  readonly writeId: string;
  readonly writtenAt: number;
}

export interface WorkloadProgress {
  readonly done: number;
  readonly total: number;
  readonly errors: number;
}

export interface RunWorkloadOptions {
  readonly clientFor: (region: string) => DynamoDBClient;
  readonly tables: readonly TableModel[];
  readonly onProgress?: (p: WorkloadProgress) => void;
  /** Called after each acknowledged save (not deletes, not conflicting saves). */
  readonly onWrite?: (sample: WriteSample) => void;
  readonly onError?: (op: PlannedOp, error: unknown) => void;
  /** Called once per operation, acknowledged or not, with when it was sent and when it ended (epoch ms). */
  readonly onOutcome?: (op: PlannedOp, outcome: OperationOutcome) => void;
  readonly signal?: AbortSignal;
}

export interface OperationOutcome {
  /** The engine acknowledged the write. */
  readonly acknowledged: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly error?: unknown;
}

export interface WorkloadResult {
  readonly operations: number;
  readonly writes: number;
  readonly errors: number;
  readonly byKind: Record<OpKind, number>;
  readonly concurrentSaves: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Runs the planned operations at their offsets; ops due at one moment run together. */
export async function runWorkload(
  ops: readonly PlannedOp[],
  options: RunWorkloadOptions,
): Promise<WorkloadResult> {
  const startedAt = Date.now();
  const tables = new Map(options.tables.map((t) => [t.name, t]));
  const byKind: Record<OpKind, number> = { create: 0, edit: 0, save: 0, delete: 0 };
  let done = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const groups = new Map<number, PlannedOp[]>();
  for (const op of ops)
    if (op.concurrentGroup !== undefined)
      groups.set(op.concurrentGroup, [...(groups.get(op.concurrentGroup) ?? []), op]);

  for (let i = 0; i < ops.length; i++) {
    if (options.signal?.aborted) break;
    const op = ops[i];
    const wait = startedAt + op.at - Date.now();
    if (wait > 0) await sleep(wait, options.signal);
    const batch = op.concurrentGroup !== undefined ? groups.get(op.concurrentGroup)! : [op];
    if (op.concurrentGroup !== undefined) i += batch.length - 1;
    const p = Promise.all(
      batch.map(async (b) => {
        const sentAt = Date.now();
        try {
          await execute(b, tables.get(b.table)!, options.clientFor(b.region));
          options.onOutcome?.(b, { acknowledged: true, startedAt: sentAt, endedAt: Date.now() });
          byKind[b.kind] += 1;
          if (b.kind !== 'delete' && b.concurrentGroup === undefined) {
            const t = tables.get(b.table)!;
            options.onWrite?.({
              table: b.table,
              origin: b.region,
              targets: tableRegions(t).filter((r) => r !== b.region),
              key: b.key,
              writeId: b.writeId,
              writtenAt: Date.now(),
            });
          }
        } catch (e) {
          errors += 1;
          options.onOutcome?.(b, { acknowledged: false, startedAt: sentAt, endedAt: Date.now(), error: e });
          options.onError?.(b, e);
        } finally {
          done += 1;
          options.onProgress?.({ done, total: ops.length, errors });
        }
      }),
    ).then(() => undefined);
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    // Bound the writes in flight so a slow engine slows the workload instead of queueing without end.
    if (inflight.size >= 32) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return {
    operations: done,
    writes: Object.values(byKind).reduce((a, b) => a + b, 0),
    errors,
    byKind,
    concurrentSaves: ops.filter((o) => o.concurrentGroup !== undefined).length,
    startedAt,
    endedAt: Date.now(),
  };
}

async function execute(op: PlannedOp, table: TableModel, client: DynamoDBClient): Promise<void> {
  const attributes = { ...op.attributes, [WRITE_ID]: { S: op.writeId } };
  if (op.kind === 'delete') {
    await client.send(new DeleteItemCommand({ TableName: op.table, Key: op.key }));
    return;
  }
  if (op.kind === 'create') {
    await client.send(new PutItemCommand({ TableName: op.table, Item: { ...op.key, ...attributes } }));
    return;
  }
  // Edits and saves are UpdateItems; on multi-active tables they follow the write contract
  // (docs/replication.md): every save increments the version with ADD, a new item starts at 1.
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets = Object.entries(attributes).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    return `#a${i} = :a${i}`;
  });
  let expression = `SET ${sets.join(', ')}`;
  // Under last-writer-wins the application keeps no contract: a save is a plain UpdateItem.
  if (table.mode === 'multi-active' && table.conflicts === 'version') {
    names['#version'] = table.versionAttribute;
    values[':one'] = { N: '1' };
    expression += ' ADD #version :one';
  }
  await client.send(
    new UpdateItemCommand({
      TableName: op.table,
      Key: op.key,
      UpdateExpression: expression,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
