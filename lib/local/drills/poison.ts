import { AttributeValue, DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { KeyAttribute, TableModel } from '../../config/model';
import { defaultRetryDelay } from '../event-source';
import { canonical } from '../verify';
import { WRITE_ID } from '../workload';
import { seconds } from './figures';
import type { DrillSession, Scenario, ScenarioFindings } from './session';

/**
 * An item the targets cannot take, written by the drill at its origin: just under DynamoDB's 400 KB
 * item size limit there, over it once the replicator adds its order key. Every target answers
 * ValidationException, which no retry changes: the replicator parks the record for each target with its
 * full identity (table, key, stream sequence number, eventID, the error), its shard goes on, and the
 * parked copies wait in the parking queues (until their dead-letter queue) since none can ever apply.
 * Once it is reported the drill deletes the item at its origin, as an operator would, so the regions
 * can agree again; the poison is listed, never counted as lost.
 */

/** DynamoDB's item size limit (attribute names and values, UTF-8). */
const ITEM_LIMIT = 400 * 1024;
/** The poison's size below the limit: less than the replicator's `_ddbm_ord` adds (49 bytes or more). */
const MARGIN = 10;
const PARK_TIMEOUT_MS = 120_000;

interface Poison {
  readonly table: TableModel;
  readonly origin: string;
  readonly key: Record<string, AttributeValue>;
  readonly marker: string;
  readonly bytes: number;
  writtenAt?: number;
  settledAt?: number;
  parked: { targetRegion: string; sequenceNumber?: string; eventID?: string; reason?: string }[];
  discarded: number;
}

export function poisonScenario(): Scenario {
  let poison: Poison | undefined;
  return {
    name: 'poison',
    plan: (s) => {
      const { table, origin } = target(s.tables);
      return `at +${s.settings.leadSeconds}s, one ${table.name} item of ${ITEM_LIMIT - MARGIN} bytes written in ${origin}: over 400 KB once the replicator adds its order key`;
    },
    windowSeconds: () => 0,
    prepare: (s) => {
      poison = makePoison(s);
      const marker = poison.marker;
      s.excludeParked = (body) => body.includes(marker);
    },
    inject: (s) => inject(s, poison!),
    status: () =>
      poison?.parked.length ? `poison parked for ${poison.parked.length} targets` : 'poison written',
    conclude: (s) => findings(s, poison!),
  };
}

/** The first one-way table (written in its source), else the first table (written in its first region). */
function target(tables: readonly TableModel[]): { table: TableModel; origin: string } {
  const table = tables.find((t) => t.mode === 'one-way') ?? tables[0];
  return { table, origin: table.mode === 'one-way' ? table.source : table.regions[0] };
}

function keyValue(attr: KeyAttribute, text: string, n: number): AttributeValue {
  if (attr.type === 'N') return { N: String(n) };
  if (attr.type === 'B') return { B: Buffer.from(text) };
  return { S: text };
}

function makePoison(s: DrillSession): Poison {
  const { table, origin } = target(s.tables);
  const key: Record<string, AttributeValue> = {
    [table.key.partitionKey.name]: keyValue(
      table.key.partitionKey,
      `drill-poison-${s.seed}`,
      900_000_000 + s.seed,
    ),
  };
  if (table.key.sortKey) key[table.key.sortKey.name] = keyValue(table.key.sortKey, 'poison', 0);
  return {
    table,
    origin,
    key,
    marker: `drill-poison-${s.seed}-${Date.now()}`,
    bytes: ITEM_LIMIT - MARGIN,
    parked: [],
    discarded: 0,
  };
}

/** Size of a key attribute as DynamoDB counts it (numbers: an upper bound). */
function attributeBytes(name: string, value: AttributeValue): number {
  const v = value.S ?? value.N ?? value.B;
  return (
    Buffer.byteLength(name) +
    (typeof v === 'string' ? Buffer.byteLength(v) + (value.N ? 1 : 0) : (v?.length ?? 0))
  );
}

function poisonItem(p: Poison): Record<string, AttributeValue> {
  const fixed =
    Object.entries(p.key).reduce((n, [k, v]) => n + attributeBytes(k, v), 0) +
    Buffer.byteLength(WRITE_ID) +
    Buffer.byteLength(p.marker) +
    Buffer.byteLength('payload');
  return { ...p.key, [WRITE_ID]: { S: p.marker }, payload: { S: 'x'.repeat(p.bytes - fixed) } };
}

async function inject(s: DrillSession, p: Poison): Promise<void> {
  const client = s.handles.clientFor(p.origin);
  await client.send(new PutItemCommand({ TableName: p.table.name, Item: poisonItem(p) }));
  p.writtenAt = Date.now();
  s.log(`wrote the poison in ${p.origin}: ${p.table.name} ${canonical(p.key)}, ${p.bytes} bytes`);
  const discardsBefore = discards(s, p);
  const targets = p.table.mode === 'one-way' ? p.table.replicas.length : p.table.regions.length - 1;
  const deadline = Date.now() + PARK_TIMEOUT_MS;
  while (Date.now() < deadline && !s.aborted) {
    p.parked = parkedCopies(s, p);
    p.discarded = discards(s, p) - discardsBefore;
    // Only the poison's own parked copies end the wait: a batch of the same shard sent to the
    // on-failure queue meanwhile need not be the poison's (a loaded machine times batches out).
    if (p.parked.length >= targets) break;
    await s.wait(100);
  }
  p.settledAt = Date.now();
  for (const c of p.parked)
    s.log(
      `poison parked for ${c.targetRegion} after ${seconds(p.settledAt - p.writtenAt)}: sequence ${c.sequenceNumber}, eventID ${c.eventID}; ${c.reason}`,
    );
  if (p.discarded)
    s.log(`${p.discarded} batches of the poison's shard sent to the on-failure queue meanwhile`);
  await client.send(new DeleteItemCommand({ TableName: p.table.name, Key: p.key }));
  s.log(`poison deleted in ${p.origin}, as an operator would, so the regions can agree again`);
}

/** The poison's messages in the origin's parking queues. */
function parkedCopies(s: DrillSession, p: Poison): Poison['parked'] {
  const out: Poison['parked'] = [];
  for (const { queue, region } of s.handles.queueSources) {
    if (region !== p.origin) continue;
    for (const body of queue.peek()) {
      if (!body.includes(p.marker)) continue;
      const m = JSON.parse(body) as Poison['parked'][number];
      out.push({
        targetRegion: m.targetRegion,
        sequenceNumber: m.sequenceNumber,
        eventID: m.eventID,
        reason: m.reason,
      });
    }
  }
  return out;
}

function discards(s: DrillSession, p: Poison): number {
  return s.handles.streamSources
    .filter((x) => x.region === p.origin && x.table.name === p.table.name)
    .reduce((n, x) => n + x.source.counters.onFailure, 0);
}

function findings(s: DrillSession, p: Poison): ScenarioFindings {
  const sources = s.handles.streamSources.filter(
    (x) => x.region === p.origin && x.table.name === p.table.name,
  );
  const blocked = Math.max(0, ...sources.map((x) => x.source.counters.maxBlockedMs));
  const mappings = s.plan.mappings.filter((m) => sources.some((x) => x.functionName === m.functionName));
  const retries = Math.max(0, ...mappings.map((m) => m.maximumRetryAttempts));
  const bound = boundMs(
    retries,
    s.plan.functions.find((f) => f.name === sources[0]?.functionName)?.timeoutSeconds ?? 60,
  );
  const problems: string[] = [];
  if (!p.parked.length) problems.push('the poison was not parked within 120 s');
  if (blocked > bound)
    problems.push(
      `its shard was blocked ${seconds(blocked)}, over the configured bound of ${seconds(bound)}`,
    );
  return {
    fields: {
      poison: `${p.table.name}:${canonical(p.key)}`,
      parked_for: p.parked.map((c) => c.targetRegion).join(',') || '–',
      discarded_batches: String(p.discarded),
      blocked: seconds(blocked),
      bound: seconds(bound),
    },
    problems,
    details: {
      poison: {
        table: p.table.name,
        key: p.key,
        origin: p.origin,
        bytes: p.bytes,
        parked: p.parked,
        discarded: p.discarded,
      },
    },
    ownKeys: [`${p.table.name} ${canonical(p.key)}`],
  };
}

/**
 * The longest a failing record can hold its shard: every retry the mapping allows, each after its
 * back-off and each as long as the function's timeout, before the batch goes to the on-failure queue.
 */
function boundMs(retries: number, timeoutSeconds: number): number {
  let ms = (retries + 1) * timeoutSeconds * 1000;
  for (let n = 1; n <= retries; n++) ms += defaultRetryDelay(n);
  return ms;
}
