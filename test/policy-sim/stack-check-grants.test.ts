import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { newStack } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import { PolicyDocument } from './policy-check';
import { OWNER_ACCOUNT } from './s3-requests';
import { simulate } from './simulator';
import { EncryptedBucket } from '../../src';
import { GRANT_SIDS } from '../../src/encryption-check/stack-check';

/**
 * The grants of the stack's one encryption check, proven with the policy simulator: the handler
 * can do its job on every bucket of the stack (probe objects, configuration reads, the listing
 * of its own prefix, the bucket's key through S3) and nothing else; no other principal gains
 * anything; and no bucket policy names the handler at all.
 *
 * The bucket grants are in the handler role's own policy, constant in size: objects only under
 * `.cdk-s3-encryption-check/`, listing only of that prefix, three configuration reads, each on
 * the buckets of the stack's account only (`aws:ResourceAccount`, which AWS sets to the bucket
 * owner's account). This is the documented trade-off: the handler could also probe other
 * buckets of the account, under the prefix, and read their encryption settings; the rows below
 * prove that and that nothing beyond it is possible.
 *
 * The key grant stays in the key's own policy, `{"AWS": "*"}` narrowed to the handler's fixed
 * `aws:userid` (`<RoleId>:<FunctionName>`). AWS sets `aws:userid` for a role session to
 * `<RoleId>:<RoleSessionName>`, and Lambda names the session after the function, which no other
 * principal can reproduce: the role id is unique, and only lambda.amazonaws.com may assume it.
 */

const stack = newStack();
const sseS3 = new EncryptedBucket(stack, 'SseS3');
const sseKms = new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
const template = Template.fromStack(stack).toJSON() as CfnTemplate;
const resolver = new TemplateResolver(template);
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as s3.CfnBucket);

const roleId = resolver.getAtt('CdkS3EncryptionCheckHandlerRoleA6C1399B', 'RoleId');
const functionName = resolver.ref('CdkS3EncryptionCheckHandler0DE0DD49');
const HANDLER = {
  arn: resolver.getAtt('CdkS3EncryptionCheckHandlerRoleA6C1399B', 'Arn').replace(':role/', ':assumed-role/').replace(/$/, `/${functionName}`),
  userid: `${roleId}:${functionName}`,
};
/** Another session of the same role (say, someone who could assume it), and another role of the account. */
const SAME_ROLE_OTHER_SESSION = { arn: HANDLER.arn.replace(/\/[^/]+$/, '/other-session'), userid: `${roleId}:other-session` };
const OTHER_ROLE = { arn: `arn:aws:sts::${OWNER_ACCOUNT}:assumed-role/App/app`, userid: 'AROAOTHERROLE0000000:app' };
const FOREIGN = { arn: 'arn:aws:sts::222222222222:assumed-role/Foreign/x', userid: 'AROAFOREIGN000000000:x' };

/** The handler role's own identity policies, resolved. */
const handlerIdentity: SimulationIdentityPolicy[] = (() => {
  const role = template.Resources!.CdkS3EncryptionCheckHandlerRoleA6C1399B;
  const policies = resolver.resolve(role.Properties!.Policies) as { PolicyName: string; PolicyDocument: PolicyDocument }[];
  return policies.map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
})();

function bucketPolicyOf(bucket: EncryptedBucket): PolicyDocument {
  const policy = Object.values(template.Resources!).find((r) => r.Type === 'AWS::S3::BucketPolicy'
    && JSON.stringify(r.Properties!.Bucket) === JSON.stringify({ Ref: logicalId(bucket) }))!;
  return resolver.resolve(policy.Properties!.PolicyDocument) as PolicyDocument;
}

function keyPolicyOf(bucket: EncryptedBucket): { arn: string; policy: PolicyDocument } {
  const keyId = stack.getLogicalId(bucket.encryptionKey!.node.defaultChild as s3.CfnBucket);
  return { arn: resolver.getAtt(keyId, 'Arn'), policy: resolver.resolve(template.Resources![keyId].Properties!.KeyPolicy) as PolicyDocument };
}

const TLS = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3' };
type Caller = { arn: string; userid: string };

async function s3Outcome(
  caller: Caller, bucket: EncryptedBucket, action: string, resource: string, context: Record<string, string> = {},
  options: { readonly account?: string; readonly name?: string; readonly policy?: PolicyDocument } = {},
) {
  const name = options.name ?? resolver.ref(logicalId(bucket));
  const account = options.account ?? OWNER_ACCOUNT;
  const arn = resource.replace('<bucket>', `arn:aws:s3:::${name}`);
  const outcome = await simulate({
    principal: caller.arn,
    action,
    resource: arn,
    resourceAccount: account,
    // AWS sets aws:ResourceAccount to the account that owns the bucket.
    context: { ...TLS, 'aws:userid': caller.userid, 'aws:ResourceAccount': account, ...context },
  }, { resourcePolicy: options.policy ?? bucketPolicyOf(bucket), identityPolicies: caller === HANDLER ? handlerIdentity : [] });
  return outcome.result;
}

