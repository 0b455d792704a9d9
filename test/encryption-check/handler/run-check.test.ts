/**
 * The per-bucket check (`runCheck`) under what real accounts and real networks do: answers lost
 * after the write landed, faults of every kind, the deadline, SCPs stricter than the bucket, and
 * settings still propagating. S3 is mocked with a catch-all reject and exact-input resolves; the
 * clock and the sleeps are injected, so no test waits.
 */
import {
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { CheckEnvironment, CheckStopped, runCheck } from '../../../src/encryption-check/handler/run-check';
import { CheckProperties } from '../../../src/encryption-check/types';
import { accessDenied, awsError, BODY, BUCKET, CUSTOMER_KEY, expectNoUnexpectedCalls, fixedRandomBytes, resetS3Mock, RUN, s3Mock } from '../mock-s3';

const PREFIX = '.cdk-s3-encryption-check/0123456789abcdef/';
const FOREIGN_KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000000';
const SSE_C = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: CUSTOMER_KEY };
const FAULT = 'a fault of S3 or the network, not the bucket\'s verdict';

const key = (probe: string) => `${PREFIX}${RUN}/${probe}`;
const put = (probe: string, headers: Partial<PutObjectCommandInput> = {}, k = key(probe)): PutObjectCommandInput =>
  ({ Bucket: BUCKET, Key: k, Body: BODY, IfNoneMatch: '*', ContentType: 'application/octet-stream', ...headers });
const MISMATCH = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: FOREIGN_KEY_ARN };

/** A Node network error as the SDK passes it on: no HTTP status, `code` ECONNRESET. */
const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

beforeEach(() => {
  resetS3Mock();
  process.env.AWS_REGION = 'eu-west-1';
});
afterEach(() => expectNoUnexpectedCalls());

/** An environment on an injected clock: sleeps advance it and are recorded. */
function testEnv(overrides: Partial<CheckEnvironment> = {}): CheckEnvironment & { sleeps: number[]; clock: () => number } {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  return {
    s3: new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }),
    prefix: PREFIX,
    deadline: clock + 90_000,
    cleanupDeadline: clock + 115_000,
    randomBytes: fixedRandomBytes,
    accessDeniedWaitMs: 0,
    functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:check',
    now: () => clock,
    sleep: async (ms: number) => { sleeps.push(ms); clock += ms; },
    ...overrides,
    sleeps,
    clock: () => clock,
  };
}

const sseS3 = (overrides: Partial<CheckProperties> = {}): CheckProperties =>
  ({ BucketName: BUCKET, ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256', ExpectHeaders: 'DENY_MISMATCH', OnViolation: 'FAIL', ...overrides });

/** An SSE-S3 bucket with SSE-C blocked and a mismatch deny, as AWS answers it. */
function sseS3Bucket(options: { blocked?: string[] } = {}): void {
  s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BlockedEncryptionTypes: { EncryptionType: (options.blocked ?? ['SSE-C']) as ['SSE-C'] } }],
    },
  });
  s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(awsError(404, 'NoSuchBucketPolicy'));
  s3Mock.on(GetObjectLockConfigurationCommand, { Bucket: BUCKET }, true).rejects(awsError(404, 'ObjectLockConfigurationNotFoundError'));
  s3Mock.on(PutObjectCommand, put('sse-c-upload', SSE_C), true).rejects(accessDenied());
  s3Mock.on(PutObjectCommand, put('upload-without-headers'), true).resolves({ ServerSideEncryption: 'AES256', VersionId: 'v1', $metadata: { httpStatusCode: 200 } });
  s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: key('upload-without-headers') }).resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
  s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true).rejects(accessDenied());
  s3Mock.on(DeleteObjectsCommand, { Bucket: BUCKET }).resolves({});
  s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).resolves({ IsTruncated: false });
}

/** Every object identifier the check asked DeleteObjects to remove. */
const deletedObjects = () => s3Mock.commandCalls(DeleteObjectsCommand).flatMap((c) => c.args[0].input.Delete!.Objects!);

