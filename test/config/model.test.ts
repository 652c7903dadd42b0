import { replicatorRegions, tableRegions } from '../../lib/config';
import { multiActiveTable, oneWayTable } from '../support/model-fixtures';

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
