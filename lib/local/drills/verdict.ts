import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { tableRegions, type TableModel } from '../../config/model';
import { LOCAL_CREDENTIALS, type RunResult } from '../mirror';
import { auditStreams, historyKey, readFinalStates, type StreamAudit, type StreamStep } from './audit';
import type { DrillName } from './catalog';
import { maxLag, seconds } from './figures';
import type { Entry, LedgerVerdict } from './ledger';
import type { DrillSession, ScenarioFindings } from './session';

/** What a drill concludes, once its run has drained and been verified. */
export interface DrillVerdict {
  readonly drill: DrillName;
  readonly ok: boolean;
  /** Keys lost (docs in ledger.ts), the drill's own items aside. */
  readonly lost: number;
  /** Keys on which the regions disagree; undefined when the run was not verified. */
  readonly diverged?: number;
  /** From the fault's end until the mirror caught up; undefined when it did not within the bound. */
  readonly recoveredInMs?: number;
  readonly maxLagMs?: number;
  /** The scenario's own figures, in the order they print. */
  readonly fields: Readonly<Record<string, string>>;
  /** Why the drill failed; empty when it passed. */
  readonly problems: readonly string[];
  /** `drill=outage lost=0 diverged=0 recovered_in=7.1s max_lag=38.9s …` */
  readonly line: string;
  readonly ledger: LedgerVerdict;
  readonly audit: StreamAudit;
  readonly findings: ScenarioFindings;
  /** The first diverged or lost keys, each with the workload's writes of it and every region's stream history. */
  readonly divergent: readonly DivergedKey[];
}

export interface DivergedKey {
  readonly table: string;
  readonly key: string;
  readonly writes: readonly Entry[];
  readonly streams: Readonly<Record<string, readonly StreamStep[]>>;
}

const DIVERGED_EXPLAINED = 10;

/** Each diverged key as the workload wrote it and as every region's stream saw it. */
function explainDivergence(
  session: DrillSession,
  result: RunResult,
  audit: StreamAudit,
  ledger: LedgerVerdict,
): DivergedKey[] {
  const diverged = (result.report.verification?.tables ?? []).flatMap((t) => t.divergent);
  const keys = [
    ...diverged.map((d) => ({ table: d.table, key: d.key })),
    ...ledger.lost.map((l) => ({ table: l.table, key: l.key })),
  ];
  const unique = [...new Map(keys.map((k) => [`${k.table} ${k.key}`, k])).values()];
  return unique.slice(0, DIVERGED_EXPLAINED).map((d) => {
    const table = session.tables.find((t) => t.name === d.table);
    const regions = table ? tableRegions(table) : [];
    return {
      table: d.table,
      key: d.key,
      writes: session.ledger.writesOf(d.table, d.key),
      streams: Object.fromEntries(
        regions.map((r) => [r, audit.histories.get(historyKey(d.table, r, d.key)) ?? []]),
      ),
    };
  });
}

/** Drills whose point is that re-deliveries change nothing: their line always shows `reapplied`. */
const SHOW_REAPPLIED: ReadonlySet<DrillName> = new Set(['crash', 'dup-storm']);

/** Reads the converged mirror back (items and streams) and judges the drill. The engine must still run. */
export async function concludeDrill(session: DrillSession, result: RunResult): Promise<DrillVerdict> {
  const findings = (await session.scenario.conclude?.(session)) ?? {};
  const clients = new Clients(result.endpoint);
  try {
    const finals = await readFinalStates(session.tables, (r) => clients.dynamo(r));
    const ledger = session.ledger.verdict(session.tables, finals, new Set(findings.ownKeys ?? []));
    const streams = await streamsOf(session.tables, (r) => clients.dynamo(r));
    const audit = await auditStreams(streams, (r) => clients.streams(r));
    return judge(session, result, findings, ledger, audit);
  } finally {
    clients.destroy();
  }
}