describe('a write that landed but whose answer was lost', () => {
  test('AWS answers the retry 412 PreconditionFailed: not a refusal; the probe is made again under a fresh key and the bucket passes', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true)
      .rejectsOnce(connectionReset())
      .rejects(awsError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
    s3Mock.on(PutObjectCommand, put('upload-without-headers', {}, `${key('upload-without-headers')}.2`), true)
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'v2', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: `${key('upload-without-headers')}.2`, VersionId: 'v2' })
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });

    const report = await runCheck(sseS3(), testEnv());

    expect(report.violations).toEqual([]);
    expect(report.attributes).toMatchObject({ AbsentHeaderRefused: 'false', DefaultAlgorithm: 'AES256' });
    expect(report.notes).toContainEqual(expect.stringMatching(
      /^upload-without-headers: no answer \(socket hang up\), then 412 PreconditionFailed on the retry: the earlier attempt had landed/));
    // Both keys are deleted: the landed one (its version id unknown) and the fresh one by id.
    expect(deletedObjects()).toEqual(expect.arrayContaining([
      { Key: key('upload-without-headers') },
      { Key: `${key('upload-without-headers')}.2`, VersionId: 'v2' },
    ]));
    expect(report.cleanup).toEqual({ deleted: 2, leftovers: [] });
  });

  test('a 500 whose write completed all the same, then 412 on the retry: the same, the earlier attempt landed', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true)
      .rejectsOnce(awsError(500, 'InternalError'))
      .rejects(awsError(412, 'PreconditionFailed'));
    s3Mock.on(PutObjectCommand, put('upload-without-headers', {}, `${key('upload-without-headers')}.2`), true)
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'v2', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: `${key('upload-without-headers')}.2`, VersionId: 'v2' })
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([]);
    expect(report.attributes).toMatchObject({ AbsentHeaderRefused: 'false', DefaultAlgorithm: 'AES256' });
    expect(report.notes).toContainEqual(expect.stringMatching(/^upload-without-headers: S3 answered 500 InternalError, then 412 PreconditionFailed on the retry/));
    expect(deletedObjects()).toEqual(expect.arrayContaining([{ Key: key('upload-without-headers') }, { Key: `${key('upload-without-headers')}.2`, VersionId: 'v2' }]));
  });

  test('412 on every fresh key: a fault named as such, never the bucket refusing the upload', async () => {
    sseS3Bucket();
    for (const k of [key('upload-without-headers'), `${key('upload-without-headers')}.2`, `${key('upload-without-headers')}.3`]) {
      s3Mock.on(PutObjectCommand, put('upload-without-headers', {}, k), true).rejectsOnce(connectionReset()).rejects(awsError(412, 'PreconditionFailed'));
    }
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([]);
    expect(report.faults).toEqual([
      'upload-without-headers: no answer (socket hang up) 3 times on every fresh key (each earlier attempt landed but its answer was lost)',
    ]);
    expect(report.attributes.AbsentHeaderRefused).toBe('UNVERIFIED');
  });

  test('where the retry is not refused (radosgw ignores If-None-Match), the unknown first version is found by listing and deleted', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true)
      .rejectsOnce(connectionReset())
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'v2', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: key('upload-without-headers'), VersionId: 'v2' })
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
    // After v2 is deleted by id, the listing shows the version the lost answer would have named;
    // the last listing (a write given up on may land late) finds nothing more.
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).resolvesOnce({
      Versions: [{ Key: key('upload-without-headers'), VersionId: 'v1' }],
      IsTruncated: false,
    }).resolves({ IsTruncated: false });

    const report = await runCheck(sseS3(), testEnv());

    expect(report.violations).toEqual([]);
    expect(deletedObjects()).toEqual([
      { Key: key('upload-without-headers'), VersionId: 'v2' },
      { Key: key('upload-without-headers'), VersionId: 'v1' },
    ]);
    expect(report.cleanup).toEqual({ deleted: 2, leftovers: [] });
    expect(report.notes).toContainEqual(expect.stringMatching(/may have written a version whose id is unknown/));
  });
});

