/**
 * Where EncryptedBucket would differ from s3.Bucket without saying so (issue 11, points 1-8):
 * each test pins the behaviour documented in docs/differences-from-s3-bucket.md.
 */
import { App, Errors, PropertyInjectors, RemovalPolicy, Stack, Token, IPropertyInjector, InjectionContext } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, EncryptedBucketProps, EncryptionHeaders, S3EncryptionKey } from '../../src';
import { TEST_ENV } from '../util/template';

const LOGS_FLAG = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/** A stack in an app with the access-logs feature flag on, off, or (undefined) not set, as in `new App()`. */
function stackWithFlag(flag?: boolean): Stack {
  const app = new App({ stackTraces: false, context: flag === undefined ? {} : { [LOGS_FLAG]: flag } });
  return new Stack(app, 'TestStack', { env: TEST_ENV });
}

function logDeliveryStatements(template: Template, bucketLogicalIdPrefix: string): any[] {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'))
    .filter((p: any) => p.Properties.Bucket.Ref.startsWith(bucketLogicalIdPrefix));
  return policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => s.Principal?.Service === 'logging.s3.amazonaws.com');
}

describe('1. server access logging, with and without the feature flag', () => {
  test.each([undefined, false, true])('an EncryptedBucket is a log target through its bucket policy (flag %s)', (flag) => {
    const stack = stackWithFlag(flag);
    const logs = new EncryptedBucket(stack, 'Logs');
    new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'source/' });
    const template = Template.fromStack(stack);
    expect(logDeliveryStatements(template, 'Logs')).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Logs/), 'Arn'] }, '/source/*']] },
      Condition: {
        ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^Source/), 'Arn'] } },
        StringEquals: { 'aws:SourceAccount': '111111111111' },
      },
    }]);
    // ACLs stay disabled: no LogDeliveryWrite ACL, no ObjectWriter.
    template.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      AccessControl: Match.absent(),
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })] },
    });
  });

  test.each([undefined, false])('an EncryptedBucket logging to itself grants log delivery in its own policy (flag %s)', (flag) => {
    const stack = stackWithFlag(flag);
    new EncryptedBucket(stack, 'Bucket', { serverAccessLogsPrefix: 'logs/' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { LogFilePrefix: 'logs/' }, AccessControl: Match.absent() });
    expect(logDeliveryStatements(template, 'Bucket')).toHaveLength(1);
  });

  test('an EncryptedBucket logging to another EncryptedBucket, without the flag', () => {
    const stack = stackWithFlag();
    const logs = new EncryptedBucket(stack, 'Logs');
    new EncryptedBucket(stack, 'Data', { serverAccessLogsBucket: logs });
    expect(logDeliveryStatements(Template.fromStack(stack), 'Logs')).toHaveLength(1);
  });
});

describe('2. accessControl without objectOwnership', () => {
  test('an ACL that needs ACLs derives ObjectWriter like s3.Bucket, with an acknowledgeable warning', () => {
    const stack = stackWithFlag();
    const bucket = new EncryptedBucket(stack, 'Bucket', { accessControl: s3.BucketAccessControl.LOG_DELIVERY_WRITE });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      AccessControl: 'LogDeliveryWrite',
      OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('accessControl: LogDeliveryWrite needs ACLs.*\\[ack: cdk-s3-encryption:aclsEnabled\\]'));
    expect(EncryptedBucket.ACLS_ENABLED_WARNING).toBe('cdk-s3-encryption:aclsEnabled');
    void bucket;
  });

  test('an ACL that does not need ACLs keeps BucketOwnerEnforced, without a warning', () => {
    const stack = stackWithFlag();
    new EncryptedBucket(stack, 'Bucket', { accessControl: s3.BucketAccessControl.PRIVATE });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('needs ACLs'));
  });

  test('an ACL with objectOwnership BUCKET_OWNER_ENFORCED fails in the library\'s words', () => {
    const stack = stackWithFlag();
    expect(() => new EncryptedBucket(stack, 'Bucket', { accessControl: s3.BucketAccessControl.PUBLIC_READ, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED }))
      .toThrow(/TestStack\/Bucket: accessControl: PublicRead needs ACLs, but objectOwnership: BUCKET_OWNER_ENFORCED disables them/);
  });
});

