/**
 * An in-memory DynamoDB for the deterministic simulator: synchronous, deterministic, one database per
 * region, and the subset of the API the project's code sends (lambda/core, lambda/ops, the sampler),
 * with DynamoDB's condition, update and billing semantics and a NEW_AND_OLD_IMAGES stream per table.
 *
 * Where DynamoDB Local and AWS differ, the model follows AWS (docs/platform.md#simulator-model); the
 * differential test (test/sim/engine.differential.test.ts) holds it to DynamoDB Local everywhere else.
 * Approximations, all documented where they are made: item sizes follow the published formula;
 * ItemCount is live (AWS refreshes it about every six hours); a Scan's order is a fixed hash of the
 * partition key, not AWS's; BatchGetItem never leaves keys unprocessed.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchGetItemCommandInput,
  type BatchWriteItemCommandInput,
  type CancellationReason,
  type DeleteItemCommandInput,
  type DescribeTableCommandInput,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type ScanCommandInput,
  type TransactWriteItemsCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  conditionalCheckFailed,
  isValidation,
  resourceNotFound,
  transactionCanceled,
  validation,
} from './errors';
import {
  applyUpdate,
  checkConditionTypes,
  checkDefined,
  checkNoOverlap,
  checkUpdate,
  checkUsed,
  evaluate,
  MAX_ITEM_BYTES,
  pathNames,
  project,
  type Placeholders,
} from './evaluate';
import {
  parseCondition,
  parseProjection,
  parseUpdate,
  type Condition,
  type Operand,
  type Parsed,
  type Path,
  type UpdateTree,
} from './expressions';
import {
  canonical,
  canonicalItem,
  compareScalars,
  itemSize,
  normalizeItem,
  normalizeValue,
  toSdkItem,
  toStreamImage,
  typeOf,
  type Item,
  type Loose,
  type Val,
} from './values';

export type SdkItem = Record<string, AttributeValue>;
export type KeyType = 'S' | 'N' | 'B';

export interface SimTableDef {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly stream: boolean;
  readonly ttlAttribute?: string;
  /** @default 'S' */
  readonly partitionKeyType?: KeyType;
  /** @default 'S' */
  readonly sortKeyType?: KeyType;
}

interface Entry {
  readonly item: Item;
  readonly size: number;
  /** canonicalItem(item), computed when first needed. */
  canon?: string;
}

interface Table {
  readonly def: SimTableDef;
  readonly region: string;
  readonly keyNames: readonly string[];
  readonly streamArn: string;
  readonly items: Map<string, Entry>;
  readonly records: DynamoDBRecord[];
  read: number;
  write: number;
  /** Bumped on every change of the items: the fingerprint cache's key. */
  version: number;
  fingerprint?: { readonly version: number; readonly text: string };
}

interface Region {
  readonly tables: Map<string, Table>;
  /** One stream sequence shared by every table of the region, as in DynamoDB Local. */
  sequence: number;
}

type Capacity = 'NONE' | 'TOTAL' | 'INDEXES' | undefined;

const KB = 1024;
const READ_UNIT = 4 * KB;
const PAGE_BYTES = 1024 * KB;
const TTL_SERVICE = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;
/** TTL skips items whose expiry lies more than five years in the past (Developer Guide, "Time to Live"). */
const TTL_HORIZON_SECONDS = 5 * 365 * 24 * 3600;

const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const readUnits = (bytes: number) => Math.ceil(bytes / READ_UNIT);

/** One prepared write: evaluated against the current item, not yet applied. */
interface Prepared {
  readonly table: Table;
  readonly keyString: string;
  readonly key: Item;
  readonly old?: Entry;
  /** The item after the write; undefined removes it. Absent for a ConditionCheck. */
  readonly next?: Item;
  readonly writes: boolean;
  readonly failed: boolean;
  /** A ValidationException met while the update was evaluated on the item. */
  readonly error?: Error;
  /** Billed bytes: the larger of the item before and after. */
  readonly bytes: number;
  readonly returnOldOnFailure: boolean;
}

export class SimDynamo {
  private readonly regions = new Map<string, Region>();
  private clock: () => number;

  constructor(options: { readonly now?: () => number } = {}) {
    this.clock = options.now ?? (() => 0);
  }

  /** Epoch milliseconds from now on (ApproximateCreationDateTime, TTL). */
  setNow(ms: number): void {
    this.clock = () => ms;
  }

  createTable(region: string, def: SimTableDef): void {
    let r = this.regions.get(region);
    if (!r) this.regions.set(region, (r = { tables: new Map(), sequence: 0 }));
    if (r.tables.has(def.name)) throw validation(`Table already exists: ${def.name}`);
    r.tables.set(def.name, {
      def,
      region,
      keyNames: def.sortKey ? [def.partitionKey, def.sortKey] : [def.partitionKey],
      streamArn: `arn:aws:dynamodb:${region}:000000000000:table/${def.name}/stream/1970-01-01T00:00:00.000`,
      items: new Map(),
      records: [],
      read: 0,
      write: 0,
      version: 0,
    });
  }

