/**
 * Jest snapshot serializer: masks asset hashes, which change with the functions' source and CDK's
 * bundling rather than with the construct under test. Only where assets live: S3 object keys of assets
 * (`<hash>.zip`, `<hash>.json`), asset paths (`asset.<hash>`) and names in the bootstrap assets bucket
 * (`cdk-hnb659fds-assets-…`). Any other 64-hex string is left alone, so a hash a construct computes
 * itself still shows up in a snapshot diff.
 */
const HASH = '[0-9a-f]{64}';
const ASSET_KEY = new RegExp(`\\b${HASH}(?=\\.(?:zip|json)\\b)`, 'g');
const ASSET_PATH = new RegExp(`\\basset\\.${HASH}\\b`, 'g');
const IN_ASSETS_BUCKET = /cdk-[a-z0-9]+-assets-/;
const ANY_HASH = new RegExp(HASH, 'g');
const MASK = '[ASSET_HASH]';

/** `value` with its asset hashes replaced by `[ASSET_HASH]`. */
function maskAssetHashes(value: string): string {
  const masked = value.replace(ASSET_KEY, MASK).replace(ASSET_PATH, `asset.${MASK}`);
  return IN_ASSETS_BUCKET.test(masked) ? masked.replace(ANY_HASH, MASK) : masked;
}

type Printer = (val: unknown, ...rest: unknown[]) => string;

const serializer = {
  maskAssetHashes,
  test(val: unknown): boolean {
    return typeof val === 'string' && maskAssetHashes(val) !== val;
  },
  serialize(
    val: string,
    config: unknown,
    indentation: string,
    depth: number,
    refs: unknown,
    printer: Printer,
  ): string {
    return printer(maskAssetHashes(val), config, indentation, depth, refs);
  },
};

export = serializer;
