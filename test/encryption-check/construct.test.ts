import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BucketEncryptionPolicy, CustomerProvidedKeys, EncryptedBucket, EncryptionCheck, EncryptionHeaders, S3EncryptionKey, ViolationAction,
} from '../../src';
import { stackPropertiesOf } from '../../src/encryption-check/handler/properties';
import { StackEncryptionCheck } from '../../src/encryption-check/stack-check';
import { maskedTemplate, TEST_ENV, testStack } from '../util/template';

const HANDLER_ROLE = 'CdkS3EncryptionCheckHandlerRoleA6C1399B';
const HANDLER = 'CdkS3EncryptionCheckHandler0DE0DD49';
const CHECK = 'CdkS3EncryptionCheck87C788ED';
/** `aws:userid` of the handler: `<RoleId>:<FunctionName>`. */
const HANDLER_USERID = { 'Fn::Sub': `\${${HANDLER_ROLE}.RoleId}:\${${HANDLER}}` };
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

/** Every statement of every bucket policy and key policy in the template. */
function resourcePolicyStatements(template: Template): { resource: string; statement: Record<string, unknown> }[] {
  const out: { resource: string; statement: Record<string, unknown> }[] = [];
  for (const [id, r] of Object.entries(template.findResources('AWS::S3::BucketPolicy'))) {
    out.push(...(r.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map((statement) => ({ resource: id, statement })));
  }
  for (const [id, r] of Object.entries(template.findResources('AWS::KMS::Key'))) {
    out.push(...(r.Properties.KeyPolicy.Statement as Record<string, unknown>[]).map((statement) => ({ resource: id, statement })));
  }
  return out;
}

describe('one check per stack', () => {
  test('three buckets and an imported one: one custom resource, one function, one role, five resources', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS });
    new EncryptedBucket(stack, 'C', { encryption: s3.BucketEncryption.KMS_MANAGED });
    new EncryptionCheck(stack, 'Imported', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported-bucket') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('Custom::S3EncryptionCheck', 1);
    template.resourceCountIs('AWS::IAM::Role', 1);
    const check = template.findResources('Custom::S3EncryptionCheck')[CHECK];
    expect(check.Properties.Buckets.map((b: { BucketName: unknown }) => b.BucketName)).toEqual(expect.arrayContaining([
      { Ref: Match.stringLikeRegexp('^A') }, { Ref: Match.stringLikeRegexp('^B') }, { Ref: Match.stringLikeRegexp('^C') }, 'imported-bucket',
    ].map(() => expect.anything())));
    expect(check.Properties.Buckets).toHaveLength(4);
    // The stack-level resources: role, log group, function, its async-invoke settings, the
    // custom resource; plus one managed policy for the imported bucket's identity grant.
    const stackLevel = stack.node.findChild('CdkS3EncryptionCheck').node.findAll().filter((c) => c.node.defaultChild === undefined && (c as { cfnResourceType?: string }).cfnResourceType);
    expect(stackLevel.map((c) => (c as unknown as { cfnResourceType: string }).cfnResourceType).sort()).toEqual([
      'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup', 'Custom::S3EncryptionCheck',
    ]);
  });

  test('100 default buckets: 2 resources per bucket (bucket, policy) plus 5 per stack', () => {
    const { stack } = testStack();
    for (let i = 0; i < 100; i++) {
      new EncryptedBucket(stack, `Bucket${i}`);
    }
    const resources = Object.keys(Template.fromStack(stack).toJSON().Resources);
    expect(resources).toHaveLength(2 * 100 + 5);
  });

  test('properties too large for one asynchronous Lambda event fail at synth, naming the size and the fix', () => {
    const app = new App({ context: { 'cdk-s3-encryption:checkPropertiesLimit': 500 } });
    const stack = new Stack(app, 'Big', { env: TEST_ENV });
    for (let i = 0; i < 5; i++) {
      new EncryptedBucket(stack, `Bucket${i}`);
    }
    expect(() => app.synth()).toThrow(/CdkS3EncryptionCheck\] the encryption check's properties take \d+ characters for 5 buckets, more than 500: .* Split the buckets over several stacks/);
  });

  test('the check is per stack, not shared across stacks or apps', () => {
    const app = new App();
    const first = new Stack(app, 'First', { env: TEST_ENV });
    const second = new Stack(app, 'Second', { env: TEST_ENV });
    new EncryptedBucket(first, 'A');
    new EncryptedBucket(first, 'B');
    new EncryptedBucket(second, 'A');
    for (const stack of [first, second]) {
      Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
      Template.fromStack(stack).resourceCountIs('Custom::S3EncryptionCheck', 1);
    }
    const other = testStack('First').stack;
    new EncryptedBucket(other, 'A');
    Template.fromStack(other).resourceCountIs('Custom::S3EncryptionCheck', 1);
  });

  test('the handler: Node.js 24 on arm64, 5 min timeout, no Lambda retries, stale events dropped, no reserved concurrency', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      Handler: 'index.handler',
      Role: roleArn,
      ReservedConcurrentExecutions: Match.absent(),
      LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.stringLikeRegexp('^CdkS3EncryptionCheckHandlerLogs') } }),
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: HANDLER }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300, Qualifier: '$LATEST' });
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.values(logGroups).map((l) => l.Properties.RetentionInDays)).toEqual([365]);
  });

  test('the custom resource is served by the function itself and fails within minutes, not CloudFormation\'s hour', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    const check = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK];
    expect(check.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [HANDLER, 'Arn'] });
    // Longest queueing in Lambda's async queue (5 min) plus one run (5 min), with a margin.
    expect(check.Properties.ServiceTimeout).toBe('720');
  });
});