  execute(region: string, command: { readonly input: unknown }): Record<string, unknown> {
    const input = command.input;
    if (command instanceof PutItemCommand) return this.putItem(region, input as PutItemCommandInput);
    if (command instanceof UpdateItemCommand) return this.updateItem(region, input as UpdateItemCommandInput);
    if (command instanceof DeleteItemCommand) return this.deleteItem(region, input as DeleteItemCommandInput);
    if (command instanceof GetItemCommand) return this.getItemCommand(region, input as GetItemCommandInput);
    if (command instanceof TransactWriteItemsCommand)
      return this.transactWrite(region, input as TransactWriteItemsCommandInput);
    if (command instanceof BatchGetItemCommand)
      return this.batchGet(region, input as BatchGetItemCommandInput);
    if (command instanceof BatchWriteItemCommand)
      return this.batchWrite(region, input as BatchWriteItemCommandInput);
    if (command instanceof QueryCommand) return this.query(region, input as QueryCommandInput);
    if (command instanceof ScanCommand) return this.scan(region, input as ScanCommandInput);
    if (command instanceof DescribeTableCommand)
      return this.describeTable(region, input as DescribeTableCommandInput);
    throw new Error(`SimDynamo does not model ${command.constructor?.name ?? 'this command'}`);
  }

  /** The table's stream records so far, in order (a copy of the list; the records are frozen). */
  stream(region: string, table: string): readonly DynamoDBRecord[] {
    return [...this.table(region, table).records];
  }

  /** How many records the table's stream holds (without copying them). */
  streamLength(region: string, table: string): number {
    return this.table(region, table).records.length;
  }

  /** The records from position `from` on (cheaper than `stream` for a reader that keeps its place). */
  streamFrom(region: string, table: string, from: number): readonly DynamoDBRecord[] {
    return this.table(region, table).records.slice(from);
  }

  /** A TTL deletion: removes the item, REMOVE record with the service identity. False when there was no item. */
  expire(region: string, table: string, key: SdkItem): boolean {
    const t = this.table(region, table);
    const k = this.keyOf(t, key);
    const keyString = this.keyString(t, k);
    const old = t.items.get(keyString);
    if (!old) return false;
    this.commit(
      { table: t, keyString, key: k, old, writes: true, failed: false, bytes: 0, returnOldOnFailure: false },
      true,
    );
    return true;
  }

  /** Keys of the items whose TTL attribute (epoch seconds) has passed, sorted by key; none without TTL. */
  expiredKeys(region: string, table: string): SdkItem[] {
    const t = this.table(region, table);
    const attribute = t.def.ttlAttribute;
    if (!attribute) return [];
    const now = Math.floor(this.clock() / 1000);
    return this.sorted(t)
      .filter((e) => {
        const n = (e.item[attribute] as Loose | undefined)?.N;
        if (n === undefined) return false;
        const at = Number(n);
        return at <= now && at >= now - TTL_HORIZON_SECONDS;
      })
      .map((e) => toSdkItem(this.keyFromItem(t, e.item)));
  }

  /** Every item, sorted by key. */
  items(region: string, table: string): SdkItem[] {
    return this.sorted(this.table(region, table)).map((e) => toSdkItem(e.item));
  }

  /** The item under `key` (no capacity consumed). */
  getItem(region: string, table: string, key: SdkItem): SdkItem | undefined {
    const t = this.table(region, table);
    const entry = t.items.get(this.keyString(t, this.keyOf(t, key)));
    return entry ? toSdkItem(entry.item) : undefined;
  }

  /** A stable string for the contents of every table (not the streams): equal contents, equal fingerprint. */
  fingerprint(): string {
    const parts: string[] = [];
    for (const region of [...this.regions.keys()].sort()) {
      const tables = this.regions.get(region)!.tables;
      for (const name of [...tables.keys()].sort()) {
        const t = tables.get(name)!;
        if (t.fingerprint?.version !== t.version) {
          const lines = [...t.items.values()].map((e) => (e.canon ??= canonicalItem(e.item))).sort();
          t.fingerprint = { version: t.version, text: lines.join('\n') };
        }
        parts.push(`${JSON.stringify(region)} ${JSON.stringify(name)}\n${t.fingerprint.text}`);
      }
    }
    return parts.join('\n');
  }

  /** Total consumed capacity per region and table since creation (failed conditional writes included). */
  consumed(region: string, table: string): { readonly read: number; readonly write: number } {
    const t = this.table(region, table);
    return { read: t.read, write: t.write };
  }

  // -------------------------------------------------------------------------------------------
  // Writes.

  private putItem(region: string, input: PutItemCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    returnValuesOf(input.ReturnValues, ['NONE', 'ALL_OLD']);
    const p = this.preparePut(t, input);
    this.settle([p], 1);
    this.commit(p);
    return output({
      ...(input.ReturnValues === 'ALL_OLD' && p.old ? { Attributes: toSdkItem(p.old.item) } : {}),
      ...capacity(input.ReturnConsumedCapacity, [[t, writeUnits(p.bytes)]], 'write'),
    });
  }

  private updateItem(region: string, input: UpdateItemCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    const rv = returnValuesOf(input.ReturnValues, [
      'NONE',
      'ALL_OLD',
      'ALL_NEW',
      'UPDATED_OLD',
      'UPDATED_NEW',
    ]);
    const { prepared: p, touched } = this.prepareUpdate(t, input);
    this.settle([p], 1);
    this.commit(p);
    return output({
      ...updateReturn(rv, p.old?.item, p.next!, touched),
      ...capacity(input.ReturnConsumedCapacity, [[t, writeUnits(p.bytes)]], 'write'),
    });
  }

