import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketEncryptionPolicy, CustomerProvidedKeys, EncryptedBucket, EncryptedBucketProps, EncryptionHeaders, S3EncryptionKey } from '../src';
import { maskedTemplate, testStack } from './util/template';

function synth(props?: EncryptedBucketProps) {
  const { stack } = testStack();
  const bucket = new EncryptedBucket(stack, 'Bucket', props);
  return { stack, bucket, template: Template.fromStack(stack) };
}

/** The bucket policy statements of the only bucket policy in the template, by Sid. */
function statementsBySid(template: Template): Record<string, any> {
  const policies = template.findResources('AWS::S3::BucketPolicy');
  const [policy] = Object.values(policies);
  const result: Record<string, any> = {};
  for (const statement of policy.Properties.PolicyDocument.Statement) {
    if (statement.Sid) result[statement.Sid] = statement;
  }
  return result;
}

const bucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bucket'), 'Arn'] };
const objectsArn = { 'Fn::Join': ['', [bucketArn, '/*']] };

describe('EncryptedBucket defaults', () => {
  const { template } = synth();

  test('default encryption is SSE-S3, written explicitly, with SSE-C blocked', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: Match.absent() },
          BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] },
          BucketKeyEnabled: Match.absent(),
        }],
      },
    });
  });

  test('all public access is blocked, ACLs are disabled and versioning is on', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('the bucket and its policy are retained when they leave the stack, but deleted when the first deploy rolls back', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::S3::BucketPolicy', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  });

  test('plain HTTP is denied on the bucket and its objects', () => {
    expect(statementsBySid(template)[BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT]).toEqual({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: [expect.anything(), expect.anything()],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'DenyInsecureTransport', Resource: [bucketArn, objectsArn] })]) },
    });
  });

  test('TLS below 1.2 is denied', () => {
    expect(statementsBySid(template).DenyOutdatedTls).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
    });
  });

  test('SSE-C uploads are denied by the policy as well as by the bucket setting', () => {
    expect(statementsBySid(template).DenySseCUploads).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
    });
  });

  test('an upload naming another algorithm is denied, an upload naming none is not', () => {
    // Null false in the same block: the deny needs the header to be present.
    expect(statementsBySid(template).DenyMismatchedEncryptionHeader).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: {
        StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' },
        Null: { 's3:x-amz-server-side-encryption': 'false' },
      },
    });
  });

  test('the library writes exactly these Deny statements and no Allow: the check\'s grants are on its handler role', () => {
    const statements = statementsBySid(template);
    const denies = Object.values(statements).filter((s) => s.Effect === 'Deny').map((s) => s.Sid);
    expect(denies).toEqual(['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads', 'DenyMismatchedEncryptionHeader']);
    expect(Object.values(statements).filter((s) => s.Effect !== 'Deny')).toEqual([]);
  });

  test('without the deploy-time check, the policy holds the library\'s Deny statements only', () => {
    const { template: unchecked } = synth({ verifyEncryption: false });
    const statements = Object.values(statementsBySid(unchecked));
    expect(statements.map((s) => s.Sid)).toEqual(['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads', 'DenyMismatchedEncryptionHeader']);
    expect(statements.every((s) => s.Effect === 'Deny')).toBe(true);
    unchecked.resourceCountIs('Custom::S3EncryptionCheck', 0);
    unchecked.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('a deploy-time check is created with the bucket\'s own expectations', () => {
    expect(synth().bucket.encryptionCheck).toBeDefined();
    expect(synth({ verifyEncryption: false }).bucket.encryptionCheck).toBeUndefined();
    template.resourceCountIs('Custom::S3EncryptionCheck', 1);
    template.hasResourceProperties('Custom::S3EncryptionCheck', { Buckets: [Match.objectLike({ ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256' })] });
  });

  test('no KMS key is created for SSE-S3', () => {
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('exposes the resolved settings', () => {
    const { bucket } = synth();
    expect(bucket.encryption).toBe(s3.BucketEncryption.S3_MANAGED);
    expect(bucket.customerProvidedKeys).toBe(CustomerProvidedKeys.BLOCK);
    expect(bucket.encryptionHeaders).toBe(EncryptionHeaders.DENY_MISMATCH);
    expect(bucket.minimumTLSVersion).toBe(1.2);
    expect(bucket.bucketKeyEnabled).toBeUndefined();
    expect(bucket.encryptionKey).toBeUndefined();
  });
});

describe('EncryptedBucket with SSE-KMS', () => {
  test('without a key, creates an S3EncryptionKey under the bucket, with Bucket Keys on', () => {
    const { bucket, template } = synth({ encryption: s3.BucketEncryption.KMS });
    expect(bucket.encryptionKey).toBeInstanceOf(S3EncryptionKey);
    expect(bucket.encryptionKey!.node.path).toBe('TestStack/Bucket/Key');
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BucketKey'), 'Arn'] } },
          BucketKeyEnabled: true,
          BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] },
        }],
      },
    });
  });

  test('an upload naming another key is denied, by the key ARN', () => {
    const { template } = synth({ encryption: s3.BucketEncryption.KMS });
    const statements = statementsBySid(template);
    expect(statements.DenyMismatchedEncryptionHeader.Condition.StringNotEquals).toEqual({ 's3:x-amz-server-side-encryption': 'aws:kms' });
    expect(statements.DenyForeignKmsKey).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: {
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [expect.stringMatching(/^BucketKey/), 'Arn'] } },
        Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
      },
    });
  });

  test('an encryptionKey alone selects SSE-KMS and uses that key', () => {
    const { stack } = testStack();
    const key = new kms.Key(stack, 'UserKey', { enableKeyRotation: true });
    const bucket = new EncryptedBucket(stack, 'Bucket', { encryptionKey: key });
    expect(bucket.encryption).toBe(s3.BucketEncryption.KMS);
    expect(bucket.encryptionKey).toBe(key);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    expect(statementsBySid(template).DenyForeignKmsKey.Condition.StringNotEquals['s3:x-amz-server-side-encryption-aws-kms-key-id'])
      .toEqual({ 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] });
  });

  test('an imported key is named by its ARN', () => {
    const { stack } = testStack();
    const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    new EncryptedBucket(stack, 'Bucket', { encryptionKey: kms.Key.fromKeyArn(stack, 'Imported', keyArn) });
    expect(statementsBySid(Template.fromStack(stack)).DenyForeignKmsKey.Condition.StringNotEquals)
      .toEqual({ 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn });
  });

  test('Bucket Keys can be turned off', () => {
    const { template } = synth({ encryption: s3.BucketEncryption.KMS, bucketKeyEnabled: false });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ BucketKeyEnabled: false })] },
    });
  });

  test('KMS_MANAGED uses aws/s3 with Bucket Keys on, denies any key-id header, and warns', () => {
    const { bucket, template } = synth({ encryption: s3.BucketEncryption.KMS_MANAGED });
    expect(bucket.encryptionKey).toBeUndefined();
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [Match.objectLike({
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.absent() },
          BucketKeyEnabled: true,
        })],
      },
    });
    expect(statementsBySid(template).DenyForeignKmsKey.Condition).toEqual({ Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' } });
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('aws/s3.*cannot be managed or restricted'));
  });

  test('grants include the KMS key', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    bucket.grantRead(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['kms:Decrypt', 'kms:DescribeKey'],
          Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BucketKey'), 'Arn'] },
        })]),
      },
    });
  });
});

