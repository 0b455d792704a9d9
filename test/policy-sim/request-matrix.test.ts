import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describeConfig, expectedOutcome, RULES } from './expected-outcomes';
import { encryptedBucketFixture, newStack, optionsFor, REJECTED_CONFIGS, statementsOnlyFixture, VALID_CONFIGS } from './fixtures';
import { mismatches, principalRows, transportRows, uploadRows } from './request-rows';
import { BucketEncryptionPolicy, EncryptedBucket } from '../../src';

/**
 * The request matrix: every valid configuration x every request of the issue, evaluated by the
 * IAM simulator against the synthesized, resolved bucket policy, and compared with the spec in
 * expected-outcomes.ts. A failure lists each request whose outcome or denying statement differs.
 */

const byName = VALID_CONFIGS.map((c) => [describeConfig(c), c] as const);

describe('EncryptedBucket policy, request matrix', () => {
  describe.each(byName)('%s', (_name, config) => {
    test('Get/Put/Delete/List over plain HTTP and TLS 1.0-1.3', async () => {
      expect(await mismatches(encryptedBucketFixture(config), transportRows(config))).toEqual([]);
    });

    test('uploads with each encryption header, over TLS and plain HTTP', async () => {
      expect(await mismatches(encryptedBucketFixture(config), uploadRows(config))).toEqual([]);
    });

    test('a bucket-policy grantee, another account, a granted partner account', async () => {
      expect(await mismatches(encryptedBucketFixture(config), principalRows(config))).toEqual([]);
    });
  });
});

describe('BucketEncryptionPolicy.statements alone, request matrix', () => {
  test.each(byName)('%s', async (_name, config) => {
    // Every upload row; Get over each transport; principals that only a grant could let in.
    const rows = [
      ...uploadRows(config),
      ...transportRows(config).filter((r) => r.action === 's3:GetObject'),
      ...principalRows(config).filter((r) => r.principal !== 'partner' && r.action !== 's3:DeleteObject'),
    ];
    expect(await mismatches(statementsOnlyFixture(config), rows)).toEqual([]);
  });
});

describe('configurations validation rejects', () => {
  test.each(REJECTED_CONFIGS.map((c) => [describeConfig(c), c] as const))('%s', (_name, config) => {
    const stack = newStack();
    const userKey = new kms.Key(stack, 'UserKey');
    const options = optionsFor(config, userKey);
    expect(() => new EncryptedBucket(stack, 'Bucket', options)).toThrow(/customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE/);
    const bucket = new s3.Bucket(stack, 'Plain');
    expect(() => BucketEncryptionPolicy.statements(bucket, {
      ...options,
      encryptionKey: config.encryption.endsWith('(library key)') ? userKey : options.encryptionKey,
    }))
      .toThrow(/customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE/);
  });

  test.each([
    ['minimumTLSVersion 1.1', { minimumTLSVersion: 1.1 }, /minimumTLSVersion: 1.1 is not supported/],
    ['minimumTLSVersion 1.4', { minimumTLSVersion: 1.4 }, /minimumTLSVersion: 1.4 is not supported/],
    ['UNENCRYPTED', { encryption: s3.BucketEncryption.UNENCRYPTED }, /UNENCRYPTED is not allowed/],
  ])('%s', (_name, props, error) => {
    const stack = newStack();
    expect(() => new EncryptedBucket(stack, 'Bucket', props)).toThrow(error);
    expect(() => BucketEncryptionPolicy.statements(new s3.Bucket(stack, 'Plain'), props)).toThrow(error);
  });

  test('a key with an encryption that uses none', () => {
    const stack = newStack();
    const encryptionKey = new kms.Key(stack, 'UserKey');
    for (const encryption of [s3.BucketEncryption.S3_MANAGED, s3.BucketEncryption.KMS_MANAGED, s3.BucketEncryption.DSSE_MANAGED]) {
      expect(() => new EncryptedBucket(stack, `Bucket${encryption}`, { encryption, encryptionKey })).toThrow(/encryptionKey is set but encryption is/);
    }
  });

  test('KMS or DSSE statements without the key they must name', () => {
    const stack = newStack();
    for (const encryption of [s3.BucketEncryption.KMS, s3.BucketEncryption.DSSE]) {
      expect(() => BucketEncryptionPolicy.statements(new s3.Bucket(stack, `Plain${encryption}`), { encryption }))
        .toThrow(/encryptionKey is required/);
    }
  });
});

describe('the matrix itself', () => {
  test('covers every configuration: 7 encryptions x 3 SSE-C choices x 3 header choices x 2 TLS minimums', () => {
    expect(VALID_CONFIGS.length + REJECTED_CONFIGS.length).toBe(7 * 3 * 3 * 2);
    expect(REJECTED_CONFIGS.length).toBe(7 * 2);
  });

  test('makes every rule of the spec refuse some request, and lets some requests through for every principal', () => {
    const outcomes = VALID_CONFIGS.flatMap((c) => [...transportRows(c), ...uploadRows(c), ...principalRows(c)]
      .map((r) => expectedOutcome(c, r, true)));
    for (const rule of RULES) {
      expect(outcomes.some((o) => o.deniedBy.includes(rule.sid))).toBe(true);
    }
    expect(outcomes.filter((o) => o.outcome === 'Allowed').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.outcome === 'ImplicitlyDenied').length).toBeGreaterThan(0);
  });

  test('every Sid the library can write has a rule in the spec', () => {
    expect(RULES.map((r) => r.sid).sort()).toEqual([...BucketEncryptionPolicy.ALL_SIDS].sort());
  });

  test('the full templates also carry the extra grants the matrix relies on', () => {
    for (const config of VALID_CONFIGS) {
      const fixture = encryptedBucketFixture(config);
      expect(fixture.policy.Statement.filter((s) => s.Effect === 'Allow').map((s) => s.Sid)).toContain('AllowGrantedRoles');
    }
  });
});
