import serializer from '../support/asset-hash-serializer';

const HASH = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('snapshot serializer', () => {
  test('masks the hash in an asset object key, an asset path and a name in the assets bucket', () => {
    expect(serializer.maskAssetHashes(`${HASH}.zip`)).toBe('[ASSET_HASH].zip');
    expect(serializer.maskAssetHashes(`${HASH}.json`)).toBe('[ASSET_HASH].json');
    expect(serializer.maskAssetHashes(`cdk.out/asset.${HASH}`)).toBe('cdk.out/asset.[ASSET_HASH]');
    expect(serializer.maskAssetHashes(`cdk-hnb659fds-assets-123456789012-us-east-1/${HASH}`)).toBe(
      'cdk-hnb659fds-assets-123456789012-us-east-1/[ASSET_HASH]',
    );
  });

  test('leaves any other 64-hex string alone, so a hash a construct computes still shows in a diff', () => {
    for (const value of [HASH, `sha256:${HASH}`, `${HASH}.txt`, `my-bucket/${HASH}`]) {
      expect(serializer.test(value)).toBe(false);
      expect(serializer.maskAssetHashes(value)).toBe(value);
    }
  });
});
