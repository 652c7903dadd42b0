import { formatProblems, modelProblems } from '../../lib/config';
import { exampleModel, geolocationRouting, oneWayTable, region } from '../support/model-fixtures';

describe('model rules (the config rules, for models built in code)', () => {
  test('find nothing wrong with the example model', () => {
    expect(modelProblems(exampleModel())).toEqual([]);
    expect(modelProblems(exampleModel({ routing: geolocationRouting() }))).toEqual([]);
  });

  test('report every problem of a model with the config file path of each value', () => {
    // GIVEN a model with a bad region name, a table naming an undeclared and a repeated region, and a routed
    // record that is the apex of its zone while the endpoints are CNAMEs
    const model = exampleModel({
      regions: [region('us-east-1'), region('eu-west-1'), region('EU-WEST-2')],
      tables: [oneWayTable({ replicas: ['eu-west-1', 'sa-east-1', 'eu-west-1'] })],
      routing: { ...exampleModel().routing!, recordName: 'example.com' },
    });

    // WHEN
    const text = formatProblems(modelProblems(model));

    // THEN
    expect(text).toBe(
      [
        'regions.EU-WEST-2: "EU-WEST-2" is not an AWS region name (lower case, like us-east-1 or ap-southeast-2)',
        'tables[0].replicas[1]: region "sa-east-1" is not declared under regions (declared: us-east-1, eu-west-1, EU-WEST-2)',
        'tables[0].replicas[2]: region "eu-west-1" is listed twice',
        'routing.recordName: "example.com" is the zone apex, where DNS allows no CNAME; regions us-east-1, eu-west-1, EU-WEST-2 use a hostname endpoint: use alias endpoints or a subdomain',
      ].join('; '),
    );
  });

  test('ask every region for an account once one names its own, unless the model has a default', () => {
    // GIVEN eu-west-1 in another account, the other regions in none
    const regions = [
      region('us-east-1'),
      region('eu-west-1', { account: '222222222222' }),
      region('ap-southeast-2'),
    ];

    // WHEN
    const without = formatProblems(modelProblems(exampleModel({ regions })));
    const withDefault = modelProblems(exampleModel({ regions, account: '111111111111' }));

    // THEN
    expect(without).toMatch(/^regions\.us-east-1\.account: required: eu-west-1 names 222222222222/);
    expect(withDefault).toEqual([]);
  });
});
