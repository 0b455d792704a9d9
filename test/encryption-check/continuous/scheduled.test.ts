/**
 * The continuous (scheduled and change-triggered) path of the stack check's handler: the input
 * is validated with the deploy-time validation and fails closed; the metrics say what the run
 * found; a run never throws, whatever S3 or EventBridge does.
 */
import {
  DeleteObjectsCommand, GetBucketEncryptionCommand, GetObjectCommand, GetBucketPolicyCommand, GetObjectLockConfigurationCommand, HeadObjectCommand,
  ListObjectVersionsCommand, PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { handler } from '../../../src/encryption-check/check.lambda';
import { CONTINUOUS_MARKER, ContinuousCheckInput, METRIC_NAMESPACE } from '../../../src/encryption-check/continuous/types';
import { CHANGE_SETTLE_MS, continuousPrefix, handleContinuous, ScheduledEnvironment } from '../../../src/encryption-check/handler/scheduled';
import { CheckEntry } from '../../../src/encryption-check/types';
import { entry } from '../events';
import { accessDenied, awsError, fixedRandomBytes, s3Mock, testEnv, useStrictS3Mock } from '../mock-s3';

const SIDS = ['DenyInsecureTransport', 'DenySseCUploads'];

useStrictS3Mock();

/**
 * AWS-shaped S3: `kms-*` buckets apply aws:kms where AES256 is declared, `missing-*` buckets do
 * not exist, `open-*` buckets accept SSE-C; every other bucket behaves as declared. Records the
 * keys written.
 */
function fakeS3() {
  const written: string[] = [];
  const algorithm = (bucket: string) => bucket.startsWith('kms-') ? 'aws:kms' : 'AES256';
  const missing = (bucket: string) => bucket.startsWith('missing-');
  s3Mock.on(GetBucketEncryptionCommand).callsFake(async ({ Bucket }) => {
    if (missing(Bucket)) {
      throw awsError(404, 'NoSuchBucket');
    }
    const blocked = Bucket.startsWith('open-') ? {} : { BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } };
    const rule = { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm(Bucket) }, ...blocked };
    return { ServerSideEncryptionConfiguration: { Rules: [rule] } };
  });
  s3Mock.on(GetBucketPolicyCommand).callsFake(async ({ Bucket }) => {
    if (missing(Bucket)) {
      throw awsError(404, 'NoSuchBucket');
    }
    const statements = SIDS.map((Sid) => ({ Sid, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: '*' }));
    return { Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) };
  });
  s3Mock.on(GetObjectLockConfigurationCommand).callsFake(async ({ Bucket }) => {
    throw awsError(404, missing(Bucket) ? 'NoSuchBucket' : 'ObjectLockConfigurationNotFoundError');
  });
  s3Mock.on(PutObjectCommand).callsFake(async (input) => {
    written.push(`${input.Bucket}/${input.Key}`);
    if (input.SSECustomerAlgorithm && !input.Bucket.startsWith('open-')) {
      throw accessDenied();
    }
    if (input.ServerSideEncryption) {
      throw accessDenied();
    }
    const applied = input.SSECustomerAlgorithm
      ? { SSECustomerAlgorithm: input.SSECustomerAlgorithm }
      : { ServerSideEncryption: algorithm(input.Bucket) };
    return { ...applied, VersionId: 'v1', $metadata: { httpStatusCode: 200 } };
  });
  s3Mock.on(HeadObjectCommand).callsFake(async ({ Bucket, SSECustomerKey }) => {
    if (SSECustomerKey === undefined && Bucket.startsWith('open-')) {
      throw awsError(400, 'BadRequest');
    }
    return { ServerSideEncryption: algorithm(Bucket), $metadata: { httpStatusCode: 200 } };
  });
  // An accepted SSE-C object reads back with its key (as on AWS).
  s3Mock.on(GetObjectCommand).callsFake(async ({ SSECustomerKeyMD5 }) => ({
    Body: { transformToByteArray: async () => new Uint8Array(Buffer.alloc(32, 7)) },
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKeyMD5,
    $metadata: { httpStatusCode: 200 },
  }));
  s3Mock.on(DeleteObjectsCommand).callsFake(async ({ Delete }) => ({ Deleted: Delete.Objects }));
  s3Mock.on(ListObjectVersionsCommand).resolves({ Versions: [], IsTruncated: false });
  return { written };
}