describe('cleanup', () => {
  test('never deletes anything outside the prefix, whatever the listing returns', async () => {
    sseS3Bucket();
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).resolves({
      Versions: [{ Key: 'user-data.txt', VersionId: 'u1' }, { Key: `${PREFIX}old/upload-without-headers`, VersionId: 'o1' }],
      IsTruncated: false,
    });
    const report = await runCheck(sseS3(), testEnv());
    expect(deletedObjects()).toEqual([
      { Key: key('upload-without-headers'), VersionId: 'v1' },
      { Key: `${PREFIX}old/upload-without-headers`, VersionId: 'o1' },
    ]);
    expect(report.cleanup.leftovers).toEqual([]);
  });

  test('a version that cannot be deleted is reported by key and version id', async () => {
    sseS3Bucket();
    s3Mock.on(DeleteObjectsCommand, { Bucket: BUCKET }).rejects(awsError(403, 'AccessDenied'));
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).resolves({
      Versions: [{ Key: key('upload-without-headers'), VersionId: 'v1' }], IsTruncated: false,
    });
    const report = await runCheck(sseS3(), testEnv());
    expect(report.violations).toEqual([]);
    expect(report.cleanup.leftovers).toContain(`${key('upload-without-headers')}?versionId=v1`);
  });

  test('when the listing fails, every known object not deleted is reported', async () => {
    sseS3Bucket();
    s3Mock.on(DeleteObjectsCommand, { Bucket: BUCKET }).rejects(awsError(500, 'InternalError'));
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).rejects(awsError(503, 'SlowDown'));
    const report = await runCheck(sseS3(), testEnv());
    expect(report.cleanup).toEqual({
      deleted: 0,
      leftovers: ['DeleteObjects failed: 500 InternalError', 'ListObjectVersions failed: 503 SlowDown', `${key('upload-without-headers')}?versionId=v1`],
    });
  });
  test('when only the listing fails, every key written is reported: a version no answer named may remain', async () => {
    sseS3Bucket();
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX }).rejects(awsError(503, 'SlowDown'));
    const report = await runCheck(sseS3(), testEnv());
    expect(report.cleanup).toEqual({
      deleted: 1,
      leftovers: [
        'ListObjectVersions failed: 503 SlowDown',
        `${key('upload-without-headers')} (deleted version v1; other versions unknown: the listing failed)`,
      ],
    });
  });
});

describe('a write given up on', () => {
  test('stays unsettled until a version no answer named shows up: a listed version of the same key that an answer named does not count', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true)
      .rejectsOnce(connectionReset())
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'v2', $metadata: { httpStatusCode: 200 } });
    // The answered version v2 survives the first delete and is listed; the reset attempt's version never shows.
    s3Mock.on(DeleteObjectsCommand, { Bucket: BUCKET })
      .resolvesOnce({ Errors: [{ Key: key('upload-without-headers'), VersionId: 'v2', Code: 'InternalError' }] })
      .resolves({});
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX })
      .resolvesOnce({ Versions: [{ Key: key('upload-without-headers'), VersionId: 'v2' }], IsTruncated: false })
      .resolves({ IsTruncated: false });
    const report = await runCheck(sseS3(), testEnv());
    expect(report.violations).toEqual([]);
    expect(report.cleanup).toEqual({ deleted: 1, leftovers: [], unsettled: [key('upload-without-headers')] });
  });
});

describe('a programming error', () => {
  test('is thrown after cleanup, carrying the cleanup result', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true).rejects(awsError(400, 'KMS.NotFoundException'));
    let calls = 0;
    // Round 1 (3 draws) writes a probe and sees a violation; round 2 breaks on its first draw.
    const randomBytes = (size: number) => {
      if (++calls > 3) {
        throw new TypeError('broken');
      }
      return fixedRandomBytes(size);
    };
    const stopped = await runCheck(sseS3(), testEnv({ randomBytes })).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(CheckStopped);
    expect((stopped as CheckStopped).message).toBe('the check stopped: broken');
    expect((stopped as CheckStopped).cleanup).toEqual({ deleted: 1, leftovers: [] });
    expect(deletedObjects()).toEqual([{ Key: key('upload-without-headers'), VersionId: 'v1' }]);
  });
});

