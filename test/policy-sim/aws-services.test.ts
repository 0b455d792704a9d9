import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { newStack } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import type { PolicyDocument } from './policy-check';
import { FOREIGN_KEY_ARN, OWNER_ACCOUNT } from './s3-requests';
import { simulate } from './simulator';
import { BucketEncryptionPolicy, EncryptedBucket } from '../../src';

/**
 * The AWS services that write to or read from an EncryptedBucket, as the simulator sees their
 * requests: which principal, which action, which headers. Each row is one line of
 * docs/aws-services.md. The bucket policies are the library's plus the statements the service
 * needs (aws-cdk-lib's own where it adds them: cloudtrail.Trail, CloudFront origin access control;
 * otherwise the statement the service's documentation gives).
 *
 * What the simulator cannot show: S3's own BlockedEncryptionTypes setting (it refuses SSE-C
 * writes, replication included, before any policy), and which KMS calls a service makes itself
 * rather than through S3. Those rows say so.
 */

const REGION = 'eu-west-1';
const S3_HERE = `s3.${REGION}.amazonaws.com`;
const SOURCE_BUCKET_ARN = 'arn:aws:s3:::inventoried-source-bucket';
const OTHER_KEY_ARN = FOREIGN_KEY_ARN;

type BucketName = 'Logs' | 'Data' | 'DeliveryKms' | 'TrailLogs' | 'Site' | 'Replica';

interface Built {
  readonly buckets: Record<BucketName, { arn: string; keyArn?: string; policy: PolicyDocument; keyPolicy?: PolicyDocument }>;
  readonly trailArn: string;
  readonly keyedTrailArn: string;
  readonly trailKeyArn: string;
  readonly distributionArn: string;
}

let built: Built | undefined;

