import { App, CfnResource, IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, NagPack, PCIDSS321Checks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { CustomerProvidedKeys, EncryptedBucket, EncryptionHeaders, EnforceEncryption, S3EncryptionChecks, S3EncryptionKey } from '../../src';

const env = { account: '111111111111', region: 'eu-west-1' };

/**
 * Findings that depend on the user's choices for a data bucket, not on this library. Each is
 * acknowledged per bucket and per rule in this test, and listed in docs/rule-pack.md.
 */
const DATA_BUCKET_CHOICES: Array<{ rules: string[]; reason: string; applies: (bucket: EncryptedBucket | s3.Bucket) => boolean }> = [
  {
    rules: ['AwsSolutions-S1', 'HIPAA.Security-S3BucketLoggingEnabled', 'NIST.800.53.R5-S3BucketLoggingEnabled', 'PCI.DSS.321-S3BucketLoggingEnabled'],
    reason: 'Server access logging needs a destination bucket the user chooses (serverAccessLogsBucket); the example app shows it.',
    applies: () => true,
  },
  {
    rules: ['HIPAA.Security-S3BucketReplicationEnabled', 'NIST.800.53.R5-S3BucketReplicationEnabled', 'PCI.DSS.321-S3BucketReplicationEnabled'],
    reason: 'Cross-region replication needs a destination bucket and role the user chooses (replicationRules).',
    applies: () => true,
  },
  {
    rules: ['HIPAA.Security-S3DefaultEncryptionKMS', 'NIST.800.53.R5-S3DefaultEncryptionKMS', 'PCI.DSS.321-S3DefaultEncryptionKMS'],
    reason: 'SSE-S3 is the user\'s choice for this bucket; for DSSE-KMS the cdk-nag rule accepts only aws:kms although DSSE-KMS is KMS (Security Hub S3.17 accepts both).',
    applies: (bucket) => {
      const algorithm = bucket.stack.resolve((bucket.node.defaultChild as s3.CfnBucket).bucketEncryption)
        ?.serverSideEncryptionConfiguration?.[0]?.serverSideEncryptionByDefault?.sseAlgorithm;
      return algorithm !== 'aws:kms';
    },
  },
];

function acknowledgeDataBucketChoices(bucket: EncryptedBucket | s3.Bucket): void {
  for (const choice of DATA_BUCKET_CHOICES.filter((c) => c.applies(bucket))) {
    for (const id of choice.rules) {
      Validations.of(bucket).acknowledge({ id, reason: choice.reason });
    }
  }
}

const packs = (): Array<NagPack & IPolicyValidationPlugin> => [
  new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks(), new S3EncryptionChecks(),
];

/** A stack that uses every construct of the library, the way an application would. */
function libraryStack(verifyEncryption: boolean): { app: App; stack: Stack; buckets: Array<EncryptedBucket | s3.Bucket> } {
  const app = new App();
  const stack = new Stack(app, 'Library', { env });
  const shared = new S3EncryptionKey(stack, 'SharedKey', { alias: 'alias/library/shared' });
  const modes = { verifyEncryption };
  const buckets: Array<EncryptedBucket | s3.Bucket> = [
    new EncryptedBucket(stack, 'SseS3', modes),
    new EncryptedBucket(stack, 'SseKms', { ...modes, encryption: s3.BucketEncryption.KMS }),
    new EncryptedBucket(stack, 'SseKmsShared', { ...modes, encryptionKey: shared, encryptionHeaders: EncryptionHeaders.REQUIRE }),
    new EncryptedBucket(stack, 'SseKmsAwsManaged', { ...modes, encryption: s3.BucketEncryption.KMS_MANAGED }),
    new EncryptedBucket(stack, 'Dsse', { ...modes, encryption: s3.BucketEncryption.DSSE }),
    new EncryptedBucket(stack, 'DsseAwsManaged', { ...modes, encryption: s3.BucketEncryption.DSSE_MANAGED }),
    new EncryptedBucket(stack, 'Tls13', { ...modes, minimumTLSVersion: 1.3 }),
    new EncryptedBucket(stack, 'SseCAllowed', { ...modes, customerProvidedKeys: CustomerProvidedKeys.ALLOW }),
  ];
  // A plain bucket retrofitted with the mixin (and aws-cdk-lib's own S3 mixins for the
  // settings that are not about encryption).
  const plain = new s3.Bucket(stack, 'Retrofitted');
  plain.with(
    new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }),
    new s3.mixins.BucketBlockPublicAccess(),
    new s3.mixins.BucketVersioning(),
  );
  buckets.push(plain);

  for (const bucket of buckets) {
    acknowledgeDataBucketChoices(bucket);
  }
  const sseC = buckets.find((b) => b.node.id === 'SseCAllowed')!;
  Validations.of(sseC).acknowledge({ id: S3EncryptionChecks.SSE_C_BLOCKED, reason: 'This bucket stands for a workload that needs SSE-C (customerProvidedKeys ALLOW), by design.' });
  return { app, stack, buckets };
}

