import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BucketEncryptionPolicy, CustomerProvidedKeys, EncryptedBucket, EncryptionCheck, EncryptionHeaders, S3EncryptionKey, ViolationAction,
} from '../../src';
import { maskedTemplate, TEST_ENV, testStack } from '../util/template';

const HANDLER_ROLE = 'CdkS3EncryptionCheckProviderHandlerRoleA14AD94D';
const roleArn = { 'Fn::GetAtt': [HANDLER_ROLE, 'Arn'] };

/** Resolves `Fn::Join` and the partition, the only intrinsics in the handler's imported grants. */
function resolveJoins(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(resolveJoins);
  }
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (object.Ref === 'AWS::Partition') {
      return 'aws-us-gov';
    }
    if (Array.isArray(object['Fn::Join'])) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(resolveJoins).join(separator);
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolveJoins(v)]));
  }
  return value;
}

function policyLength(template: Template, type: string, property: string): number[] {
  return Object.values(template.findResources(type)).map((r) => JSON.stringify(r.Properties[property]).replace(/\s/g, '').length);
}

describe('one handler and one provider per stack', () => {
  test('three buckets and an imported one share one function and one provider', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS });
    new EncryptedBucket(stack, 'C', { encryption: s3.BucketEncryption.KMS_MANAGED });
    new EncryptionCheck(stack, 'Imported', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported-bucket') });
    const template = Template.fromStack(stack);
    // The check handler and the Provider framework's onEvent function.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('Custom::S3EncryptionCheck', 4);
    template.resourceCountIs('AWS::IAM::Role', 2);
    expect(stack.node.tryFindChild('CdkS3EncryptionCheckProvider')).toBeDefined();
  });

  test('the provider is per stack, not shared across stacks or apps', () => {
    const app = new App();
    const first = new Stack(app, 'First', { env: TEST_ENV });
    const second = new Stack(app, 'Second', { env: TEST_ENV });
    new EncryptedBucket(first, 'A');
    new EncryptedBucket(second, 'A');
    Template.fromStack(first).resourceCountIs('AWS::Lambda::Function', 2);
    Template.fromStack(second).resourceCountIs('AWS::Lambda::Function', 2);
    const other = testStack('First').stack;
    new EncryptedBucket(other, 'A');
    Template.fromStack(other).resourceCountIs('AWS::Lambda::Function', 2);
  });

  test('the handler: Node.js 24 on arm64, 256 MB, 2 min timeout, its own log group with retention', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 120,
      Handler: 'index.handler',
      Role: roleArn,
      LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.stringLikeRegexp('^CdkS3EncryptionCheckProviderHandlerLogs') } }),
    });
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.values(logGroups).map((l) => l.Properties.RetentionInDays)).toEqual([365, 365]);
  });

  test('the custom resource fails within minutes, not CloudFormation\'s hour', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    Template.fromStack(stack).hasResourceProperties('Custom::S3EncryptionCheck', { ServiceTimeout: '300' });
  });
});

