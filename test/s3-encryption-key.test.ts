import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { S3EncryptionKey } from '../src';
import { testStack } from './util/template';

function keyPolicy(template: Template): any[] {
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  return key.Properties.KeyPolicy.Statement;
}

describe('S3EncryptionKey', () => {
  test('rotation on, retained, with a description naming its path', () => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key');
    const template = Template.fromStack(stack);
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        EnableKeyRotation: true,
        Description: 'Encrypts S3 objects; usable only through S3 in this account and region (TestStack/Key)',
      },
    });
  });

  test('the account root administers the key but holds no cryptographic action', () => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key');
    const [admin] = keyPolicy(Template.fromStack(stack)).filter((s) => s.Sid === S3EncryptionKey.SID_KEY_ADMINISTRATION);
    expect(admin.Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] } });
    expect(admin.Action).toEqual(expect.arrayContaining(['kms:Put*', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:Enable*', 'kms:Disable*']));
    const crypto = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey)/;
    expect(admin.Action.filter((a: string) => crypto.test(a))).toEqual([]);
    expect(admin.Condition).toBeUndefined();
  });

  test('cryptographic use only through S3 in this region and account', () => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key');
    const statements = keyPolicy(Template.fromStack(stack));
    expect(statements).toHaveLength(3);
    const [use] = statements.filter((s) => s.Sid === S3EncryptionKey.SID_USE_THROUGH_S3);
    expect(use).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Condition: {
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] },
          'kms:CallerAccount': '111111111111',
        },
      },
    });
  });

  test('alias, description, removal policy, pending window and rotation period are configurable', () => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key', {
      alias: 'alias/data',
      description: 'Data key',
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
      rotationPeriod: Duration.days(90),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/data' });
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ Description: 'Data key', PendingWindowInDays: 7, RotationPeriodInDays: 90, EnableKeyRotation: true }),
    });
  });

  test('kms:CreateGrant is denied to everyone unless an AWS service creates the grant, in the shape CT.KMS.PR.3 reads', () => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key');
    const denies = keyPolicy(Template.fromStack(stack)).filter((s) => s.Effect === 'Deny');
    expect(denies).toEqual([{
      Sid: S3EncryptionKey.SID_DENY_GRANTS_EXCEPT_FOR_AWS_SERVICES,
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }]);
  });

  test('grants go to the principal policy; the key policy keeps only its three statements', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Key');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    key.grantEncryptDecrypt(role);
    const template = Template.fromStack(stack);
    expect(keyPolicy(template)).toHaveLength(3);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['kms:Decrypt']) })] },
    });
  });

  test('a cross-account grant is limited to use through S3, like every other use', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Key');
    key.grantDecrypt(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'));
    const statements = keyPolicy(Template.fromStack(stack));
    expect(statements).toHaveLength(4);
    expect(statements[3]).toMatchObject({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Principal: { AWS: 'arn:aws:iam::222222222222:role/Partner' },
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
    });
  });

  test('statements that already name kms:ViaService, or grant no cryptographic use, are added unchanged', () => {
    const { stack } = testStack();
    const key = new S3EncryptionKey(stack, 'Key');
    const partner = new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner');
    key.addToResourcePolicy(new iam.PolicyStatement({ actions: ['kms:DescribeKey'], principals: [partner], resources: ['*'] }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey'],
      principals: [partner],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    }));
    const statements = keyPolicy(Template.fromStack(stack));
    expect(statements[3].Condition).toBeUndefined();
    expect(statements[4].Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
  });
});

describe('S3EncryptionKey removal policy', () => {
  test.each<[RemovalPolicy, string, string]>([
    [RemovalPolicy.RETAIN, 'Retain', 'Retain'],
    [RemovalPolicy.DESTROY, 'Delete', 'Delete'],
  ])('a removal policy the user gives wins (%s)', (removalPolicy, deletion, updateReplace) => {
    const { stack } = testStack();
    new S3EncryptionKey(stack, 'Key', { removalPolicy });
    Template.fromStack(stack).hasResource('AWS::KMS::Key', { DeletionPolicy: deletion, UpdateReplacePolicy: updateReplace });
  });
});
