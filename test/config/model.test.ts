import { regionAccount, regionAccounts, replicatorRegions, tableRegions } from '../../lib/config';
import { exampleModel, multiActiveTable, oneWayTable, region } from '../support/model-fixtures';

const oneWay = oneWayTable();
// A region order other than the example's, to show the configured order is kept.
const multiActive = multiActiveTable({ regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'] });

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

describe('regionAccount', () => {
  test("takes a region's own account over the mirror's, and the mirror's for the others", () => {
    // GIVEN
    const model = exampleModel({
      account: '111111111111',
      regions: [region('us-east-1'), region('eu-west-1', { account: '222222222222' })],
    });

    // THEN
    expect(regionAccount(model, 'us-east-1')).toBe('111111111111');
    expect(regionAccount(model, 'eu-west-1')).toBe('222222222222');
    expect(regionAccounts(model)).toEqual({ 'us-east-1': '111111111111', 'eu-west-1': '222222222222' });
  });

  test('knows no account when nothing names one (CDK_DEFAULT_ACCOUNT decides at synth)', () => {
    // THEN
    expect(regionAccounts(exampleModel())).toEqual({});
  });
});
