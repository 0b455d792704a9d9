import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, S3EncryptionKey } from '../../src';

/**
 * Which buckets a stack holds: `library` EncryptedBuckets with default options (deploy-time
 * check included), `unchecked` EncryptedBuckets with `verifyEncryption: false` (to tell the
 * policy's cost from the check's), or the nearest `plain` s3.Buckets.
 */
export type Side = 'library' | 'unchecked' | 'plain';

export const SIDES: Record<Side, string> = {
  library: 'EncryptedBucket',
  unchecked: 'EncryptedBucket, verifyEncryption: false',
  plain: 's3.Bucket',
};

/** `default`: no options. `kms`: SSE-KMS, every bucket with one shared key. */
export type Scenario = 'default' | 'kms';

export const SCENARIOS: Record<Scenario, string> = {
  default: 'default options (SSE-S3)',
  kms: 'SSE-KMS, one shared key',
};

/**
 * Context of every benchmark app, the same on both sides.
 *
 * `@aws-cdk/core:stackTraces` is what cdk.json sets, but aws-cdk-lib 2.276 does not read that
 * key; the two `aws:cdk:*` keys are what actually stop the stack trace capture (metadata and
 * the creation stack of every CfnElement), which otherwise costs time on both sides.
 */
export const BENCH_CONTEXT = {
  '@aws-cdk/core:stackTraces': false,
  'aws:cdk:disable-stack-trace': true,
  'aws:cdk:disable-creation-stack-traces': true,
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  // aws-cdk-lib refuses to synthesize a stack of more than 500 resources; the benchmark times
  // 300-bucket stacks anyway and checks every limit itself (template-metrics.ts).
  '@aws-cdk/core:stackResourceLimit': 0,
  // Likewise the library's own limit on the size of the encryption check's properties.
  'cdk-s3-encryption:checkPropertiesLimit': 0,
};

/**
 * What `EncryptedBucket` writes by default, spelled out for `s3.Bucket`. The plain side still
 * lacks what only the library adds: the SSE-C deny, the header deny and the deploy-time check.
 */
function plainProps(scenario: Scenario, key?: kms.IKey): s3.BucketProps {
  return {
    encryption: scenario === 'kms' ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: key,
    bucketKeyEnabled: scenario === 'kms' ? true : undefined,
    blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C],
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/** Adds `count` buckets of one side and scenario to `stack`. */
export function addBuckets(stack: Stack, side: Side, scenario: Scenario, count: number): void {
  if (side !== 'plain') {
    const key = scenario === 'kms' ? new S3EncryptionKey(stack, 'SharedKey') : undefined;
    const props = {
      ...(key ? { encryptionKey: key } : {}),
      ...(side === 'unchecked' ? { verifyEncryption: false } : {}),
    };
    for (let i = 0; i < count; i++) {
      new EncryptedBucket(stack, `Bucket${i}`, props);
    }
  } else {
    const key = scenario === 'kms' ? new kms.Key(stack, 'SharedKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN }) : undefined;
    const props = plainProps(scenario, key);
    for (let i = 0; i < count; i++) {
      new s3.Bucket(stack, `Bucket${i}`, props);
    }
  }
}

/** An app whose `stacks` stacks share `buckets` buckets as evenly as possible. */
export function buildApp(outdir: string, side: Side, scenario: Scenario, buckets: number, stacks = 1): App {
  const app = new App({ outdir, context: BENCH_CONTEXT, stackTraces: false });
  for (let s = 0; s < stacks; s++) {
    const share = Math.floor(buckets / stacks) + (s < buckets % stacks ? 1 : 0);
    addBuckets(new Stack(app, `Bench${s}`), side, scenario, share);
  }
  return app;
}
