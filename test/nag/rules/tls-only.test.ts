import { Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RULES, denyStatement, flags, newStack } from '../helpers';

const rule = RULES.TLS_ONLY;
const insecure = { Bool: { 'aws:SecureTransport': 'false' } };

describe('S3Encryption-TlsOnly', () => {
  test('an s3.Bucket with enforceSSL complies', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(false);
  });

  test('an s3.Bucket without enforceSSL is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket');
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  const l1 = (statement: (raw: s3.CfnBucket) => Record<string, unknown>) => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw', { bucketName: 'raw-data' });
    new s3.CfnBucketPolicy(stack, 'RawPolicy', { bucket: raw.ref, policyDocument: { Statement: [statement(raw)] } });
    return flags(stack, rule, 'Stack/Raw');
  };

  test('an L1 policy with the deny on the bucket ARN and objects, built with intrinsics, complies', () => {
    expect(l1((raw) => denyStatement({ action: 's3:*', resource: [raw.attrArn, Fn.join('', [raw.attrArn, '/*'])], condition: insecure }))).toBe(false);
  });

  test('an L1 policy that names the bucket literally, with a boolean false, complies', () => {
    expect(l1(() => denyStatement({ action: '*', resource: ['arn:aws:s3:::raw-data', 'arn:aws:s3:::raw-data/*'], condition: { Bool: { 'aws:securetransport': false } } }))).toBe(false);
  });

  test('a policy attached by literal bucket name counts', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw', { bucketName: 'raw-data' });
    new s3.CfnBucketPolicy(stack, 'RawPolicy', {
      bucket: 'raw-data',
      policyDocument: { Statement: [denyStatement({ action: 's3:*', resource: ['arn:aws:s3:::raw-data', 'arn:aws:s3:::raw-data/*'], condition: insecure })] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(false);
  });

  test('a deny covering only the objects is flagged', () => {
    expect(l1((raw) => denyStatement({ action: 's3:*', resource: [`${raw.attrArn}/*`], condition: insecure }))).toBe(true);
  });

  test('a deny on only some actions is flagged', () => {
    expect(l1((raw) => denyStatement({ action: ['s3:GetObject', 's3:PutObject'], resource: [raw.attrArn, `${raw.attrArn}/*`], condition: insecure }))).toBe(true);
  });

  test('a deny narrowed by another condition is flagged', () => {
    expect(l1((raw) => denyStatement({
      action: 's3:*',
      resource: [raw.attrArn, `${raw.attrArn}/*`],
      condition: { ...insecure, StringEquals: { 'aws:PrincipalAccount': '111111111111' } },
    }))).toBe(true);
  });

  test('a policy of another bucket does not count', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw');
    const other = new s3.Bucket(stack, 'Other', { enforceSSL: true });
    other.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources: [other.bucketArn, other.arnForObjects('*')],
      conditions: insecure,
    }));
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
    expect(flags(stack, rule, 'Stack/Other/Resource')).toBe(false);
  });

  test('a policy in another stack of the app counts', () => {
    const stack = newStack('Data');
    const access = new (stack.constructor as any)(stack.node.root, 'Access', { env: stack.env });
    const bucket = new s3.Bucket(stack, 'Bucket');
    const policy = new s3.BucketPolicy(access, 'Policy', { bucket });
    policy.document.addStatements(new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources: [bucket.bucketArn, bucket.arnForObjects('*')],
      conditions: insecure,
    }));
    expect(flags(stack, rule, 'Data/Bucket/Resource')).toBe(false);
  });

  test('a policy document built with Fn::If is not applicable', () => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw');
    new s3.CfnBucketPolicy(stack, 'RawPolicy', { bucket: raw.ref, policyDocument: Fn.conditionIf('Prod', { Statement: [] }, { Statement: [] }) });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(false);
  });
});

describe('S3Encryption-TlsOnly with several bucket policies', () => {
  test('a deny in one policy does not count when another policy of the bucket lacks it (S3 keeps only one)', () => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw');
    new s3.CfnBucketPolicy(stack, 'Denies', {
      bucket: raw.ref,
      policyDocument: { Statement: [denyStatement({ action: 's3:*', resource: [raw.attrArn, `${raw.attrArn}/*`], condition: insecure })] },
    });
    new s3.CfnBucketPolicy(stack, 'Grants', {
      bucket: raw.ref,
      policyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::222222222222:root' }, Action: 's3:GetObject', Resource: `${raw.attrArn}/*` }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });
});

describe('S3Encryption-TlsOnly with an unreadable policy among several', () => {
  const build = (denies: boolean) => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw');
    new s3.CfnBucketPolicy(stack, 'Conditional', { bucket: raw.ref, policyDocument: Fn.conditionIf('Prod', { Statement: [] }, { Statement: [] }) });
    new s3.CfnBucketPolicy(stack, 'Readable', {
      bucket: raw.ref,
      policyDocument: { Statement: denies ? [denyStatement({ action: 's3:*', resource: [raw.attrArn, `${raw.attrArn}/*`], condition: insecure })] : [] },
    });
    return flags(stack, rule, 'Stack/Raw');
  };

  test('a readable policy without the deny settles it: flagged', () => {
    expect(build(false)).toBe(true);
  });

  test('a readable policy with the deny leaves it open: not applicable', () => {
    expect(build(true)).toBe(false);
  });
});