  private deleteItem(region: string, input: DeleteItemCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    returnValuesOf(input.ReturnValues, ['NONE', 'ALL_OLD']);
    const p = this.prepareDelete(t, input);
    this.settle([p], 1);
    this.commit(p);
    return output({
      ...(input.ReturnValues === 'ALL_OLD' && p.old ? { Attributes: toSdkItem(p.old.item) } : {}),
      ...capacity(input.ReturnConsumedCapacity, [[t, writeUnits(p.bytes)]], 'write'),
    });
  }

  /**
   * Bills the writes and throws when one did not go through. A failed condition is billed like the
   * write (docs/platform.md#writes-and-billing); a validation error met on the item is not.
   */
  private settle(prepared: readonly Prepared[], factor: number): void {
    const single = prepared.length === 1 && factor === 1;
    if (single && prepared[0].error) throw prepared[0].error;
    for (const p of prepared) p.table.write += factor * writeUnits(p.bytes);
    if (single) {
      const p = prepared[0];
      if (p.failed)
        throw conditionalCheckFailed(p.returnOldOnFailure && p.old ? toSdkItem(p.old.item) : undefined);
      return;
    }
    if (!prepared.some((p) => p.failed || p.error)) return;
    const reasons: CancellationReason[] = prepared.map((p) => {
      // AWS reports an update that cannot apply to its item as a ValidationError reason
      // (docs/platform.md#simulator-model); DynamoDB Local throws a ValidationException instead.
      if (p.error) return { Code: 'ValidationError', Message: p.error.message };
      if (!p.failed) return { Code: 'None' };
      return {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(p.returnOldOnFailure && p.old ? { Item: toSdkItem(p.old.item) } : {}),
      };
    });
    throw transactionCanceled(reasons);
  }

