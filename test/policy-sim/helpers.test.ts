import { Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { newStack } from './fixtures';
import { CfnTemplate, TemplateResolver, UnresolvableIntrinsicError } from './intrinsics';
import { baseOperator, PolicyDocument, policyProblems } from './policy-check';
import { OWNER_ACCOUNT, OWNER_ROLE_ARN } from './s3-requests';
import { simulate, SimulatedRequest, SimulationError } from './simulator';

/**
 * The helpers must never let a test pass by accident: each way a simulation could be quietly
 * wrong is an error.
 */

const BUCKET = 'arn:aws:s3:::example-bucket';
const OWNER_S3 = [{ name: 'AllowS3', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [BUCKET, `${BUCKET}/*`] }] } }];

function bucketPolicy(...statements: object[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements as PolicyDocument['Statement'] };
}

function put(context: Record<string, string>): SimulatedRequest {
  return { principal: OWNER_ROLE_ARN, action: 's3:PutObject', resource: `${BUCKET}/k`, resourceAccount: OWNER_ACCOUNT, context };
}

const denyHttp = { Sid: 'DenyHttp', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `${BUCKET}/*`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } };

describe('TemplateResolver', () => {
  function resolverFor(stack: Stack) {
    return new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate);
  }

  test('resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub and pseudo parameters', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Data');
    const key = new kms.Key(stack, 'Key');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    const bucketId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    const r = resolverFor(stack);
    const values = stack.resolve({
      name: bucket.bucketName,
      arn: bucket.bucketArn,
      objects: bucket.arnForObjects('*'),
      key: key.keyArn,
      role: role.roleArn,
      select: Fn.select(1, Fn.split(':', key.keyArn)),
      sub: Fn.sub('s3.${AWS::Region}.${AWS::URLSuffix}/${Bucket}/${!Literal}/${' + bucketId + '.Arn}', { Bucket: bucket.bucketName }),
      pseudo: [stack.account, stack.partition, Fn.ref('AWS::AccountId'), Fn.ref('AWS::Region')],
    });
    const name = r.ref(bucketId);
    expect(r.resolve(values)).toEqual({
      name,
      arn: `arn:aws:s3:::${name}`,
      objects: `arn:aws:s3:::${name}/*`,
      key: expect.stringMatching(/^arn:aws:kms:eu-west-1:111111111111:key\/[0-9a-f-]{36}$/),
      role: expect.stringMatching(/^arn:aws:iam::111111111111:role\/Role/),
      select: 'aws',
      sub: `s3.eu-west-1.amazonaws.com/${name}/\${Literal}/arn:aws:s3:::${name}`,
      pseudo: ['111111111111', 'aws', '111111111111', 'eu-west-1'],
    });
  });

  test('uses an explicit bucket name', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Data', { bucketName: 'my-named-bucket' });
    expect(resolverFor(stack).resolve(stack.resolve(bucket.bucketArn))).toBe('arn:aws:s3:::my-named-bucket');
  });

  test.each([
    ['Fn::If', { 'Fn::If': ['Cond', 'a', 'b'] }, /Fn::If is not supported/],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'Export' }, /Fn::ImportValue is not supported/],
    ['Fn::GetAZs', { 'Fn::GetAZs': '' }, /Fn::GetAZs is not supported/],
    ['a template parameter', { Ref: 'SomeParameter' }, /no such resource/],
    ['AWS::StackName', { Ref: 'AWS::StackName' }, /pseudo parameter AWS::StackName is not supported/],
    ['an unsupported attribute', { 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] }, /attribute not supported/],
    ['an unsupported resource type', { Ref: 'Topic' }, /AWS::SNS::Topic cannot be referenced/],
    ['Fn::Select out of range', { 'Fn::Select': [3, ['a']] }, /out of range/],
    ['a malformed Fn::Join', { 'Fn::Join': [''] }, /expected a list of 2/],
  ])('refuses %s', (_name, value, error) => {
    const r = new TemplateResolver({ Resources: { Bucket: { Type: 'AWS::S3::Bucket' }, Topic: { Type: 'AWS::SNS::Topic' } } });
    expect(() => r.resolve(value)).toThrow(UnresolvableIntrinsicError);
    expect(() => r.resolve(value)).toThrow(error);
  });
});