function findings(app: App): string[] {
  return packs().flatMap((pack) => pack.validateScope(app).violations
    .flatMap((v) => v.violatingResources
      .filter((r) => !acknowledgedWithTrace(app, r.constructPath, v.ruleName))
      .map((r) => `${v.ruleName} @ ${r.constructPath}`)));
}

/**
 * Whether the construct at `path`, or one above it, acknowledges `ruleName` in the prefixed form
 * (`<pack>::<rule>`) that the library uses for an audit trail. cdk-nag's own validateScope does
 * not apply that form (aws-cdk-lib does, at synthesis), so this test applies it.
 */
function acknowledgedWithTrace(app: App, path: string | undefined, ruleName: string): boolean {
  const id = S3EncryptionChecks.acknowledgementId(ruleName);
  let construct: IConstruct | undefined = app;
  for (const part of (path ?? '').split('/')) {
    construct = construct?.node.tryFindChild(part);
    if (construct?.node.metadata.some((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && id in (m.data as Record<string, string>))) {
      return true;
    }
  }
  return false;
}

describe('cdk-nag AwsSolutions, HIPAA, NIST 800-53 R5 and PCI DSS 3.2.1 over every construct of the library', () => {
  test('no unacknowledged finding; only data-bucket choices are acknowledged, one rule and one bucket at a time', () => {
    const { app, stack, buckets } = libraryStack(false);
    expect(findings(app)).toEqual([]);

    // Nothing the library creates for itself (keys, policies) carries an acknowledgement.
    const acknowledged = stack.node.findAll().filter((c: IConstruct) =>
      c.node.metadata.some((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY));
    expect(acknowledged.map((c) => c.node.path).sort()).toEqual(buckets.map((b) => b.node.path).sort());
  });

  test('the library\'s own keys pass every pack without any acknowledgement', () => {
    const { app, stack } = libraryStack(false);
    const keyPaths = stack.node.findAll().filter((c) => CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::KMS::Key').map((c) => c.node.path);
    expect(keyPaths.length).toBe(4);
    expect(findings(app).filter((f) => keyPaths.some((p) => f.endsWith(`@ ${p}`)))).toEqual([]);
  });

  test('synthesis with all five packs registered succeeds', () => {
    const { app } = libraryStack(false);
    Validations.of(app).addPlugins(...packs());
    expect(() => app.synth()).not.toThrow();
  });
});

describe('with the deploy-time EncryptionCheck that EncryptedBucket adds by default', () => {
  // The check's handler, provider framework, roles and log groups are the library's own
  // resources: every finding on them must be fixed or acknowledged narrowly by the check.
  test('the check\'s resources raise no unacknowledged finding in any pack', () => {
    const { app } = libraryStack(true);
    expect(findings(app)).toEqual([]);
  });
});
