import { Mixins } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { newStack } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import type { PolicyDocument } from './policy-check';
import { FOREIGN_ACCOUNT, OWNER_ACCOUNT } from './s3-requests';
import { simulate } from './simulator';
import { EnforceEncryption } from '../../src';

/**
 * Issue 11, point 9: a principal granted read/write on a bucket *before* EnforceEncryption
 * switches it to SSE-KMS with a new key keeps reading and writing, although its IAM policy names
 * no KMS action; and nobody else gains anything from the new key.
 *
 * AWS evaluates an S3 request with SSE-KMS in two steps, each simulated here: the S3 request
 * against the caller's IAM policy and the bucket policy, and the KMS call S3 makes with the
 * caller's credentials (kms:ViaService s3.<region>.amazonaws.com, kms:CallerAccount, and the
 * encryption context aws:s3:arn) against the caller's IAM policy and the key policy.
 *
 * The simulator does not know the templated key kms:EncryptionContext:<key> (it drops it as not
 * applicable, so a condition on it always sees it absent). The key-policy condition on
 * kms:EncryptionContext:aws:s3:arn is therefore evaluated separately, as AWS evaluates StringLike
 * (case-sensitive glob, any value matching), and removed from the policy the simulator sees;
 * every other condition is the simulator's.
 */

const S3_HERE = 's3.eu-west-1.amazonaws.com';
const BUCKET_NAME = 'app-data-111111111111';

interface Deployed {
  readonly bucketArn: string;
  readonly keyArn: string;
  readonly bucketPolicy: PolicyDocument;
  readonly keyPolicy: PolicyDocument;
  /** The StringLike values of kms:EncryptionContext:aws:s3:arn in the prior-grants statement, if any. */
  readonly contextPatterns?: string[];
  readonly writer: { arn: string; identity: Array<{ name: string; policy: any }> };
}

/** A bucket granted to a role, then switched to SSE-KMS by the mixin. */
function deployed(bucketName?: string): Deployed {
  const stack = newStack();
  const bucket = new s3.Bucket(stack, 'Bucket', { bucketName, encryption: s3.BucketEncryption.S3_MANAGED });
  const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() });
  bucket.grantReadWrite(writer);
  Mixins.of(stack).apply(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }));

  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const resolver = new TemplateResolver(template);
  const [bucketId] = resolver.logicalIdsOfType('AWS::S3::Bucket');
  const [keyId] = resolver.logicalIdsOfType('AWS::KMS::Key');
  const [bucketPolicyId] = resolver.logicalIdsOfType('AWS::S3::BucketPolicy');
  const [roleId] = resolver.logicalIdsOfType('AWS::IAM::Role');
  const identity = resolver.logicalIdsOfType('AWS::IAM::Policy').map((id) => ({
    name: id, policy: resolver.resolve(resolver.resource(id).Properties!.PolicyDocument),
  }));
  // The grant made before the mixin has no KMS action: the point of the test.
  expect(JSON.stringify(identity)).not.toMatch(/kms:/);
  return {
    bucketArn: resolver.getAtt(bucketId, 'Arn'),
    keyArn: resolver.getAtt(keyId, 'Arn'),
    bucketPolicy: resolver.resolve(resolver.resource(bucketPolicyId).Properties!.PolicyDocument) as PolicyDocument,
    ...withoutEncryptionContext(resolver.resolve(resolver.resource(keyId).Properties!.KeyPolicy) as PolicyDocument),
    writer: { arn: resolver.getAtt(roleId, 'Arn'), identity },
  };
}

const CONTEXT_KEY = 'kms:EncryptionContext:aws:s3:arn';

/** The key policy without its encryption-context condition (see above), and that condition's values. */
function withoutEncryptionContext(policy: PolicyDocument): { keyPolicy: PolicyDocument; contextPatterns?: string[] } {
  let contextPatterns: string[] | undefined;
  const statements = policy.Statement.map((statement: any) => {
    const like = statement.Condition?.StringLike;
    if (!like || !(CONTEXT_KEY in like)) {
      return statement;
    }
    expect(statement.Sid).toBe(EnforceEncryption.SID_USE_BY_PRIOR_GRANTS);
    contextPatterns = [like[CONTEXT_KEY]].flat();
    const { [CONTEXT_KEY]: _removed, ...restLike } = like;
    const { StringLike: _like, ...restCondition } = statement.Condition;
    return { ...statement, Condition: Object.keys(restLike).length ? { ...restCondition, StringLike: restLike } : restCondition };
  });
  return { keyPolicy: { ...policy, Statement: statements }, contextPatterns };
}

/** StringLike as AWS evaluates it: `*` any run of characters, `?` one, case-sensitive; any pattern may match. */
function stringLike(patterns: string[], value: string): boolean {
  return patterns.some((pattern) => new RegExp(`^${pattern.split('').map((c) => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')}$`).test(value));
}

const TLS = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' };

async function s3Call(d: Deployed, action: string, context: Record<string, string> = {}) {
  return (await simulate(
    { principal: d.writer.arn, action, resource: `${d.bucketArn}/reports/q1.csv`, resourceAccount: OWNER_ACCOUNT, context: { ...TLS, ...context } },
    { resourcePolicy: d.bucketPolicy, identityPolicies: d.writer.identity },
  )).result;
}