const PROBE = '<bucket>/.cdk-s3-encryption-check/0123456789abcdef/run/upload-without-headers';

describe.each([['SSE-S3', sseS3], ['SSE-KMS', sseKms]])('the handler on an %s EncryptedBucket', (_name, bucket) => {
  test.each([
    ['s3:PutObject', PROBE],
    ['s3:GetObject', PROBE],
    ['s3:DeleteObject', PROBE],
    ['s3:DeleteObjectVersion', PROBE],
    ['s3:GetEncryptionConfiguration', '<bucket>'],
    ['s3:GetBucketPolicy', '<bucket>'],
    ['s3:GetBucketObjectLockConfiguration', '<bucket>'],
  ])('can %s %s', async (action, resource) => {
    expect(await s3Outcome(HANDLER, bucket, action, resource)).toBe('Allowed');
  });

  test('can list the versions under its prefix, and only there', async () => {
    expect(await s3Outcome(HANDLER, bucket, 's3:ListBucketVersions', '<bucket>', { 's3:prefix': '.cdk-s3-encryption-check/0123456789abcdef/' })).toBe('Allowed');
    expect(await s3Outcome(HANDLER, bucket, 's3:ListBucketVersions', '<bucket>', { 's3:prefix': 'data/' })).toBe('ImplicitlyDenied');
    expect(await s3Outcome(HANDLER, bucket, 's3:ListBucketVersions', '<bucket>')).toBe('ImplicitlyDenied');
  });

  test.each([
    ['s3:PutObject', '<bucket>/data/file'],
    ['s3:GetObject', '<bucket>/data/file'],
    ['s3:DeleteObject', '<bucket>/data/file'],
    ['s3:DeleteObjectVersion', '<bucket>/.cdk-s3-encryption-check'],
    ['s3:ListBucket', '<bucket>'],
    ['s3:PutBucketPolicy', '<bucket>'],
    ['s3:DeleteBucketPolicy', '<bucket>'],
    ['s3:PutEncryptionConfiguration', '<bucket>'],
    ['s3:PutLifecycleConfiguration', '<bucket>'],
    ['s3:DeleteBucket', '<bucket>'],
    ['s3:PutObjectAcl', PROBE],
  ])('can not %s %s', async (action, resource) => {
    expect(await s3Outcome(HANDLER, bucket, action, resource)).not.toBe('Allowed');
  });

  test.each([
    ['another role of the account', OTHER_ROLE],
    ['a principal of another account', FOREIGN],
  ])('%s gains nothing: the bucket policy allows nobody anything', async (_who, caller) => {
    for (const [action, resource] of [['s3:PutObject', PROBE], ['s3:GetObject', PROBE], ['s3:GetBucketPolicy', '<bucket>'], ['s3:GetEncryptionConfiguration', '<bucket>']]) {
      expect(await s3Outcome(caller, bucket, action, resource)).toBe('ImplicitlyDenied');
    }
    expect(await s3Outcome(caller, bucket, 's3:ListBucketVersions', '<bucket>', { 's3:prefix': '.cdk-s3-encryption-check/' })).toBe('ImplicitlyDenied');
  });

  test('the bucket policy has no Allow statement and names no principal but "*" in its denies', () => {
    const statements = bucketPolicyOf(bucket).Statement as { Effect: string; Principal?: unknown }[];
    expect(statements.filter((s) => s.Effect !== 'Deny')).toEqual([]);
    expect(new Set(statements.map((s) => JSON.stringify(s.Principal)))).toEqual(new Set([JSON.stringify({ AWS: '*' })]));
  });

  test('the grant does not bypass the bucket\'s own denies: plain HTTP is still refused to the handler', async () => {
    expect(await s3Outcome(HANDLER, bucket, 's3:PutObject', PROBE, { 'aws:SecureTransport': 'false' })).toBe('ExplicitlyDenied');
  });
});

