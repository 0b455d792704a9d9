import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3EncryptionKey } from '../../../src';
import { RULES, flags, newStack } from '../helpers';

const rule = RULES.KMS_KEY_VIA_SERVICE;

describe('S3Encryption-KmsKeyViaService', () => {
  test('an S3EncryptionKey complies', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new S3EncryptionKey(stack, 'Key') });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(false);
  });

  test('the default CDK key policy (kms:* for the account) is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    expect(flags(stack, rule, 'Stack/Bucket/Key/Resource')).toBe(true);
  });

  test('a key policy with a crypto grant restricted to another service is flagged', () => {
    const stack = newStack();
    const policy = new iam.PolicyDocument({
      statements: [new iam.PolicyStatement({
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': 'sqs.eu-west-1.amazonaws.com' } },
      })],
    });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key', { policy, enableKeyRotation: true }) });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(true);
  });

  test('an administrative statement without crypto actions needs no condition', () => {
    const stack = newStack();
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ principals: [new iam.AccountRootPrincipal()], actions: ['kms:Describe*', 'kms:Put*', 'kms:Enable*'], resources: ['*'] }),
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:*crypt*', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
        }),
      ],
    });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key', { policy, enableKeyRotation: true }) });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(false);
  });

  test('an L1 key without a key policy (CloudFormation\'s default) is flagged', () => {
    const stack = newStack();
    const key = new kms.CfnKey(stack, 'Raw', { enableKeyRotation: true });
    new s3.CfnBucket(stack, 'Bucket', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms:dsse', kmsMasterKeyId: key.attrArn } }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });
});

describe('S3Encryption-KmsKeyViaService: grants and every principal', () => {
  const viaS3 = { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' };
  const crypto = ['kms:Decrypt', 'kms:GenerateDataKey*'];
  const admin = (actions: string[], conditions?: Record<string, any>) => new iam.PolicyStatement({ principals: [new iam.AccountRootPrincipal()], actions, resources: ['*'], conditions });
  const use = (principal: iam.IPrincipal, conditions: Record<string, any>) => new iam.PolicyStatement({ principals: [principal], actions: crypto, resources: ['*'], conditions });

  function flagged(...statements: iam.PolicyStatement[]): boolean {
    const stack = newStack();
    const policy = new iam.PolicyDocument({ statements });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key', { policy, enableKeyRotation: true }) });
    return flags(stack, rule, 'Stack/Key/Resource');
  }

  test.each([
    ['kms:Create*', ['kms:Create*', 'kms:Describe*']],
    ['kms:CreateGrant', ['kms:CreateGrant', 'kms:ListGrants']],
    ['kms:* on an administrative-looking statement', ['kms:*']],
  ])('an unconditioned %s for the account root is flagged (grants escape kms:ViaService)', (_name, actions) => {
    expect(flagged(admin(actions), use(new iam.AccountRootPrincipal(), { StringEquals: viaS3 }))).toBe(true);
  });

  test('kms:CreateGrant with Bool kms:GrantIsForAWSResource true complies', () => {
    expect(flagged(
      admin(['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'], { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
      use(new iam.AccountRootPrincipal(), { StringEquals: viaS3 }),
    )).toBe(false);
  });

  test('kms:CreateGrant under kms:ViaService alone is flagged', () => {
    expect(flagged(admin(['kms:CreateGrant'], { StringEquals: viaS3 }))).toBe(true);
  });

  test('Principal "*" with only kms:ViaService is flagged: any account could use the key through its own buckets', () => {
    expect(flagged(use(new iam.AnyPrincipal(), { StringEquals: viaS3 }))).toBe(true);
    expect(flagged(use(new iam.StarPrincipal(), { StringEquals: viaS3 }))).toBe(true);
  });

  test.each([
    ['kms:CallerAccount', { 'kms:CallerAccount': '111111111111' }],
    ['aws:PrincipalAccount', { 'aws:PrincipalAccount': ['111111111111', '222222222222'] }],
    ['aws:PrincipalOrgID', { 'aws:PrincipalOrgID': 'o-abc123def4' }],
  ])('Principal "*" with kms:ViaService and %s complies', (_name, account) => {
    expect(flagged(use(new iam.AnyPrincipal(), { StringEquals: { ...viaS3, ...account } }))).toBe(false);
  });

  test('Principal "*" with a wildcard account is flagged', () => {
    expect(flagged(use(new iam.AnyPrincipal(), { StringEquals: viaS3, StringLike: { 'kms:CallerAccount': '*' } }))).toBe(true);
  });
});