function bucketEntry(key: string, bucket: string, overrides: Partial<CheckEntry> = {}): CheckEntry {
  return entry({ Key: key, BucketName: bucket, ExpectAlgorithm: 'AES256', ExpectHeaders: 'DENY_MISMATCH', ExpectPolicySids: SIDS, ...overrides });
}

function scheduled(buckets: CheckEntry[], extra: Record<string, unknown> = {}): ContinuousCheckInput {
  return { [CONTINUOUS_MARKER]: '1', Trigger: 'SCHEDULE', StackName: 'Prod-Data', Buckets: buckets, ...extra } as ContinuousCheckInput;
}

function env(overrides: Partial<ScheduledEnvironment> = {}) {
  const lines: string[] = [];
  const reports: unknown[] = [];
  const base = testEnv();
  const value: ScheduledEnvironment = {
    s3: base.s3,
    remainingMs: () => 120_000,
    sleep: async () => undefined,
    randomBytes: fixedRandomBytes,
    accessDeniedWaitMs: 0,
    writeLine: (line) => lines.push(line),
    putReport: async (report) => { reports.push(report); },
    ...overrides,
  };
  return { env: value, lines, reports, metrics: () => lines.map((l) => JSON.parse(l)) };
}

describe('a scheduled run', () => {
  test('checks every bucket under its own continuous prefix; the metrics name each bucket\'s violations and the stack total', async () => {
    const s3 = fakeS3();
    const t = env();
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'good-bucket'), bucketEntry('k2', 'kms-bucket')]), t.env);

    expect(report.buckets.map((b) => [b.bucket, b.violations.length > 0])).toEqual([['good-bucket', false], ['kms-bucket', true]]);
    expect(report.violations).toBeGreaterThan(0);
    // Probes only under each bucket's continuous prefix, which the deploy-time check never uses.
    for (const key of s3.written) {
      const [bucket, ...rest] = key.split('/');
      expect(rest.join('/').startsWith(continuousPrefix('Prod-Data', bucket === 'good-bucket' ? 'k1' : 'k2', '070707070707'))).toBe(true);
    }
    const metrics = t.metrics();
    expect(metrics).toHaveLength(3);
    for (const metric of metrics) {
      expect(metric._aws.CloudWatchMetrics[0].Namespace).toBe(METRIC_NAMESPACE);
      expect(metric._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['Violations', 'Unverified', 'Incomplete']);
    }
    expect(metrics[0]).toMatchObject({ StackName: 'Prod-Data', Bucket: 'good-bucket', Violations: 0, Incomplete: 0 });
    expect(metrics[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['StackName', 'Bucket']]);
    expect(metrics[1]).toMatchObject({ StackName: 'Prod-Data', Bucket: 'kms-bucket', Incomplete: 0 });
    expect(metrics[1].Violations).toBeGreaterThan(0);
    expect(metrics[2]).toMatchObject({ StackName: 'Prod-Data', Violations: report.violations, Incomplete: 0 });
    expect(metrics[2].Bucket).toBeUndefined();
    expect(metrics[2]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['StackName']]);
    expect(t.reports).toEqual([report]);
  });

  test('SSE-C accepted where BLOCKED is declared is a violation in the bucket\'s metric', async () => {
    fakeS3();
    const t = env();
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'open-bucket')]), t.env);
    expect(report.buckets[0].violations.join(' ')).toMatch(/SSE-C/);
    expect(t.metrics()[0]).toMatchObject({ Bucket: 'open-bucket', Violations: report.buckets[0].violations.length });
  });

  test('never throws: a bucket that cannot be checked is Incomplete (not a pass), the others are still checked; a failing report event is only logged', async () => {
    fakeS3();
    const t = env({ putReport: async () => { throw new Error('EventBridge is down'); } });
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'missing-bucket'), bucketEntry('k2', 'good-bucket')]), t.env);
    const missing = report.buckets.find((b) => b.bucket === 'missing-bucket')!;
    expect(missing.incomplete !== undefined || missing.violations.length > 0).toBe(true);
    const good = report.buckets.find((b) => b.bucket === 'good-bucket')!;
    expect(good.violations).toEqual([]);
    expect(good.incomplete).toBeUndefined();
    expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('EventBridge is down'));
  });

  test('the deadline: buckets whose turn comes after it are Incomplete, never passed', async () => {
    fakeS3();
    const t = env({ remainingMs: () => 0, concurrency: 1 });
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'good-bucket')]), t.env);
    expect(report.incomplete).toBe(1);
    expect(t.metrics()[0]).toMatchObject({ Bucket: 'good-bucket', Incomplete: 1 });
  });
});

