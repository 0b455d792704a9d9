import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket } from '../../../src';
import { RULES, denyStatement, findingsFor, flags, newStack } from '../helpers';

const rule = RULES.SINGLE_BUCKET_POLICY;
const insecure = { Bool: { 'aws:SecureTransport': 'false' } };

/** An Allow that has nothing to do with encryption: enough, as the policy deployed last, to replace every Deny of another. */
function unrelatedAllow(bucket: s3.IBucket): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadForAuditors',
    principals: [new iam.AccountPrincipal('222222222222')],
    actions: ['s3:GetObject'],
    resources: [bucket.arnForObjects('*')],
  });
}

describe('S3Encryption-SingleBucketPolicy', () => {
  test('a bucket with one policy, or none, complies', () => {
    const stack = newStack();
    new EncryptedBucket(stack, 'Encrypted');
    new s3.Bucket(stack, 'Plain');
    expect(flags(stack, rule, 'Stack/Encrypted/Resource')).toBe(false);
    expect(flags(stack, rule, 'Stack/Plain/Resource')).toBe(false);
  });

  test('an EncryptedBucket with a second s3.BucketPolicy is flagged, and its policy-based rules fail too', () => {
    const stack = newStack();
    const bucket = new EncryptedBucket(stack, 'Bucket');
    const second = new s3.BucketPolicy(stack, 'SecondPolicy', { bucket });
    second.document.addStatements(unrelatedAllow(bucket));

    const findings = findingsFor(stack, 'Stack/Bucket/Resource');
    expect(findings).toEqual([
      RULES.ENCRYPTION_HEADERS,
      RULES.MINIMUM_TLS_VERSION,
      rule,
      RULES.TLS_ONLY,
      // SseCBlocked passes on BlockedEncryptionTypes, which does not depend on the policy.
    ].sort());
  });

  test('two L1 policies, one by reference and one by literal name, are flagged even when both have the denies', () => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw', { bucketName: 'raw-data' });
    const statement = denyStatement({ action: 's3:*', resource: ['arn:aws:s3:::raw-data', 'arn:aws:s3:::raw-data/*'], condition: insecure });
    new s3.CfnBucketPolicy(stack, 'ByRef', { bucket: raw.ref, policyDocument: { Statement: [statement] } });
    new s3.CfnBucketPolicy(stack, 'ByName', { bucket: 'raw-data', policyDocument: { Statement: [statement] } });

    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
    // The deny is in both, so it holds whichever policy wins.
    expect(flags(stack, RULES.TLS_ONLY, 'Stack/Raw')).toBe(false);
  });

  test('a second policy in another stack of the app counts', () => {
    const stack = newStack('Data');
    const access = new (stack.constructor as any)(stack.node.root, 'Access', { env: stack.env });
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    new s3.BucketPolicy(access, 'Policy', { bucket }).document.addStatements(unrelatedAllow(bucket));
    expect(flags(stack, rule, 'Data/Bucket/Resource')).toBe(true);
    expect(flags(stack, RULES.TLS_ONLY, 'Data/Bucket/Resource')).toBe(true);
  });

  test('two policies for an imported bucket (named literally, not in the app) are flagged on each policy', () => {
    const stack = newStack();
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'legacy-data');
    new s3.BucketPolicy(stack, 'First', { bucket: imported }).document.addStatements(unrelatedAllow(imported));
    new s3.BucketPolicy(stack, 'Second', { bucket: imported }).document.addStatements(unrelatedAllow(imported));
    new s3.BucketPolicy(stack, 'Alone', { bucket: s3.Bucket.fromBucketName(stack, 'Other', 'other-data') });
    expect(flags(stack, rule, 'Stack/First/Resource')).toBe(true);
    expect(flags(stack, rule, 'Stack/Second/Resource')).toBe(true);
    expect(flags(stack, rule, 'Stack/Alone/Resource')).toBe(false);
  });

  test('policies of a bucket in the app are reported on the bucket only', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { bucketName: 'named-data', enforceSSL: true });
    new s3.BucketPolicy(stack, 'Second', { bucket });
    new s3.CfnBucketPolicy(stack, 'ByName', { bucket: 'named-data', policyDocument: { Statement: [] } });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
    expect(flags(stack, rule, 'Stack/Second/Resource')).toBe(false);
    expect(flags(stack, rule, 'Stack/ByName')).toBe(false);
  });
});
