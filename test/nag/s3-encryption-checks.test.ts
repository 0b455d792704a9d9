import { App, Mixins, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RULES, allFindings, findingsFor } from './helpers';
import { CustomerProvidedKeys, EncryptedBucket, EncryptionHeaders, EnforceEncryption, S3EncryptionChecks, S3EncryptionKey } from '../../src';

const env = { account: '111111111111', region: 'eu-west-1' };
const BUCKET_RULES = [RULES.DEFAULT_ENCRYPTION, RULES.TLS_ONLY, RULES.MINIMUM_TLS_VERSION, RULES.SSE_C_BLOCKED, RULES.ENCRYPTION_HEADERS];

/** Plain buckets as third-party constructs and older stacks make them. */
class LegacyStorage extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new s3.Bucket(this, 'Plain');
    new s3.Bucket(this, 'SslOnly', { enforceSSL: true });
    new s3.Bucket(this, 'Kms', { encryption: s3.BucketEncryption.KMS, enforceSSL: true, minimumTLSVersion: 1.2 });
    new s3.Bucket(this, 'Dsse', { encryption: s3.BucketEncryption.DSSE, encryptionKey: new kms.Key(this, 'DsseKey') });
    new s3.Bucket(this, 'Hardened', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C],
    });
    new s3.CfnBucket(this, 'Raw');
  }
}

function legacyStack(): Stack {
  const stack = new Stack(new App(), 'Legacy', { env });
  new LegacyStorage(stack, 'Storage');
  return stack;
}

describe('plain buckets are flagged by the expected rules', () => {
  const stack = legacyStack();
  test.each([
    ['Plain/Resource', BUCKET_RULES],
    ['SslOnly/Resource', BUCKET_RULES.filter((r) => r !== RULES.TLS_ONLY)],
    ['Kms/Resource', [RULES.SSE_C_BLOCKED, RULES.ENCRYPTION_HEADERS, RULES.BUCKET_KEY]],
    ['Kms/Key/Resource', [RULES.KMS_KEY_VIA_SERVICE]],
    ['Dsse/Resource', [RULES.TLS_ONLY, RULES.MINIMUM_TLS_VERSION, RULES.SSE_C_BLOCKED, RULES.ENCRYPTION_HEADERS]],
    ['DsseKey/Resource', [RULES.KMS_KEY_ROTATION, RULES.KMS_KEY_VIA_SERVICE]],
    ['Hardened/Resource', [RULES.ENCRYPTION_HEADERS]],
    ['Raw', BUCKET_RULES],
  ])('%s', (path, expected) => {
    expect(findingsFor(stack, `Legacy/Storage/${path}`)).toEqual([...expected].sort());
  });

  test('with cdk-nag 3, the findings make app.synth() fail', () => {
    const app = stack.node.root as App;
    Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    expect(() => app.synth()).toThrow(/S3Encryption-SseCBlocked/);
  });
});