test('overlapping runs never share a prefix: a cleanup that lists its prefix cannot delete another run\'s probes', async () => {
  const s3 = fakeS3();
  let next = 0;
  const distinct = (size: number) => Buffer.alloc(size, ++next);
  await Promise.all([handleContinuous(scheduled([bucketEntry('k1', 'good-bucket')]), env({ randomBytes: distinct }).env),
    handleContinuous(scheduled([bucketEntry('k1', 'good-bucket')], {
      Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'good-bucket', EventName: 'PutBucketPolicy',
    }), env({ randomBytes: distinct }).env)]);
  const prefixes = new Set(s3.written.map((k) => k.split('/').slice(1, 4).join('/')));
  expect(prefixes.size).toBe(2);
  for (const prefix of prefixes) {
    expect(prefix).toMatch(/^\.cdk-s3-encryption-check\/c-[0-9a-f]{16}\/[0-9a-f]{12}$/);
  }
});

describe('a configuration change', () => {
  test('checks only the changed bucket', async () => {
    const s3 = fakeS3();
    const t = env();
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'good-bucket'), bucketEntry('k2', 'kms-bucket')], {
      Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'good-bucket', EventName: 'DeleteBucketPolicy',
    }), t.env);
    expect(report.buckets.map((b) => b.bucket)).toEqual(['good-bucket']);
    expect(report.eventName).toBe('DeleteBucketPolicy');
    expect(new Set(s3.written.map((k) => k.split('/')[0]))).toEqual(new Set(['good-bucket']));
  });
});

describe('a configuration change: S3 applies configuration eventually', () => {
  const change = () => scheduled([bucketEntry('k1', 'good-bucket')], { Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'good-bucket', EventName: 'PutBucketPolicy' });

  test('a problem found right after a change is confirmed after a pause; a bucket that settled is reported clean', async () => {
    fakeS3();
    let settled = false;
    // The new policy is not in force yet on the first read.
    s3Mock.on(GetBucketPolicyCommand).callsFake(async () => ({
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: (settled ? SIDS : []).map((Sid) => ({ Sid, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: '*' })) }),
    }));
    const sleeps: number[] = [];
    const t = env({ remainingMs: () => 280_000, sleep: async (ms) => { sleeps.push(ms); if (ms === CHANGE_SETTLE_MS) settled = true; } });
    const report = await handleContinuous(change(), t.env);
    expect(sleeps).toContain(CHANGE_SETTLE_MS);
    expect(report).toMatchObject({ violations: 0, incomplete: 0 });
    expect(t.metrics().map((m) => [m.Bucket, m.Violations])).toEqual([['good-bucket', 0]]);
  });

  test('a problem that persists is reported after the pause', async () => {
    fakeS3();
    s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) });
    const sleeps: number[] = [];
    const t = env({ remainingMs: () => 280_000, sleep: async (ms) => { sleeps.push(ms); } });
    const report = await handleContinuous(change(), t.env);
    expect(sleeps).toContain(CHANGE_SETTLE_MS);
    expect(report.violations).toBeGreaterThan(0);
  });

  test('a scheduled run reports at once: no pause', async () => {
    fakeS3();
    s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) });
    const sleeps: number[] = [];
    const report = await handleContinuous(scheduled([bucketEntry('k1', 'good-bucket')]), env({ remainingMs: () => 280_000, sleep: async (ms) => { sleeps.push(ms); } }).env);
    expect(sleeps).not.toContain(CHANGE_SETTLE_MS);
    expect(report.violations).toBeGreaterThan(0);
  });
});

