/**
 * Jest snapshot serializer: masks what changes without a behaviour change, so snapshots of
 * synthesized templates stay stable — asset hashes (any 64-hex run, e.g. S3Key `<hash>.zip`) and the
 * CDK-version-dependent bootstrap version check.
 */
const HASH = /[0-9a-f]{64}/g;
const ASSET_KEY = /[0-9a-f]{64}\.zip/g;

type Printer = (val: unknown, ...rest: unknown[]) => string;

function isBootstrapRule(val: unknown): boolean {
  if (typeof val !== 'object' || val === null) return false;
  const assertions = (val as { Assertions?: unknown }).Assertions;
  return (
    Array.isArray(assertions) &&
    assertions.some(
      (a) => typeof a?.AssertDescription === 'string' && a.AssertDescription.includes('CDK bootstrap'),
    )
  );
}

const serializer = {
  test(val: unknown): boolean {
    if (typeof val === 'string') {
      HASH.lastIndex = 0;
      return HASH.test(val);
    }
    return isBootstrapRule(val);
  },
  serialize(
    val: unknown,
    config: unknown,
    indentation: string,
    depth: number,
    refs: unknown,
    printer: Printer,
  ): string {
    if (typeof val === 'string') {
      const masked = val.replace(ASSET_KEY, '[ASSET_HASH].zip').replace(HASH, '[ASSET_HASH]');
      return printer(masked, config, indentation, depth, refs);
    }
    return printer('[CDK bootstrap version check]', config, indentation, depth, refs);
  },
};

export = serializer;
