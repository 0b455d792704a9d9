import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describeConfig } from './expected-outcomes';
import { configId, libraryStatements, newStack, optionsFor, VALID_CONFIGS } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import type { PolicyDocument } from './policy-check';
import { EncryptedBucket } from '../../src';

/**
 * S3 allows 20 KB of bucket policy. The library's own statements must stay under 2 KB per
 * bucket, resolved and minified, so users keep most of it. Measured at the worst case: a
 * 63-character bucket name (S3's maximum) and the longest partition and region names.
 */

const BUDGET_BYTES = 2048;
const S3_POLICY_LIMIT_BYTES = 20 * 1024;

const WORST_CASE_ENV = { account: '111111111111', region: 'us-gov-west-1', partition: 'aws-us-gov', urlSuffix: 'amazonaws.com' };

function longestBucketName(id: string): string {
  return `b-${id.toLowerCase()}`.padEnd(63, 'x').slice(0, 63);
}

const sizes = (() => {
  const stack = newStack();
  const userKey = new kms.Key(stack, 'UserKey');
  const buckets = VALID_CONFIGS.map((config) => ({
    config,
    bucket: new EncryptedBucket(stack, `Bucket${configId(config)}`, { ...optionsFor(config, userKey), bucketName: longestBucketName(configId(config)) }),
  }));
  const resolver = new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate, WORST_CASE_ENV);
  return buckets.map(({ config, bucket }) => {
    const policyId = stack.getLogicalId(bucket.policy!.node.defaultChild as s3.CfnBucketPolicy);
    const policy = resolver.resolve(resolver.resource(policyId).Properties!.PolicyDocument) as PolicyDocument;
    return {
      config,
      policy,
      libraryBytes: Buffer.byteLength(JSON.stringify(libraryStatements(policy))),
      policyBytes: Buffer.byteLength(JSON.stringify(policy)),
    };
  });
})();

describe('bucket policy size budget', () => {
  test.each(sizes.map((s) => [describeConfig(s.config), s] as const))('%s: library statements under 2 KB', (_name, s) => {
    expect(libraryStatements(s.policy).length).toBeGreaterThanOrEqual(2);
    expect(s.libraryBytes).toBeLessThan(BUDGET_BYTES);
    expect(s.policyBytes).toBeLessThan(S3_POLICY_LIMIT_BYTES);
  });

  test('the worst case is measured with the longest names', () => {
    const worst = sizes.reduce((a, b) => (b.libraryBytes > a.libraryBytes ? b : a));
    expect(JSON.stringify(worst.policy)).toContain(`arn:aws-us-gov:s3:::${longestBucketName(configId(worst.config))}`);
    expect(longestBucketName(configId(worst.config))).toHaveLength(63);
    // Printed so that a reviewer sees how much of the budget is used.
    console.log(`largest library statements: ${worst.libraryBytes} bytes of ${BUDGET_BYTES} (${describeConfig(worst.config)})`);
  });
});
