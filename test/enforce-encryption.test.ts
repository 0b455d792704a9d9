import * as path from 'path';
import { App, Errors, Mixins, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import {
  BucketEncryptionPolicy, CustomerProvidedKeys, EncryptedBucket, EncryptedBucketProps, EncryptionHeaders,
  EnforceEncryption, EnforceEncryptionProps, S3EncryptionKey,
} from '../src';

const env = { account: '111111111111', region: 'eu-west-1' };

function newStack(id = 'Stack'): Stack {
  return new Stack(new App(), id, { env });
}

/** The bucket's BucketEncryption and its library statements (by Sid, in policy order). */
function encryptionOf(stack: Stack, bucketId = 'Bucket') {
  const template = Template.fromStack(stack).toJSON();
  const resources = template.Resources as Record<string, any>;
  const logicalId = stack.resolve((stack.node.findChild(bucketId).node.defaultChild as s3.CfnBucket).logicalId);
  const policies = Object.values(resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === logicalId);
  const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => BucketEncryptionPolicy.ALL_SIDS.includes(s.Sid));
  // Other parts of the library may add statements to a key; compare the S3EncryptionKey ones.
  const keySids = [S3EncryptionKey.SID_KEY_ADMINISTRATION, S3EncryptionKey.SID_USE_THROUGH_S3];
  const keys = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::KMS::Key').map(([id, r]) => [id, {
    ...r.Properties,
    KeyPolicy: r.Properties.KeyPolicy.Statement.filter((s: any) => keySids.includes(s.Sid)),
  }]);
  return { bucketEncryption: resources[logicalId].Properties?.BucketEncryption, statements, policies: policies.length, keys };
}

// Each case: EncryptedBucket props, and the same options for the mixin. A key named `shared`
// is created in each app as `SharedKey` so both sides can reference "the same" key.
const CASES: Array<[string, (key: kms.IKey) => EnforceEncryptionProps]> = [
  ['defaults (SSE-S3)', () => ({})],
  ['SSE-KMS with a given key', (key) => ({ encryptionKey: key })],
  ['SSE-KMS with a created key', () => ({ encryption: s3.BucketEncryption.KMS })],
  ['SSE-KMS with aws/s3', () => ({ encryption: s3.BucketEncryption.KMS_MANAGED })],
  ['SSE-KMS without Bucket Key', (key) => ({ encryptionKey: key, bucketKeyEnabled: false })],
  ['DSSE-KMS with a given key', (key) => ({ encryption: s3.BucketEncryption.DSSE, encryptionKey: key })],
  ['DSSE-KMS with a created key', () => ({ encryption: s3.BucketEncryption.DSSE })],
  ['DSSE-KMS with aws/s3', () => ({ encryption: s3.BucketEncryption.DSSE_MANAGED })],
  ['SSE-C allowed', () => ({ customerProvidedKeys: CustomerProvidedKeys.ALLOW })],
  ['SSE-C required', () => ({ customerProvidedKeys: CustomerProvidedKeys.REQUIRE })],
  ['headers required', (key) => ({ encryptionKey: key, encryptionHeaders: EncryptionHeaders.REQUIRE })],
  ['headers not enforced', () => ({ encryptionHeaders: EncryptionHeaders.NOT_ENFORCED })],
  ['TLS 1.3', () => ({ minimumTLSVersion: 1.3 })],
];

describe('EnforceEncryption on a plain s3.Bucket writes what EncryptedBucket writes', () => {
  test.each(CASES)('%s', (_name, optionsFor) => {
    const reference = newStack();
    const referenceOptions = optionsFor(new S3EncryptionKey(reference, 'SharedKey'));
    new EncryptedBucket(reference, 'Bucket', referenceOptions as EncryptedBucketProps);

    const retrofitted = newStack();
    const options = optionsFor(new S3EncryptionKey(retrofitted, 'SharedKey'));
    new s3.Bucket(retrofitted, 'Bucket').with(new EnforceEncryption(options));

    const expected = encryptionOf(reference);
    const actual = encryptionOf(retrofitted);
    expect(actual.bucketEncryption).toEqual(expected.bucketEncryption);
    expect(actual.statements).toEqual(expected.statements);
    expect(actual.statements.map((s: any) => s.Sid).length).toBeGreaterThanOrEqual(3);
    // A created key is an S3EncryptionKey at the same path, with the same key policy.
    expect(actual.keys).toEqual(expected.keys);
  });
});

