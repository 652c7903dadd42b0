import { validateConfig, type ConfigIssue } from '../../lib/config';

/** A fresh, valid raw config (as parsed from YAML): mutate it to build one mistake per test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function validRawConfig(): any {
  return {
    regions: {
      'us-east-1': { endpoint: { hostname: 'us-east-1.app.example.com' } },
      'eu-west-1': { endpoint: { hostname: 'eu-west-1.app.example.com' } },
      'ap-southeast-2': { endpoint: { hostname: 'ap-southeast-2.app.example.com' } },
    },
    tables: [
      {
        name: 'Stories',
        partitionKey: { name: 'storyId', type: 'S' },
        mode: 'one-way',
        source: 'us-east-1',
        replicas: ['eu-west-1', 'ap-southeast-2'],
      },
      {
        name: 'Sessions',
        partitionKey: { name: 'sessionId', type: 'S' },
        mode: 'multi-active',
        regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
        ttl: { attribute: 'expiresAt' },
      },
    ],
    routing: {
      hostedZoneId: 'Z0123456789EXAMPLE',
      zoneName: 'example.com',
      recordName: 'app.example.com',
      policy: 'latency',
    },
  };
}

/** The issues reported for `input`; fails the test when the input is valid. */
export function issuesOf(input: unknown): readonly ConfigIssue[] {
  const result = validateConfig(input);
  if (result.ok) throw new Error('expected the config to be invalid, but it is valid');
  return result.issues;
}

/** GIVEN a valid config changed by `mutate`, WHEN validated, THEN these are the issues. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function issuesAfter(mutate: (config: any) => void): readonly ConfigIssue[] {
  const config = validRawConfig();
  mutate(config);
  return issuesOf(config);
}

/** Matcher for one issue at `path` whose message contains every fragment. */
export function issue(path: string, ...fragments: string[]) {
  return {
    path,
    message: expect.stringMatching(
      new RegExp(
        fragments
          .map(escape)
          .map((f) => `(?=[\\s\\S]*${f})`)
          .join(''),
      ),
    ),
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