describe('EncryptedBucket with DSSE-KMS', () => {
  test('without a key, creates an S3EncryptionKey with rotation; no Bucket Key setting', () => {
    const { bucket, template } = synth({ encryption: s3.BucketEncryption.DSSE });
    expect(bucket.encryptionKey).toBeInstanceOf(S3EncryptionKey);
    expect(bucket.bucketKeyEnabled).toBeUndefined();
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: Match.anyValue() },
          BucketKeyEnabled: Match.absent(),
          BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] },
        }],
      },
    });
    expect(statementsBySid(template).DenyMismatchedEncryptionHeader.Condition.StringNotEquals)
      .toEqual({ 's3:x-amz-server-side-encryption': 'aws:kms:dsse' });
    expect(statementsBySid(template).DenyForeignKmsKey).toBeDefined();
  });

  test('DSSE_MANAGED uses aws/s3 and warns', () => {
    const { bucket, template } = synth({ encryption: s3.BucketEncryption.DSSE_MANAGED });
    template.resourceCountIs('AWS::KMS::Key', 0);
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('aws/s3'));
  });
});

describe('SSE-C options', () => {
  test('ALLOW writes BlockedEncryptionTypes NONE, no SSE-C deny, and warns', () => {
    const { bucket, template } = synth({ customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ BlockedEncryptionTypes: { EncryptionType: ['NONE'] } })] },
    });
    const statements = statementsBySid(template);
    expect(statements.DenySseCUploads).toBeUndefined();
    expect(statements.DenyUploadsWithoutSseC).toBeUndefined();
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('SSE-C'));
  });

  test('REQUIRE writes NONE and denies uploads without the SSE-C algorithm header', () => {
    const { template } = synth({ customerProvidedKeys: CustomerProvidedKeys.REQUIRE });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ BlockedEncryptionTypes: { EncryptionType: ['NONE'] } })] },
    });
    expect(statementsBySid(template).DenyUploadsWithoutSseC).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'true' } },
    });
    expect(statementsBySid(template).DenySseCUploads).toBeUndefined();
  });

  test('a blockedEncryptionTypes that agrees with customerProvidedKeys is accepted', () => {
    expect(() => synth({ blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C] })).not.toThrow();
    expect(() => synth({ customerProvidedKeys: CustomerProvidedKeys.ALLOW, blockedEncryptionTypes: [s3.BlockedEncryptionType.NONE] })).not.toThrow();
  });
});