describe('the handler on buckets that are not the stack\'s (the account-wide trade-off)', () => {
  const OTHER = 'someone-elses-bucket';
  /** A bucket policy that allows every principal everything: only the handler's own policy can refuse. */
  const OPEN: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:*', Resource: [`arn:aws:s3:::${OTHER}`, `arn:aws:s3:::${OTHER}/*`] }],
  } as PolicyDocument;
  const NONE: PolicyDocument = { Version: '2012-10-17', Statement: [] } as unknown as PolicyDocument;

  test.each([
    ['s3:PutObject', PROBE],
    ['s3:GetEncryptionConfiguration', '<bucket>'],
  ])('can %s %s of another bucket of the same account (documented)', async (action, resource) => {
    expect(await s3Outcome(HANDLER, sseS3, action, resource, {}, { name: OTHER, policy: NONE })).toBe('Allowed');
  });

  test.each([
    ['s3:PutObject', '<bucket>/data/file'],
    ['s3:GetObject', '<bucket>/data/file'],
    ['s3:DeleteObjectVersion', '<bucket>/data/file'],
  ])('can not %s %s of another bucket of the same account', async (action, resource) => {
    expect(await s3Outcome(HANDLER, sseS3, action, resource, {}, { name: OTHER, policy: NONE })).toBe('ImplicitlyDenied');
    expect(await s3Outcome(HANDLER, sseS3, 's3:ListBucketVersions', '<bucket>', { 's3:prefix': 'data/' }, { name: OTHER, policy: NONE })).toBe('ImplicitlyDenied');
  });

  test.each([
    ['s3:PutObject', PROBE],
    ['s3:GetObject', PROBE],
    ['s3:GetEncryptionConfiguration', '<bucket>'],
    ['s3:GetBucketPolicy', '<bucket>'],
  ])('can not %s %s of a bucket in another account, even one whose policy allows everyone', async (action, resource) => {
    expect(await s3Outcome(HANDLER, sseS3, action, resource, {}, { name: OTHER, account: '222222222222', policy: OPEN })).toBe('ImplicitlyDenied');
  });
});

describe('the handler and the key of an SSE-KMS EncryptedBucket', () => {
  const { arn, policy } = keyPolicyOf(sseKms);
  const kmsOutcome = async (caller: Caller, action: string, viaService: string | undefined, callerAccount = OWNER_ACCOUNT) => (await simulate({
    principal: caller.arn,
    action,
    resource: arn,
    resourceAccount: OWNER_ACCOUNT,
    context: { 'aws:userid': caller.userid, 'kms:CallerAccount': callerAccount, ...(viaService ? { 'kms:ViaService': viaService } : {}) },
  }, { resourcePolicy: policy, identityPolicies: caller === HANDLER ? handlerIdentity : [] })).result;

  test.each(['kms:GenerateDataKey', 'kms:Decrypt'])('can %s through S3 in this region', async (action) => {
    expect(await kmsOutcome(HANDLER, action, 's3.eu-west-1.amazonaws.com')).toBe('Allowed');
  });

  test.each(['kms:GenerateDataKey', 'kms:Decrypt'])('can not %s directly, or through another service or region', async (action) => {
    expect(await kmsOutcome(HANDLER, action, undefined)).toBe('ImplicitlyDenied');
    expect(await kmsOutcome(HANDLER, action, 'dynamodb.eu-west-1.amazonaws.com')).toBe('ImplicitlyDenied');
    expect(await kmsOutcome(HANDLER, action, 's3.us-east-1.amazonaws.com')).toBe('ImplicitlyDenied');
  });

  test.each(['kms:Encrypt', 'kms:ReEncryptFrom', 'kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'])('can not %s', async (action) => {
    expect(await kmsOutcome(HANDLER, action, 's3.eu-west-1.amazonaws.com')).not.toBe('Allowed');
  });

  test.each([
    ['another session of the handler role', SAME_ROLE_OTHER_SESSION],
    ['another role of the account', OTHER_ROLE],
  ])('%s gains nothing from the check\'s key statement', async (_who, caller) => {
    expect(await kmsOutcome(caller, 'kms:GenerateDataKey', 's3.eu-west-1.amazonaws.com')).toBe('ImplicitlyDenied');
  });

  test('the handler from another account (a forged aws:userid cannot come with it) is refused', async () => {
    expect(await kmsOutcome({ ...FOREIGN, userid: HANDLER.userid }, 'kms:GenerateDataKey', 's3.eu-west-1.amazonaws.com', '222222222222')).toBe('ImplicitlyDenied');
  });
});

describe('the handler role itself', () => {
  test('holds exactly the constant account-wide grants: nothing in it names a bucket', () => {
    type Statement = { Sid?: string; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
    const statements = handlerIdentity.flatMap((p) => p.policy.Statement as Statement[]);
    const s3Statements = statements.filter((s) => JSON.stringify(s).includes('"s3:'));
    expect(s3Statements.map((s) => s.Sid).sort()).toEqual([GRANT_SIDS.list, GRANT_SIDS.objects, GRANT_SIDS.reads].sort());
    for (const statement of s3Statements) {
      expect(statement.Condition?.StringEquals?.['aws:ResourceAccount']).toBe(OWNER_ACCOUNT);
      expect([statement.Resource].flat()).toEqual([expect.stringMatching(/^arn:aws:s3:::\*(\/\.cdk-s3-encryption-check\/\*)?$/)]);
    }
    expect(JSON.stringify(handlerIdentity)).not.toMatch(/"kms:/);
  });
});
