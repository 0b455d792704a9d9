/**
 * The behaviours aws-cdk-lib's own s3.Bucket unit tests pin down, run against s3.Bucket and
 * EncryptedBucket side by side (written for this project, not copied). Each case either asserts
 * that both produce the same thing, or asserts the documented difference
 * (docs/differences-from-s3-bucket.md), so that a new aws-cdk-lib release that changes s3.Bucket
 * in a way EncryptedBucket does not follow fails here instead of in a user's deploy.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EncryptedBucket, S3EncryptionKey } from '../../src';
import { TEST_ENV } from '../util/template';

type Kind = 's3.Bucket' | 'EncryptedBucket';
const KINDS: Kind[] = ['s3.Bucket', 'EncryptedBucket'];

interface Built {
  readonly stack: Stack;
  readonly bucket: s3.Bucket;
  readonly template: Template;
}

/** One bucket of `kind` with `props` in a fresh app (access-logs flag as `cdk init` sets it, unless told). */
function build(kind: Kind, props: s3.BucketProps = {}, act?: (bucket: s3.Bucket, stack: Stack) => void, logsFlag: boolean | undefined = true): Built {
  const app = new App({ stackTraces: false, context: logsFlag === undefined ? {} : { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': logsFlag } });
  const stack = new Stack(app, 'Stack', { env: TEST_ENV });
  const bucket = kind === 's3.Bucket' ? new s3.Bucket(stack, 'Bucket', props) : new EncryptedBucket(stack, 'Bucket', props);
  act?.(bucket, stack);
  return { stack, bucket, template: Template.fromStack(stack) };
}

function both(props: s3.BucketProps = {}, act?: (bucket: s3.Bucket, stack: Stack) => void, logsFlag?: boolean): Record<Kind, Built> {
  return { 's3.Bucket': build('s3.Bucket', props, act, logsFlag), 'EncryptedBucket': build('EncryptedBucket', props, act, logsFlag) };
}

/** The bucket resource's property `name` (logical ids are the same on both sides: the construct id is). */
function bucketProperty(built: Built, name: string): unknown {
  const id = built.stack.resolve((built.bucket.node.defaultChild as s3.CfnBucket).logicalId);
  return built.template.toJSON().Resources[id].Properties?.[name];
}

function expectSameBucketProperty(props: s3.BucketProps, name: string, act?: (bucket: s3.Bucket, stack: Stack) => void) {
  const built = both(props, act);
  const plain = bucketProperty(built['s3.Bucket'], name);
  expect(plain).toBeDefined();
  expect(bucketProperty(built.EncryptedBucket, name)).toEqual(plain);
}

function policyStatements(built: Built): any[] {
  return Object.values(built.template.findResources('AWS::S3::BucketPolicy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

function throwsFor(kind: Kind, props: s3.BucketProps, act?: (bucket: s3.Bucket, stack: Stack) => void): string | undefined {
  try {
    build(kind, props, act);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('same as s3.Bucket', () => {
  test.each<[string, s3.BucketProps, string]>([
    ['CORS rules', { cors: [{ allowedMethods: [s3.HttpMethods.GET], allowedOrigins: ['https://example.com'], maxAge: 300 }] }, 'CorsConfiguration'],
    ['metrics', { metrics: [{ id: 'All', prefix: 'data/', tagFilters: { team: 'a' } }] }, 'MetricsConfigurations'],
    ['a website', { websiteIndexDocument: 'index.html', websiteErrorDocument: 'error.html' }, 'WebsiteConfiguration'],
    ['blockPublicAccess BLOCK_ACLS_ONLY', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY }, 'PublicAccessBlockConfiguration'],
    ['transfer acceleration', { transferAcceleration: true }, 'AccelerateConfiguration'],
    ['intelligent tiering', { intelligentTieringConfigurations: [{ name: 'tier', archiveAccessTierTime: Duration.days(90) }] }, 'IntelligentTieringConfigurations'],
    ['object lock', { objectLockEnabled: true, objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(1)) }, 'ObjectLockConfiguration'],
    ['objectOwnership BUCKET_OWNER_PREFERRED', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED }, 'OwnershipControls'],
    ['an explicit bucket name', { bucketName: 'my-bucket-111111111111' }, 'BucketName'],
    ['an explicit versioned: true', { versioned: true }, 'VersioningConfiguration'],
    ['transitionDefaultMinimumObjectSize', {
      transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.VARIES_BY_STORAGE_CLASS,
      lifecycleRules: [{ transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(30) }] }],
    }, 'LifecycleConfiguration'],
  ])('%s', (_name, props, property) => {
    if (property === 'LifecycleConfiguration') {
      // EncryptedBucket adds its probe-expiry rules after the user's; the user's come first, unchanged.
      const built = both(props);
      const plain = bucketProperty(built['s3.Bucket'], property) as any;
      const encrypted = bucketProperty(built.EncryptedBucket, property) as any;
      expect(encrypted.TransitionDefaultMinimumObjectSize).toEqual(plain.TransitionDefaultMinimumObjectSize);
      expect(encrypted.Rules.slice(0, plain.Rules.length)).toEqual(plain.Rules);
      return;
    }
    expectSameBucketProperty(props, property);
  });

  test.each<[string, s3.BucketProps]>([
    ['KMS without a key: a key at <bucket>/Key', { encryption: s3.BucketEncryption.KMS }],
    ['KMS with a key', {}],
    ['KMS_MANAGED', { encryption: s3.BucketEncryption.KMS_MANAGED }],
    ['DSSE without a key', { encryption: s3.BucketEncryption.DSSE }],
    ['DSSE_MANAGED', { encryption: s3.BucketEncryption.DSSE_MANAGED }],
    ['S3_MANAGED', { encryption: s3.BucketEncryption.S3_MANAGED }],
  ])('encryption: %s names the same algorithm and key', (name, props) => {
    const withKey = name === 'KMS with a key';
    const built = KINDS.map((kind) => {
      const app = new App({ stackTraces: false });
      const stack = new Stack(app, 'Stack', { env: TEST_ENV });
      const key = withKey ? new kms.Key(stack, 'UserKey') : undefined;
      const p = { ...props, encryptionKey: key };
      const bucket = kind === 's3.Bucket' ? new s3.Bucket(stack, 'Bucket', p) : new EncryptedBucket(stack, 'Bucket', p);
      const rule = (bucketProperty({ stack, bucket, template: Template.fromStack(stack) }, 'BucketEncryption') as any).ServerSideEncryptionConfiguration[0];
      return { byDefault: rule.ServerSideEncryptionByDefault, keyPath: bucket.encryptionKey?.node.path };
    });
    expect(built[1]).toEqual(built[0]);
  });

  test('encryptionKey with S3_MANAGED is refused by both', () => {
    const key = (stack: Stack) => new kms.Key(stack, 'K');
    for (const kind of KINDS) {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: TEST_ENV });
      const make = () => kind === 's3.Bucket'
        ? new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.S3_MANAGED, encryptionKey: key(stack) })
        : new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.S3_MANAGED, encryptionKey: key(stack) });
      expect(make).toThrow(/encryptionKey is s(pecified|et)/);
    }
  });

  test.each(['Invalid_Name', 'ab', 'UPPER'])('an invalid bucket name %j is refused by both', (bucketName) => {
    for (const kind of KINDS) {
      expect(throwsFor(kind, { bucketName })).toMatch(/Invalid S3 bucket name/);
    }
  });

  test('removalPolicy DESTROY and autoDeleteObjects', () => {
    for (const built of Object.values(both({ removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }))) {
      built.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
      built.template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    }
    for (const kind of KINDS) {
      expect(throwsFor(kind, { autoDeleteObjects: true })).toMatch(/Cannot use 'autoDeleteObjects' property on a bucket without setting removal policy to 'DESTROY'/);
    }
  });

  test('publicReadAccess without blockPublicAccess is refused by both', () => {
    expect(throwsFor('s3.Bucket', { publicReadAccess: true })).toMatch(/publicReadAccess/);
    expect(throwsFor('EncryptedBucket', { publicReadAccess: true })).toMatch(/publicReadAccess/);
  });

  test('bucketKeyEnabled without encryption is refused by both', () => {
    expect(throwsFor('s3.Bucket', { bucketKeyEnabled: true })).toMatch(/bucketKeyEnabled/);
    expect(throwsFor('EncryptedBucket', { bucketKeyEnabled: true })).toMatch(/bucketKeyEnabled/);
  });

  test('grants: read and read/write of a KMS bucket include the key', () => {
    for (const kind of KINDS) {
      const { template } = build(kind, { encryption: s3.BucketEncryption.KMS }, (bucket, stack) => {
        const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
        bucket.grantRead(role);
        bucket.grantReadWrite(role);
      });
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
      const actions = statements.flatMap((s: any) => [s.Action].flat());
      expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 'kms:Decrypt', 'kms:GenerateDataKey*']));
    }
  });

  test('addToResourcePolicy adds to the bucket policy and says so', () => {
    for (const kind of KINDS) {
      let added = false;
      const built = build(kind, {}, (bucket) => {
        added = bucket.addToResourcePolicy(new iam.PolicyStatement({ principals: [new iam.AccountPrincipal('222222222222')], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] })).statementAdded;
      });
      expect(added).toBe(true);
      expect(policyStatements(built)).toEqual(expect.arrayContaining([expect.objectContaining({ Principal: { AWS: expect.anything() }, Action: 's3:GetObject', Effect: 'Allow' })]));
    }
  });

  test('inventories grant S3 delivery in the destination bucket policy', () => {
    for (const kind of KINDS) {
      const built = build(kind, {}, (bucket, stack) => {
        const destination = kind === 's3.Bucket' ? new s3.Bucket(stack, 'Inventory') : new EncryptedBucket(stack, 'Inventory');
        bucket.addInventory({ destination: { bucket: destination }, frequency: s3.InventoryFrequency.DAILY });
      });
      expect(bucketProperty(built, 'InventoryConfigurations')).toEqual([expect.objectContaining({ ScheduleFrequency: 'Daily', Enabled: true })]);
      expect(policyStatements(built)).toEqual(expect.arrayContaining([expect.objectContaining({ Principal: { Service: 's3.amazonaws.com' }, Action: 's3:PutObject' })]));
    }
  });

  test('event notifications and EventBridge', () => {
    for (const kind of KINDS) {
      const built = build(kind, { eventBridgeEnabled: true }, (bucket, stack) => {
        bucket.addObjectCreatedNotification(new s3n.SnsDestination(new sns.Topic(stack, 'Topic')), { prefix: 'in/' });
      });
      built.template.hasResourceProperties('Custom::S3BucketNotifications', {
        NotificationConfiguration: { EventBridgeConfiguration: {}, TopicConfigurations: [Match.objectLike({ Events: ['s3:ObjectCreated:*'] })] },
      });
    }
  });

  test('replication rules', () => {
    for (const kind of KINDS) {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: TEST_ENV });
      const destination = new s3.Bucket(stack, 'Destination', { versioned: true });
      const props: s3.BucketProps = { versioned: true, replicationRules: [{ destination, priority: 1 }] };
      const bucket = kind === 's3.Bucket' ? new s3.Bucket(stack, 'Bucket', props) : new EncryptedBucket(stack, 'Bucket', props);
      const config = bucketProperty({ stack, bucket, template: Template.fromStack(stack) }, 'ReplicationConfiguration') as any;
      expect(config.Rules).toEqual([expect.objectContaining({ Priority: 1, Status: 'Enabled' })]);
    }
  });

  test('object URLs', () => {
    const urls = KINDS.map((kind) => {
      const { bucket, stack } = build(kind, { bucketName: 'my-bucket-111111111111' });
      return stack.resolve([bucket.urlForObject('a/b.txt'), bucket.s3UrlForObject('a/b.txt'), bucket.virtualHostedUrlForObject('a/b.txt'), bucket.arnForObjects('a/*')]);
    });
    expect(urls[1]).toEqual(urls[0]);
  });

  test('accessControl that needs ACLs derives ObjectWriter (EncryptedBucket also warns)', () => {
    const built = both({ accessControl: s3.BucketAccessControl.LOG_DELIVERY_WRITE });
    expect(bucketProperty(built.EncryptedBucket, 'OwnershipControls')).toEqual(bucketProperty(built['s3.Bucket'], 'OwnershipControls'));
    expect(bucketProperty(built.EncryptedBucket, 'AccessControl')).toEqual('LogDeliveryWrite');
    Annotations.fromStack(built.EncryptedBucket.stack).hasWarning('/Stack/Bucket', Match.stringLikeRegexp('needs ACLs'));
  });

  test('enforceSSL and minimumTLSVersion: both deny plain HTTP and older TLS', () => {
    for (const built of Object.values(both({ enforceSSL: true, minimumTLSVersion: 1.2 }))) {
      const denies = policyStatements(built).filter((s) => s.Effect === 'Deny');
      expect(denies).toEqual(expect.arrayContaining([
        expect.objectContaining({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]));
    }
  });
});