/** One stack with a bucket per scenario and the service statements each needs. */
function services(): Built {
  if (built) {
    return built;
  }
  const stack = newStack();

  // SSE-S3 log bucket: CloudTrail without a key of its own, and a trail with its own key.
  const logs = new EncryptedBucket(stack, 'Logs');
  const trail = new cloudtrail.Trail(stack, 'Trail', { bucket: logs });
  const trailKey = new kms.Key(stack, 'TrailKey', { enableKeyRotation: true });
  const keyedTrail = new cloudtrail.Trail(stack, 'KeyedTrail', { bucket: logs, encryptionKey: trailKey });
  // The option for a trail with its own key: the trail's key is the bucket's key.
  const trailLogs = new EncryptedBucket(stack, 'TrailLogs', { encryptionKey: trailKey });
  new cloudtrail.Trail(stack, 'TrailWithBucketKey', { bucket: trailLogs, encryptionKey: trailKey });
  for (const bucket of [logs, trailLogs]) {
    addLogDelivery(bucket);
  }

  // SSE-KMS data bucket with the library's key, untouched: what services get by default.
  const data = new EncryptedBucket(stack, 'Data', { encryption: s3.BucketEncryption.KMS });
  addLogDelivery(data);
  // SSE-KMS bucket whose key also lets the log delivery services use it (through S3).
  const deliveryKms = new EncryptedBucket(stack, 'DeliveryKms', { encryption: s3.BucketEncryption.KMS });
  addLogDelivery(deliveryKms);
  for (const service of ['delivery.logs.amazonaws.com', 's3.amazonaws.com', 'cloudtrail.amazonaws.com']) {
    deliveryKms.encryptionKey!.addToResourcePolicy(new iam.PolicyStatement({
      sid: `AllowLogDeliveryThroughS3${service.split('.')[0]}`,
      principals: [new iam.ServicePrincipal(service)],
      actions: ['kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': OWNER_ACCOUNT } },
    }));
  }

  // CloudFront origin access control reading SSE-KMS objects (aws-cdk-lib adds both statements).
  const site = new EncryptedBucket(stack, 'Site', { encryption: s3.BucketEncryption.KMS });
  const distribution = new cloudfront.Distribution(stack, 'Cdn', { defaultBehavior: { origin: origins.S3BucketOrigin.withOriginAccessControl(site) } });

  // A replication destination: the source account's replication role may replicate into it.
  const replica = new EncryptedBucket(stack, 'Replica', { encryption: s3.BucketEncryption.KMS });
  replica.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowReplication',
    principals: [new iam.ArnPrincipal(REPLICATION_ROLE)],
    actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
    resources: [replica.arnForObjects('*')],
  }));

  const resolver = new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate);
  const policyId = (bucket: EncryptedBucket) => stack.getLogicalId(bucket.policy!.node.defaultChild as s3.CfnBucketPolicy);
  const resolveBucket = (bucket: EncryptedBucket) => {
    const cfnKey = bucket.encryptionKey?.node.defaultChild as kms.CfnKey | undefined;
    return {
      arn: resolver.getAtt(stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket), 'Arn'),
      keyArn: cfnKey ? resolver.getAtt(stack.getLogicalId(cfnKey), 'Arn') : undefined,
      policy: resolver.resolve(resolver.resource(policyId(bucket)).Properties!.PolicyDocument) as PolicyDocument,
      keyPolicy: cfnKey ? resolver.resolve(resolver.resource(stack.getLogicalId(cfnKey)).Properties!.KeyPolicy) as PolicyDocument : undefined,
    };
  };
  built = {
    buckets: {
      Logs: resolveBucket(logs),
      Data: resolveBucket(data),
      DeliveryKms: resolveBucket(deliveryKms),
      TrailLogs: resolveBucket(trailLogs),
      Site: resolveBucket(site),
      Replica: resolveBucket(replica),
    },
    trailArn: resolver.getAtt(stack.getLogicalId(trail.node.defaultChild as cloudtrail.CfnTrail), 'Arn'),
    keyedTrailArn: resolver.getAtt(stack.getLogicalId(keyedTrail.node.defaultChild as cloudtrail.CfnTrail), 'Arn'),
    trailKeyArn: resolver.getAtt(stack.getLogicalId(trailKey.node.defaultChild as kms.CfnKey), 'Arn'),
    distributionArn: `arn:aws:cloudfront::${OWNER_ACCOUNT}:distribution/${resolver.ref(stack.getLogicalId(distribution.node.defaultChild as cloudfront.CfnDistribution))}`,
  };
  return built;
}

const REPLICATION_ROLE = 'arn:aws:iam::333333333333:role/ReplicationRole';

/**
 * The bucket policy statements AWS documents for vended log delivery (VPC flow logs, CloudFront
 * standard logs v2: `delivery.logs.amazonaws.com`), ALB access logs
 * (`logdelivery.elasticloadbalancing.amazonaws.com`) and S3 Inventory / Storage Lens exports
 * (`s3.amazonaws.com`).
 */
function addLogDelivery(bucket: s3.IBucket) {
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowVendedLogDelivery',
    principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com'), new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [bucket.arnForObjects(`AWSLogs/${OWNER_ACCOUNT}/*`)],
    conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': OWNER_ACCOUNT } },
  }));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowInventoryExports',
    principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [bucket.arnForObjects('inventory/*')],
    conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': OWNER_ACCOUNT }, ArnLike: { 'aws:SourceArn': SOURCE_BUCKET_ARN } },
  }));
}

