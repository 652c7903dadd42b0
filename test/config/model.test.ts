import { replicatorRegions, tableRegions, type TableModel } from '../../lib/config';

const common = {
  key: { partitionKey: { name: 'id', type: 'S' } },
  excludeAttributes: [],
  billing: { mode: 'PAY_PER_REQUEST' },
  pointInTimeRecovery: true,
  deletionProtection: true,
  removalPolicy: 'RETAIN',
  tombstoneTtlDays: 30,
} as const;

const oneWay: TableModel = {
  ...common,
  name: 'Stories',
  mode: 'one-way',
  source: 'us-east-1',
  replicas: ['eu-west-1', 'ap-southeast-2'],
};

const multiActive: TableModel = {
  ...common,
  name: 'Sessions',
  mode: 'multi-active',
  regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'],
  versionAttribute: 'version',
};

describe('tableRegions', () => {
  test('lists a one-way table source first, then its replicas', () => {
    // THEN
    expect(tableRegions(oneWay)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
  });

  test('lists a multi-active table regions in their configured order', () => {
    // THEN
    expect(tableRegions(multiActive)).toEqual(['eu-west-1', 'us-east-1', 'ap-southeast-2']);
  });
});

describe('replicatorRegions', () => {
  test('runs a one-way table replicator in the source region only', () => {
    // THEN
    expect(replicatorRegions(oneWay)).toEqual(['us-east-1']);
  });

  test('runs a multi-active table replicator in every region', () => {
    // THEN
    expect(replicatorRegions(multiActive)).toEqual(['eu-west-1', 'us-east-1', 'ap-southeast-2']);
  });
});
