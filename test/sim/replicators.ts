/**
 * The code under test, behind one interface: the replicator in the tree (whatever `processBatch` and
 * `applyParkedBody` are there), and the negative controls the oracles must catch.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { applyParkedBody, type ConsumerDeps, type ParkedResult } from '../../lambda/parked/consumer';
import { processBatch, type ProcessDeps } from '../../lambda/replicator/process';
import { articleReplicator, type ArticleVariant } from '../lambda/fixtures/article-replicator';
import type { HarnessContext } from '../support/mirror-harness';

export interface SimReplicator {
  readonly name: string;
  processBatch(event: DynamoDBStreamEvent, deps: ProcessDeps): Promise<DynamoDBBatchResponse>;
  applyParkedBody(body: string, deps: ConsumerDeps): Promise<ParkedResult>;
}

/** The replicator and parked-record consumer in the tree. */
export const treeReplicator: SimReplicator = {
  name: 'tree',
  processBatch: (event, deps) => processBatch(event, deps),
  applyParkedBody: (body, deps) => applyParkedBody(body, deps),
};

type Sendable = { send(command: { readonly input: unknown }): Promise<unknown> };

/**
 * NEGATIVE CONTROL: the tree's replicator with every read of a tombstone answered "no tombstone":
 * the insert check never undoes a stale save, and a new life never learns its generation.
 */
export const blindToTombstones: SimReplicator = {
  name: 'blind-to-tombstones',
  processBatch: (event, deps) => processBatch(event, { ...deps, clients: blind(deps.clients) }),
  applyParkedBody: (body, deps) => applyParkedBody(body, { ...deps, clients: blind(deps.clients) }),
};

function blind(clients: Readonly<Record<string, DynamoDBClient>>): Record<string, DynamoDBClient> {
  return Object.fromEntries(
    Object.entries(clients).map(([region, client]) => {
      const inner = client as unknown as Sendable;
      const wrapped: Sendable = {
        send: (command) => {
          const input = command.input as { TableName?: string };
          if (command.constructor.name === 'GetItemCommand' && input.TableName?.endsWith('-ddbm-tombstones'))
            return Promise.resolve({});
          return inner.send(command);
        },
      };
      return [region, wrapped as unknown as DynamoDBClient];
    }),
  );
}

/**
 * NEGATIVE CONTROL: the article's two-way mirror (test/lambda/fixtures/article-replicator.ts), on the
 * simulator's clients. It never parks, so its parked consumer is never called.
 */
export function article(variant: ArticleVariant): SimReplicator {
  return {
    name: `article-${variant}`,
    processBatch: async (event, deps) => {
      const s = deps.settings;
      const ctx: HarnessContext = {
        table: s.table,
        tombstoneTable: s.tombstoneTable,
        regions: [s.region, ...s.peers.map((p) => p.region)],
        mode: s.mode,
        key: { partitionKey: { name: s.partitionKey, type: 'S' } },
        versionAttribute: s.mode === 'multi-active' ? s.versionAttribute : 'version',
        excludeAttributes: s.excludeAttributes,
        clientFor: (region) => deps.clients[region],
        park: () => {
          throw new Error('the article replicator never parks');
        },
        settingsFor: () => s,
      };
      return articleReplicator(variant)(ctx).replicate(s.region, event);
    },
    applyParkedBody: async () => ({ status: 'invalid', reason: 'the article replicator never parks' }),
  };
}

export function replicatorNamed(name: string): SimReplicator {
  switch (name) {
    case 'tree':
      return treeReplicator;
    case 'blind-to-tombstones':
      return blindToTombstones;
    case 'article-generous':
      return article('generous');
    case 'article-faithful':
      return article('faithful');
    default:
      throw new Error(
        `unknown replicator ${name}: tree, blind-to-tombstones, article-generous or article-faithful`,
      );
  }
}