describe('policyProblems', () => {
  test('accepts the operators and keys the library uses', async () => {
    expect(await policyProblems(bucketPolicy(denyHttp, {
      Sid: 'Tls',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: '*',
      Condition: { 'NumericLessThan': { 's3:TlsVersion': 1.2 }, 'Null': { 's3:x-amz-server-side-encryption': 'false' }, 'ForAnyValue:StringLikeIfExists': { 'aws:PrincipalTag/team': 'a*' } },
    }), 'resource')).toEqual([]);
  });

  test.each([
    ['a statement without principal', { ...denyHttp, Principal: undefined }, /has no Principal/],
    ['an unknown operator', { ...denyHttp, Condition: { Boolean: { 'aws:SecureTransport': 'false' } } }, /unknown condition operator Boolean/],
    ['an unknown condition key', { ...denyHttp, Condition: { Bool: { 'aws:SecureTransprot': 'false' } } }, /unknown condition key aws:SecureTransprot/],
    ['a misspelt S3 key', { ...denyHttp, Condition: { NumericLessThan: { 's3:TlsVersio': '1.2' } } }, /unknown condition key s3:TlsVersio/],
    ['an operator of the wrong type', { ...denyHttp, Condition: { StringLessThan: { 's3:TlsVersion': '1.2' } } }, /unknown condition operator/],
    ['a string operator on a number', { ...denyHttp, Condition: { NumericEquals: { 's3:x-amz-server-side-encryption': '1' } } }, /does not apply to s3:x-amz-server-side-encryption of type String/],
    ['a Null with another value', { ...denyHttp, Condition: { Null: { 's3:x-amz-server-side-encryption': 'yes' } } }, /must be "true" or "false"/],
    ['an unresolved intrinsic', { ...denyHttp, Resource: { 'Fn::GetAtt': ['B', 'Arn'] } }, /still contains a CloudFormation intrinsic/],
  ])('reports %s', async (_name, statement, problem) => {
    const problems = await policyProblems(bucketPolicy(statement), 'resource');
    expect(problems.join('\n')).toMatch(problem);
  });

  test('knows operator suffixes and prefixes', () => {
    expect(baseOperator('StringNotEqualsIfExists')).toBe('StringNotEquals');
    expect(baseOperator('ForAllValues:ArnLike')).toBe('ArnLike');
    expect(baseOperator('Null')).toBe('Null');
    expect(baseOperator('NullIfExists')).toBeUndefined();
    expect(baseOperator('StringEqual')).toBeUndefined();
  });
});

describe('simulate', () => {
  test('evaluates a deny and names the statement', async () => {
    const policies = { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: OWNER_S3 };
    expect(await simulate(put({ 'aws:SecureTransport': 'false' }), policies)).toEqual({ result: 'ExplicitlyDenied', deniedBy: ['DenyHttp'] });
    expect(await simulate(put({ 'aws:SecureTransport': 'true' }), policies)).toEqual({ result: 'Allowed', deniedBy: [] });
  });

  test('needs both policies across accounts, either one within the account', async () => {
    const policy = bucketPolicy(denyHttp);
    const foreign = { ...put({ 'aws:SecureTransport': 'true' }), principal: 'arn:aws:iam::222222222222:role/Other' };
    expect((await simulate(foreign, { resourcePolicy: policy, identityPolicies: OWNER_S3 })).result).toBe('ImplicitlyDenied');
    const grant = { Effect: 'Allow', Principal: { AWS: OWNER_ROLE_ARN }, Action: 's3:PutObject', Resource: `${BUCKET}/*` };
    expect((await simulate(put({ 'aws:SecureTransport': 'true' }), { resourcePolicy: bucketPolicy(denyHttp, grant), identityPolicies: [] })).result).toBe('Allowed');
  });

  test('fails on a context key the simulator ignores for the action', async () => {
    const get = { ...put({ 'aws:SecureTransport': 'true', 's3:x-amz-server-side-encryption': 'AES256' }), action: 's3:GetObject' };
    await expect(simulate(get, { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(/ignored context keys s3:x-amz-server-side-encryption/);
  });

  test('fails on a misspelt context key', async () => {
    await expect(simulate(put({ 's3:x-amz-server-side-encrytion': 'AES256' }), { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(SimulationError);
  });

  test('fails on a simulator error', async () => {
    await expect(simulate({ ...put({}), action: 's3:PutObjekt' }, { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(/simulator error/);
    await expect(simulate(put({}), { resourcePolicy: bucketPolicy({ ...denyHttp, Effect: 'Maybe' }), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(SimulationError);
  });

  test('fails on a wildcard resource instead of running several simulations', async () => {
    await expect(simulate({ ...put({}), resource: `${BUCKET}/*` }, { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(/wildcard/);
  });

  test('fails on policy problems before simulating', async () => {
    await expect(simulate(put({}), { resourcePolicy: bucketPolicy({ ...denyHttp, Condition: { Bool: { 'aws:SecureTransprot': 'false' } } }), identityPolicies: OWNER_S3 }))
      .rejects.toThrow(/unknown condition key aws:SecureTransprot/);
    const withPrincipal = [{ name: 'Bad', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' }] } }];
    await expect(simulate(put({}), { resourcePolicy: bucketPolicy(denyHttp), identityPolicies: withPrincipal }))
      .rejects.toThrow(/an identity policy cannot name a Principal/);
  });
});