describe('a configuration change: metrics', () => {
  const change = (bucket: string) => scheduled([bucketEntry('k1', 'good-bucket'), bucketEntry('k2', 'kms-bucket')], {
    Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: bucket, EventName: 'PutBucketEncryption',
  });

  test('a clean change run writes the bucket\'s metric but no stack sum: it must not clear an alarm another bucket raised', async () => {
    fakeS3();
    const t = env();
    await handleContinuous(change('good-bucket'), t.env);
    expect(t.metrics().map((m) => m.Bucket)).toEqual(['good-bucket']);
  });

  test('a change run that finds a violation writes the stack sum too: it raises the alarm', async () => {
    fakeS3();
    const t = env();
    const report = await handleContinuous(change('kms-bucket'), t.env);
    expect(t.metrics().map((m) => m.Bucket)).toEqual(['kms-bucket', undefined]);
    expect(t.metrics()[1]).toMatchObject({ StackName: 'Prod-Data', Violations: report.violations });
  });

  test('a change to a bucket this input does not cover (another target\'s, or another stack\'s): nothing probed, no metric, no event', async () => {
    const t = env();
    const report = await handleContinuous(change('someone-elses-bucket'), t.env);
    expect(report).toMatchObject({ buckets: [], violations: 0 });
    expect(report.invalidInput).toBeUndefined();
    expect(t.lines).toEqual([]);
    expect(t.reports).toEqual([]);
  });
});

describe('the input is validated like the deploy-time properties and fails closed: nothing is probed', () => {
  const good = () => scheduled([bucketEntry('k1', 'good-bucket')]);
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown SSE-C expectation', { Buckets: [{ ...bucketEntry('k1', 'good-bucket'), ExpectSseC: 'blocked' }] }, /ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got 'blocked'/],
    ['a list where a string belongs', { Buckets: [{ ...bucketEntry('k1', 'good-bucket'), ExpectAlgorithm: ['AES256'] }] }, /ExpectAlgorithm must be AES256, aws:kms or aws:kms:dsse \(or absent\), got \["AES256"\]/],
    ['no buckets', { Buckets: [] }, /at least one bucket/],
    ['Buckets not a list', { Buckets: 'good-bucket' }, /Buckets/],
    ['another input version', { [CONTINUOUS_MARKER]: '2' }, /CdkS3EncryptionContinuousCheck must be '1'/],
    ['an unknown trigger', { Trigger: 'schedule' }, /Trigger must be one of SCHEDULE, CONFIGURATION_CHANGE, got "schedule"/],
    ['an invalid stack name', { StackName: '' }, /StackName/],
    ['a changed bucket that is no bucket name', { Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'Not/A bucket', EventName: 'PutBucketPolicy' }, /ChangedBucket must be an S3 bucket name, got "Not\/A bucket"/],
    ['an unexpected event name', { Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'good-bucket', EventName: 'PutObject' }, /EventName must be one of/],
    ['a changed bucket on a scheduled run', { ChangedBucket: 'good-bucket' }, /CONFIGURATION_CHANGE only/],
    ['an unknown property', { Extra: 1 }, /unknown property Extra/],
  ])('%s', async (_what, change, message) => {
    const t = env();
    const report = await handleContinuous({ ...good(), ...change }, t.env);
    expect(report.invalidInput).toMatch(message);
    expect(report.buckets).toEqual([]);
    expect(t.lines).toEqual([]);
    // The catch-all S3 mock fails the test (afterEach) if anything was sent.
  });
});

describe('the Lambda entry point dispatches on the event shape', () => {
  const context = { getRemainingTimeInMillis: () => 60_000, invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:F' } as unknown as Context;

  test('a continuous input is run as such (here refused in validation: nothing sent to S3 or CloudFormation)', async () => {
    await expect(handler({ [CONTINUOUS_MARKER]: '1', Trigger: 'SCHEDULE', StackName: 'S', Buckets: 'x' }, context)).resolves.toBeUndefined();
    expect(console.error).toHaveBeenCalledWith(expect.stringContaining('InvalidContinuousInput'));
  });

  test('an unknown shape is neither a continuous run nor a CloudFormation event: logged, nothing runs', async () => {
    await expect(handler({ 'detail-type': 'Scheduled Event', 'source': 'aws.events' }, context)).resolves.toBeUndefined();
    expect(console.error).toHaveBeenCalledWith(expect.stringContaining('InvalidEvent'));
  });
});
