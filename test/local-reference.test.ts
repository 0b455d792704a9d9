/**
 * Local references: the cheap-at-synth form of a bucket's own references must render
 * exactly what the L2 token renders, in the resource's stack, in another stack, in another
 * environment, and after the logical ID changes.
 */
import { App, CfnElement, CfnOutput, NestedStack, PhysicalName, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketEncryptionPolicy, EncryptedBucket, EncryptionCheck, S3EncryptionKey } from '../src';
import { localBucketReferences } from '../src/local-reference';
import { TEST_ENV } from './util/template';

function twoStacks(consumerEnv = TEST_ENV) {
  const app = new App({ stackTraces: false });
  const producer = new Stack(app, 'Producer', { env: TEST_ENV });
  const consumer = new Stack(app, 'Consumer', { env: consumerEnv });
  return { app, producer, consumer };
}

/** Each pair [local, L2 token] as outputs of `stack`: the template must give both the same value. */
function expectSameOutputs(stack: Stack, pairs: Record<string, [string, string]>): void {
  for (const [name, [local, token]] of Object.entries(pairs)) {
    new CfnOutput(stack, `${name}Local`, { value: local });
    new CfnOutput(stack, `${name}Token`, { value: token });
  }
  const outputs = Template.fromStack(stack).toJSON().Outputs;
  for (const name of Object.keys(pairs)) {
    expect(outputs[`${name}Local`].Value).toEqual(outputs[`${name}Token`].Value);
  }
}

