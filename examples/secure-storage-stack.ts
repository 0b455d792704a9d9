import { Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CustomerProvidedKeys, EncryptedBucket, EncryptionHeaders, EnforceEncryption, S3EncryptionChecks, S3EncryptionKey } from '../src';

/**
 * An application stack with one EncryptedBucket per encryption mode, and a role that reads and
 * writes them (grants include the KMS keys).
 */
export class SecureStorageStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Access logs: S3 server access log delivery supports only SSE-S3 on the destination and
    // sends no encryption header, which the default DENY_MISMATCH lets through.
    const accessLogs = new EncryptedBucket(this, 'AccessLogs');
    // A log bucket logging to itself would loop; AwsSolutions-S1 does not apply to it.
    S3EncryptionChecks.acknowledge(accessLogs, 'AwsSolutions-S1', 'This is the access-log destination bucket; it cannot log to itself.');
    const logTo = { serverAccessLogsBucket: accessLogs };

    // SSE-S3, SSE-C blocked, mismatched headers denied: every default.
    const reports = new EncryptedBucket(this, 'Reports', { ...logTo, serverAccessLogsPrefix: 'reports/' });

    // SSE-KMS with a managed S3EncryptionKey created for the bucket (Bucket Keys on).
    const documents = new EncryptedBucket(this, 'Documents', {
      ...logTo,
      serverAccessLogsPrefix: 'documents/',
      encryption: s3.BucketEncryption.KMS,
    });

    // SSE-KMS with a key shared by two buckets, and uploads required to name it.
    const sharedKey = new S3EncryptionKey(this, 'SharedKey', { alias: 'alias/secure-storage/shared' });
    const invoices = new EncryptedBucket(this, 'Invoices', {
      ...logTo,
      serverAccessLogsPrefix: 'invoices/',
      encryptionKey: sharedKey,
      encryptionHeaders: EncryptionHeaders.REQUIRE,
    });
    const contracts = new EncryptedBucket(this, 'Contracts', {
      ...logTo,
      serverAccessLogsPrefix: 'contracts/',
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: sharedKey,
    });

    // DSSE-KMS (two layers of encryption) with a managed key; Bucket Keys do not apply.
    const archive = new EncryptedBucket(this, 'Archive', {
      ...logTo,
      serverAccessLogsPrefix: 'archive/',
      encryption: s3.BucketEncryption.DSSE,
    });

    // A workload that encrypts with its own keys (SSE-C) and needs S3 to accept them.
    const partnerExchange = new EncryptedBucket(this, 'PartnerExchange', {
      ...logTo,
      serverAccessLogsPrefix: 'partner-exchange/',
      customerProvidedKeys: CustomerProvidedKeys.ALLOW,
    });
    // One decision, one acknowledgement: it silences the library's SSE-C warning and the
    // S3Encryption-SseCBlocked rule, and keeps the reason in cdk.out/validation-report.json.
    S3EncryptionChecks.acknowledge(partnerExchange, S3EncryptionChecks.SSE_C_BLOCKED,
      'Partners upload objects encrypted with keys they hold (SSE-C) by contract; versioning stays on and CloudTrail data events are monitored for SSE-C requests.');

    // A plain s3.Bucket, as an older stack or a third-party construct makes it, retrofitted with
    // the same encryption and bucket policy as an EncryptedBucket (SSE-KMS with an S3EncryptionKey).
    const legacyExports = new s3.Bucket(this, 'LegacyExports', {
      ...logTo,
      serverAccessLogsPrefix: 'legacy-exports/',
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
    });
    legacyExports.with(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }));

    const worker = new iam.Role(this, 'Worker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const buckets = [reports, documents, invoices, contracts, archive, partnerExchange, legacyExports];
    for (const bucket of buckets) {
      bucket.grantReadWrite(worker);
    }
    acknowledgeObjectGrants(worker, buckets);
  }
}

/**
 * `grantReadWrite` uses aws-cdk-lib's action groups (`s3:GetObject*`, `kms:GenerateDataKey*`, ...)
 * and must name every object of the bucket (`<bucket>/*`). Each finding is acknowledged one by
 * one, on the worker role only, so a new wildcard (say `s3:*`) would still fail the synth.
 */
function acknowledgeObjectGrants(role: iam.Role, buckets: s3.Bucket[]): void {
  const actionGroups: Record<string, string> = {
    's3:GetObject*': 'aws-cdk-lib grantRead: GetObject and its version/ACL/tagging variants on this bucket only.',
    's3:GetBucket*': 'aws-cdk-lib grantRead: bucket metadata reads on the granted buckets only.',
    's3:List*': 'aws-cdk-lib grantRead: listing the granted buckets only.',
    's3:DeleteObject*': 'aws-cdk-lib grantDelete: the worker deletes its own objects in the granted buckets.',
    's3:Abort*': 'aws-cdk-lib grantWrite: aborting the worker\'s multipart uploads in the granted buckets.',
    'kms:ReEncrypt*': 'Bucket grants include the bucket key; the S3EncryptionKey policy limits it to use through S3.',
    'kms:GenerateDataKey*': 'Bucket grants include the bucket key; the S3EncryptionKey policy limits it to use through S3.',
  };
  for (const [action, reason] of Object.entries(actionGroups)) {
    S3EncryptionChecks.acknowledge(role, `AwsSolutions-IAM5[Action::${action}]`, reason);
  }
  const stack = Stack.of(role);
  for (const bucket of buckets) {
    const logicalId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    S3EncryptionChecks.acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
      `The worker reads and writes objects of ${bucket.node.id}; object grants name every key of that one bucket.`);
  }
}