describe('where the mixin applies', () => {
  test('Mixins.of(scope) reaches L1 buckets, L2 buckets and buckets inside third-party constructs', () => {
    const stack = newStack();
    class ThirdParty extends Construct {
      public readonly bucket: s3.Bucket;
      constructor(scope: Construct, id: string) {
        super(scope, id);
        this.bucket = new s3.Bucket(this, 'Storage', { enforceSSL: true });
      }
    }
    new ThirdParty(stack, 'Vendor');
    new s3.CfnBucket(stack, 'Raw');
    new s3.Bucket(stack, 'Plain');

    const report = Mixins.of(stack).apply(new EnforceEncryption()).report;

    expect(report.map((a) => a.construct.node.path).sort()).toEqual(['Stack/Plain/Resource', 'Stack/Raw', 'Stack/Vendor/Storage/Resource']);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::BucketPolicy', 3);
    template.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
          BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] },
        }],
      },
    });
  });

  test('an L1 bucket without a policy gets one that references it', () => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw');
    raw.with(new EnforceEncryption());

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: stack.resolve(raw.logicalId) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT })]) },
    });
  });

  test('an EncryptedBucket is left unchanged, even with other options', () => {
    const build = (withMixin: boolean) => {
      const stack = newStack();
      new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS, customerProvidedKeys: CustomerProvidedKeys.ALLOW });
      if (withMixin) {
        Mixins.of(stack).apply(new EnforceEncryption({ encryption: s3.BucketEncryption.S3_MANAGED }));
      }
      return Template.fromStack(stack).toJSON();
    };
    expect(build(true)).toEqual(build(false));
  });
});

describe('merging into an existing bucket policy', () => {
  test('an L2 bucket keeps one policy with its own statements and the library statements', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'ReadForAuditors',
      principals: [new iam.AccountPrincipal('222222222222')],
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects('*')],
    }));
    bucket.with(new EnforceEncryption());

    const { statements, policies } = encryptionOf(stack);
    expect(policies).toBe(1);
    expect(statements.map((s: any) => s.Sid)).toEqual([
      BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT,
      BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS,
      BucketEncryptionPolicy.SID_DENY_SSE_C,
      BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION,
    ]);
    Template.fromStack(stack).hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'ReadForAuditors' })]) },
    });
  });

  test('a separate s3.BucketPolicy for an L2 bucket is merged into, not duplicated', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    const separate = new s3.BucketPolicy(stack, 'SeparatePolicy', { bucket });
    separate.document.addStatements(new iam.PolicyStatement({
      sid: 'ReadForAuditors', principals: [new iam.AccountPrincipal('222222222222')], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
    }));
    bucket.with(new EnforceEncryption());

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
    const sids = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0].Properties.PolicyDocument.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(['ReadForAuditors', ...BucketEncryptionPolicy.ALL_SIDS.filter((sid) => sids.includes(sid))]);
    expect(sids).toContain(BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT);
  });

  test('an L1 bucket policy written as plain JSON, in another stack, is merged into', () => {
    const app = new App();
    const data = new Stack(app, 'Data', { env });
    const access = new Stack(app, 'Access', { env });
    const raw = new s3.CfnBucket(data, 'Raw');
    new s3.CfnBucketPolicy(access, 'RawPolicy', {
      bucket: raw.ref,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Sid: 'ReadForAuditors', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::222222222222:root' }, Action: 's3:GetObject', Resource: `${raw.attrArn}/*` }],
      },
    });

    Mixins.of(app).apply(new EnforceEncryption());

    Template.fromStack(data).resourceCountIs('AWS::S3::BucketPolicy', 0);
    const policy = Template.fromStack(access).findResources('AWS::S3::BucketPolicy');
    const sids = Object.values(policy)[0].Properties.PolicyDocument.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(['ReadForAuditors', ...[
      BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT,
      BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS,
      BucketEncryptionPolicy.SID_DENY_SSE_C,
      BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION,
    ]]);
  });
});