describe('3. grantPublicAccess', () => {
  test('on a default bucket, says that blockPublicAccess blocks it and how to opt out', () => {
    const stack = stackWithFlag();
    const bucket = new EncryptedBucket(stack, 'Bucket');
    expect(() => bucket.grantPublicAccess()).toThrow(/TestStack\/Bucket: grantPublicAccess\(\) would add a public bucket policy, but blockPublicAccess blocks public policies.*blockPublicPolicy: false, restrictPublicBuckets: false/);
  });

  test('publicReadAccess on a default bucket, in the library\'s words', () => {
    const stack = stackWithFlag();
    expect(() => new EncryptedBucket(stack, 'Bucket', { publicReadAccess: true }))
      .toThrow(/TestStack\/Bucket: publicReadAccess: true adds a public bucket policy.*EncryptedBucket defaults to BlockPublicAccess.BLOCK_ALL/);
  });

  test('works once public policies are allowed', () => {
    const stack = stackWithFlag();
    const bucket = new EncryptedBucket(stack, 'Bucket', {
      blockPublicAccess: new s3.BlockPublicAccess({
        blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false,
      }),
    });
    bucket.grantPublicAccess('public/*');
    Template.fromStack(stack).hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject' })]) },
    });
  });
});

/** An injector as aws-cdk-lib's docs show it: injected values first, then the user's props. */
class DefaultsInjector implements IPropertyInjector {
  public readonly constructUniqueId = s3.Bucket.PROPERTY_INJECTION_ID;
  constructor(private readonly defaults: s3.BucketProps) {}
  public inject(originalProps: s3.BucketProps, _context: InjectionContext): s3.BucketProps {
    return { ...this.defaults, ...originalProps };
  }
}

/** An injector that overrides whatever the props say. */
class ForcingInjector implements IPropertyInjector {
  public readonly constructUniqueId = s3.Bucket.PROPERTY_INJECTION_ID;
  constructor(private readonly forced: s3.BucketProps) {}
  public inject(originalProps: s3.BucketProps, _context: InjectionContext): s3.BucketProps {
    return { ...originalProps, ...this.forced };
  }
}

describe('4. property injectors for s3.Bucket', () => {
  test('with a spreading injector, a KMS bucket gets its own key, under itself; a previous bucket\'s key is not reused', () => {
    const stack = stackWithFlag(true);
    PropertyInjectors.of(stack).add(new DefaultsInjector({ enforceSSL: true }));
    const first = new EncryptedBucket(stack, 'First', { encryption: s3.BucketEncryption.KMS });
    const second = new EncryptedBucket(stack, 'Second', { encryption: s3.BucketEncryption.KMS });
    expect(first.encryptionKey).toBeInstanceOf(S3EncryptionKey);
    expect(second.encryptionKey).toBeInstanceOf(S3EncryptionKey);
    expect(first.encryptionKey!.node.scope).toBe(first);
    expect(second.encryptionKey!.node.scope).toBe(second);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 2);
    const keys = Object.keys(template.findResources('AWS::KMS::Key'));
    expect(keys.filter((k) => k.startsWith('SecondKey'))).toHaveLength(1);
  });

  test('injected values are honoured: encryption KMS, versioned false, removalPolicy', () => {
    const stack = stackWithFlag(true);
    PropertyInjectors.of(stack).add(new DefaultsInjector({
      encryption: s3.BucketEncryption.KMS, versioned: false, removalPolicy: RemovalPolicy.DESTROY,
    }));
    const bucket = new EncryptedBucket(stack, 'Bucket');
    expect(bucket.encryption).toBe(s3.BucketEncryption.KMS);
    expect(bucket.encryptionKey!.node.path).toBe('TestStack/Bucket/Key');
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: {
        VersioningConfiguration: Match.absent(),
        BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } })] },
      },
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('versioned: false'));
  });

  test('the user\'s own value wins over a defaults injector', () => {
    const stack = stackWithFlag(true);
    PropertyInjectors.of(stack).add(new DefaultsInjector({ versioned: false }));
    new EncryptedBucket(stack, 'Bucket', { versioned: true });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
  });

  test('an injector that forces enforceSSL is accepted (s3.Bucket adds its own TLS deny next to the library\'s)', () => {
    const stack = stackWithFlag(true);
    PropertyInjectors.of(stack).add(new ForcingInjector({ enforceSSL: true }));
    expect(() => new EncryptedBucket(stack, 'Bucket')).not.toThrow();
  });

  test('an injected invalid value is rejected with the library\'s message', () => {
    const stack = stackWithFlag(true);
    PropertyInjectors.of(stack).add(new ForcingInjector({ encryption: s3.BucketEncryption.UNENCRYPTED }));
    expect(() => new EncryptedBucket(stack, 'Bucket')).toThrow(/TestStack\/Bucket: encryption: UNENCRYPTED is not allowed/);
  });

  test('an injector that would change a resolved setting the second time it runs is rejected clearly', () => {
    const stack = stackWithFlag(true);
    let calls = 0;
    PropertyInjectors.of(stack).add({
      constructUniqueId: s3.Bucket.PROPERTY_INJECTION_ID,
      // Flips versioning on every call: the props EncryptedBucket resolved would be changed again.
      inject: (props: s3.BucketProps) => ({ ...props, versioned: calls++ % 2 === 0 }),
    });
    expect(() => new EncryptedBucket(stack, 'Bucket')).toThrow(/TestStack\/Bucket: a PropertyInjector for s3.Bucket changes versioned from true to false/);
  });
});