interface KmsCaller {
  readonly arn: string;
  readonly account: string;
  readonly identity: Array<{ name: string; policy: any }>;
}

/** A KMS call S3 makes with the caller's credentials, for an object of `s3Arn` (checked against the context condition). */
async function kmsCall(d: Deployed, caller: KmsCaller, action: string, via: string | undefined, s3Arn: string) {
  if (d.contextPatterns && !stringLike(d.contextPatterns, s3Arn)) {
    return 'ImplicitlyDenied';
  }
  const context: Record<string, string> = { 'kms:CallerAccount': caller.account };
  if (via) {
    context['kms:ViaService'] = via;
  }
  return (await simulate(
    { principal: caller.arn, action, resource: d.keyArn, resourceAccount: OWNER_ACCOUNT, context },
    { resourcePolicy: d.keyPolicy, identityPolicies: caller.identity },
  )).result;
}

const KMS_ALL = [{ name: 'KmsAll', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }];
const S3_ALL = [{ name: 'S3All', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } }];

describe.each([
  ['with a bucket name known at synth', BUCKET_NAME],
  ['with a generated bucket name', undefined],
])('a grant made before EnforceEncryption introduced a KMS key (%s)', (_name, bucketName) => {
  const d = deployed(bucketName);
  const writer: KmsCaller = { ...d.writer, account: OWNER_ACCOUNT };
  const objectArn = `${d.bucketArn}/reports/q1.csv`;

  test('the grantee can still upload with the bucket default and with the bucket\'s key named', async () => {
    expect(await s3Call(d, 's3:PutObject')).toBe('Allowed');
    expect(await s3Call(d, 's3:PutObject', { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': d.keyArn })).toBe('Allowed');
  });

  test('and S3 may use the key for it: data keys to write (Bucket Key and object contexts), Decrypt to read', async () => {
    expect(await s3Call(d, 's3:GetObject')).toBe('Allowed');
    for (const context of [d.bucketArn, objectArn]) {
      expect(await kmsCall(d, writer, 'kms:GenerateDataKey', S3_HERE, context)).toBe('Allowed');
      expect(await kmsCall(d, writer, 'kms:Decrypt', S3_HERE, context)).toBe('Allowed');
    }
  });

  test('the grantee cannot use the key directly or through another service', async () => {
    expect(await kmsCall(d, writer, 'kms:Decrypt', undefined, objectArn)).toBe('ImplicitlyDenied');
    expect(await kmsCall(d, writer, 'kms:Decrypt', 'ec2.eu-west-1.amazonaws.com', objectArn)).toBe('ImplicitlyDenied');
    expect(await kmsCall(d, writer, 'kms:Decrypt', 's3.us-east-1.amazonaws.com', objectArn)).toBe('ImplicitlyDenied');
  });

  test('another account gains nothing, even with kms:* and s3:* in its own IAM policies', async () => {
    const intruder: KmsCaller = { arn: `arn:aws:iam::${FOREIGN_ACCOUNT}:role/Intruder`, account: FOREIGN_ACCOUNT, identity: KMS_ALL };
    expect(await kmsCall(d, intruder, 'kms:Decrypt', S3_HERE, objectArn)).toBe('ImplicitlyDenied');
    expect(await kmsCall(d, intruder, 'kms:GenerateDataKey', S3_HERE, objectArn)).toBe('ImplicitlyDenied');
    const s3Result = (await simulate(
      { principal: intruder.arn, action: 's3:GetObject', resource: objectArn, resourceAccount: OWNER_ACCOUNT, context: TLS },
      { resourcePolicy: d.bucketPolicy, identityPolicies: S3_ALL },
    )).result;
    expect(s3Result).toBe('ImplicitlyDenied');
  });

  test('a principal of the account without S3 permissions on the bucket still cannot read it', async () => {
    const result = (await simulate(
      { principal: `arn:aws:iam::${OWNER_ACCOUNT}:role/Bystander`, action: 's3:GetObject', resource: objectArn, resourceAccount: OWNER_ACCOUNT, context: TLS },
      { resourcePolicy: d.bucketPolicy, identityPolicies: [] },
    )).result;
    expect(result).toBe('ImplicitlyDenied');
  });

  test('the encryption-context condition is there exactly when the bucket name is known at synth', () => {
    expect(d.contextPatterns).toEqual(bucketName ? [`arn:aws:s3:::${bucketName}`, `arn:aws:s3:::${bucketName}/*`] : undefined);
  });

  if (bucketName) {
    test('the key serves this bucket only: another bucket\'s encryption context is refused', async () => {
      const other = 'arn:aws:s3:::other-bucket';
      expect(await kmsCall(d, writer, 'kms:GenerateDataKey', S3_HERE, other)).toBe('ImplicitlyDenied');
      expect(await kmsCall(d, writer, 'kms:Decrypt', S3_HERE, `${other}/x`)).toBe('ImplicitlyDenied');
    });
  }
});