describe('a bucket with several bucket policies', () => {
  const readForAuditors = (bucket: s3.IBucket) => new iam.PolicyStatement({
    sid: 'ReadForAuditors', principals: [new iam.AccountPrincipal('222222222222')], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
  });

  test('is an error naming the bucket and every policy (S3 keeps only the one deployed last)', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    new s3.BucketPolicy(stack, 'SecondPolicy', { bucket }).document.addStatements(readForAuditors(bucket));
    expect(() => bucket.with(new EnforceEncryption())).toThrow(
      /2 AWS::S3::BucketPolicy resources target the bucket Stack\/Bucket\/Resource \(Stack\/Bucket\/Policy\/Resource, Stack\/SecondPolicy\/Resource\).*one policy per bucket/);
    // Thrown like aws-cdk-lib's own validation errors: attached to the bucket's construct.
    let error: unknown;
    try {
      bucket.with(new EnforceEncryption());
    } catch (e) {
      error = e;
    }
    expect(Errors.isValidationError(error)).toBe(true);
    expect((error as { constructPath?: string }).constructPath).toBe('Stack/Bucket/Resource');
  });

  test('an L1 bucket with two L1 policies, one in another stack, is an error too', () => {
    const app = new App();
    const data = new Stack(app, 'Data', { env });
    const access = new Stack(app, 'Access', { env });
    const raw = new s3.CfnBucket(data, 'Raw', { bucketName: 'raw-data' });
    new s3.CfnBucketPolicy(data, 'ByName', { bucket: 'raw-data', policyDocument: { Statement: [] } });
    new s3.CfnBucketPolicy(access, 'ByRef', { bucket: raw.ref, policyDocument: { Statement: [] } });
    expect(() => Mixins.of(app).apply(new EnforceEncryption())).toThrow(/target the bucket Data\/Raw \((Data\/ByName, Access\/ByRef|Access\/ByRef, Data\/ByName)\)/);
  });

  test('a policy attached by literal name is merged into, not doubled', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw', { bucketName: 'raw-data' });
    new s3.CfnBucketPolicy(stack, 'ByName', { bucket: 'raw-data', policyDocument: { Statement: [] } });
    Mixins.of(stack).apply(new EnforceEncryption());
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: 'raw-data',
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT })]) },
    });
  });
});

describe('idempotence', () => {
  const build = (times: number, options: EnforceEncryptionProps, how: 'with' | 'mixins') => {
    const stack = newStack();
    const plain = new s3.Bucket(stack, 'Plain');
    plain.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() }));
    new s3.CfnBucket(stack, 'Raw');
    for (let i = 0; i < times; i++) {
      if (how === 'with') {
        stack.with(new EnforceEncryption(options));
      } else {
        Mixins.of(stack).apply(new EnforceEncryption(options));
      }
    }
    return Template.fromStack(stack).toJSON();
  };

  test.each([
    ['SSE-S3', {}],
    ['SSE-KMS with created keys', { encryption: s3.BucketEncryption.KMS }],
    ['DSSE-KMS, headers required, TLS 1.3', { encryption: s3.BucketEncryption.DSSE, encryptionHeaders: EncryptionHeaders.REQUIRE, minimumTLSVersion: 1.3 }],
  ] as Array<[string, EnforceEncryptionProps]>)('applying %s twice (or three times) changes nothing', (_name, options) => {
    const once = build(1, options, 'mixins');
    expect(build(2, options, 'mixins')).toEqual(once);
    expect(build(3, options, 'with')).toEqual(once);
  });

  test('applying it again with options that change a statement is an error naming the Sid', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    bucket.with(new EnforceEncryption({ minimumTLSVersion: 1.2 }));
    expect(() => bucket.with(new EnforceEncryption({ minimumTLSVersion: 1.3 }))).toThrow(/DenyOutdatedTls with other content/);
  });
});