describe('5. bucketKeyEnabled without encryption', () => {
  test('is rejected, like s3.Bucket, with the fix', () => {
    const stack = stackWithFlag(true);
    expect(() => new s3.Bucket(stack, 'Plain', { bucketKeyEnabled: true })).toThrow(/bucketKeyEnabled is specified/);
    expect(() => new EncryptedBucket(stack, 'Bucket', { bucketKeyEnabled: true }))
      .toThrow(/TestStack\/Bucket: bucketKeyEnabled: true is set without encryption.*Set encryption: s3.BucketEncryption.KMS/);
  });

  test('with an explicit S3_MANAGED it is accepted, as by s3.Bucket', () => {
    const stack = stackWithFlag(true);
    new EncryptedBucket(stack, 'Bucket', { bucketKeyEnabled: true, encryption: s3.BucketEncryption.S3_MANAGED });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ BucketKeyEnabled: true })] },
    });
  });

  test('with an encryptionKey (SSE-KMS implied) it is accepted', () => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { bucketKeyEnabled: true, encryptionKey: new S3EncryptionKey(stack, 'Key') })).not.toThrow();
  });
});

describe('6. KMS aliases are rejected in every form recognisable at synth', () => {
  const aliasArn = 'arn:aws:kms:eu-west-1:111111111111:alias/data';
  test.each<[string, (stack: Stack) => kms.IKey]>([
    ['kms.Alias', (stack) => new kms.Alias(stack, 'Alias', { aliasName: 'alias/data', targetKey: new kms.Key(stack, 'K') })],
    ['Alias.fromAliasName', (stack) => kms.Alias.fromAliasName(stack, 'Alias', 'alias/data')],
    ['Alias.fromAliasAttributes', (stack) => kms.Alias.fromAliasAttributes(stack, 'Alias', { aliasName: 'alias/data', aliasTargetKey: new kms.Key(stack, 'K') })],
    ['Key.fromKeyArn with an alias ARN', (stack) => kms.Key.fromKeyArn(stack, 'Alias', aliasArn)],
  ])('%s', (_name, make) => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { encryptionKey: make(stack) }))
      .toThrow(/TestStack\/Bucket: encryptionKey is a KMS alias \(.*\), not a key.*kms.Key.fromKeyArn\(scope, id, 'arn:aws:kms:<region>:<account>:key\/<key-id>'\) with the key ARN \(not an alias ARN\).*kms.Key.fromLookup/);
  });

  test('a key ARN is accepted', () => {
    const stack = stackWithFlag(true);
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(() => new EncryptedBucket(stack, 'Bucket', { encryptionKey: key })).not.toThrow();
  });

  test('a key ARN from a parameter (a token) cannot be told and is accepted', () => {
    const stack = stackWithFlag(true);
    const key = kms.Key.fromKeyArn(stack, 'Key', Token.asString({ Ref: 'KeyArn' }));
    expect(() => new EncryptedBucket(stack, 'Bucket', { encryptionKey: key })).not.toThrow();
  });
});