describe('encryption header options', () => {
  test('REQUIRE denies uploads without the header', () => {
    const { template } = synth({ encryptionHeaders: EncryptionHeaders.REQUIRE });
    expect(statementsBySid(template).DenyMissingEncryptionHeader).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
    });
  });

  test('REQUIRE with SSE-C allowed lets SSE-C uploads (which carry no SSE header) through', () => {
    const { template } = synth({ encryptionHeaders: EncryptionHeaders.REQUIRE, customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    expect(statementsBySid(template).DenyMissingEncryptionHeader.Condition).toEqual({
      Null: { 's3:x-amz-server-side-encryption': 'true', 's3:x-amz-server-side-encryption-customer-algorithm': 'true' },
    });
  });

  test('NOT_ENFORCED writes no header statement', () => {
    const { template } = synth({ encryption: s3.BucketEncryption.KMS, encryptionHeaders: EncryptionHeaders.NOT_ENFORCED });
    const librarySids = Object.keys(statementsBySid(template)).filter((sid) => BucketEncryptionPolicy.ALL_SIDS.includes(sid));
    expect(librarySids).toEqual(['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads']);
  });
});

describe('overridable defaults', () => {
  test('TLS 1.3 is accepted with a warning about PrivateLink and Multi-Region Access Points', () => {
    const { bucket, template } = synth({ minimumTLSVersion: 1.3 });
    expect(statementsBySid(template).DenyOutdatedTls.Condition).toEqual({ NumericLessThan: { 's3:TlsVersion': 1.3 } });
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('PrivateLink.*Multi-Region Access Points'));
  });

  test('the default TLS 1.2 raises no warning', () => {
    const { bucket } = synth();
    Annotations.fromStack(bucket.stack).hasNoWarning('*', Match.anyValue());
  });

  test('versioning can be turned off, with a warning', () => {
    const { bucket, template } = synth({ versioned: false });
    template.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: Match.absent() });
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('ransomware'));
  });

  test('public access blocking can be relaxed, with a warning', () => {
    const { bucket } = synth({ blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY });
    Annotations.fromStack(bucket.stack).hasWarning('/TestStack/Bucket', Match.stringLikeRegexp('public access'));
  });

  test('removal policy and object ownership can be changed; the bucket policy follows the removal policy', () => {
    const { template } = synth({ removalPolicy: RemovalPolicy.DESTROY, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResource('AWS::S3::BucketPolicy', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResourceProperties('AWS::S3::Bucket', { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });
  });

  test('enforceSSL: true is accepted and adds no duplicate statement', () => {
    const { template } = synth({ enforceSSL: true, minimumTLSVersion: 1.2 });
    const statements = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0].Properties.PolicyDocument.Statement;
    expect(statements.filter((s: any) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toHaveLength(1);
    expect(statements.filter((s: any) => s.Condition?.NumericLessThan)).toHaveLength(1);
  });

  test('other s3.Bucket props pass through', () => {
    const { template } = synth({ bucketName: 'my-encrypted-bucket', lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }] });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'my-encrypted-bucket',
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } })]) },
    });
  });

  test('user statements are added next to the library statements', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Bucket');
    bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'Mine', actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')], principals: [new iam.AccountRootPrincipal()] }));
    expect(Object.keys(statementsBySid(Template.fromStack(stack)))).toContain('Mine');
  });
});

