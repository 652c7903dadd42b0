/**
 * What a run did, step by step, in a form a person can follow: which actor ran, in which region,
 * the DynamoDB command (or application write, poll, parked-message receive) with its fault, and the
 * stream records the step produced. Also the replay file a failure is saved as.
 */
import type { DynamoDBRecord } from 'aws-lambda';

export interface TraceEntry {
  readonly step: number;
  /** Simulated milliseconds since the start of the run. */
  readonly at: number;
  readonly phase: 'safety' | 'liveness' | 'idempotence';
  readonly thread: string;
  readonly label: string;
  readonly fault?: string;
  /** What the step returned or threw, and what it caused (stream records, crashes). */
  readonly notes: string[];
}

export class Trace {
  readonly entries: TraceEntry[] = [];
  /** Events outside steps (program, profile, oracle verdicts). */
  readonly header: string[] = [];

  add(entry: Omit<TraceEntry, 'notes'>): TraceEntry {
    const e: TraceEntry = { ...entry, notes: [] };
    this.entries.push(e);
    return e;
  }

  /** A note on the latest step (what it caused). */
  note(text: string): void {
    const last = this.entries[this.entries.length - 1];
    if (last) last.notes.push(text);
    else this.header.push(text);
  }

  format(options: { readonly last?: number } = {}): string {
    const entries = options.last ? this.entries.slice(-options.last) : this.entries;
    const skipped = this.entries.length - entries.length;
    const lines = [...this.header];
    if (skipped > 0) lines.push(`  … ${skipped} earlier steps`);
    for (const e of entries) {
      const fault = e.fault && e.fault !== 'none' ? ` [${e.fault}]` : '';
      const phase = e.phase === 'safety' ? '' : ` (${e.phase})`;
      lines.push(`${String(e.step).padStart(4)} t+${e.at}ms${phase} ${e.thread}: ${e.label}${fault}`);
      for (const n of e.notes) lines.push(`        ${n}`);
    }
    return lines.join('\n');
  }
}

/** `INSERT k=a1 v1 @0005 (ord …)`: one stream record, short. */
export function describeRecord(r: DynamoDBRecord): string {
  const d = r.dynamodb;
  const image = r.eventName === 'REMOVE' ? d?.OldImage : d?.NewImage;
  const key = Object.values(d?.Keys ?? {})
    .map((v) => v.S ?? v.N ?? '?')
    .join('/');
  const data = image?.data?.S ?? '-';
  const version = image?.version?.N ?? '-';
  const ord = image?._ddbm_ord?.S;
  const defer = image?._ddbm_defo?.S;
  const who = r.userIdentity?.type === 'Service' ? ' ttl' : '';
  const seq = (d?.SequenceNumber ?? '').replace(/^0+/, '') || '0';
  return (
    `${r.eventName}${who} ${key}=${data} v${version} #${seq}` +
    (ord ? ` ord=${shortOrd(ord)}` : '') +
    (defer ? ` defo=${shortOrd(defer)}` : '')
  );
}

/** `0000000001#…0003#a#0` → `1.3.a.0` (generation, version, origin, delete flag). */
export function shortOrd(ord: string): string {
  const m = /^(\d+)#(\d+)#([^#]+)#([01])$/.exec(ord);
  if (!m) return ord.replace(/^0+(?=\d)/, '');
  return `${Number(m[1])}.${Number(m[2])}.${m[3]}.${m[4]}`;
}

/** A failure saved for `npm run simulate -- --replay FILE`. */
export interface ReplayFile {
  readonly options: unknown;
  readonly choices: readonly number[];
  readonly seed?: number;
  readonly failures: readonly { readonly oracle: string; readonly message: string }[];
}

type AnyValue = { S?: string; N?: string };
type CommandInput = {
  TableName?: string;
  Key?: Record<string, AnyValue>;
  Item?: Record<string, AnyValue>;
  UpdateExpression?: string;
  ConditionExpression?: string;
  TransactItems?: Record<string, CommandInput>[];
};

/** `PutItem Items k=a1 v2 ord=0.2.a.0`: what a DynamoDB command does, short enough for a trace line. */
export function describeCommand(command: { readonly input: unknown }): string {
  const name = command.constructor.name.replace(/Command$/, '');
  const input = command.input as CommandInput;
  if (input.TransactItems)
    return `${name}[${input.TransactItems.map((t) => {
      const [action, inner] = Object.entries(t)[0] ?? ['?', {}];
      return `${action} ${describeInput(inner)}`;
    }).join('; ')}]`;
  return `${name} ${describeInput(input)}`;
}

function describeInput(input: CommandInput): string {
  const table = input.TableName?.endsWith('-ddbm-tombstones') ? 'tombstones' : (input.TableName ?? '?');
  const keySource = input.Key ?? input.Item ?? {};
  const key = keySource.pk?.S ?? Object.values(keySource)[0]?.S ?? '?';
  const item = input.Item;
  const image = item
    ? ` =${item.data?.S ?? '-'} v${item.version?.N ?? '-'}${item._ddbm_ord?.S ? ` ord=${shortOrd(item._ddbm_ord.S)}` : ''}`
    : '';
  const update = input.UpdateExpression ? ` ${input.UpdateExpression}` : '';
  return `${table} ${key}${image}${update}${input.ConditionExpression ? ' if…' : ''}`;
}