describe('the deadline', () => {
  test('reached mid-probe: a report (not an exception) naming the fault, with the cleanup result and a last look for the abandoned write', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('sse-c-upload', SSE_C), true).callsFake(() => new Promise(() => undefined));
    // The abandoned SSE-C write lands late: the first listing misses it, the last one finds it.
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: PREFIX })
      .resolvesOnce({ IsTruncated: false })
      .resolves({ Versions: [{ Key: key('sse-c-upload'), VersionId: 'late' }], IsTruncated: false });
    const sleeps: number[] = [];
    const started = Date.now();

    const report = await runCheck(sseS3(), testEnv({
      now: Date.now, deadline: started + 100, cleanupDeadline: started + 20_000, sleep: async (ms) => { sleeps.push(ms); },
    }));

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(report.violations).toEqual([
      `bucket ${BUCKET}: the check could not verify that SSE-C uploads are refused: no answer (deadline reached before sse-c-upload completed) (${FAULT})`,
    ]);
    expect(report.faults).toEqual(['sse-c-upload: no answer (deadline reached before sse-c-upload completed)']);
    expect(report.attributes.SseC).toBe('UNVERIFIED');
    expect(s3Mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(2);
    expect(sleeps).toContainEqual(5_000);
    expect(deletedObjects()).toContainEqual({ Key: key('sse-c-upload'), VersionId: 'late' });
    expect(report.cleanup).toEqual({ deleted: 3, leftovers: [] });
  });

  test('a write abandoned that no listing shows is reported as unsettled', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('sse-c-upload', SSE_C), true).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const report = await runCheck(sseS3(), testEnv({
      now: Date.now, deadline: started + 100, cleanupDeadline: started + 20_000, sleep: async () => undefined,
    }));
    expect(report.cleanup.unsettled).toEqual([key('sse-c-upload')]);
    expect(report.notes).toContainEqual(expect.stringMatching(/writes given up on without an answer may still land after cleanup/));
  });
});

describe('a fault is named as a fault, never as the bucket\'s verdict', () => {
  test.each([
    ['503 SlowDown', () => awsError(503, 'SlowDown', 'Please reduce your request rate.'), 'S3 answered 503 SlowDown 5 times'],
    ['500 InternalError', () => awsError(500, 'InternalError'), 'S3 answered 500 InternalError 5 times'],
    ['429 throttling', () => awsError(429, 'TooManyRequestsException'), 'S3 answered 429 TooManyRequestsException 5 times'],
    ['a reset connection', connectionReset, 'no answer (socket hang up) 5 times'],
  ])('%s on the SSE-C probe: unverified, the fault named, no "expected a refusal"', async (_, error, named) => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('sse-c-upload', SSE_C), true).rejects(error());
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.faults).toEqual([`sse-c-upload: ${named}`]);
    expect(report.violations).toEqual([`bucket ${BUCKET}: the check could not verify that SSE-C uploads are refused: ${named} (${FAULT})`]);
    expect(report.attributes.SseC).toBe('UNVERIFIED');
    expect(s3Mock.commandCalls(PutObjectCommand, put('sse-c-upload', SSE_C), true)).toHaveLength(5);
  });

  test('an attempt that never answers is abandoned after attemptTimeoutMs and retried: a timeout, named', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true).callsFake(() => new Promise(() => undefined));
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0, attemptTimeoutMs: 20 }));
    expect(report.faults).toEqual(['upload-with-mismatched-algorithm: no answer (upload-with-mismatched-algorithm timed out after 20 ms) 5 times']);
    expect(report.violations).toEqual([expect.stringMatching(/could not verify that upload-with-mismatched-algorithm is refused: no answer .*a fault of S3/)]);
    expect(report.attributes.MismatchedHeaderRefused).toBe('UNVERIFIED');
  });

  test('a fault on a probe that must be accepted: unverified, and the default algorithm is read from the configuration', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true).rejects(awsError(500, 'InternalError'));
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([]);
    expect(report.attributes).toMatchObject({ AbsentHeaderRefused: 'UNVERIFIED', DefaultAlgorithm: 'AES256' });
    expect(report.faults).toEqual(['upload-without-headers: S3 answered 500 InternalError 5 times']);
    // A 5xx may have written the object: cleanup deletes the key anyway.
    expect(deletedObjects()).toContainEqual({ Key: key('upload-without-headers') });
  });

  test('a fault on a configuration read is named with its attempts', async () => {
    sseS3Bucket();
    s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true).rejects(awsError(503, 'SlowDown'));
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.faults).toEqual(['GetBucketEncryption: S3 answered 503 SlowDown 5 times']);
    expect(report.violations).toEqual([
      `bucket ${BUCKET}: the check could not read its encryption configuration (GetBucketEncryption): S3 answered 503 SlowDown 5 times (${FAULT}); deploy again later, or use onViolation WARN`,
    ]);
  });

  test('a missing bucket is a report, not an exception', async () => {
    for (const command of [GetBucketEncryptionCommand, GetBucketPolicyCommand, GetObjectLockConfigurationCommand]) {
      s3Mock.on(command as never).rejects(awsError(404, 'NoSuchBucket'));
    }
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([`bucket ${BUCKET} does not exist (S3 answered 404 NoSuchBucket)`]);
    expect(report.cleanup).toEqual({ deleted: 0, leftovers: [] });
  });
});

