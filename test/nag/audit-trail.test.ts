import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { CustomerProvidedKeys, EncryptedBucket, EnforceEncryption, S3EncryptionChecks } from '../../src';
import { TEST_ENV } from '../util/template';
import { suppressedOf, synthesizeReport } from '../util/validation-report';

/**
 * Acknowledgements that leave a trace: an acknowledged finding must be listed, with its reason,
 * under the suppressed violations of cdk.out/validation-report.json, which is what reviewers and
 * auditors keep. Each test synthesizes to a temporary cdk.out and reads the report file.
 */

const REASON = 'Partners upload objects encrypted with keys they hold (SSE-C) by contract; versioning stays on.';

describe('acknowledgement ids and the report', () => {
  test('S3EncryptionChecks.acknowledge lists the finding, its resource and its reason as suppressed', () => {
    const report = synthesizeReport((app) => {
      const stack = new Stack(app, 'Secure', { env: TEST_ENV });
      const partner = new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      S3EncryptionChecks.acknowledge(partner, S3EncryptionChecks.SSE_C_BLOCKED, REASON);
      Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    });
    expect(report.failed).toBe(false);
    expect(suppressedOf(report, S3EncryptionChecks.PACK_NAME)).toEqual([`${S3EncryptionChecks.SSE_C_BLOCKED} @ Secure/Partner/Resource : ${REASON}`]);
    const pack = report.pluginReports.find((r) => r.pluginName === S3EncryptionChecks.PACK_NAME)!;
    expect(pack.violations).toEqual([]);
    expect(pack.suppressedViolations![0]).toMatchObject({ acknowledgedId: `S3Encryption::${S3EncryptionChecks.SSE_C_BLOCKED}`, acknowledgedAt: 'Secure/Partner' });
  });

  test('the bare rule id silences the finding but leaves no trace (why the documented form is the prefixed one)', () => {
    const report = synthesizeReport((app) => {
      const stack = new Stack(app, 'Secure', { env: TEST_ENV });
      const partner = new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      Validations.of(partner).acknowledge({ id: S3EncryptionChecks.SSE_C_BLOCKED, reason: REASON });
      Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    });
    expect(report.failed).toBe(false);
    expect(suppressedOf(report, S3EncryptionChecks.PACK_NAME)).toEqual([]);
  });

  test('an unacknowledged finding still fails the synth and is reported as a violation', () => {
    const report = synthesizeReport((app) => {
      const stack = new Stack(app, 'Secure', { env: TEST_ENV });
      const partner = new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      new EncryptedBucket(stack, 'Other', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      S3EncryptionChecks.acknowledge(partner, S3EncryptionChecks.SSE_C_BLOCKED, REASON);
      Validations.of(app).addPlugins(new S3EncryptionChecks(app));
    });
    expect(report.failed).toBe(true);
    const pack = report.pluginReports.find((r) => r.pluginName === S3EncryptionChecks.PACK_NAME)!;
    expect(pack.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`))).toEqual([`${S3EncryptionChecks.SSE_C_BLOCKED} @ Secure/Other/Resource`]);
    expect(suppressedOf(report, S3EncryptionChecks.PACK_NAME)).toHaveLength(1);
  });

  test('works for cdk-nag\'s own packs, findings with a [detail] included', () => {
    const report = synthesizeReport((app) => {
      const stack = new Stack(app, 'Secure', { env: TEST_ENV });
      const bucket = new s3.Bucket(stack, 'Plain', { enforceSSL: true });
      const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }));
      S3EncryptionChecks.acknowledge(bucket, 'AwsSolutions-S1', 'Access logs are collected by the organization trail.');
      S3EncryptionChecks.acknowledge(role, `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        'The reader reads every object of this one bucket.');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    });
    expect(suppressedOf(report, 'AwsSolutions')).toEqual([
      'AwsSolutions-IAM5[Resource::<Plain295EB121.Arn>/*] @ Secure/Reader/DefaultPolicy/Resource : The reader reads every object of this one bucket.',
      'AwsSolutions-S1 @ Secure/Plain/Resource : Access logs are collected by the organization trail.',
    ]);
  });

  test('the report is cdk.out/validation-report.json; policy-validation-report.json only with the legacy context flag', () => {
    // With a finding to report (SSE-C allowed), in audit-only mode so that synth succeeds.
    const withFinding = (context: Record<string, unknown>) => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-name-'));
      try {
        const app = new App({ outdir, stackTraces: false, context });
        new EncryptedBucket(new Stack(app, 'Secure', { env: TEST_ENV }), 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
        Validations.of(app).addPlugins(new S3EncryptionChecks(app, { auditOnly: true }));
        app.synth();
        return fs.readdirSync(outdir).filter((f) => f.endsWith('report.json')).sort();
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    };
    expect(withFinding({})).toEqual(['validation-report.json']);
    expect(withFinding({ '@aws-cdk/core:validationReportJson': true })).toEqual(['policy-validation-report.json', 'validation-report.json']);
    // The pack's own documentation names the file the CDK writes by default.
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'nag', 's3-encryption-checks.ts'), 'utf8');
    expect(source).toContain('cdk.out/validation-report.json');
    expect(source).not.toContain('policy-validation-report.json');
  });

  test('acknowledgementId: <pack>::<rule id>, for any pack, idempotent, and it refuses what is not a rule id', () => {
    expect(S3EncryptionChecks.acknowledgementId(S3EncryptionChecks.SSE_C_BLOCKED)).toBe('S3Encryption::S3Encryption-SseCBlocked');
    expect(S3EncryptionChecks.acknowledgementId('HIPAA.Security-LambdaDLQ')).toBe('HIPAA.Security::HIPAA.Security-LambdaDLQ');
    expect(S3EncryptionChecks.acknowledgementId('AwsSolutions-IAM5[Action::s3:*]')).toBe('AwsSolutions::AwsSolutions-IAM5[Action::s3:*]');
    expect(S3EncryptionChecks.acknowledgementId('S3Encryption::S3Encryption-SseCBlocked')).toBe('S3Encryption::S3Encryption-SseCBlocked');
    expect(() => S3EncryptionChecks.acknowledgementId('SseCBlocked')).toThrow(/not a cdk-nag rule id/);
    expect(() => S3EncryptionChecks.acknowledgementId('Pack[a-b]')).toThrow(/not a cdk-nag rule id/);
  });

  test('acknowledge refuses an empty reason', () => {
    const { stack } = { stack: new Stack(undefined, 'S') };
    expect(() => S3EncryptionChecks.acknowledge(stack, S3EncryptionChecks.SSE_C_BLOCKED, '  ')).toThrow(/reason is empty/);
  });

  test('validateScope (findings as data) leaves out findings acknowledged either way', () => {
    const stack = new Stack(undefined, 'Secure', { env: TEST_ENV });
    const audited = new EncryptedBucket(stack, 'Audited', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    const bare = new EncryptedBucket(stack, 'Bare', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    new EncryptedBucket(stack, 'Open', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    S3EncryptionChecks.acknowledge(audited, S3EncryptionChecks.SSE_C_BLOCKED, REASON);
    Validations.of(bare).acknowledge({ id: S3EncryptionChecks.SSE_C_BLOCKED, reason: REASON });
    const report = new S3EncryptionChecks().validateScope(stack);
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`))).toEqual([`${S3EncryptionChecks.SSE_C_BLOCKED} @ Secure/Open/Resource`]);
    expect(report.success).toBe(false);
  });
});

describe('allowing SSE-C: one decision, one acknowledgement', () => {
  const sseCWarning = Match.stringLikeRegexp('customerProvidedKeys: ALLOW lets clients encrypt');

  test('without an acknowledgement: the library\'s warning on the bucket, and the rule finding', () => {
    const stack = new Stack(undefined, 'Secure', { env: TEST_ENV });
    new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    Annotations.fromStack(stack).hasWarning('/Secure/Partner', sseCWarning);
    expect(new S3EncryptionChecks().validateScope(stack).violations.map((v) => v.ruleName)).toEqual([S3EncryptionChecks.SSE_C_BLOCKED]);
  });

  test.each([
    ['EncryptedBucket', (stack: Stack) => new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW })],
    ['EnforceEncryption', (stack: Stack) => new s3.Bucket(stack, 'Partner').with(new EnforceEncryption({ customerProvidedKeys: CustomerProvidedKeys.ALLOW })) as s3.Bucket],
  ])('%s: S3EncryptionChecks.acknowledge silences the warning and the rule, and the report keeps the reason', (_name, build) => {
    let warnings: unknown[] = [];
    const report = synthesizeReport((app) => {
      const stack = new Stack(app, 'Secure', { env: TEST_ENV });
      const bucket = build(stack);
      S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, REASON);
      Validations.of(app).addPlugins(new S3EncryptionChecks(app));
      warnings = Annotations.fromStack(stack).findWarning('*', sseCWarning);
    });
    expect(warnings).toEqual([]);
    expect(report.failed).toBe(false);
    expect(suppressedOf(report, S3EncryptionChecks.PACK_NAME)).toEqual([`${S3EncryptionChecks.SSE_C_BLOCKED} @ Secure/Partner/Resource : ${REASON}`]);
  });

  test('the warning tells how to acknowledge once', () => {
    const stack = new Stack(undefined, 'Secure', { env: TEST_ENV });
    new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.REQUIRE });
    Annotations.fromStack(stack).hasWarning('/Secure/Partner', Match.stringLikeRegexp('S3EncryptionChecks.acknowledge\\(bucket, S3EncryptionChecks.SSE_C_BLOCKED, reason\\)'));
  });
});

/**
 * The library acknowledges, with reasons, findings of the standard packs on the resources it
 * creates for the deploy-time check (src/encryption-check/nag-acknowledgements.ts). Those must
 * leave the same trace as a user's.
 */
test('the library\'s own acknowledgements on the check\'s resources are listed with their reasons', () => {
  const report = synthesizeReport((app) => {
    const stack = new Stack(app, 'Checked', { env: TEST_ENV });
    const bucket = new EncryptedBucket(stack, 'Data', { encryption: s3.BucketEncryption.KMS });
    for (const id of ['HIPAA.Security-S3BucketLoggingEnabled', 'HIPAA.Security-S3BucketReplicationEnabled']) {
      S3EncryptionChecks.acknowledge(bucket, id, 'A data bucket choice of the test app, not a resource of the library.');
    }
    Validations.of(app).addPlugins(new HIPAASecurityChecks(app));
  });
  const onCheck = suppressedOf(report, 'HIPAA.Security').filter((entry) => / @ Checked\/CdkS3EncryptionCheck/.test(entry));
  const rules = new Set(onCheck.map((entry) => entry.split(' @ ')[0]));
  expect([...rules].sort()).toEqual([
    'HIPAA.Security-CloudWatchLogGroupEncrypted', 'HIPAA.Security-IAMNoInlinePolicy', 'HIPAA.Security-LambdaConcurrency', 'HIPAA.Security-LambdaDLQ',
    'HIPAA.Security-LambdaInsideVPC',
  ]);
  expect(onCheck.every((entry) => / : \S.{20,}$/.test(entry))).toBe(true);
  expect(report.failed).toBe(false);
});