describe('documented differences (docs/differences-from-s3-bucket.md)', () => {
  test('defaults: explicit SSE-S3, versioning, all public access blocked, ACLs off, TLS-only, retained except on a failed first deploy', () => {
    const built = both();
    expect(bucketProperty(built['s3.Bucket'], 'VersioningConfiguration')).toBeUndefined();
    expect(bucketProperty(built.EncryptedBucket, 'VersioningConfiguration')).toEqual({ Status: 'Enabled' });
    expect(bucketProperty(built.EncryptedBucket, 'PublicAccessBlockConfiguration')).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucketProperty(built.EncryptedBucket, 'OwnershipControls')).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucketProperty(built.EncryptedBucket, 'BucketEncryption')).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } }],
    });
    built['s3.Bucket'].template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    built.EncryptedBucket.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    expect(policyStatements(built.EncryptedBucket).map((s) => s.Sid)).toEqual(expect.arrayContaining(['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads']));
  });

  test('KMS: the created key is an S3EncryptionKey (S3-only key policy) and Bucket Keys are on', () => {
    const built = both({ encryption: s3.BucketEncryption.KMS });
    expect(built['s3.Bucket'].bucket.encryptionKey).not.toBeInstanceOf(S3EncryptionKey);
    expect(built.EncryptedBucket.bucket.encryptionKey).toBeInstanceOf(S3EncryptionKey);
    expect((bucketProperty(built.EncryptedBucket, 'BucketEncryption') as any).ServerSideEncryptionConfiguration[0].BucketKeyEnabled).toBe(true);
  });

  test.each<[string, s3.BucketProps, RegExp]>([
    ['encryption UNENCRYPTED', { encryption: s3.BucketEncryption.UNENCRYPTED }, /UNENCRYPTED is not allowed/],
    ['enforceSSL: false', { enforceSSL: false }, /enforceSSL: false is not allowed/],
    ['minimumTLSVersion 1.1', { enforceSSL: true, minimumTLSVersion: 1.1 }, /minimumTLSVersion: 1.1 is not supported/],
    ['an alias as encryptionKey', {}, /encryptionKey is a KMS alias/],
  ])('accepted by s3.Bucket, refused by EncryptedBucket: %s', (name, props, message) => {
    const make = (kind: Kind) => {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: TEST_ENV });
      const p = name.startsWith('an alias') ? { encryptionKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/data') } : props;
      return () => (kind === 's3.Bucket' ? new s3.Bucket(stack, 'Bucket', p) : new EncryptedBucket(stack, 'Bucket', p));
    };
    expect(make('s3.Bucket')).not.toThrow();
    expect(make('EncryptedBucket')).toThrow(message);
  });

  test('minimumTLSVersion without enforceSSL: s3.Bucket refuses it, EncryptedBucket enforces TLS anyway', () => {
    expect(throwsFor('s3.Bucket', { minimumTLSVersion: 1.2 })).toMatch(/'enforceSSL' must be enabled/);
    expect(throwsFor('EncryptedBucket', { minimumTLSVersion: 1.2 })).toBeUndefined();
  });

  test('grantPublicAccess on a default bucket: s3.Bucket allows it, EncryptedBucket explains blockPublicAccess', () => {
    expect(throwsFor('s3.Bucket', {}, (bucket) => bucket.grantPublicAccess())).toBeUndefined();
    expect(throwsFor('EncryptedBucket', {}, (bucket) => bucket.grantPublicAccess())).toMatch(/blockPublicAccess blocks public policies/);
  });

  test('server access logs without the feature flag: s3.Bucket uses the LogDeliveryWrite ACL, EncryptedBucket its bucket policy', () => {
    const withTarget = (kind: Kind) => {
      const app = new App({ stackTraces: false });
      const stack = new Stack(app, 'Stack', { env: TEST_ENV });
      const logs = kind === 's3.Bucket' ? new s3.Bucket(stack, 'Bucket') : new EncryptedBucket(stack, 'Bucket');
      new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: logs });
      return { stack, bucket: logs, template: Template.fromStack(stack) };
    };
    const plain = withTarget('s3.Bucket');
    const encrypted = withTarget('EncryptedBucket');
    expect(bucketProperty(plain, 'AccessControl')).toBe('LogDeliveryWrite');
    expect(bucketProperty(encrypted, 'AccessControl')).toBeUndefined();
    expect(policyStatements(encrypted)).toEqual(expect.arrayContaining([expect.objectContaining({ Principal: { Service: 'logging.s3.amazonaws.com' } })]));
  });

  test('server access logs with the feature flag: the same log-delivery statement', () => {
    const built = both({}, (bucket, stack) => new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: bucket, serverAccessLogsPrefix: 'p/' }));
    const logStatement = (b: Built) => policyStatements(b).find((s) => s.Principal?.Service === 'logging.s3.amazonaws.com');
    expect(logStatement(built.EncryptedBucket)).toEqual(logStatement(built['s3.Bucket']));
  });

  test('a KMS bucket as log target: s3.Bucket grants the logging service the key, EncryptedBucket refuses (S3 delivers logs to SSE-S3 only)', () => {
    expect(throwsFor('s3.Bucket', { encryption: s3.BucketEncryption.KMS }, (bucket, stack) => new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: bucket }))).toBeUndefined();
    expect(throwsFor('EncryptedBucket', { encryption: s3.BucketEncryption.KMS }, (bucket, stack) => new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: bucket })))
      .toMatch(/S3 delivers server access logs only to buckets whose default encryption is SSE-S3/);
  });
});
