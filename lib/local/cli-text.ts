import { relative } from 'path';
import type { TableModel } from '../config/model';
import type { RunResult } from './mirror';

/** What `ddb-mirror start` prints around a run (bin/ddb-mirror.ts): plain text, one string per line. */

/** One line per table: how it is mirrored. */
export function describeTables(tables: readonly TableModel[]): string[] {
  return tables.map(
    (t) =>
      (t.mode === 'one-way'
        ? `${t.name}: one-way ${t.source} → ${t.replicas.join(', ')}`
        : `${t.name}: multi-active in ${t.regions.join(', ')}`) +
      (t.existing.length ? ` (existing in ${t.existing.join(', ')})` : ''),
  );
}

/** The verdict, what is left over, and where the report is. Paths relative to `cwd`. */
export function resultLines(result: RunResult, cwd = process.cwd()): string[] {
  const r = result.report;
  const applied = r.pairs.reduce((n, p) => n + p.applied, 0);
  const verdict = r.divergentKeys === -1 ? 'not verified' : `${r.divergentKeys} divergent keys`;
  const lines = [
    '',
    `${r.ok ? '✔' : '✘'} ${verdict}; ${r.workload?.writes ?? 0} writes, ${applied} records applied across ${r.pairs.length} pairs in ${(r.durationMs / 1000).toFixed(1)}s`,
  ];
  const left = Object.values(r.queuesLeft).reduce((a, b) => a + b, 0);
  if (left)
    lines.push(
      `  ${left} parked records still queued, to be retried after their visibility timeout (see the report)`,
    );
  for (const d of result.denials.slice(0, 5)) lines.push(`  IAM: ${d.message}`);
  for (const e of r.errors.filter((x) => x.source === 'run')) lines.push(`  ${e.message}`);
  lines.push(`Report: ${relative(cwd, result.files.html)} and ${relative(cwd, result.files.json)}`);
  if (r.onFailureFiles.length)
    lines.push(`On-failure records: ${r.onFailureFiles.map((f) => relative(cwd, f)).join(', ')}`);
  return lines;
}

/** How to reach the engine that `--keep` leaves running, and the control endpoint when there is one. */
export function keepLines(
  endpoint: string,
  regions: readonly string[],
  table = 'TABLE',
  controlEndpoint?: string,
): string[] {
  const region = regions[0];
  const control = controlEndpoint
    ? [
        `Operations commands: pass --endpoint ${controlEndpoint} (DynamoDB, Streams and the mirror's SQS queues;`,
        `live figures at ${controlEndpoint}/status), e.g.`,
        `  npx ddb-mirror status --endpoint ${controlEndpoint}`,
      ]
    : [];
  return [
    '',
    `Still running (--keep). DynamoDB Local: ${endpoint}, one database per region: ${regions.join(', ')}.`,
    'Point the AWS CLI or an SDK at it with dummy credentials (the region picks the database), e.g.',
    `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_ENDPOINT_URL_DYNAMODB=${endpoint} \\`,
    `    aws dynamodb scan --table-name ${table} --region ${region}`,
    `(SDKs: the same variables plus AWS_REGION=${region}.)`,
    ...control,
    'Writes you make there are replicated as in AWS. Ctrl-C stops every process.',
  ];
}