describe('KMS keys', () => {
  test('KMS without a key creates an S3EncryptionKey under the bucket, and later grants include it', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    bucket.with(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }));
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    bucket.grantRead(reader);

    expect(bucket.node.tryFindChild('Key')).toBeInstanceOf(S3EncryptionKey);
    expect(bucket.encryptionKey).toBe(bucket.node.findChild('Key'));
    const keyId = stack.resolve((bucket.node.findChild('Key').node.defaultChild as kms.CfnKey).logicalId);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } } })] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['kms:Decrypt']), Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } })]) },
    });
  });

  test('KMS without a key on an L1 bucket creates the key under the CfnBucket', () => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw');
    raw.with(new EnforceEncryption({ encryption: s3.BucketEncryption.DSSE }));
    expect(raw.node.tryFindChild('Key')).toBeInstanceOf(S3EncryptionKey);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('default options keep a KMS bucket on KMS with its own key (no downgrade, no second key)', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    Mixins.of(stack).apply(new EnforceEncryption());

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    const keyId = stack.resolve((bucket.encryptionKey!.node.defaultChild as kms.CfnKey).logicalId);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
          BucketKeyEnabled: true,
          BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] },
        }],
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY,
          Condition: Match.objectLike({ StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [keyId, 'Arn'] } } }),
        })]),
      },
    });
  });

  test('an L1 bucket keeps the key its template references, and a literal key ARN', () => {
    const stack = newStack();
    const key = new kms.CfnKey(stack, 'RawKey', { enableKeyRotation: true });
    const byRef = new s3.CfnBucket(stack, 'ByRef', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.attrArn } }] },
    });
    const arn = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const byArn = new s3.CfnBucket(stack, 'ByArn', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: arn } }] },
    });
    Mixins.of(stack).apply(new EnforceEncryption());

    expect(stack.resolve(byRef.bucketEncryption)).toMatchObject({
      serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: { 'Fn::GetAtt': ['RawKey', 'Arn'] } }, bucketKeyEnabled: true }],
    });
    expect(stack.resolve(byArn.bucketEncryption)).toMatchObject({
      serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: arn } }],
    });
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('an omitted bucketKeyEnabled keeps an SSE-KMS bucket\'s declared BucketKeyEnabled false', () => {
    const stack = newStack();
    const key = new kms.CfnKey(stack, 'RawKey', { enableKeyRotation: true });
    const noBucketKey = new s3.CfnBucket(stack, 'NoBucketKey', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.attrArn }, bucketKeyEnabled: false }] },
    });
    const l2 = new s3.Bucket(stack, 'L2', { encryption: s3.BucketEncryption.KMS_MANAGED, bucketKeyEnabled: false });
    const undeclared = new s3.CfnBucket(stack, 'Undeclared', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.attrArn } }] },
    });
    Mixins.of(stack).apply(new EnforceEncryption());

    const bucketKeyOf = (bucket: s3.CfnBucket) => stack.resolve(bucket.bucketEncryption).serverSideEncryptionConfiguration[0].bucketKeyEnabled;
    expect(bucketKeyOf(noBucketKey)).toBe(false);
    expect(bucketKeyOf(l2.node.defaultChild as s3.CfnBucket)).toBe(false);
    expect(bucketKeyOf(undeclared)).toBe(true);

    // An explicit option still wins.
    const explicit = newStack();
    const keyed = new s3.CfnBucket(explicit, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' }, bucketKeyEnabled: false }] },
    });
    keyed.with(new EnforceEncryption({ bucketKeyEnabled: true }));
    expect(explicit.resolve(keyed.bucketEncryption).serverSideEncryptionConfiguration[0].bucketKeyEnabled).toBe(true);
  });

  test('a key named by alias cannot be put in the statements: the error says to pass encryptionKey', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'ByAlias', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'alias/data' } }] },
    });
    expect(() => Mixins.of(stack).apply(new EnforceEncryption())).toThrow(/Stack\/ByAlias.*Pass encryptionKey/);
  });
});