/** One client per region and service, signed for that region (one engine database per region). */
class Clients {
  private readonly made = new Map<string, DynamoDBClient | DynamoDBStreamsClient>();
  constructor(private readonly endpoint: string) {}

  dynamo(region: string): DynamoDBClient {
    return this.get(`ddb ${region}`, () => new DynamoDBClient(this.config(region))) as DynamoDBClient;
  }

  streams(region: string): DynamoDBStreamsClient {
    return this.get(
      `streams ${region}`,
      () => new DynamoDBStreamsClient(this.config(region)),
    ) as DynamoDBStreamsClient;
  }

  destroy(): void {
    this.made.forEach((c) => c.destroy());
  }

  private config(region: string) {
    return { region, endpoint: this.endpoint, credentials: LOCAL_CREDENTIALS };
  }

  private get(id: string, make: () => DynamoDBClient | DynamoDBStreamsClient) {
    let c = this.made.get(id);
    if (!c) this.made.set(id, (c = make()));
    return c;
  }
}

function judge(
  session: DrillSession,
  result: RunResult,
  findings: ScenarioFindings,
  ledger: LedgerVerdict,
  audit: StreamAudit,
): DrillVerdict {
  const verification = result.report.verification;
  const diverged = verification ? verification.divergentKeys : undefined;
  const end = session.window?.end;
  const recoveredInMs =
    session.recoveredAt !== undefined && end !== undefined ? session.recoveredAt - end : undefined;
  const maxLagMs = maxLag(session);
  const problems = [
    ...(ledger.lostKeys ? [`${ledger.lostKeys} keys lost`] : []),
    ...(diverged === undefined ? ['not verified'] : diverged ? [`${diverged} keys diverged`] : []),
    ...(audit.reapplied.length ? [`${audit.reapplied.length} writes re-applied over newer ones`] : []),
    ...(ledger.unexpected.length ? [`${ledger.unexpected.length} items the workload never wrote`] : []),
    ...(recoveredInMs === undefined && !session.aborted ? ['did not recover'] : []),
    ...result.report.errors.filter((e) => e.source === 'run').map((e) => e.message),
    ...(findings.problems ?? []),
  ];
  const fields = {
    ...(findings.fields ?? {}),
    ...(SHOW_REAPPLIED.has(session.name) || audit.reapplied.length
      ? { reapplied: String(audit.reapplied.length) }
      : {}),
    // Deleted items briefly back with old data before their tombstone's look removed them again.
    ...(SHOW_REAPPLIED.has(session.name) || audit.reinserted ? { resurfaced: String(audit.reinserted) } : {}),
    ...(audit.writtenBack ? { written_back: String(audit.writtenBack) } : {}),
  };
  const line = [
    `drill=${session.name}`,
    `lost=${ledger.lostKeys}`,
    `diverged=${diverged ?? '?'}`,
    `recovered_in=${recoveredInMs === undefined ? 'never' : seconds(recoveredInMs)}`,
    `max_lag=${maxLagMs === undefined ? '–' : seconds(maxLagMs)}`,
    ...Object.entries(fields).map(([k, v]) => `${k}=${v}`),
  ].join(' ');
  return {
    drill: session.name,
    ok: problems.length === 0,
    lost: ledger.lostKeys,
    diverged,
    recoveredInMs,
    maxLagMs,
    fields,
    problems,
    line,
    ledger,
    audit,
    findings,
    divergent: explainDivergence(session, result, audit, ledger),
  };
}

/** Every region's stream of every table, as the engine names it now. */
async function streamsOf(tables: readonly TableModel[], clientFor: (region: string) => DynamoDBClient) {
  const out: { table: TableModel; region: string; streamArn: string }[] = [];
  for (const table of tables)
    for (const region of tableRegions(table)) {
      const d = await clientFor(region).send(new DescribeTableCommand({ TableName: table.name }));
      const streamArn = d.Table?.LatestStreamArn;
      if (streamArn) out.push({ table, region, streamArn });
    }
  return out;
}