describe('stricter than declared (an SCP requiring x-amz-server-side-encryption)', () => {
  /** What an SCP that denies s3:PutObject without the header does to each probe. */
  function underScp(): void {
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put('upload-with-declared-headers', { ServerSideEncryption: 'AES256' }), true)
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'd1', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: key('upload-with-declared-headers'), VersionId: 'd1' })
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
  }

  test('a header-less upload refused although headers are not REQUIRE: a note, not a violation; the encryption is observed with the declared headers', async () => {
    sseS3Bucket();
    underScp();
    const report = await runCheck(sseS3(), testEnv());
    expect(report.violations).toEqual([]);
    expect(report.attributes).toMatchObject({ SseC: 'BLOCKED', AbsentHeaderRefused: 'true', DefaultAlgorithm: 'AES256', MismatchedHeaderRefused: 'true' });
    expect(report.notes).toEqual(expect.arrayContaining([
      `bucket ${BUCKET}: S3 refused an upload without encryption headers (403 AccessDenied "Access Denied") although encryptionHeaders is not REQUIRE: `
      + 'probably an SCP or a policy outside the bucket; stricter than declared',
      expect.stringMatching(/observed on an upload WITH the declared headers \(upload-with-declared-headers\) and in GetBucketEncryption/),
      expect.stringMatching(/the SSE-C refusal may come from the same policy outside the bucket.*BlockedEncryptionTypes SSE-C/),
    ]));
    expect(report.rounds.count).toBe(1);
  });

  test('SSE-C declared ALLOWED, refused by the same SCP: stricter than declared, unverified, not failed', async () => {
    sseS3Bucket({ blocked: ['NONE'] });
    underScp();
    const report = await runCheck(sseS3({ ExpectSseC: 'ALLOWED' }), testEnv());
    expect(report.violations).toEqual([]);
    expect(report.attributes.SseC).toBe('UNVERIFIED');
    expect(report.notes).toContainEqual(`bucket ${BUCKET}: SSE-C uploads are refused although declared ALLOWED: stricter than declared`);
  });

  test('SSE-C declared ALLOWED but the bucket itself blocks it (BlockedEncryptionTypes SSE-C): still a violation', async () => {
    sseS3Bucket({ blocked: ['SSE-C'] });
    underScp();
    const report = await runCheck(sseS3({ ExpectSseC: 'ALLOWED' }), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([`bucket ${BUCKET}, probe sse-c-upload: expected SSE-C uploads to be accepted, but S3 answered 403 AccessDenied "Access Denied"`]);
  });

  test('the declared headers refused as well: the handler cannot upload at all, a violation naming it', async () => {
    sseS3Bucket();
    underScp();
    s3Mock.on(PutObjectCommand, put('upload-with-declared-headers', { ServerSideEncryption: 'AES256' }), true).rejects(accessDenied());
    const report = await runCheck(sseS3(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([
      `bucket ${BUCKET}, probe upload-with-declared-headers: expected uploads that name the declared encryption to be accepted, but S3 answered 403 AccessDenied "Access Denied"`,
    ]);
  });
});

describe('stricter than declared, with no algorithm declared or configured', () => {
  const undeclared = (): CheckProperties => ({ BucketName: BUCKET, ExpectSseC: 'ALLOWED', OnViolation: 'FAIL' });
  function noRules(): void {
    sseS3Bucket({ blocked: ['NONE'] });
    s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true).rejects(awsError(404, 'ServerSideEncryptionConfigurationNotFoundError'));
    s3Mock.on(PutObjectCommand, put('upload-without-headers'), true).rejects(accessDenied());
  }

  test('an upload naming SSE-S3 shows the handler can upload: the SSE-C refusal is stricter than declared', async () => {
    noRules();
    s3Mock.on(PutObjectCommand, put('upload-with-declared-headers', { ServerSideEncryption: 'AES256' }), true)
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'd1', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: key('upload-with-declared-headers') }).resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
    const report = await runCheck(undeclared(), testEnv());
    expect(report.violations).toEqual([]);
    expect(report.notes).toContainEqual(`bucket ${BUCKET}: SSE-C uploads are refused although declared ALLOWED: stricter than declared`);
  });

  test('every upload refused: the handler cannot upload at all, so nothing passes on notes alone', async () => {
    noRules();
    s3Mock.on(PutObjectCommand, put('upload-with-declared-headers', { ServerSideEncryption: 'AES256' }), true).rejects(accessDenied());
    const report = await runCheck(undeclared(), testEnv({ recheckWindowMs: 0 }));
    expect(report.violations).toEqual([
      `bucket ${BUCKET}, probe sse-c-upload: expected SSE-C uploads to be accepted, but S3 answered 403 AccessDenied "Access Denied"`,
      `bucket ${BUCKET}, probe upload-with-declared-headers: expected uploads that name the declared encryption to be accepted, but S3 answered 403 AccessDenied "Access Denied"`,
    ]);
  });
});