describe('permissions', () => {
  test('an EncryptedBucket grants the handler role its probe prefix in its own bucket policy', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowEncryptionCheckProbes',
            Effect: 'Allow',
            Principal: { AWS: roleArn },
            Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^A'), 'Arn'] }, '/.cdk-s3-encryption-check/*']] },
          },
          {
            Sid: 'AllowEncryptionCheckConfigurationReads',
            Effect: 'Allow',
            Principal: { AWS: roleArn },
            Action: ['s3:GetEncryptionConfiguration', 's3:GetBucketPolicy', 's3:GetBucketObjectLockConfiguration'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^A'), 'Arn'] },
          },
          {
            Sid: 'AllowEncryptionCheckProbeListing',
            Effect: 'Allow',
            Principal: { AWS: roleArn },
            Action: 's3:ListBucketVersions',
            Condition: { StringLike: { 's3:prefix': '.cdk-s3-encryption-check/*' } },
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^A'), 'Arn'] },
          },
        ]),
      },
    });
    // Nothing about buckets on the role itself.
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: HANDLER_ROLE }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: Match.anyValue() },
          // Its own stack only, to tell a rollback (reported) from an update (failed).
          { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: { Ref: 'AWS::StackId' } },
        ],
      },
    });
  });

  test('a KMS bucket\'s key grants the handler role GenerateDataKey/Decrypt only through S3', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([{
          Sid: 'AllowEncryptionCheckThroughS3',
          Effect: 'Allow',
          Principal: { AWS: roleArn },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] }, 'kms:CallerAccount': '111111111111' } },
        }]),
      },
    });
  });

  test('a key shared by many buckets gets one statement', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Shared');
    for (let i = 0; i < 5; i++) {
      new EncryptedBucket(stack, `B${i}`, { encryptionKey: key });
    }
    const keyPolicy = Template.fromStack(stack).findResources('AWS::KMS::Key')[stack.getLogicalId(key.node.defaultChild as kms.CfnKey)];
    expect(keyPolicy.Properties.KeyPolicy.Statement.filter((s: { Sid?: string }) => s.Sid === 'AllowEncryptionCheckThroughS3')).toHaveLength(1);
  });

  test('300 EncryptedBuckets: the role\'s policies do not grow, every bucket policy stays far below 20 KB', () => {
    const sizes = (count: number) => {
      // 300 EncryptedBuckets need more than CloudFormation's 500 resources per stack (each is a
      // bucket, a bucket policy and a check, plus a key for KMS): lift the limit to measure the
      // policies; in an app they would be spread over several stacks, each with one handler.
      const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 0 } });
      const stack = new Stack(app, 'Many', { env: TEST_ENV });
      for (let i = 0; i < count; i++) {
        new EncryptedBucket(stack, `Bucket${i}`, { encryption: i % 2 ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED });
      }
      const template = Template.fromStack(stack);
      return {
        managed: policyLength(template, 'AWS::IAM::ManagedPolicy', 'PolicyDocument'),
        inline: policyLength(template, 'AWS::IAM::Policy', 'PolicyDocument'),
        bucket: Math.max(...policyLength(template, 'AWS::S3::BucketPolicy', 'PolicyDocument')),
        functions: Object.keys(template.findResources('AWS::Lambda::Function')).length,
      };
    };
    const one = sizes(1);
    const many = sizes(300);
    expect(many.managed).toEqual(one.managed);
    expect(many.inline).toEqual([]);
    expect(many.functions).toBe(2);
    expect(many.bucket).toBeLessThan(5_000);
  });

  test('imported buckets spread over managed policies that each stay under IAM\'s 6,144 characters', () => {
    const { stack } = testStack();
    const name = (i: number) => `imported-${String(i).padStart(3, '0')}-`.padEnd(63, 'x');
    for (let i = 0; i < 40; i++) {
      new EncryptionCheck(stack, `Check${i}`, { bucket: s3.Bucket.fromBucketName(stack, `I${i}`, name(i)) });
    }
    const template = Template.fromStack(stack);
    const imported = Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))
      .filter(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('imported-'));
    expect(imported).toHaveLength(3);
    for (const [, policy] of imported) {
      // Resolved as IAM counts it: partition "aws-us-gov" is the longest, whitespace not counted.
      const resolved = JSON.stringify(resolveJoins(policy.Properties.PolicyDocument));
      expect(resolved).not.toContain('Fn::');
      expect(resolved.length).toBeLessThan(6_144);
    }
    // Each check waits for the policy that holds its own bucket's grant.
    const check39 = Object.values(template.findResources('Custom::S3EncryptionCheck')).find((r) => JSON.stringify(r).includes(name(39)))!;
    const holder = imported.find(([, r]) => JSON.stringify(r).includes(name(39)))![0];
    expect(check39.DependsOn).toContain(holder);
  });

  test('more imported buckets than nine managed policies hold is an error with the fix', () => {
    const { stack } = testStack();
    expect(() => {
      for (let i = 0; i < 9 * 16 + 1; i++) {
        new EncryptionCheck(stack, `Check${i}`, { bucket: s3.Bucket.fromBucketName(stack, `I${i}`, `imported-bucket-${i}`) });
      }
    }).toThrow(/more than 144 imported \(or other-stack\) buckets and keys in one stack.*Split the checks over several stacks/);
  });

  test('an imported bucket and key: one identity policy with the probe prefix, the bucket ARN and the key through S3', () => {
    const { stack } = testStack();
    const key = kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555');
    new EncryptionCheck(stack, 'One', { bucket: s3.Bucket.fromBucketAttributes(stack, 'I1', { bucketName: 'imported-one', encryptionKey: key }) });
    new EncryptionCheck(stack, 'Two', { bucket: s3.Bucket.fromBucketName(stack, 'I2', 'imported-two') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 3);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: HANDLER_ROLE }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
            Resource: [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::imported-one/.cdk-s3-encryption-check/*']] },
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::imported-two/.cdk-s3-encryption-check/*']] },
            ],
          },
          { Effect: 'Allow', Action: ['s3:GetEncryptionConfiguration', 's3:GetBucketPolicy', 's3:GetBucketObjectLockConfiguration'], Resource: Match.arrayWith([]) },
          { Effect: 'Allow', Action: 's3:ListBucketVersions', Condition: { StringLike: { 's3:prefix': '.cdk-s3-encryption-check/*' } }, Resource: Match.arrayWith([]) },
          {
            Effect: 'Allow',
            Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
            Resource: 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555',
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue(), 'kms:CallerAccount': '111111111111' } },
          },
        ],
      },
    });
  });

  test('a bucket of another stack is granted on the role, never by changing that stack\'s bucket policy', () => {
    const app = new App();
    const data = new Stack(app, 'Data', { env: TEST_ENV });
    const checks = new Stack(app, 'Checks', { env: TEST_ENV });
    const bucket = new s3.Bucket(data, 'Bucket');
    new EncryptionCheck(checks, 'Check', { bucket });
    Template.fromStack(data).resourceCountIs('AWS::S3::BucketPolicy', 0);
    Template.fromStack(checks).resourceCountIs('AWS::IAM::ManagedPolicy', 3);
  });
});

describe('expectations', () => {
  test('EncryptedBucket passes its own settings and policy Sids, and waits for its bucket policy and key', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS, customerProvidedKeys: CustomerProvidedKeys.ALLOW, encryptionHeaders: EncryptionHeaders.REQUIRE });
    const template = Template.fromStack(stack);
    const sids = BucketEncryptionPolicy.statements(bucket, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: bucket.encryptionKey,
      customerProvidedKeys: CustomerProvidedKeys.ALLOW,
      encryptionHeaders: EncryptionHeaders.REQUIRE,
    }).map((s) => s.sid);
    template.hasResource('Custom::S3EncryptionCheck', {
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdkS3EncryptionCheckProviderframeworkonEvent'), 'Arn'] },
        BucketName: { Ref: Match.stringLikeRegexp('^B') },
        ExpectSseC: 'ALLOWED',
        ExpectAlgorithm: 'aws:kms',
        ExpectKmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BKey'), 'Arn'] },
        ExpectBucketKey: 'true',
        ExpectHeaders: 'REQUIRE',
        ExpectPolicySids: sids,
        OnViolation: 'FAIL',
      },
      DependsOn: [Match.stringLikeRegexp('^BKey'), Match.stringLikeRegexp('^BPolicy'), HANDLER_ROLE],
    });
  });

  test('EncryptedBucket adds a lifecycle backstop on the probe prefix', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          { Id: 'ExpireEncryptionCheckProbes', Prefix: '.cdk-s3-encryption-check/', Status: 'Enabled', ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
          { Id: 'RemoveEncryptionCheckDeleteMarkers', Prefix: '.cdk-s3-encryption-check/', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
        ],
      },
    });
  });

  test('verifyEncryption: false creates no check, no provider and no lifecycle rule', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A', { verifyEncryption: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::S3EncryptionCheck', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: Match.absent() });
  });

  test('with only { bucket }: SSE-C must be refused, the rest is reported', () => {
    const { stack } = testStack();
    new EncryptionCheck(stack, 'Check', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported') });
    expect(Object.values(Template.fromStack(stack).findResources('Custom::S3EncryptionCheck'))[0].Properties).toEqual({
      ServiceToken: expect.anything(), ServiceTimeout: '300', BucketName: 'imported', ExpectSseC: 'BLOCKED', OnViolation: 'FAIL',
    });
  });

  test('WARN and explicit expectations', () => {
    const { stack } = testStack();
    new EncryptionCheck(stack, 'Check', {
      bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      bucketKeyEnabled: false,
      encryptionHeaders: EncryptionHeaders.DENY_MISMATCH,
      expectedPolicySids: [BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT],
      onViolation: ViolationAction.WARN,
    });
    Template.fromStack(stack).hasResourceProperties('Custom::S3EncryptionCheck', {
      ExpectAlgorithm: 'AES256', ExpectBucketKey: 'false', ExpectHeaders: 'DENY_MISMATCH', ExpectPolicySids: ['DenyInsecureTransport'], OnViolation: 'WARN',
    });
  });

  test('attributes are Fn::GetAtt of the custom resource', () => {
    const { stack } = testStack();
    const check = new EncryptionCheck(stack, 'Check', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported') });
    const logicalId = stack.getLogicalId(check.node.findChild('Resource').node.defaultChild as never);
    const attributes = {
      observedSseC: 'SseC',
      observedAlgorithm: 'DefaultAlgorithm',
      observedKmsKeyArn: 'KmsKeyArn',
      observedBucketKeyEnabled: 'BucketKeyEnabled',
      mismatchedHeaderRefused: 'MismatchedHeaderRefused',
      absentHeaderRefused: 'AbsentHeaderRefused',
      violationCount: 'Violations',
      report: 'Report',
    } as const;
    for (const [getter, attribute] of Object.entries(attributes)) {
      expect(stack.resolve(check[getter as keyof typeof attributes])).toEqual({ 'Fn::GetAtt': [logicalId, attribute] });
    }
  });

  test('contradictions throw with the fix', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'I', 'imported');
    const key = new S3EncryptionKey(stack, 'Key');
    expect(() => new EncryptionCheck(stack, 'A', { bucket, encryptionKey: key })).toThrow(/encryptionKey is set but encryption is not set; set encryption to KMS or DSSE/);
    expect(() => new EncryptionCheck(stack, 'B', { bucket, encryption: s3.BucketEncryption.S3_MANAGED, encryptionKey: key })).toThrow(/encryptionKey is set but encryption is S3_MANAGED/);
    expect(() => new EncryptionCheck(stack, 'C', { bucket, customerProvidedKeys: CustomerProvidedKeys.REQUIRE, encryptionHeaders: EncryptionHeaders.REQUIRE }))
      .toThrow(/customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE/);
  });
});

describe('snapshots (asset hashes masked)', () => {
  test('deterministic: the same app twice gives the same template', () => {
    const build = () => {
      const { stack } = testStack();
      new EncryptedBucket(stack, 'A');
      return JSON.stringify(Template.fromStack(stack).toJSON());
    };
    expect(build()).toEqual(build());
  });

  test('an SSE-S3 and an SSE-KMS EncryptedBucket and an imported bucket', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'SseS3');
    new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
    new EncryptionCheck(stack, 'ImportedCheck', { bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'imported-bucket'), onViolation: ViolationAction.WARN });
    expect(maskedTemplate(stack)).toMatchSnapshot();
  });
});