describe('7. log-target mistakes are caught at synth', () => {
  test.each<[string, EncryptedBucketProps, RegExp]>([
    ['KMS', { encryption: s3.BucketEncryption.KMS }, /TestStack\/Logs: TestStack\/Logs receives S3 server access logs \(from TestStack\/Source\) but its encryption is KMS: S3 delivers server access logs only to buckets whose default encryption is SSE-S3/],
    ['KMS_MANAGED', { encryption: s3.BucketEncryption.KMS_MANAGED }, /its encryption is KMS_MANAGED/],
    ['DSSE', { encryption: s3.BucketEncryption.DSSE }, /its encryption is DSSE/],
    ['encryptionHeaders REQUIRE', { encryptionHeaders: EncryptionHeaders.REQUIRE }, /has encryptionHeaders: REQUIRE: log delivery sends no x-amz-server-side-encryption header/],
  ])('an EncryptedBucket with %s as serverAccessLogsBucket', (_name, props, message) => {
    for (const flag of [undefined, true]) {
      const stack = stackWithFlag(flag);
      const logs = new EncryptedBucket(stack, 'Logs', props);
      expect(() => new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: logs })).toThrow(message);
    }
  });

  test.each<[string, EncryptedBucketProps, RegExp]>([
    ['KMS', { encryption: s3.BucketEncryption.KMS }, /TestStack\/Bucket receives S3 server access logs \(from itself\) but its encryption is KMS/],
    ['encryptionHeaders REQUIRE', { encryptionHeaders: EncryptionHeaders.REQUIRE }, /from itself\) but has encryptionHeaders: REQUIRE/],
  ])('an EncryptedBucket with %s logging to itself', (_name, props, message) => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { ...props, serverAccessLogsPrefix: 'logs/' })).toThrow(message);
  });
});

describe('8. errors with a place', () => {
  test('validation errors are aws-cdk-lib ValidationErrors carrying the construct path', () => {
    const stack = stackWithFlag(true);
    let error: unknown;
    try {
      new EncryptedBucket(stack, 'Bucket', { minimumTLSVersion: 1.1 });
    } catch (e) {
      error = e;
    }
    expect(Errors.isValidationError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^TestStack\/Bucket: minimumTLSVersion: 1.1 is not supported/);
    expect((error as { constructPath?: string }).constructPath).toBe('TestStack/Bucket');
  });

  test('errors after construction name the bucket itself', () => {
    const stack = stackWithFlag(true);
    const bucket = new EncryptedBucket(stack, 'Bucket');
    let error: unknown;
    try {
      bucket.grantPublicAccess();
    } catch (e) {
      error = e;
    }
    expect(Errors.isValidationError(error)).toBe(true);
    expect((error as { constructPath?: string }).constructPath).toBe('TestStack/Bucket');
  });

  test('from JavaScript, minimumTLSVersion as a numeric string is read as the number', () => {
    const stack = stackWithFlag(true);
    const bucket = new EncryptedBucket(stack, 'Bucket', { minimumTLSVersion: '1.3' as unknown as number });
    expect(bucket.minimumTLSVersion).toBe(1.3);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements.find((s: any) => s.Sid === 'DenyOutdatedTls').Condition).toEqual({ NumericLessThan: { 's3:TlsVersion': 1.3 } });
  });

  test.each(['TLS1.2', '', 'latest'])('from JavaScript, minimumTLSVersion %j is refused with "a number is expected"', (value) => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { minimumTLSVersion: value as unknown as number }))
      .toThrow(/TestStack\/Bucket: minimumTLSVersion: ".*" is not a number: pass the number 1.2 \(the default\) or 1.3/);
  });

  test('a numeric string that is not a supported version is refused as unsupported', () => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { minimumTLSVersion: '1.4' as unknown as number })).toThrow(/minimumTLSVersion: 1.4 is not supported/);
  });
});

describe('removal (issue 10)', () => {
  test('a KMS bucket, its policy and its key are retained except when the first deploy rolls back', () => {
    const stack = stackWithFlag(true);
    new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    const template = Template.fromStack(stack);
    for (const type of ['AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::KMS::Key']) {
      template.hasResource(type, { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    }
  });

  test('a user\'s RETAIN wins, and the bucket policy follows it', () => {
    const stack = stackWithFlag(true);
    new EncryptedBucket(stack, 'Bucket', { removalPolicy: RemovalPolicy.RETAIN });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::S3::BucketPolicy', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('autoDeleteObjects still needs DESTROY, as with s3.Bucket', () => {
    const stack = stackWithFlag(true);
    expect(() => new EncryptedBucket(stack, 'Bucket', { autoDeleteObjects: true })).toThrow(/removal policy to 'DESTROY'/);
    expect(() => new EncryptedBucket(stack, 'Other', { autoDeleteObjects: true, removalPolicy: RemovalPolicy.DESTROY })).not.toThrow();
  });

  test('a replication role is granted Decrypt on the key the bucket creates', () => {
    const stack = stackWithFlag(true);
    const destination = new EncryptedBucket(stack, 'Destination');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('s3.amazonaws.com') });
    new EncryptedBucket(stack, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      replicationRole: role,
      replicationRules: [{ destination, priority: 1 }],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BucketKey'), 'Arn'] } })]) },
    });
  });
});