describe('after EnforceEncryption the same buckets pass', () => {
  test('Mixins.of(stack).apply(new EnforceEncryption()) leaves only the keys the mixin does not own', () => {
    const stack = legacyStack();
    Mixins.of(stack).apply(new EnforceEncryption());
    // The mixin keeps each KMS bucket's own key (no downgrade, no key swap); key policies are
    // the key owner's to fix, so these two keys are still reported, and nothing else.
    expect(allFindings(stack)).toEqual([
      `${RULES.KMS_KEY_ROTATION} @ Legacy/Storage/DsseKey/Resource`,
      `${RULES.KMS_KEY_VIA_SERVICE} @ Legacy/Storage/DsseKey/Resource`,
      `${RULES.KMS_KEY_VIA_SERVICE} @ Legacy/Storage/Kms/Key/Resource`,
    ]);
  });

  test('with an S3EncryptionKey passed for the KMS buckets, the whole app passes and synthesizes', () => {
    const stack = legacyStack();
    const key = new S3EncryptionKey(stack, 'DataKey');
    // Specific options first; the blanket application then keeps what those buckets declare.
    for (const id of ['Kms', 'Dsse']) {
      stack.node.findChild('Storage').node.findChild(id).with(new EnforceEncryption({
        encryption: id === 'Kms' ? s3.BucketEncryption.KMS : s3.BucketEncryption.DSSE,
        encryptionKey: key,
      }));
    }
    Mixins.of(stack).apply(new EnforceEncryption());
    // The buckets' old keys are no longer used by any bucket, so they are out of the pack's scope.
    expect(allFindings(stack)).toEqual([]);
    const app = stack.node.root as App;
    Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('EncryptedBuckets in every mode pass', () => {
  test('with acknowledgements only for the modes that are findings by design', () => {
    const app = new App();
    const stack = new Stack(app, 'Secure', { env });
    const shared = new S3EncryptionKey(stack, 'Shared');
    new EncryptedBucket(stack, 'SseS3');
    new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
    new EncryptedBucket(stack, 'SseKmsShared', { encryptionKey: shared, encryptionHeaders: EncryptionHeaders.REQUIRE });
    new EncryptedBucket(stack, 'SseKmsAwsManaged', { encryption: s3.BucketEncryption.KMS_MANAGED });
    new EncryptedBucket(stack, 'Dsse', { encryption: s3.BucketEncryption.DSSE });
    new EncryptedBucket(stack, 'DsseShared', { encryption: s3.BucketEncryption.DSSE, encryptionKey: shared });
    new EncryptedBucket(stack, 'DsseAwsManaged', { encryption: s3.BucketEncryption.DSSE_MANAGED });
    new EncryptedBucket(stack, 'Tls13', { minimumTLSVersion: 1.3 });
    const allowed = new EncryptedBucket(stack, 'SseCAllowed', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    const required = new EncryptedBucket(stack, 'SseCRequired', { customerProvidedKeys: CustomerProvidedKeys.REQUIRE });
    const notEnforced = new EncryptedBucket(stack, 'HeadersNotEnforced', { encryptionHeaders: EncryptionHeaders.NOT_ENFORCED });
    const noBucketKey = new EncryptedBucket(stack, 'NoBucketKey', { encryption: s3.BucketEncryption.KMS, bucketKeyEnabled: false });

    expect(allFindings(stack)).toEqual([
      `${RULES.BUCKET_KEY} @ Secure/NoBucketKey/Resource`,
      `${RULES.ENCRYPTION_HEADERS} @ Secure/HeadersNotEnforced/Resource`,
      `${RULES.SSE_C_BLOCKED} @ Secure/SseCAllowed/Resource`,
      `${RULES.SSE_C_BLOCKED} @ Secure/SseCRequired/Resource`,
    ]);

    Validations.of(allowed).acknowledge({ id: RULES.SSE_C_BLOCKED, reason: 'Partner uploads are encrypted with partner-held keys (SSE-C) by contract; versioning stays on.' });
    Validations.of(required).acknowledge({ id: RULES.SSE_C_BLOCKED, reason: 'This bucket exists to hold SSE-C objects only; uploads without SSE-C are denied.' });
    Validations.of(notEnforced).acknowledge({ id: RULES.ENCRYPTION_HEADERS, reason: 'Clients choose per-object encryption here; the default still applies to uploads without a header.' });
    Validations.of(noBucketKey).acknowledge({ id: RULES.BUCKET_KEY, reason: 'Audit requires per-object encryption context (object ARN) in CloudTrail KMS events.' });
    expect(allFindings(stack)).toEqual([]);
    Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the pack', () => {
  test('an acknowledgement is narrow: one rule, one resource', () => {
    const stack = legacyStack();
    const plain = stack.node.findChild('Storage').node.findChild('Plain');
    Validations.of(plain).acknowledge({ id: RULES.SSE_C_BLOCKED, reason: 'test' });
    expect(findingsFor(stack, 'Legacy/Storage/Plain/Resource')).toEqual(BUCKET_RULES.filter((r) => r !== RULES.SSE_C_BLOCKED).sort());
    expect(findingsFor(stack, 'Legacy/Storage/Raw')).toContain(RULES.SSE_C_BLOCKED);
  });

  test('the acknowledgement id the CDK CLI suggests (S3Encryption::<rule id>) works too', () => {
    const app = new App();
    const stack = new Stack(app, 'Secure', { env });
    const partner = new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    Validations.of(partner).acknowledge({ id: `S3Encryption::${RULES.SSE_C_BLOCKED}`, reason: 'Partner uploads use SSE-C by contract.' });
    expect(() => app.synth()).not.toThrow();
  });

  test('audit-only reports every finding as a warning and lets synth succeed', () => {
    const stack = legacyStack();
    const app = stack.node.root as App;
    const pack = new S3EncryptionChecks(app, { auditOnly: true });
    const report = pack.validateScope(app);
    expect(report.success).toBe(true);
    expect(report.violations.length).toBeGreaterThan(5);
    expect(report.violations.every((v) => v.severity === 'warning')).toBe(true);
    Validations.of(app).addPlugins(pack);
    // An acknowledgement makes the CDK recompute success from the severities.
    Validations.of(stack.node.findChild('Storage').node.findChild('Plain')).acknowledge({ id: RULES.TLS_ONLY, reason: 'test' });
    expect(() => app.synth()).not.toThrow();
  });

  test('it lists its rule ids and explains findings with verbose', () => {
    const pack = new S3EncryptionChecks(undefined, { verbose: true });
    expect(pack.name).toBe('S3Encryption');
    expect(pack.ruleIds).toEqual(Object.values(RULES));
    const report = pack.validateScope(legacyStack().node.root);
    const sseC = report.violations.find((v) => v.ruleName === RULES.SSE_C_BLOCKED)!;
    expect(sseC.description).toMatch(/ransomware.*Fix:/);
    expect(sseC.severity).toBe('error');
  });
});