describe('permissions: no role principal in any resource policy', () => {
  test('bucket policies carry no Allow for the check, and no statement names a role', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS });
    new EncryptedBucket(stack, 'C', { encryption: s3.BucketEncryption.DSSE });
    const template = Template.fromStack(stack);
    const statements = resourcePolicyStatements(template);
    expect(statements.length).toBeGreaterThan(10);
    for (const { statement } of statements) {
      expect(JSON.stringify(statement.Principal ?? '')).not.toMatch(/Role|Arn/);
    }
    const bucketPolicies = Object.keys(template.findResources('AWS::S3::BucketPolicy'));
    expect(statements.filter(({ resource, statement }) => bucketPolicies.includes(resource) && statement.Effect === 'Allow')).toEqual([]);
    // One per key, under the handler's aws:userid.
    const grants = statements.filter(({ statement }) => statement.Effect === 'Allow' && String(statement.Sid).startsWith('AllowEncryptionCheck'));
    expect(grants).toHaveLength(2);
    for (const { statement } of grants) {
      expect(statement.Principal).toEqual({ AWS: '*' });
      expect((statement.Condition as Record<string, Record<string, unknown>>).StringEquals['aws:userid']).toEqual(HANDLER_USERID);
    }
  });

  test('the role holds the probe prefix, the listing of it and three configuration reads, on buckets of this account only', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'B');
    const anyBucket = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::*']] };
    const thisAccount = { 'aws:ResourceAccount': '111111111111' };
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      Policies: [{
        PolicyName: 'EncryptionCheckHandler',
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'ProbeObjectsInThisAccount',
              Effect: 'Allow',
              Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
              Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::*/.cdk-s3-encryption-check/*']] },
              Condition: { StringEquals: thisAccount },
            },
            {
              Sid: 'ListProbePrefixInThisAccount',
              Effect: 'Allow',
              Action: 's3:ListBucketVersions',
              Resource: anyBucket,
              Condition: { StringEquals: thisAccount, StringLike: { 's3:prefix': '.cdk-s3-encryption-check/*' } },
            },
            {
              Sid: 'ReadEncryptionConfigurationInThisAccount',
              Effect: 'Allow',
              Action: ['s3:GetEncryptionConfiguration', 's3:GetBucketPolicy', 's3:GetBucketObjectLockConfiguration'],
              Resource: anyBucket,
              Condition: { StringEquals: thisAccount },
            },
          ]),
        },
      }],
    });
  });

  test('a stack that checks only imported buckets gets no account-wide grant', () => {
    const { stack } = testStack();
    new EncryptionCheck(stack, 'Imported', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported-bucket') });
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Role'))).not.toContain('InThisAccount');
  });

  test('a KMS bucket\'s key allows GenerateDataKey/Decrypt to the handler\'s aws:userid only through S3 in this account', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([{
          Sid: 'AllowEncryptionCheckThroughS3',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] }, 'kms:CallerAccount': '111111111111', 'aws:userid': HANDLER_USERID } },
        }]),
      },
    });
  });

  test('a key shared by many buckets gets one statement', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Key');
    for (let i = 0; i < 5; i++) {
      new EncryptedBucket(stack, `B${i}`, { encryptionKey: key });
    }
    const keyPolicy = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy;
    expect(keyPolicy.Statement.filter((s: { Sid?: string }) => s.Sid === 'AllowEncryptionCheckThroughS3')).toHaveLength(1);
  });

  test('300 EncryptedBuckets: the role\'s policy does not grow, every bucket policy stays far below 20 KB', () => {
    const sizes = (count: number) => {
      // 300 buckets need more than CloudFormation's 500 resources per stack: lift the limit to
      // measure the policies.
      const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 0 } });
      const stack = new Stack(app, 'Many', { env: TEST_ENV });
      for (let i = 0; i < count; i++) {
        new EncryptedBucket(stack, `Bucket${i}`, { encryption: i % 2 ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED });
      }
      const template = Template.fromStack(stack);
      return {
        role: policyLength(template, 'AWS::IAM::Role', 'Policies'),
        managed: policyLength(template, 'AWS::IAM::ManagedPolicy', 'PolicyDocument'),
        inline: policyLength(template, 'AWS::IAM::Policy', 'PolicyDocument'),
        bucket: Math.max(...policyLength(template, 'AWS::S3::BucketPolicy', 'PolicyDocument')),
        functions: Object.keys(template.findResources('AWS::Lambda::Function')).length,
      };
    };
    const one = sizes(1);
    const many = sizes(300);
    expect(many.role).toEqual(one.role);
    expect(many.managed).toEqual([]);
    expect(many.inline).toEqual([]);
    expect(many.functions).toBe(1);
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
    // The stack's check waits for every policy that holds a grant.
    const check = Object.values(template.findResources('Custom::S3EncryptionCheck'))[0];
    expect(check.DependsOn).toEqual(expect.arrayContaining(imported.map(([id]) => id)));
  });

  test('more imported buckets than ten managed policies hold is an error with the fix', () => {
    const { stack } = testStack();
    expect(() => {
      for (let i = 0; i < 10 * 16 + 1; i++) {
        new EncryptionCheck(stack, `Check${i}`, { bucket: s3.Bucket.fromBucketName(stack, `I${i}`, `imported-bucket-${i}`) });
      }
    }).toThrow(/more than 160 imported \(or other-stack\) buckets and keys in one stack.*Split the checks over several stacks/);
  });

  test('an imported bucket and key: one identity policy with the probe prefix, the bucket ARN and the key through S3', () => {
    const { stack } = testStack();
    const key = kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555');
    new EncryptionCheck(stack, 'One', { bucket: s3.Bucket.fromBucketAttributes(stack, 'I1', { bucketName: 'imported-one', encryptionKey: key }) });
    new EncryptionCheck(stack, 'Two', { bucket: s3.Bucket.fromBucketName(stack, 'I2', 'imported-two') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
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
    Template.fromStack(checks).resourceCountIs('AWS::IAM::ManagedPolicy', 1);
    Template.fromStack(checks).resourceCountIs('Custom::S3EncryptionCheck', 1);
  });
});

describe('expectations', () => {
  /** Every bucket's entry as the handler reads it: with the shared Defaults applied. */
  function entries(stack: Stack): Record<string, unknown>[] {
    const properties = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties;
    return properties.Buckets.map((entry: Record<string, unknown>) => ({ ...properties.Defaults, ...entry }));
  }

  test('EncryptedBucket passes its own settings and policy Sids, and the check waits for its bucket policy and key', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'B', { encryption: s3.BucketEncryption.KMS, customerProvidedKeys: CustomerProvidedKeys.ALLOW, encryptionHeaders: EncryptionHeaders.REQUIRE });
    expect(entries(stack)).toEqual([{
      Key: bucket.encryptionCheck!.checkKey,
      BucketName: { Ref: Match.anyValue() },
      ExpectSseC: 'ALLOWED',
      ExpectAlgorithm: 'aws:kms',
      ExpectKmsKeyArn: { 'Fn::GetAtt': [expect.stringMatching(/^BKey/), 'Arn'] },
      ExpectBucketKey: 'true',
      ExpectHeaders: 'REQUIRE',
      ExpectPolicySids: BucketEncryptionPolicy.ALL_SIDS.filter((sid) => !['DenySseCUploads', 'DenyUploadsWithoutSseC'].includes(sid)),
      OnViolation: 'FAIL',
      Fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    }].map((e) => ({ ...e, BucketName: expect.anything() })));
    const check = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK];
    expect(check.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^BPolicy/), expect.stringMatching(/^BKey/)]));
  });

  test('expectations the buckets share are written once, in Defaults; an entry keeps only what differs', () => {
    const { stack } = testStack();
    const a = new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B');
    const c = new EncryptedBucket(stack, 'C', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    const properties = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties;
    expect(properties.Defaults).toEqual({
      ExpectSseC: 'BLOCKED',
      ExpectAlgorithm: 'AES256',
      ExpectHeaders: 'DENY_MISMATCH',
      ExpectPolicySids: ['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads', 'DenyMismatchedEncryptionHeader'],
      OnViolation: 'FAIL',
    });
    const entryOf = (bucket: EncryptedBucket) => properties.Buckets.find((e: { Key: string }) => e.Key === bucket.encryptionCheck!.checkKey);
    expect(entryOf(a)).toEqual({ Key: a.encryptionCheck!.checkKey, BucketName: { Ref: expect.stringMatching(/^A/) }, Fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(entryOf(c)).toEqual({
      Key: c.encryptionCheck!.checkKey,
      BucketName: { Ref: expect.stringMatching(/^C/) },
      ExpectSseC: 'ALLOWED',
      ExpectPolicySids: ['DenyInsecureTransport', 'DenyOutdatedTls', 'DenyMismatchedEncryptionHeader'],
      Fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  test('an expectation some bucket does not state never becomes a default: an entry could not unset it', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B');
    // Checked for SSE-C only: no ExpectAlgorithm, no ExpectHeaders, no Sids.
    new EncryptionCheck(stack, 'Imported', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported-bucket') });
    const properties = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties;
    expect(properties.Defaults).toEqual({ ExpectSseC: 'BLOCKED', OnViolation: 'FAIL' });
    expect(properties.Buckets.find((e: { BucketName: unknown }) => e.BucketName === 'imported-bucket')).toEqual({
      Key: expect.any(String), BucketName: 'imported-bucket', Fingerprint: expect.any(String),
    });
  });

  test('a single bucket states everything in its entry (nothing to share)', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    const properties = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties;
    expect(properties.Defaults).toBeUndefined();
    expect(properties.Buckets[0]).toEqual(expect.objectContaining({ ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256', OnViolation: 'FAIL' }));
  });

  test('what the handler reads back, Defaults applied, is every bucket\'s full entry', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Key');
    new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B', { encryptionKey: key });
    new EncryptedBucket(stack, 'C', { encryptionKey: key, encryptionHeaders: EncryptionHeaders.REQUIRE });
    new EncryptedBucket(stack, 'D', { encryption: s3.BucketEncryption.DSSE });
    new EncryptionCheck(stack, 'Warned', { bucket: s3.Bucket.fromBucketName(stack, 'W', 'warned-bucket'), onViolation: ViolationAction.WARN });
    new EncryptionCheck(stack, 'Imported', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported-bucket') });
    // As CloudFormation would hand them over: references replaced by the names and ARNs they stand for.
    const deployed = (value: unknown): unknown => JSON.parse(JSON.stringify(value), (_key, v) => {
      if (v && typeof v === 'object' && typeof v.Ref === 'string') {
        return `bucket-${v.Ref.toLowerCase()}`;
      }
      if (v && typeof v === 'object' && Array.isArray(v['Fn::GetAtt'])) {
        return `arn:aws:kms:eu-west-1:111111111111:key/${v['Fn::GetAtt'][0]}`;
      }
      return v;
    });
    const rendered = deployed(Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties) as Record<string, unknown>;
    const full = deployed(stack.resolve(StackEncryptionCheck.of(stack).checkEntries));
    expect(rendered.Defaults).toBeDefined();
    expect(stackPropertiesOf({ ...rendered, ServiceToken: 'x' }).Buckets).toEqual(full);
  });

  test('EncryptedBucket adds a lifecycle backstop on the probe prefix', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'B');
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Prefix: '.cdk-s3-encryption-check/', ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' },
        ]),
      },
    });
  });

  test('verifyEncryption: false creates no check, no function and no lifecycle rule', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'B', { verifyEncryption: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::S3EncryptionCheck', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('.cdk-s3-encryption-check/');
  });

  test('with only { bucket }: SSE-C must be refused, the rest is reported', () => {
    const { stack } = testStack();
    new EncryptionCheck(stack, 'C', { bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported') });
    expect(entries(stack)).toEqual([{ Key: expect.any(String), BucketName: 'imported', ExpectSseC: 'BLOCKED', OnViolation: 'FAIL', Fingerprint: expect.any(String) }]);
  });

  test('WARN and explicit expectations', () => {
    const { stack } = testStack();
    new EncryptionCheck(stack, 'C', {
      bucket: s3.Bucket.fromBucketName(stack, 'I', 'imported'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      bucketKeyEnabled: false,
      encryptionHeaders: EncryptionHeaders.NOT_ENFORCED,
      expectedPolicySids: ['DenyInsecureTransport'],
      onViolation: ViolationAction.WARN,
    });
    expect(entries(stack)[0]).toMatchObject({
      ExpectAlgorithm: 'AES256', ExpectBucketKey: 'false', ExpectHeaders: 'NOT_ENFORCED', ExpectPolicySids: ['DenyInsecureTransport'], OnViolation: 'WARN',
    });
  });

  test('keys are stable: adding a bucket shifts no other bucket\'s key, attribute or fingerprint', () => {
    const build = (extra: boolean) => {
      const { stack } = testStack();
      if (extra) {
        new EncryptedBucket(stack, 'AAA');
      }
      const b = new EncryptedBucket(stack, 'B');
      const sseC = b.encryptionCheck!.observedSseC;
      const key = b.encryptionCheck!.checkKey;
      return { key, sseC: stack.resolve(sseC), entry: entries(stack).find((e) => e.Key === key) };
    };
    expect(build(true)).toEqual(build(false));
  });

  test('the fingerprint follows the bucket\'s encryption configuration and bucket policy, and nothing else', () => {
    const fingerprint = (configure: (stack: Stack, bucket: EncryptedBucket) => void, props: Record<string, unknown> = {}) => {
      const { stack } = testStack();
      const bucket = new EncryptedBucket(stack, 'B', props);
      new EncryptedBucket(stack, 'Other');
      configure(stack, bucket);
      return entries(stack).find((e) => e.Key === bucket.encryptionCheck!.checkKey)!.Fingerprint;
    };
    const base = fingerprint(() => undefined);
    expect(fingerprint(() => undefined)).toBe(base);
    // A policy statement added by the user.
    expect(fingerprint((_s, b) => b.addToResourcePolicy(new iam.PolicyStatement({ principals: [new iam.AccountRootPrincipal()], actions: ['s3:GetObject'], resources: [b.arnForObjects('*')] })))).not.toBe(base);
    // The encryption configuration, changed underneath the L2.
    expect(fingerprint((_s, b) => (b.node.defaultChild as s3.CfnBucket).addPropertyOverride('BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled', true)))
      .not.toBe(base);
    expect(fingerprint(() => undefined, { minimumTLSVersion: 1.3 })).not.toBe(base);
    // Another bucket's change does not touch this one's fingerprint.
    expect(fingerprint((stack) => new EncryptedBucket(stack, 'Third'))).toBe(base);
  });

  test('attributes are Fn::GetAtt "<key>.<Attribute>" of the stack\'s check, and only referenced ones are requested', () => {
    const { stack } = testStack();
    const a = new EncryptedBucket(stack, 'A');
    new EncryptedBucket(stack, 'B');
    const check = a.encryptionCheck!;
    expect(stack.resolve(check.observedSseC)).toEqual({ 'Fn::GetAtt': [CHECK, `${check.checkKey}.SseC`] });
    expect(stack.resolve(check.report)).toEqual({ 'Fn::GetAtt': [CHECK, `${check.checkKey}.Report`] });
    expect(stack.resolve(check.observedSseC)).toEqual({ 'Fn::GetAtt': [CHECK, `${check.checkKey}.SseC`] });
    const properties = Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties;
    expect(properties.Attributes).toEqual([`${check.checkKey}.Report`, `${check.checkKey}.SseC`].sort());
  });

  test('no attribute referenced: no Attributes property, and the response carries none', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'A');
    expect(Template.fromStack(stack).findResources('Custom::S3EncryptionCheck')[CHECK].Properties.Attributes).toBeUndefined();
  });

  test('referenced attributes that could exceed the 4 KB response fail at synth, naming the limit and the fix', () => {
    const { stack } = testStack();
    const buckets = Array.from({ length: 4 }, (_, i) => new EncryptedBucket(stack, `B${i}`));
    buckets[0].encryptionCheck!.report;
    buckets[1].encryptionCheck!.report;
    expect(() => buckets[2].encryptionCheck!.report).toThrow(/B2\/EncryptionCheck: referencing Report brings the stack's referenced check attributes to 3 .* more than the 2800 bytes .* Reference fewer attributes/);
    // The small ones of many buckets fit.
    for (const bucket of buckets) {
      bucket.encryptionCheck!.observedSseC;
      bucket.encryptionCheck!.violationCount;
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