  /** Applies a prepared write and records its stream record, if it changed the item. */
  private commit(p: Prepared, ttl = false): void {
    if (!p.writes) return;
    const t = p.table;
    const old = p.old;
    let entry: Entry | undefined;
    if (p.next) {
      entry = { item: p.next, size: itemSize(p.next) };
      if (old && (old.canon ??= canonicalItem(old.item)) === (entry.canon = canonicalItem(p.next))) return;
      t.items.set(p.keyString, entry);
    } else {
      if (!old) return;
      t.items.delete(p.keyString);
    }
    t.version += 1;
    if (!t.def.stream) return;
    const r = this.regions.get(t.region)!;
    r.sequence += 1;
    const sequence = String(r.sequence).padStart(21, '0');
    const keys = this.keyFromItem(t, (p.next ?? old!.item) as Item);
    const record: DynamoDBRecord = {
      eventID: `${t.region}-${sequence}`,
      eventName: !old ? 'INSERT' : entry ? 'MODIFY' : 'REMOVE',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: t.region,
      eventSourceARN: t.streamArn,
      ...(ttl ? { userIdentity: { ...TTL_SERVICE } } : {}),
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(this.clock() / 1000),
        Keys: toStreamImage(keys),
        ...(entry ? { NewImage: toStreamImage(entry.item) } : {}),
        ...(old ? { OldImage: toStreamImage(old.item) } : {}),
        SequenceNumber: sequence,
        // The keys and both images, as DynamoDB Local reports it.
        SizeBytes: itemSize(keys) + (entry?.size ?? 0) + (old?.size ?? 0),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    t.records.push(deepFreeze(record));
  }

  private preparePut(
    t: Table,
    input: {
      readonly Item?: unknown;
      readonly ConditionExpression?: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
      readonly ReturnValuesOnConditionCheckFailure?: string;
    },
  ): Prepared {
    const item = normalizeItem(input.Item);
    const key = this.keyFromItem(t, item);
    const size = itemSize(item);
    if (size > MAX_ITEM_BYTES) throw validation('Item size has exceeded the maximum allowed size');
    const condition = this.conditionOf(input, []);
    const keyString = this.keyString(t, key);
    const old = t.items.get(keyString);
    const failed = condition ? !evaluate(condition.tree, old?.item, condition.ph) : false;
    return {
      table: t,
      keyString,
      key,
      old,
      next: item,
      writes: true,
      failed,
      bytes: Math.max(size, old?.size ?? 0),
      returnOldOnFailure: onFailure(input.ReturnValuesOnConditionCheckFailure),
    };
  }

  private prepareUpdate(
    t: Table,
    input: {
      readonly Key?: unknown;
      readonly UpdateExpression?: string;
      readonly ConditionExpression?: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
      readonly ReturnValuesOnConditionCheckFailure?: string;
    },
  ): { prepared: Prepared; touched: readonly string[] } {
    const key = this.keyOf(t, input.Key);
    const update = input.UpdateExpression !== undefined ? parseUpdate(input.UpdateExpression) : undefined;
    const condition = this.conditionOf(input, update ? [update] : []);
    const ph = condition?.ph ?? this.placeholders(input, update ? [update] : []);
    if (update) {
      checkDefined('UpdateExpression', update, ph);
      checkUpdate(update.tree, ph, t.keyNames);
    }
    const keyString = this.keyString(t, key);
    const old = t.items.get(keyString);
    const failed = condition ? !evaluate(condition.tree, old?.item, condition.ph) : false;
    let next: Item | undefined;
    let touched: readonly string[] = [];
    let error: Error | undefined;
    try {
      const applied = update
        ? applyUpdate(update.tree as UpdateTree, old?.item ?? key, ph)
        : { item: old?.item ?? key, touched: [] };
      next = applied.item;
      touched = applied.touched;
    } catch (e) {
      if (!isValidation(e)) throw e;
      // The condition is judged first: a failed condition wins over an update that cannot apply.
      if (!failed) error = e;
    }
    const bytes = Math.max(old?.size ?? 0, next ? itemSize(next) : 0);
    return {
      prepared: {
        table: t,
        keyString,
        key,
        old,
        next,
        writes: true,
        failed,
        ...(error ? { error } : {}),
        bytes,
        returnOldOnFailure: onFailure(input.ReturnValuesOnConditionCheckFailure),
      },
      touched,
    };
  }

  private prepareDelete(
    t: Table,
    input: {
      readonly Key?: unknown;
      readonly ConditionExpression?: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
      readonly ReturnValuesOnConditionCheckFailure?: string;
    },
    check = false,
  ): Prepared {
    const key = this.keyOf(t, input.Key);
    const condition = this.conditionOf(input, []);
    if (check && !condition) throw validation('The ConditionCheck action requires a ConditionExpression');
    const keyString = this.keyString(t, key);
    const old = t.items.get(keyString);
    const failed = condition ? !evaluate(condition.tree, old?.item, condition.ph) : false;
    return {
      table: t,
      keyString,
      key,
      old,
      writes: !check,
      failed,
      bytes: old?.size ?? 0,
      returnOldOnFailure: onFailure(input.ReturnValuesOnConditionCheckFailure),
    };
  }

  private transactWrite(region: string, input: TransactWriteItemsCommandInput): Record<string, unknown> {
    const actions = input.TransactItems ?? [];
    if (actions.length === 0 || actions.length > 100)
      throw validation(
        '1 validation error detected: Value at transactItems failed to satisfy constraint: Member must have length between 1 and 100',
      );
    const prepared: Prepared[] = [];
    const seen = new Set<string>();
    let duplicate = false;
    for (const a of actions) {
      const kinds = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).filter(
        (k) => a[k] !== undefined,
      );
      if (kinds.length !== 1)
        throw validation('TransactItems can only contain one of ConditionCheck, Put, Update or Delete');
      let p: Prepared;
      if (a.Put) p = this.preparePut(this.table(region, a.Put.TableName), a.Put);
      else if (a.Update) p = this.prepareUpdate(this.table(region, a.Update.TableName), a.Update).prepared;
      else if (a.Delete) p = this.prepareDelete(this.table(region, a.Delete.TableName), a.Delete);
      else p = this.prepareDelete(this.table(region, a.ConditionCheck!.TableName), a.ConditionCheck!, true);
      const id = `${p.table.def.name}\u0000${p.keyString}`;
      if (seen.has(id)) duplicate = true;
      seen.add(id);
      prepared.push(p);
    }
    // DynamoDB Local judges the conditions first: one that fails cancels the transaction even when
    // two actions name one item. Whatever the order on AWS, such a request never writes.
    if (duplicate && !prepared.some((p) => p.failed || p.error))
      throw validation('Transaction request cannot include multiple operations on one item');
    // Every action bills twice a standard write, a ConditionCheck too (docs/platform.md#writes-and-billing).
    // DynamoDB Local bills transactions otherwise (docs/platform.md#simulator-model).
    this.settle(prepared, 2);
    for (const p of prepared) this.commit(p);
    const perTable = new Map<Table, number>();
    for (const p of prepared) perTable.set(p.table, (perTable.get(p.table) ?? 0) + 2 * writeUnits(p.bytes));
    return output(capacityList(input.ReturnConsumedCapacity, [...perTable], 'write'));
  }