describe('imported buckets and invalid options', () => {
  test('an imported bucket gets a warning naming the settings and the statements to apply by hand', () => {
    const stack = newStack();
    s3.Bucket.fromBucketName(stack, 'Imported', 'legacy-data');
    const report = Mixins.of(stack).apply(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS })).report;

    expect(report.map((a) => a.construct.node.path)).toEqual(['Stack/Imported']);
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/Stack/Imported', Match.stringLikeRegexp(
      'cannot change Stack/Imported.*default encryption aws:kms with a customer managed key \\(pass encryptionKey\\), BucketKeyEnabled true, ' +
      'BlockedEncryptionTypes \\[SSE-C\\].*DenyInsecureTransport, DenyOutdatedTls, DenySseCUploads, DenyMismatchedEncryptionHeader, DenyForeignKmsKey'));
    Template.fromStack(stack).resourceCountIs('AWS::S3::BucketPolicy', 0);
  });

  test.each([
    [{ encryption: s3.BucketEncryption.UNENCRYPTED }, /UNENCRYPTED is not allowed/],
    [{ minimumTLSVersion: 1.4 }, /minimumTLSVersion: 1.4 is not supported/],
    [{ encryption: s3.BucketEncryption.DSSE, bucketKeyEnabled: true }, /Bucket Keys do not work with DSSE-KMS/],
  ] as Array<[EnforceEncryptionProps, RegExp]>)('options %o throw when the mixin is created', (options, message) => {
    expect(() => new EnforceEncryption(options)).toThrow(message);
  });

  test('risky options add EncryptedBucket\'s acknowledgeable warnings to the bucket', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket').with(new EnforceEncryption({ minimumTLSVersion: 1.3, customerProvidedKeys: CustomerProvidedKeys.ALLOW }));
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/Stack/Bucket', Match.stringLikeRegexp('cdk-s3-encryption:tls13'));
    annotations.hasWarning('/Stack/Bucket', Match.stringLikeRegexp('S3Encryption::S3Encryption-SseCBlocked'));
  });
});

describe('noise: warnings only about buckets the user declared', () => {
  function appWithAssets(): Stack {
    const stack = newStack();
    const site = new s3.Bucket(stack, 'Site');
    // This library's own handler asset, a BucketDeployment (its source asset, its handler and the
    // AWS CLI layer) and a Lambda function: each imports the CDK bootstrap bucket.
    new EncryptedBucket(stack, 'Encrypted');
    new s3deploy.BucketDeployment(stack, 'Deploy', { sources: [s3deploy.Source.data('index.html', '<h1>hello</h1>')], destinationBucket: site });
    new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromAsset(path.join(__dirname, 'util')) });
    return stack;
  }

  test('Mixins.of(stack) adds no warning for CDK asset buckets, so `cdk synth --strict` passes', () => {
    const stack = appWithAssets();
    const assetBuckets = stack.node.findAll().filter((c) => c.node.id === 'AssetBucket' && c instanceof s3.BucketBase);
    expect(assetBuckets.length).toBeGreaterThanOrEqual(4);
    Mixins.of(stack).apply(new EnforceEncryption());
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a bucket the user imported is still warned about', () => {
    const stack = appWithAssets();
    s3.Bucket.fromBucketName(stack, 'Imported', 'someone-elses-bucket');
    Mixins.of(stack).apply(new EnforceEncryption());
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => w.id)).toEqual(['/Stack/Imported']);
  });
});

describe('grants made before the mixin', () => {
  test('a key the mixin creates lets principals of the account use it through S3 for this bucket only', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { bucketName: 'app-data' });
    bucket.grantReadWrite(new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() }));
    Mixins.of(stack).apply(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }));
    const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    const statement = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === EnforceEncryption.SID_USE_BY_PRIOR_GRANTS);
    expect(statement).toEqual({
      Sid: 'UseThroughS3ForThisBucketInThisAccount',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] }, 'kms:CallerAccount': '111111111111' },
        StringLike: {
          'kms:EncryptionContext:aws:s3:arn': [
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::app-data']] },
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::app-data/*']] },
          ],
        },
      },
    });
  });

  test('a key the user passes, or the one the bucket already has, is left as it is', () => {
    const stack = newStack();
    const key = new S3EncryptionKey(stack, 'UserKey');
    new s3.Bucket(stack, 'Bucket');
    Mixins.of(stack).apply(new EnforceEncryption({ encryptionKey: key }));
    const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    expect(policy.Properties.KeyPolicy.Statement.map((s: any) => s.Sid)).not.toContain(EnforceEncryption.SID_USE_BY_PRIOR_GRANTS);
  });
});