describe('localBucketReferences', () => {
  test('renders the L2 tokens\' references in the bucket\'s own stack', () => {
    const { producer } = twoStacks();
    const bucket = new s3.Bucket(producer, 'Bucket');
    const local = localBucketReferences(bucket)!;
    expect(producer.resolve(local.bucketArn)).toEqual({ 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] });
    expect(producer.resolve(local.objectsArn)).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] }, '/*']] });
    expect(producer.resolve(local.bucketName)).toEqual({ Ref: 'Bucket83908E77' });
    expectSameOutputs(producer, {
      Arn: [local.bucketArn, bucket.bucketArn],
      Objects: [local.objectsArn, bucket.arnForObjects('*')],
      Name: [local.bucketName, bucket.bucketName],
    });
  });

  test('falls back to the L2 token in another stack: aws-cdk-lib makes the cross-stack reference', () => {
    const { producer, consumer } = twoStacks();
    const bucket = new s3.Bucket(producer, 'Bucket');
    const local = localBucketReferences(bucket)!;
    expectSameOutputs(consumer, {
      Arn: [local.bucketArn, bucket.bucketArn],
      Objects: [local.objectsArn, bucket.arnForObjects('*')],
      Name: [local.bucketName, bucket.bucketName],
    });
    expect(JSON.stringify(Template.fromStack(consumer).toJSON())).toContain('Fn::ImportValue');
    expect(Object.keys(Template.fromStack(producer).toJSON().Outputs ?? {}).length).toBeGreaterThan(0);
  });

  test('falls back to the L2 token in another environment (a physical name, no reference)', () => {
    const { producer, consumer } = twoStacks({ account: TEST_ENV.account, region: 'us-east-1' });
    // aws-cdk-lib needs a physical name to name a resource in another environment.
    const bucket = new s3.Bucket(producer, 'Bucket', { bucketName: PhysicalName.GENERATE_IF_NEEDED });
    const local = localBucketReferences(bucket)!;
    expectSameOutputs(consumer, { Arn: [local.bucketArn, bucket.bucketArn], Objects: [local.objectsArn, bucket.arnForObjects('*')] });
  });

  test('follows overrideLogicalId and renameLogicalId made after a first resolution', () => {
    const { producer } = twoStacks();
    const bucket = new EncryptedBucket(producer, 'Bucket');
    const cfn = bucket.node.defaultChild as s3.CfnBucket;
    const local = localBucketReferences(bucket)!;
    expect(producer.resolve(local.bucketArn)).toEqual({ 'Fn::GetAtt': [producer.resolve(cfn.logicalId), 'Arn'] });

    cfn.overrideLogicalId('Overridden');
    expect(producer.resolve(local.bucketArn)).toEqual({ 'Fn::GetAtt': ['Overridden', 'Arn'] });

    const other = new EncryptedBucket(producer, 'Other');
    const otherLocal = localBucketReferences(other)!;
    const before = producer.resolve((other.node.defaultChild as s3.CfnBucket).logicalId);
    expect(producer.resolve(otherLocal.bucketName)).toEqual({ Ref: before });
    producer.renameLogicalId(before, 'Renamed');
    expect(producer.resolve(otherLocal.bucketName)).toEqual({ Ref: 'Renamed' });

    // The template: every reference of both buckets' policies and checks names the new IDs.
    const template = JSON.stringify(Template.fromStack(producer).toJSON());
    expect(template).not.toContain(before);
    expect(template).toContain('"Fn::GetAtt":["Overridden","Arn"]');
    expect(template).toContain('"Fn::GetAtt":["Renamed","Arn"]');
    expect(template).toContain('"Ref":"Renamed"');
  });

  test('follows changes made through the class methods themselves, as jsii languages call them', () => {
    const { producer } = twoStacks();
    const bucket = new EncryptedBucket(producer, 'Bucket');
    const cfn = bucket.node.defaultChild as s3.CfnBucket;
    const local = localBucketReferences(bucket)!;
    const before = producer.resolve(cfn.logicalId);
    expect(producer.resolve(local.bucketName)).toEqual({ Ref: before });
    CfnElement.prototype.overrideLogicalId.call(cfn, 'ViaPrototype');
    expect(producer.resolve(local.bucketName)).toEqual({ Ref: 'ViaPrototype' });

    const other = new EncryptedBucket(producer, 'Other');
    const otherLocal = localBucketReferences(other)!;
    const otherBefore = producer.resolve((other.node.defaultChild as s3.CfnBucket).logicalId);
    expect(producer.resolve(otherLocal.objectsArn)).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [otherBefore, 'Arn'] }, '/*']] });
    Stack.prototype.renameLogicalId.call(producer, otherBefore, 'RenamedViaPrototype');
    expect(producer.resolve(otherLocal.objectsArn)).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['RenamedViaPrototype', 'Arn'] }, '/*']] });
    expect(JSON.stringify(Template.fromStack(producer).toJSON())).not.toMatch(new RegExp(`${before}|${otherBefore}`));
  });

  test('in a nested stack, refers to the bucket there, and across from the parent', () => {
    const { producer } = twoStacks();
    const nested = new NestedStack(producer, 'Nested');
    const bucket = new s3.Bucket(nested, 'Bucket');
    const local = localBucketReferences(bucket)!;
    expect(nested.resolve(local.bucketArn)).toEqual(nested.resolve(bucket.bucketArn));
    expectSameOutputs(producer, { Arn: [local.bucketArn, bucket.bucketArn], Name: [local.bucketName, bucket.bucketName] });
  });

  test('is undefined for an imported bucket, whose tokens are not references', () => {
    const { producer } = twoStacks();
    expect(localBucketReferences(s3.Bucket.fromBucketName(producer, 'Imported', 'some-bucket'))).toBeUndefined();
  });

  test('is made once per bucket, so every statement shares the same tokens', () => {
    const { producer } = twoStacks();
    const bucket = new s3.Bucket(producer, 'Bucket');
    expect(localBucketReferences(bucket)).toBe(localBucketReferences(bucket));
    const resources = BucketEncryptionPolicy.statements(bucket).map((statement) => statement.resources);
    expect(resources[0]).toEqual([localBucketReferences(bucket)!.bucketArn, localBucketReferences(bucket)!.objectsArn]);
  });

  test('statements added to a policy of another stack refer to the bucket across stacks', () => {
    const { producer, consumer } = twoStacks();
    const bucket = new s3.Bucket(producer, 'Bucket');
    const viaLocal = new s3.CfnBucketPolicy(consumer, 'ViaLocal', {
      bucket: 'any',
      policyDocument: { Statement: BucketEncryptionPolicy.statements(bucket).map((s) => s.toStatementJson()) },
    });
    const imported = s3.Bucket.fromBucketAttributes(consumer, 'Imported', { bucketArn: bucket.bucketArn, bucketName: bucket.bucketName });
    const viaTokens = new s3.CfnBucketPolicy(consumer, 'ViaTokens', {
      bucket: 'any',
      policyDocument: { Statement: BucketEncryptionPolicy.statements(imported).map((s) => s.toStatementJson()) },
    });
    const resources = Template.fromStack(consumer).toJSON().Resources;
    expect(resources[consumer.resolve(viaLocal.logicalId)].Properties).toEqual(resources[consumer.resolve(viaTokens.logicalId)].Properties);
  });
});

describe('the check of a bucket whose key is named through another IKey', () => {
  test('keeps the key in Defaults and the fingerprints as before', () => {
    // Two checks of one key, one given the key, one given an import of its ARN: the entries must
    // share the expectation (it is the same key) and need no resolving.
    const { producer } = twoStacks();
    const key = new S3EncryptionKey(producer, 'Key');
    const props = { encryption: s3.BucketEncryption.KMS, encryptionKey: key, verifyEncryption: false };
    const b1 = new EncryptedBucket(producer, 'B1', props);
    const b2 = new EncryptedBucket(producer, 'B2', props);
    new EncryptionCheck(producer, 'C1', { bucket: b1, encryption: s3.BucketEncryption.KMS, encryptionKey: key });
    new EncryptionCheck(producer, 'C2', { bucket: b2, encryption: s3.BucketEncryption.KMS, encryptionKey: kms.Key.fromKeyArn(producer, 'Imp', key.keyArn) });
    const check = Object.values(Template.fromStack(producer).findResources('Custom::S3EncryptionCheck'))[0].Properties;
    expect(check.Defaults.ExpectKmsKeyArn).toEqual({ 'Fn::GetAtt': [producer.resolve((key.node.defaultChild as kms.CfnKey).logicalId), 'Arn'] });
    for (const entry of check.Buckets) {
      expect(entry.ExpectKmsKeyArn).toBeUndefined();
    }
  });
});