describe('validation', () => {
  test.each<[string, EncryptedBucketProps, RegExp]>([
    ['UNENCRYPTED', { encryption: s3.BucketEncryption.UNENCRYPTED }, /encryption: UNENCRYPTED is not allowed.*Use S3_MANAGED/],
    ['enforceSSL false', { enforceSSL: false }, /enforceSSL: false is not allowed.*Remove enforceSSL/],
    ['TLS 1.0', { minimumTLSVersion: 1.0 }, /minimumTLSVersion: 1 is not supported: use 1.2 \(the default\) or 1.3/],
    ['TLS 1.1', { minimumTLSVersion: 1.1 }, /minimumTLSVersion: 1.1 is not supported/],
    ['TLS 1.4', { minimumTLSVersion: 1.4 }, /minimumTLSVersion: 1.4 is not supported/],
    ['bucket key with DSSE', { encryption: s3.BucketEncryption.DSSE, bucketKeyEnabled: true }, /bucketKeyEnabled: true is not supported with encryption DSSE.*Remove bucketKeyEnabled/],
    ['bucket key with DSSE_MANAGED', { encryption: s3.BucketEncryption.DSSE_MANAGED, bucketKeyEnabled: true }, /bucketKeyEnabled: true is not supported with encryption DSSE_MANAGED/],
    ['SSE-C REQUIRE with headers REQUIRE', { customerProvidedKeys: CustomerProvidedKeys.REQUIRE, encryptionHeaders: EncryptionHeaders.REQUIRE }, /customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE.*DENY_MISMATCH/],
    ['blockedEncryptionTypes against BLOCK', { blockedEncryptionTypes: [s3.BlockedEncryptionType.NONE] }, /blockedEncryptionTypes: \[NONE\] contradicts customerProvidedKeys: BLOCK.*set customerProvidedKeys instead/],
    ['blockedEncryptionTypes against ALLOW', { customerProvidedKeys: CustomerProvidedKeys.ALLOW, blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C] }, /blockedEncryptionTypes: \[SSE-C\] contradicts customerProvidedKeys: ALLOW/],
  ])('rejects %s', (_name, props, message) => {
    const { stack } = testStack();
    expect(() => new EncryptedBucket(stack, 'Bucket', props)).toThrow(message);
  });

  test.each([s3.BucketEncryption.S3_MANAGED, s3.BucketEncryption.KMS_MANAGED, s3.BucketEncryption.DSSE_MANAGED])('rejects an encryptionKey with %s', (encryption) => {
    const { stack } = testStack();
    const key = new kms.Key(stack, 'Key');
    expect(() => new EncryptedBucket(stack, 'Bucket', { encryption, encryptionKey: key }))
      .toThrow(new RegExp(`encryptionKey is set but encryption is ${encryption}.*Set encryption to KMS or DSSE`));
  });

  test('rejects an alias as the encryptionKey: S3 compares full key ARNs', () => {
    const { stack } = testStack();
    const alias = new kms.Alias(stack, 'Alias', { aliasName: 'alias/data', targetKey: new kms.Key(stack, 'Key') });
    expect(() => new EncryptedBucket(stack, 'Bucket', { encryptionKey: alias })).toThrow(/TestStack\/Bucket: encryptionKey is a KMS alias \(TestStack\/Alias\), not a key.*Pass the key itself/);
  });

  test('does not reject an unresolved minimumTLSVersion token', () => {
    const { stack } = testStack();
    expect(() => new EncryptedBucket(stack, 'Bucket', { minimumTLSVersion: Token.asNumber({ Ref: 'MinTls' }) })).not.toThrow();
  });

  test('the managed key is created under its bucket, even for the id Default', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Default', { encryption: s3.BucketEncryption.KMS });
    expect(bucket.encryptionKey!.node.scope).toBe(bucket);
  });
});

describe('snapshots', () => {
  test.each<[string, EncryptedBucketProps]>([
    ['sse-s3', {}],
    ['sse-kms-managed-key', { encryption: s3.BucketEncryption.KMS }],
    ['sse-kms-aws-managed', { encryption: s3.BucketEncryption.KMS_MANAGED }],
    ['dsse-kms', { encryption: s3.BucketEncryption.DSSE }],
    ['sse-c-allowed-headers-required', { customerProvidedKeys: CustomerProvidedKeys.ALLOW, encryptionHeaders: EncryptionHeaders.REQUIRE }],
    ['sse-c-required', { customerProvidedKeys: CustomerProvidedKeys.REQUIRE }],
  ])('%s', (_name, props) => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'Bucket', props);
    expect(maskedTemplate(stack)).toMatchSnapshot();
  });

  test('synthesis is deterministic', () => {
    const render = () => {
      const { stack } = testStack();
      new EncryptedBucket(stack, 'Kms', { encryption: s3.BucketEncryption.KMS });
      new EncryptedBucket(stack, 'Sse', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      return JSON.stringify(Template.fromStack(stack).toJSON());
    };
    expect(render()).toEqual(render());
  });
});
