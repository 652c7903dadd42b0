/**
 * What must hold at the end of every run, once faults are off and everything has drained (streams,
 * retries, parking queues, replays of discarded ranges):
 *
 * - **convergence**: every region holds the same items, compared as `verify` compares them
 *   (lambda/contract/compare.ts: without `_ddbm_*` and excluded attributes); one-way replicas hold
 *   what the source holds;
 * - **no lost acknowledged write**: the final state of a key is a maximal write in happens-before
 *   (lambda history.ts defines it): a final item is the exact item some save wrote, and no write
 *   happened after that save; a final absence needs a delete after which nothing happened;
 * - **no resurrection**: a final item is never the data of a save that happened before a delete
 *   (the world also checks, at every step of the safety phase, that a region which recorded a delete
 *   never shows a save from before it again);
 * - **idempotence** (world.ts): re-delivering every region's whole stream changes no stored byte,
 *   items and tombstones alike.
 */
import { contentText } from '../../lambda/contract';
import type { AppWrite, History } from './history';

export interface Failure {
  readonly oracle:
    | 'convergence'
    | 'lost-write'
    | 'resurrection'
    | 'idempotence'
    | 'liveness'
    | 'parking'
    | 'determinism'
    | 'simulator';
  readonly message: string;
}

type Item = Readonly<Record<string, { S?: string; N?: string }>>;

export interface FinalView {
  readonly mode: 'multi-active' | 'one-way';
  /** The one-way source first. */
  readonly regions: readonly string[];
  readonly keyNames: readonly string[];
  readonly items: Readonly<Record<string, readonly Item[]>>;
  readonly history: History;
}

export type RawState = Readonly<Record<string, { readonly items: string[]; readonly tombstones: string[] }>>;

const NOTHING_EXCLUDED = { excludeAttributes: [] as string[] };

export function checkFinalState(view: FinalView): Failure[] {
  const failures: Failure[] = [];
  const byRegion = new Map<string, Map<string, Item>>();
  const keys = new Set<string>(view.history.keys());
  for (const region of view.regions) {
    const m = new Map<string, Item>();
    for (const item of view.items[region] ?? []) {
      const key = view.keyNames.map((k) => item[k]?.S ?? item[k]?.N ?? '?').join('/');
      m.set(key, item);
      keys.add(key);
    }
    byRegion.set(region, m);
  }
  for (const key of [...keys].sort()) {
    const states = view.regions.map((r) => {
      const item = byRegion.get(r)!.get(key);
      return item ? contentText(item, NOTHING_EXCLUDED) : null;
    });
    // One-way replicas are compared with the source (first); multi-active regions with each other.
    if (states.some((s) => s !== states[0])) {
      failures.push({
        oracle: 'convergence',
        message: `${key} differs: ${view.regions.map((r, i) => `${r}=${states[i] ?? 'absent'}`).join(', ')}`,
      });
      continue;
    }
    const final = byRegion.get(view.regions[0])!.get(key);
    const f = finalStateFailure(view.history, key, final);
    if (f) failures.push(f);
  }
  return failures;
}

/** Whether the final state of `key` (the same everywhere) is a state the application may end with. */
export function finalStateFailure(
  history: History,
  key: string,
  final: Item | undefined,
): Failure | undefined {
  const writes = history.writesOf(key);
  const list = (ws: readonly AppWrite[]) => ws.map((w) => history.describe(w)).join('; ');
  if (!final) {
    if (!writes.length) return undefined;
    const maximal = history.maximal(key);
    if (maximal.some((w) => w.kind === 'delete')) return undefined;
    return {
      oracle: 'lost-write',
      message: `${key} is absent everywhere, but no delete is the last of its writes: ${list(maximal)} happened after every delete`,
    };
  }
  const data = final.data?.S;
  const save = data === undefined ? undefined : history.save(data);
  if (!save)
    return {
      oracle: 'lost-write',
      message: `${key} holds ${data ?? 'no data'}, which no application save wrote`,
    };
  if (final.version?.N !== save.version)
    return {
      oracle: 'lost-write',
      message: `${key} holds ${data} at version ${final.version?.N}, but ${history.describe(save)} wrote version ${save.version}`,
    };
  const after = history.successors(save);
  if (!after.length) return undefined;
  const deletes = after.filter((w) => w.kind === 'delete');
  if (deletes.length)
    return {
      oracle: 'resurrection',
      message: `${key} ends as ${data}, written by ${history.describe(save)}, which was deleted after: ${list(deletes)}`,
    };
  return {
    oracle: 'lost-write',
    message: `${key} ends as ${data}, written by ${history.describe(save)}, but these writes happened after it and were lost: ${list(after)}`,
  };
}

/** Every stored difference between two raw states (items and tombstones, `_ddbm_*` included). */
export function compareRaw(before: RawState, after: RawState): string[] {
  const changes: string[] = [];
  for (const region of Object.keys(before))
    for (const part of ['items', 'tombstones'] as const) {
      const b = before[region][part].join('\n');
      const a = after[region]?.[part].join('\n');
      if (a !== b)
        changes.push(`${region} ${part} changed:\n  before: ${b || '(none)'}\n  after:  ${a || '(none)'}`);
    }
  return changes;
}