  private batchWrite(region: string, input: BatchWriteItemCommandInput): Record<string, unknown> {
    const requests = Object.entries(input.RequestItems ?? {});
    const total = requests.reduce((n, [, list]) => n + (list?.length ?? 0), 0);
    if (total === 0 || total > 25) throw validation('Too many items requested for the BatchWriteItem call');
    const prepared: Prepared[] = [];
    const seen = new Set<string>();
    for (const [name, list] of requests) {
      const t = this.table(region, name);
      for (const w of list ?? []) {
        const p = w.PutRequest
          ? this.preparePut(t, { Item: w.PutRequest.Item })
          : this.prepareDelete(t, { Key: w.DeleteRequest?.Key });
        if (seen.has(`${name}\u0000${p.keyString}`))
          throw validation('Provided list of item keys contains duplicates');
        seen.add(`${name}\u0000${p.keyString}`);
        prepared.push(p);
      }
    }
    const perTable = new Map<Table, number>();
    for (const p of prepared) {
      p.table.write += writeUnits(p.bytes);
      perTable.set(p.table, (perTable.get(p.table) ?? 0) + writeUnits(p.bytes));
      this.commit(p);
    }
    return output({
      UnprocessedItems: {},
      ...capacityList(input.ReturnConsumedCapacity, [...perTable], 'write'),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Reads. Strongly consistent: 1 unit per 4 KB; eventually consistent: half.

  private getItemCommand(region: string, input: GetItemCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    legacy(input, ['AttributesToGet']);
    const key = this.keyOf(t, input.Key);
    const projection = this.projectionOf(input);
    const entry = t.items.get(this.keyString(t, key));
    // A read of a missing item costs a unit too (DynamoDB Local agrees).
    const units = Math.max(1, readUnits(entry?.size ?? 0)) * (input.ConsistentRead ? 1 : 0.5);
    t.read += units;
    return output({
      ...(entry
        ? {
            Item: toSdkItem(
              projection ? project(entry.item, projection.paths, projection.names) : entry.item,
            ),
          }
        : {}),
      ...capacity(input.ReturnConsumedCapacity, [[t, units]], 'read'),
    });
  }

  private batchGet(region: string, input: BatchGetItemCommandInput): Record<string, unknown> {
    const requests = Object.entries(input.RequestItems ?? {});
    const total = requests.reduce((n, [, r]) => n + (r?.Keys?.length ?? 0), 0);
    if (total === 0 || total > 100) throw validation('Too many items requested for the BatchGetItem call');
    const responses: Record<string, SdkItem[]> = {};
    const perTable: [Table, number][] = [];
    for (const [name, r] of requests) {
      const t = this.table(region, name);
      legacy(r, ['AttributesToGet']);
      const projection = this.projectionOf(r);
      const seen = new Set<string>();
      let units = 0;
      const found: SdkItem[] = [];
      for (const raw of r.Keys ?? []) {
        const keyString = this.keyString(t, this.keyOf(t, raw));
        if (seen.has(keyString)) throw validation('Provided list of item keys contains duplicates');
        seen.add(keyString);
        const entry = t.items.get(keyString);
        if (!entry) continue; // DynamoDB Local bills nothing for a key it does not find in a batch.
        units += readUnits(entry.size);
        found.push(
          toSdkItem(projection ? project(entry.item, projection.paths, projection.names) : entry.item),
        );
      }
      units *= r.ConsistentRead ? 1 : 0.5;
      t.read += units;
      responses[name] = found;
      perTable.push([t, units]);
    }
    return output({
      Responses: responses,
      UnprocessedKeys: {},
      ...capacityList(input.ReturnConsumedCapacity, perTable, 'read'),
    });
  }

  private query(region: string, input: QueryCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    legacy(input, ['KeyConditions', 'QueryFilter', 'AttributesToGet', 'ConditionalOperator']);
    if (input.IndexName) throw new Error('SimDynamo does not model secondary indexes');
    if (input.KeyConditionExpression === undefined)
      throw validation(
        'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
      );
    const keyCondition = parseCondition(input.KeyConditionExpression, 'KeyConditionExpression');
    const filter =
      input.FilterExpression !== undefined
        ? parseCondition(input.FilterExpression, 'FilterExpression')
        : undefined;
    const projection =
      input.ProjectionExpression !== undefined ? parseProjection(input.ProjectionExpression) : undefined;
    const all = [keyCondition, ...(filter ? [filter] : []), ...(projection ? [projection] : [])];
    const ph = this.placeholders(input, all);
    checkDefined('KeyConditionExpression', keyCondition, ph);
    const range = this.keyRange(t, keyCondition.tree, ph);
    if (filter) {
      checkDefined('FilterExpression', filter, ph);
      checkConditionTypes('FilterExpression', filter.tree, ph);
      for (const k of t.keyNames)
        if (mentions(filter.tree, k, ph.names))
          throw validation(
            `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${k}`,
          );
    }
    if (projection) {
      checkDefined('ProjectionExpression', projection, ph);
      checkNoOverlap('ProjectionExpression', projection.tree, ph.names);
    }
    const pk = canonical(range.partition);
    let candidates = [...t.items.values()].filter((e) => canonical(e.item[t.def.partitionKey]) === pk);
    if (t.def.sortKey) {
      const sk = t.def.sortKey;
      candidates = candidates.filter((e) => range.sort(e.item[sk]));
      candidates.sort((a, b) => compareScalars(a.item[sk], b.item[sk])!);
    }
    if (input.ScanIndexForward === false) candidates.reverse();
    if (input.ExclusiveStartKey) {
      const start = this.keyOf(t, input.ExclusiveStartKey);
      const sk = t.def.sortKey;
      candidates = sk
        ? candidates.filter((e) => {
            const order = compareScalars(e.item[sk], start[sk])!;
            return input.ScanIndexForward === false ? order < 0 : order > 0;
          })
        : candidates.filter(() => false);
    }
    return this.page(
      t,
      input,
      candidates,
      filter ? { tree: filter.tree, ph } : undefined,
      projection ? { paths: projection.tree, names: ph.names } : undefined,
    );
  }

  private scan(region: string, input: ScanCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    legacy(input, ['ScanFilter', 'AttributesToGet', 'ConditionalOperator']);
    if (input.IndexName) throw new Error('SimDynamo does not model secondary indexes');
    const filter =
      input.FilterExpression !== undefined
        ? parseCondition(input.FilterExpression, 'FilterExpression')
        : undefined;
    const projection =
      input.ProjectionExpression !== undefined ? parseProjection(input.ProjectionExpression) : undefined;
    const ph = this.placeholders(input, [...(filter ? [filter] : []), ...(projection ? [projection] : [])]);
    if (filter) {
      checkDefined('FilterExpression', filter, ph);
      checkConditionTypes('FilterExpression', filter.tree, ph);
    }
    if (projection) {
      checkDefined('ProjectionExpression', projection, ph);
      checkNoOverlap('ProjectionExpression', projection.tree, ph.names);
    }
    const total = input.TotalSegments;
    const segment = input.Segment;
    if ((total === undefined) !== (segment === undefined))
      throw validation(
        total === undefined
          ? 'The TotalSegments parameter is required but was not present in the request when Segment parameter is present'
          : 'The Segment parameter is required but was not present in the request when parameter TotalSegments is present',
      );
    if (total !== undefined && (total < 1 || total > 1_000_000))
      throw validation('TotalSegments must be between 1 and 1000000');
    if (total !== undefined && segment !== undefined && (segment < 0 || segment >= total))
      throw validation('The Segment parameter is zero-based and must be less than parameter TotalSegments');
    let candidates = this.scanOrder(t);
    if (total !== undefined && segment !== undefined)
      candidates = candidates.filter((c) => Math.floor((c.hash * total) / 2 ** 32) === segment);
    if (input.ExclusiveStartKey) {
      const start = this.scanPosition(t, this.keyOf(t, input.ExclusiveStartKey));
      candidates = candidates.filter((c) => this.compareScanPosition(t, c, start) > 0);
    }
    return this.page(
      t,
      input,
      candidates.map((c) => c.entry),
      filter ? { tree: filter.tree, ph } : undefined,
      projection ? { paths: projection.tree, names: ph.names } : undefined,
    );
  }

  /** One page of a Query or Scan: Limit counts items read (before the filter), 1 MB at most. */
  private page(
    t: Table,
    input: QueryCommandInput | ScanCommandInput,
    candidates: readonly Entry[],
    filter: { tree: Condition; ph: Placeholders } | undefined,
    projection: { paths: readonly Path[]; names: Readonly<Record<string, string>> } | undefined,
  ): Record<string, unknown> {
    const limit = input.Limit;
    if (limit !== undefined && limit < 1) throw validation('Limit must be greater than or equal to 1');
    const count = input.Select === 'COUNT';
    const items: SdkItem[] = [];
    let matched = 0;
    let scanned = 0;
    let bytes = 0;
    let last: Entry | undefined;
    for (const e of candidates) {
      if ((limit !== undefined && scanned >= limit) || bytes >= PAGE_BYTES) break;
      scanned += 1;
      bytes += e.size;
      last = e;
      if (filter && !evaluate(filter.tree, e.item, filter.ph)) continue;
      matched += 1;
      if (!count)
        items.push(toSdkItem(projection ? project(e.item, projection.paths, projection.names) : e.item));
    }
    // DynamoDB Local returns LastEvaluatedKey whenever the limit stopped the page, even at the end.
    const stopped = last && ((limit !== undefined && scanned >= limit) || bytes >= PAGE_BYTES);
    const units = readUnits(bytes) * (input.ConsistentRead ? 1 : 0.5);
    t.read += units;
    return output({
      ...(count ? {} : { Items: items }),
      Count: matched,
      ScannedCount: scanned,
      ...(stopped ? { LastEvaluatedKey: toSdkItem(this.keyFromItem(t, last!.item)) } : {}),
      ...capacity(input.ReturnConsumedCapacity, [[t, units]], 'read'),
    });
  }

  private describeTable(region: string, input: DescribeTableCommandInput): Record<string, unknown> {
    const t = this.table(region, input.TableName);
    const def = t.def;
    let bytes = 0;
    for (const e of t.items.values()) bytes += e.size;
    return output({
      Table: {
        TableName: def.name,
        TableStatus: 'ACTIVE',
        KeySchema: [
          { AttributeName: def.partitionKey, KeyType: 'HASH' },
          ...(def.sortKey ? [{ AttributeName: def.sortKey, KeyType: 'RANGE' }] : []),
        ],
        AttributeDefinitions: [
          { AttributeName: def.partitionKey, AttributeType: def.partitionKeyType ?? 'S' },
          ...(def.sortKey ? [{ AttributeName: def.sortKey, AttributeType: def.sortKeyType ?? 'S' }] : []),
        ],
        TableArn: `arn:aws:dynamodb:${region}:000000000000:table/${def.name}`,
        BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
        // Live here; AWS refreshes ItemCount and TableSizeBytes about every six hours.
        ItemCount: t.items.size,
        TableSizeBytes: bytes,
        ...(def.stream
          ? {
              StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
              LatestStreamArn: t.streamArn,
              LatestStreamLabel: t.streamArn.slice(t.streamArn.lastIndexOf('/') + 1),
            }
          : {}),
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Keys, expressions and order.

  private table(region: string, name: string | undefined): Table {
    if (!name)
      throw validation(
        '1 validation error detected: Value null at tableName failed to satisfy constraint: Member must not be null',
      );
    const t = this.regions.get(region)?.tables.get(name);
    if (!t) throw resourceNotFound();
    return t;
  }

  /** A request's Key: exactly the key attributes, of the key's types. */
  private keyOf(t: Table, raw: unknown): Item {
    const key = normalizeItem(raw, 'Key');
    const names = Object.keys(key);
    if (names.length !== t.keyNames.length)
      throw validation('The number of conditions on the keys is invalid');
    for (const n of t.keyNames)
      if (!(n in key)) throw validation('The provided key element does not match the schema');
    this.checkKeyTypes(t, key);
    return key;
  }

  /** The key of an item (ValidationException when it lacks one or has the wrong type). */
  private keyFromItem(t: Table, item: Item): Item {
    const key: Record<string, Val> = {};
    for (const n of t.keyNames) {
      if (item[n] === undefined)
        throw validation(`One or more parameter values were invalid: Missing the key ${n} in the item`);
      key[n] = item[n];
    }
    this.checkKeyTypes(t, key);
    return key;
  }

  private checkKeyTypes(t: Table, key: Item): void {
    const expected: [string, KeyType][] = [[t.def.partitionKey, t.def.partitionKeyType ?? 'S']];
    if (t.def.sortKey) expected.push([t.def.sortKey, t.def.sortKeyType ?? 'S']);
    for (const [n, type] of expected) {
      const v = key[n];
      if (typeOf(v) !== type)
        throw validation('One or more parameter values were invalid: Type mismatch for key');
      const x = v as Loose;
      if (x.S === '' || x.B?.length === 0)
        throw validation(
          `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${n}`,
        );
    }
  }

  private keyString(t: Table, key: Item): string {
    const pk = canonical(key[t.def.partitionKey]);
    return t.def.sortKey ? `${pk}\u0000${canonical(key[t.def.sortKey])}` : pk;
  }

  /** Items in key order: partition key, then sort key, each as DynamoDB orders its type. */
  private sorted(t: Table): Entry[] {
    const pk = t.def.partitionKey;
    const sk = t.def.sortKey;
    return [...t.items.values()].sort(
      (a, b) => compareScalars(a.item[pk], b.item[pk])! || (sk ? compareScalars(a.item[sk], b.item[sk])! : 0),
    );
  }

  /**
   * Scan order: by a fixed 32-bit hash of the partition key (segments are ranges of it), then by
   * key. AWS also scans in hash order, but of its own hash: tests must not depend on the order.
   */
  private scanOrder(t: Table): { entry: Entry; hash: number }[] {
    return [...t.items.values()]
      .map((entry) => ({ entry, hash: hash32(canonical(entry.item[t.def.partitionKey])) }))
      .sort((a, b) => this.compareScanPosition(t, a, b));
  }

  private scanPosition(t: Table, key: Item): { entry: Entry; hash: number } {
    return { entry: { item: key, size: 0 }, hash: hash32(canonical(key[t.def.partitionKey])) };
  }

  private compareScanPosition(
    t: Table,
    a: { entry: Entry; hash: number },
    b: { entry: Entry; hash: number },
  ): number {
    if (a.hash !== b.hash) return a.hash - b.hash;
    const pk = t.def.partitionKey;
    const sk = t.def.sortKey;
    return (
      compareScalars(a.entry.item[pk], b.entry.item[pk])! ||
      (sk ? compareScalars(a.entry.item[sk], b.entry.item[sk])! : 0)
    );
  }

  /** The partition a key condition selects, and the test on the sort key. */
  private keyRange(
    t: Table,
    c: Condition,
    ph: Placeholders,
  ): { partition: Val; sort: (v: Val | undefined) => boolean } {
    const parts = c.kind === 'and' ? [c.left, c.right] : [c];
    const unsupported = () => validation('Invalid KeyConditionExpression: Query key condition not supported');
    const attr = (o: Operand) =>
      o.kind === 'path' && o.path.length === 1 ? (pathNames(o.path, ph.names)[0] as string) : undefined;
    const value = (o: Operand) => (o.kind === 'value' ? ph.values[o.name] : undefined);
    let partition: Val | undefined;
    let sort: ((v: Val | undefined) => boolean) | undefined;
    for (const p of parts) {
      if (p.kind === 'compare') {
        const name = attr(p.left);
        const v = value(p.right);
        if (!name || !v) throw unsupported();
        if (name === t.def.partitionKey && p.op === '=') {
          if (partition) throw unsupported();
          partition = v;
          continue;
        }
        if (name !== t.def.sortKey || p.op === '<>' || sort) throw unsupported();
        const op = p.op;
        sort = (x) => {
          const order = x === undefined ? undefined : compareScalars(x, v);
          if (order === undefined) return false;
          return op === '='
            ? order === 0
            : op === '<'
              ? order < 0
              : op === '<='
                ? order <= 0
                : op === '>'
                  ? order > 0
                  : order >= 0;
        };
      } else if (p.kind === 'between' && attr(p.operand) === t.def.sortKey && !sort) {
        const lo = value(p.low);
        const hi = value(p.high);
        if (!lo || !hi) throw unsupported();
        sort = (x) =>
          x !== undefined && (compareScalars(lo, x) ?? 1) <= 0 && (compareScalars(x, hi) ?? 1) <= 0;
      } else if (
        p.kind === 'function' &&
        p.name === 'begins_with' &&
        attr(p.args[0]) === t.def.sortKey &&
        !sort
      ) {
        const prefix = value(p.args[1]);
        if (!prefix) throw unsupported();
        sort = (x) => x !== undefined && evaluate(p, { [t.def.sortKey!]: x }, ph);
      } else {
        throw unsupported();
      }
    }
    if (!partition) throw validation(`Query condition missed key schema element: ${t.def.partitionKey}`);
    if (typeOf(partition) !== (t.def.partitionKeyType ?? 'S'))
      throw validation(
        'One or more parameter values were invalid: Condition parameter type does not match schema type',
      );
    return { partition, sort: sort ?? (() => true) };
  }

  /** Names and values of a request, values normalized; extras and empty maps refused. */
  private placeholders(
    input: {
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
    },
    parsed: readonly Parsed<unknown>[],
  ): Placeholders {
    checkUsed(input.ExpressionAttributeNames, input.ExpressionAttributeValues, parsed);
    const values: Record<string, Val> = {};
    for (const [k, v] of Object.entries(input.ExpressionAttributeValues ?? {})) values[k] = normalizeValue(v);
    return { names: input.ExpressionAttributeNames ?? {}, values };
  }

  /** The request's condition, checked; undefined when it has none. `others`: its other expressions. */
  private conditionOf(
    input: {
      readonly ConditionExpression?: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
    },
    others: readonly Parsed<unknown>[],
  ): { tree: Condition; ph: Placeholders } | undefined {
    legacy(input, ['Expected', 'ConditionalOperator']);
    if (input.ConditionExpression === undefined) {
      if (!others.length) this.placeholders(input, []);
      return undefined;
    }
    const parsed = parseCondition(input.ConditionExpression);
    const ph = this.placeholders(input, [parsed, ...others]);
    checkDefined('ConditionExpression', parsed, ph);
    checkConditionTypes('ConditionExpression', parsed.tree, ph);
    return { tree: parsed.tree, ph };
  }

  private projectionOf(input: {
    readonly ProjectionExpression?: string;
    readonly ExpressionAttributeNames?: Record<string, string>;
  }): { paths: readonly Path[]; names: Readonly<Record<string, string>> } | undefined {
    if (input.ProjectionExpression === undefined) {
      this.placeholders(input, []);
      return undefined;
    }
    const parsed = parseProjection(input.ProjectionExpression);
    const ph = this.placeholders(input, [parsed]);
    checkDefined('ProjectionExpression', parsed, ph);
    checkNoOverlap('ProjectionExpression', parsed.tree, ph.names);
    return { paths: parsed.tree, names: ph.names };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function output(body: Record<string, unknown>): Record<string, unknown> {
  return { $metadata: { httpStatusCode: 200 }, ...body };
}

function returnValuesOf(value: string | undefined, allowed: readonly string[]): string {
  const rv = value ?? 'NONE';
  if (!allowed.includes(rv))
    throw validation(
      allowed.length === 2 ? 'ReturnValues can only be ALL_OLD or NONE' : `ReturnValues ${rv} is not valid`,
    );
  return rv;
}

function onFailure(value: string | undefined): boolean {
  if (value !== undefined && value !== 'ALL_OLD' && value !== 'NONE')
    throw validation('ReturnValuesOnConditionCheckFailure can only be ALL_OLD or NONE');
  return value === 'ALL_OLD';
}

function updateReturn(
  rv: string,
  old: Item | undefined,
  next: Item,
  touched: readonly string[],
): Record<string, unknown> {
  const pick = (item: Item | undefined) => {
    const out: Record<string, Val> = {};
    for (const k of touched) if (item?.[k] !== undefined) out[k] = item[k];
    return out;
  };
  const attributes =
    rv === 'ALL_OLD'
      ? old
      : rv === 'ALL_NEW'
        ? next
        : rv === 'UPDATED_OLD'
          ? pick(old)
          : rv === 'UPDATED_NEW'
            ? pick(next)
            : undefined;
  return attributes && Object.keys(attributes).length ? { Attributes: toSdkItem(attributes) } : {};
}

/** The legacy (pre-expression) parameters are not modelled: the project's code never sends them. */
function legacy(input: object, names: readonly string[]): void {
  for (const n of names)
    if ((input as Record<string, unknown>)[n] !== undefined)
      throw new Error(`SimDynamo does not model the legacy parameter ${n}`);
}

function capacity(
  mode: Capacity | string | undefined,
  used: [Table, number][],
  kind: 'read' | 'write',
): Record<string, unknown> {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  return { ConsumedCapacity: consumedCapacity(mode, used[0][0], used[0][1], kind) };
}

function capacityList(
  mode: Capacity | string | undefined,
  used: [Table, number][],
  kind: 'read' | 'write',
): Record<string, unknown> {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  return { ConsumedCapacity: used.map(([t, units]) => consumedCapacity(mode, t, units, kind)) };
}

function consumedCapacity(mode: 'TOTAL' | 'INDEXES', t: Table, units: number, kind: 'read' | 'write') {
  const split = kind === 'read' ? { ReadCapacityUnits: units } : { WriteCapacityUnits: units };
  return {
    TableName: t.def.name,
    CapacityUnits: units,
    ...split,
    ...(mode === 'INDEXES' ? { Table: { CapacityUnits: units, ...split } } : {}),
  };
}

/** Whether a condition reads top-level attribute `name`. */
function mentions(c: Condition, name: string, names: Readonly<Record<string, string>>): boolean {
  const operand = (o: Operand) => o.kind !== 'value' && pathNames(o.path, names)[0] === name;
  switch (c.kind) {
    case 'and':
    case 'or':
      return mentions(c.left, name, names) || mentions(c.right, name, names);
    case 'not':
      return mentions(c.condition, name, names);
    case 'compare':
      return operand(c.left) || operand(c.right);
    case 'between':
      return [c.operand, c.low, c.high].some(operand);
    case 'in':
      return [c.operand, ...c.list].some(operand);
    case 'function':
      return c.args.some(operand);
  }
}

/** FNV-1a over the string's UTF-16 code units: fixed, so scans are reproducible. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i += 1) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
