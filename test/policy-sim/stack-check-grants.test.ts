import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { newStack } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import { PolicyDocument } from './policy-check';
import { OWNER_ACCOUNT } from './s3-requests';
import { simulate } from './simulator';
import { EncryptedBucket } from '../../src';

/**
 * The grants of the stack's one encryption check, proven with the policy simulator: the handler
 * can do its job on every bucket of the stack (probe objects, configuration reads, the listing
 * of its own prefix, the bucket's key through S3), nothing else; and no other principal of the
 * account gains anything from the statements that name no role principal (`{"AWS": "*"}`
 * narrowed to the handler's fixed `aws:userid`, `<RoleId>:<FunctionName>`).
 *
 * The simulator evaluates `aws:userid` from the request context as AWS does from the caller's
 * session; AWS sets it for a role session to `<RoleId>:<RoleSessionName>`, and Lambda names the
 * session after the function, which no other principal can reproduce: the role id is unique,
 * and only lambda.amazonaws.com may assume the role.
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

/** The handler role's own identity policies, resolved: they grant nothing on buckets or keys. */
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
  caller: Caller, bucket: EncryptedBucket, action: string, resource: string, context: Record<string, string> = {}, identity = handlerIdentity,
) {
  const name = resolver.ref(logicalId(bucket));
  const arn = resource.replace('<bucket>', `arn:aws:s3:::${name}`);
  const outcome = await simulate({
    principal: caller.arn,
    action,
    resource: arn,
    resourceAccount: OWNER_ACCOUNT,
    context: { ...TLS, 'aws:userid': caller.userid, ...context },
  }, { resourcePolicy: bucketPolicyOf(bucket), identityPolicies: caller === HANDLER ? identity : [] });
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
    ['s3:DeleteBucket', '<bucket>'],
    ['s3:PutObjectAcl', PROBE],
  ])('can not %s %s', async (action, resource) => {
    expect(await s3Outcome(HANDLER, bucket, action, resource)).not.toBe('Allowed');
  });

  test.each([
    ['another session of the handler role', SAME_ROLE_OTHER_SESSION],
    ['another role of the account', OTHER_ROLE],
    ['a principal of another account', FOREIGN],
  ])('%s gains nothing from the check\'s statements', async (_who, caller) => {
    for (const [action, resource] of [['s3:PutObject', PROBE], ['s3:GetObject', PROBE], ['s3:GetBucketPolicy', '<bucket>'], ['s3:GetEncryptionConfiguration', '<bucket>']]) {
      expect(await s3Outcome(caller, bucket, action, resource)).toBe('ImplicitlyDenied');
    }
    expect(await s3Outcome(caller, bucket, 's3:ListBucketVersions', '<bucket>', { 's3:prefix': '.cdk-s3-encryption-check/' })).toBe('ImplicitlyDenied');
  });

  test('the grant does not bypass the bucket\'s own denies: plain HTTP is still refused to the handler', async () => {
    expect(await s3Outcome(HANDLER, bucket, 's3:PutObject', PROBE, { 'aws:SecureTransport': 'false' })).toBe('ExplicitlyDenied');
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
  test('holds no S3 or KMS permission of its own: every bucket and key grant is in that resource\'s policy', () => {
    const actions = JSON.stringify(handlerIdentity);
    expect(actions).not.toMatch(/"s3:|"kms:/);
  });
});
