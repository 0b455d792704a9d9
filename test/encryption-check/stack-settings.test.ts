import { CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { EncryptedBucket, EncryptionCheck, S3EncryptionKey } from '../../src';
import { testStack } from '../util/template';

const HANDLER = 'CdkS3EncryptionCheckHandler0DE0DD49';
const HANDLER_ROLE = 'CdkS3EncryptionCheckHandlerRoleA6C1399B';
const CHECK = 'CdkS3EncryptionCheck87C788ED';
const IMPORTED_KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555';

/** A VPC imported by attributes: two private subnets, no resources of its own in the template. */
function importedVpc(stack: ReturnType<typeof testStack>['stack']): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
  });
}

describe('EncryptionCheck.configureStack', () => {
  test('vpc: the handler runs in the VPC\'s private subnets with its own outbound-only security group', () => {
    const { stack } = testStack();
    EncryptionCheck.configureStack(stack, { vpc: importedVpc(stack) });
    new EncryptedBucket(stack, 'Bucket');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^CdkS3EncryptionCheckHandlerSecurityGroup'), 'GroupId'] }],
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
      SecurityGroupIngress: Match.absent(),
    });
    // Lambda needs the ENI permissions, which aws-cdk-lib attaches only to roles it creates.
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] }],
    });
  });

  test('vpcSubnets and securityGroups are passed to the function', () => {
    const { stack } = testStack();
    const vpc = importedVpc(stack);
    const group = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Group', 'sg-0123456789abcdef0');
    EncryptionCheck.configureStack(stack, {
      vpc,
      vpcSubnets: { subnets: [ec2.Subnet.fromSubnetAttributes(stack, 'One', { subnetId: 'subnet-0ccccccccccccccc', availabilityZone: 'eu-west-1a' })] },
      securityGroups: [group],
    });
    new EncryptedBucket(stack, 'Bucket');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: { SubnetIds: ['subnet-0ccccccccccccccc'], SecurityGroupIds: ['sg-0123456789abcdef0'] } });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  test('logGroupEncryptionKey of the stack: the log group is named and encrypted, and the key lets CloudWatch Logs use it for that log group only', () => {
    const { stack } = testStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    EncryptionCheck.configureStack(stack, { logGroupEncryptionKey: key });
    new EncryptedBucket(stack, 'Bucket');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/cdk-s3-encryption/encryption-check/TestStack',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
      RetentionInDays: 365,
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([{
          Sid: 'AllowEncryptionCheckLogGroup',
          Effect: 'Allow',
          Principal: { Service: { 'Fn::Join': ['', ['logs.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111111111111:log-group:/cdk-s3-encryption/encryption-check/TestStack']] } } },
        }]),
      },
    });
    // The handler's own log permissions follow the named log group.
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^CdkS3EncryptionCheckHandlerLogs') } } });
  });

  test('an imported logGroupEncryptionKey: the log group uses it and a warning says what its policy must allow', () => {
    const { stack } = testStack();
    EncryptionCheck.configureStack(stack, { logGroupEncryptionKey: kms.Key.fromKeyArn(stack, 'Imported', IMPORTED_KEY_ARN) });
    new EncryptedBucket(stack, 'Bucket');
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: IMPORTED_KEY_ARN });
    Annotations.fromStack(stack).hasWarning('/TestStack/CdkS3EncryptionCheck', Match.stringLikeRegexp('logs.<region>.amazonaws.com.*kms:EncryptionContext:aws:logs:arn'));
  });

  test('a VPC of the stack: the check waits for its endpoints on create, and is deleted before them', () => {
    const { stack } = testStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [{ name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const cloudFormation = vpc.addInterfaceEndpoint('CloudFormation', { service: ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION });
    EncryptionCheck.configureStack(stack, { vpc });
    new EncryptedBucket(stack, 'Bucket');
    const template = Template.fromStack(stack);
    const dependsOn = template.toJSON().Resources[CHECK].DependsOn as string[];
    expect(dependsOn).toEqual(expect.arrayContaining([
      stack.getLogicalId(vpc.node.findChild('S3').node.defaultChild as CfnResource),
      stack.getLogicalId(cloudFormation.node.defaultChild as CfnResource),
    ]));
  });

  test('applies to every check of the stack, and the same settings twice are accepted', () => {
    const { stack } = testStack();
    const vpc = importedVpc(stack);
    const group = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Group', 'sg-0123456789abcdef0');
    EncryptionCheck.configureStack(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [group] });
    // Equal settings written afresh (new objects, same constructs) are the same settings.
    EncryptionCheck.configureStack(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [group] });
    new EncryptedBucket(stack, 'One');
    new EncryptedBucket(stack, 'Two');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(template.toJSON().Resources[HANDLER].Properties.VpcConfig).toBeDefined();
  });

  test('without settings nothing changes: no VpcConfig, no key, no log group name, no managed policy', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'Bucket');
    const resources = Template.fromStack(stack).toJSON().Resources;
    expect(resources[HANDLER].Properties.VpcConfig).toBeUndefined();
    expect(resources[HANDLER_ROLE].Properties.ManagedPolicyArns).toBeUndefined();
    const logGroup = Object.values(resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).find((r) => r.Type === 'AWS::Logs::LogGroup')!;
    expect(logGroup.Properties).toEqual({ RetentionInDays: 365 });
  });

  describe('validation', () => {
    test('vpcSubnets without vpc', () => {
      const { stack } = testStack();
      expect(() => EncryptionCheck.configureStack(stack, { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }))
        .toThrow(/vpcSubnets is set but vpc is not/);
    });

    test('securityGroups without vpc', () => {
      const { stack } = testStack();
      expect(() => EncryptionCheck.configureStack(stack, { securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'G', 'sg-0123456789abcdef0')] }))
        .toThrow(/securityGroups is set but vpc is not/);
    });

    test('an empty securityGroups list', () => {
      const { stack } = testStack();
      expect(() => EncryptionCheck.configureStack(stack, { vpc: importedVpc(stack), securityGroups: [] })).toThrow(/securityGroups is an empty list/);
    });

    test('an S3EncryptionKey for the log group', () => {
      const { stack } = testStack();
      expect(() => EncryptionCheck.configureStack(stack, { logGroupEncryptionKey: new S3EncryptionKey(stack, 'S3Key') }))
        .toThrow(/logGroupEncryptionKey is the S3EncryptionKey TestStack\/S3Key.*Use a kms.Key/);
    });

    test('a key alias for the log group', () => {
      const { stack } = testStack();
      expect(() => EncryptionCheck.configureStack(stack, { logGroupEncryptionKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/logs') }))
        .toThrow(/logGroupEncryptionKey alias\/logs is not a key ARN/);
    });

    test('different settings twice', () => {
      const { stack } = testStack();
      const vpc = importedVpc(stack);
      EncryptionCheck.configureStack(stack, { vpc });
      expect(() => EncryptionCheck.configureStack(stack, { logGroupEncryptionKey: kms.Key.fromKeyArn(stack, 'K', IMPORTED_KEY_ARN) }))
        .toThrow(/TestStack: EncryptionCheck.configureStack was already called for this stack with different settings/);
      expect(() => EncryptionCheck.configureStack(stack, { vpc, securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'G', 'sg-0123456789abcdef0')] }))
        .toThrow(/different settings/);
    });

    test('after the stack\'s check exists', () => {
      const { stack } = testStack();
      new EncryptedBucket(stack, 'Bucket');
      expect(() => EncryptionCheck.configureStack(stack, { vpc: importedVpc(stack) }))
        .toThrow(/TestStack: EncryptionCheck.configureStack was called after the stack's encryption check was created/);
    });
  });
});