const TLS = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' };
const ACL = { 's3:x-amz-acl': 'bucket-owner-full-control' };
const OWNER_ROLE = `arn:aws:iam::${OWNER_ACCOUNT}:role/AppOrDeliveryRole`;
function ownerIdentity(bucketArn: string): SimulationIdentityPolicy[] {
  return [{ name: 'S3AndKms', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*', 'kms:*'], Resource: [bucketArn, `${bucketArn}/*`, '*'] }] } }];
}
const REPLICATION_IDENTITY: SimulationIdentityPolicy[] = [{ name: 'Replication', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:Replicate*', 'kms:*'], Resource: '*' }] } }];

interface S3Row {
  readonly bucket: BucketName;
  readonly principal: (b: Built) => string;
  readonly identity?: (bucketArn: string) => SimulationIdentityPolicy[];
  readonly action: 's3:PutObject' | 's3:GetObject' | 's3:ReplicateObject';
  readonly key: string;
  readonly context: (b: Built) => Record<string, string>;
  readonly outcome: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  readonly deniedBy?: string[];
}

const service = (name: string) => () => name;
const withKey = (keyArn: (b: Built) => string | undefined, algorithm = 'aws:kms') => (b: Built) => ({
  's3:x-amz-server-side-encryption': algorithm,
  's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn(b)!,
});

/** Bucket policy rows: service | request | outcome. */
const S3_ROWS: [string, S3Row][] = [
  ['CloudTrail without a key of its own writes to an SSE-S3 bucket (no encryption header)', {
    bucket: 'Logs',
    principal: service('cloudtrail.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/CloudTrail/${REGION}/log.json.gz`,
    context: () => ({ ...TLS, ...ACL }),
    outcome: 'Allowed',
  }],
  ['CloudTrail with its own key sends aws:kms and that key: refused on an SSE-S3 bucket', {
    bucket: 'Logs',
    principal: service('cloudtrail.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/CloudTrail/${REGION}/log.json.gz`,
    context: (b) => ({ ...TLS, ...ACL, ...withKey(() => b.trailKeyArn)(b) }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION],
  }],
  ['CloudTrail with its own key: refused on an SSE-KMS bucket with another key', {
    bucket: 'Data',
    principal: service('cloudtrail.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/CloudTrail/${REGION}/log.json.gz`,
    context: (b) => ({ ...TLS, ...ACL, ...withKey(() => b.trailKeyArn)(b) }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY],
  }],
  ['CloudTrail with its own key: allowed when the trail\'s key is the bucket\'s key (encryptionKey: trailKey)', {
    bucket: 'TrailLogs',
    principal: service('cloudtrail.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/CloudTrail/${REGION}/log.json.gz`,
    context: (b) => ({ ...TLS, ...ACL, ...withKey(() => b.trailKeyArn)(b) }),
    outcome: 'Allowed',
  }],
  ['ALB access logs (no encryption header) to an SSE-S3 bucket', {
    bucket: 'Logs',
    principal: service('logdelivery.elasticloadbalancing.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/elasticloadbalancing/log.gz`,
    context: () => ({ ...TLS, ...ACL, 'aws:SourceAccount': OWNER_ACCOUNT }),
    outcome: 'Allowed',
  }],
  ['VPC flow logs / CloudFront standard logs v2 (delivery.logs, no header) to an SSE-KMS bucket: the bucket policy lets them in', {
    bucket: 'DeliveryKms',
    principal: service('delivery.logs.amazonaws.com'),
    action: 's3:PutObject',
    key: `AWSLogs/${OWNER_ACCOUNT}/vpcflowlogs/log.gz`,
    context: () => ({ ...TLS, ...ACL, 'aws:SourceAccount': OWNER_ACCOUNT }),
    outcome: 'Allowed',
  }],
  ['S3 Inventory / Storage Lens export (s3.amazonaws.com, no header) to an SSE-S3 bucket', {
    bucket: 'Logs',
    principal: service('s3.amazonaws.com'),
    action: 's3:PutObject',
    key: 'inventory/data/manifest.json',
    context: () => ({ ...TLS, ...ACL, 'aws:SourceAccount': OWNER_ACCOUNT, 'aws:SourceArn': SOURCE_BUCKET_ARN }),
    outcome: 'Allowed',
  }],
  ['S3 Inventory with SSE-KMS export encryption naming the bucket\'s key', {
    bucket: 'DeliveryKms',
    principal: service('s3.amazonaws.com'),
    action: 's3:PutObject',
    key: 'inventory/data/manifest.json',
    context: (b) => ({ ...TLS, ...ACL, 'aws:SourceAccount': OWNER_ACCOUNT, 'aws:SourceArn': SOURCE_BUCKET_ARN, ...withKey(() => b.buckets.DeliveryKms.keyArn)(b) }),
    outcome: 'Allowed',
  }],
  ['S3 Inventory with SSE-S3 export encryption to an SSE-KMS bucket: refused', {
    bucket: 'DeliveryKms',
    principal: service('s3.amazonaws.com'),
    action: 's3:PutObject',
    key: 'inventory/data/manifest.json',
    context: () => ({ ...TLS, ...ACL, 'aws:SourceAccount': OWNER_ACCOUNT, 'aws:SourceArn': SOURCE_BUCKET_ARN, 's3:x-amz-server-side-encryption': 'AES256' }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION],
  }],
  ['Athena query results without result encryption (no header) to an SSE-KMS bucket', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'athena-results/q.csv',
    context: () => ({ ...TLS }),
    outcome: 'Allowed',
  }],
  ['Athena query results with SSE_S3 result encryption to an SSE-KMS bucket: refused', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'athena-results/q.csv',
    context: () => ({ ...TLS, 's3:x-amz-server-side-encryption': 'AES256' }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION],
  }],
  ['Athena query results with SSE_KMS result encryption and the bucket\'s key', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'athena-results/q.csv',
    context: (b) => ({ ...TLS, ...withKey(() => b.buckets.Data.keyArn)(b) }),
    outcome: 'Allowed',
  }],
  ['Kinesis Data Firehose without S3 encryption settings (no header)', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'firehose/2026/11/29/part',
    context: () => ({ ...TLS }),
    outcome: 'Allowed',
  }],
  ['Kinesis Data Firehose with a KMS key of its own for S3: refused', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'firehose/2026/11/29/part',
    context: (b) => ({ ...TLS, ...withKey(() => OTHER_KEY_ARN)(b) }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY],
  }],
  ['Kinesis Data Firehose with the bucket\'s key', {
    bucket: 'Data',
    principal: () => OWNER_ROLE,
    identity: ownerIdentity,
    action: 's3:PutObject',
    key: 'firehose/2026/11/29/part',
    context: (b) => ({ ...TLS, ...withKey(() => b.buckets.Data.keyArn)(b) }),
    outcome: 'Allowed',
  }],
  ['CloudFront origin access control reads an SSE-KMS object (bucket policy)', {
    bucket: 'Site',
    principal: service('cloudfront.amazonaws.com'),
    action: 's3:GetObject',
    key: 'index.html',
    context: (b) => ({ ...TLS, 'aws:SourceArn': b.distributionArn }),
    outcome: 'Allowed',
  }],
  ['S3 replication into the bucket with the SSE-C header: the bucket policy does not deny s3:ReplicateObject (BlockedEncryptionTypes does)', {
    bucket: 'Replica',
    principal: () => REPLICATION_ROLE,
    identity: () => REPLICATION_IDENTITY,
    action: 's3:ReplicateObject',
    key: 'replicated/object',
    context: () => ({ ...TLS, 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' }),
    outcome: 'Allowed',
  }],
  ['S3 replication into the bucket with another KMS key: the header denies cover s3:PutObject only', {
    bucket: 'Replica',
    principal: () => REPLICATION_ROLE,
    identity: () => REPLICATION_IDENTITY,
    action: 's3:ReplicateObject',
    key: 'replicated/object',
    context: (b) => ({ ...TLS, ...withKey(() => OTHER_KEY_ARN)(b) }),
    outcome: 'Allowed',
  }],
  ['S3 replication into the bucket over plain HTTP: denied like every request', {
    bucket: 'Replica',
    principal: () => REPLICATION_ROLE,
    identity: () => REPLICATION_IDENTITY,
    action: 's3:ReplicateObject',
    key: 'replicated/object',
    context: () => ({ 'aws:SecureTransport': 'false' }),
    outcome: 'ExplicitlyDenied',
    deniedBy: [BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT],
  }],
];

interface KeyRow {
  readonly bucket: BucketName;
  readonly principal: string;
  readonly action: string;
  readonly context: (b: Built) => Record<string, string>;
  readonly outcome: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
}

/** Key policy rows: whether S3, acting for the service, may use the bucket's S3EncryptionKey. */
const KEY_ROWS: [string, KeyRow][] = [
  ['log delivery (delivery.logs) through S3 with the default S3EncryptionKey policy: not allowed', {
    bucket: 'Data', principal: 'delivery.logs.amazonaws.com', action: 'kms:GenerateDataKey', context: () => ({ 'kms:ViaService': S3_HERE, 'aws:SourceAccount': OWNER_ACCOUNT }), outcome: 'ImplicitlyDenied',
  }],
  ['log delivery (delivery.logs) through S3 once the key policy names the service', {
    bucket: 'DeliveryKms', principal: 'delivery.logs.amazonaws.com', action: 'kms:GenerateDataKey', context: () => ({ 'kms:ViaService': S3_HERE, 'aws:SourceAccount': OWNER_ACCOUNT }), outcome: 'Allowed',
  }],
  ['... but not directly, outside S3 (addToResourcePolicy added kms:ViaService)', {
    bucket: 'DeliveryKms', principal: 'delivery.logs.amazonaws.com', action: 'kms:GenerateDataKey', context: () => ({ 'aws:SourceAccount': OWNER_ACCOUNT }), outcome: 'ImplicitlyDenied',
  }],
  ['S3 Inventory (s3.amazonaws.com) and CloudTrail without its own key, through S3, once the key policy names them', {
    bucket: 'DeliveryKms', principal: 'cloudtrail.amazonaws.com', action: 'kms:GenerateDataKey', context: () => ({ 'kms:ViaService': S3_HERE, 'aws:SourceAccount': OWNER_ACCOUNT }), outcome: 'Allowed',
  }],
  ['CloudFront OAC decrypts through S3: aws-cdk\'s statement still works with the appended kms:ViaService', {
    bucket: 'Site', principal: 'cloudfront.amazonaws.com', action: 'kms:Decrypt', context: (b) => ({ 'kms:ViaService': S3_HERE, 'aws:SourceArn': b.distributionArn }), outcome: 'Allowed',
  }],
  ['CloudFront cannot use the key outside S3', {
    bucket: 'Site', principal: 'cloudfront.amazonaws.com', action: 'kms:Decrypt', context: (b) => ({ 'aws:SourceArn': b.distributionArn }), outcome: 'ImplicitlyDenied',
  }],
];

describe('AWS services and the bucket policy', () => {
  test.each(S3_ROWS)('%s', async (_name, row) => {
    const b = services();
    const bucket = b.buckets[row.bucket];
    const outcome = await simulate({
      principal: row.principal(b),
      action: row.action,
      resource: `${bucket.arn}/${row.key}`,
      resourceAccount: OWNER_ACCOUNT,
      context: row.context(b),
    }, { resourcePolicy: bucket.policy, identityPolicies: row.identity?.(bucket.arn) ?? [] });
    expect([outcome.result, outcome.deniedBy]).toEqual([row.outcome, row.deniedBy ?? []]);
  });
});

describe('AWS services and the S3EncryptionKey policy', () => {
  test.each(KEY_ROWS)('%s', async (_name, row) => {
    const b = services();
    const bucket = b.buckets[row.bucket];
    const outcome = await simulate({
      principal: row.principal,
      action: row.action,
      resource: bucket.keyArn!,
      resourceAccount: OWNER_ACCOUNT,
      context: row.context(b),
    }, { resourcePolicy: bucket.keyPolicy!, identityPolicies: [] });
    expect(outcome.result).toBe(row.outcome);
  });
});

test('the stack itself: the trail with its own key names it in the template (what the rows assume)', () => {
  const b = services();
  expect(b.keyedTrailArn).toMatch(/^arn:aws:cloudtrail:eu-west-1:111111111111:trail\//);
  expect(b.trailArn).not.toBe(b.keyedTrailArn);
});