describe('eventual consistency: a violation is probed again before it is reported', () => {
  test('a violation that clears within the window passes, and the report says how many rounds and how long', async () => {
    sseS3Bucket();
    // The mismatch deny is not in force yet on the first round.
    s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true)
      .rejectsOnce(awsError(400, 'KMS.NotFoundException', 'Invalid keyId'))
      .rejects(accessDenied());
    const env = testEnv();
    const report = await runCheck(sseS3(), env);
    expect(report.violations).toEqual([]);
    expect(report.rounds).toEqual({
      count: 2,
      elapsedMs: 2_000,
      cleared: [`bucket ${BUCKET}, probe upload-with-mismatched-algorithm: expected a 403 refusal, but S3 answered 400 KMS.NotFoundException "Invalid keyId"`],
    });
    expect(env.sleeps).toEqual([2_000]);
    expect(report.notes).toContainEqual('1 violation(s) of the first round cleared after 2 probe rounds in 2 s (a setting still propagating)');
  });

  test('a violation that persists is reported after the window, with the rounds and the time', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true).rejects(awsError(400, 'KMS.NotFoundException', 'Invalid keyId'));
    const env = testEnv({ recheckWindowMs: 60_000 });
    const report = await runCheck(sseS3(), env);
    expect(report.violations).toEqual([
      `bucket ${BUCKET}, probe upload-with-mismatched-algorithm: expected a 403 refusal, but S3 answered 400 KMS.NotFoundException "Invalid keyId"`,
    ]);
    // Pauses double from 2 s up to 15 s: 2 + 4 + 8 + 15 + 15 + 15 = 59 s; another 15 s would pass the 60 s window.
    expect(env.sleeps).toEqual([2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
    expect(report.rounds).toMatchObject({ count: 7, elapsedMs: 59_000 });
    expect(report.notes).toContainEqual('the violations persisted over 7 probe rounds in 59 s');
  });

  test('never past the deadline: no round starts that could not end before it', async () => {
    sseS3Bucket();
    s3Mock.on(PutObjectCommand, put('upload-with-mismatched-algorithm', MISMATCH), true).rejects(awsError(400, 'KMS.NotFoundException'));
    const env = testEnv();
    const report = await runCheck(sseS3(), { ...env, deadline: env.clock() + 10_000 });
    expect(report.violations).toHaveLength(1);
    expect(env.clock()).toBeLessThanOrEqual(1_000_000 + 10_000);
    expect(report.rounds.count).toBe(3);
  });
});
