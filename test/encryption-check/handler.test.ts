import {
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { createEvent, deleteEvent, updateEvent, AnyEvent, KEY, PHYSICAL_ID } from './events';
import { accessDenied, awsError, BODY, BUCKET, CUSTOMER_KEY, CUSTOMER_KEY_MD5, probeKey, s3Mock, testEnv, useStrictS3Mock } from './mock-s3';
import { checkPrefix as prefixOf, compactReport, handleEvent, HandlerEnvironment } from '../../src/encryption-check/handler/on-event';
import { foreignKeyArn } from '../../src/encryption-check/handler/run-check';
import { CheckProperties } from '../../src/encryption-check/types';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555';
/** The key id no key has, in the account, region and partition of the event's ServiceToken (the Provider framework's function). */
const FOREIGN_KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000000';
const SSE_S3_SIDS = ['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads', 'DenyMismatchedEncryptionHeader'];

/** The probe prefix of the single bucket (key `KEY`) of `event`. */
function checkPrefix(event: AnyEvent): string {
  return prefixOf(event, KEY);
}

/**
 * The stack check's answer for a one-bucket event, as the per-bucket tests read it: a FAILED
 * answer throws its reason, a SUCCESS returns the bucket's attributes without their key prefix.
 */
async function onEvent(event: AnyEvent, env: HandlerEnvironment): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const response = await handleEvent(event as never, env);
  if (response.Status === 'FAILED') {
    throw new Error(response.Reason);
  }
  if (!response.Data) {
    return { PhysicalResourceId: response.PhysicalResourceId };
  }
  const data: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.Data)) {
    data[name.slice(KEY.length + 1)] = value;
  }
  // The Report attribute is cut to fit the response; these tests read the full report the
  // handler logs for every bucket.
  const logged = jest.mocked(console.log).mock.calls.map(([line]) => String(line)).filter((line) => line.startsWith(`{"key":"${KEY}"`));
  if (logged.length > 0) {
    const { key: _key, ...report } = JSON.parse(logged[logged.length - 1]);
    data.Report = JSON.stringify(report);
  }
  return { PhysicalResourceId: response.PhysicalResourceId, Data: data };
}

useStrictS3Mock();

interface ConfigOptions {
  readonly algorithm?: string;
  readonly kmsKeyArn?: string;
  readonly bucketKey?: boolean;
  readonly blocked?: string[];
  /** 'rules' (default), 'empty' (200 without rules) or 'missing' (the 404). */
  readonly encryption?: 'rules' | 'empty' | 'missing';
  readonly sids?: string[];
  readonly lock?: 'none' | 'enabled' | 'retention' | 'denied';
}

function configuration(options: ConfigOptions = {}): void {
  const { algorithm = 'AES256', encryption = 'rules', lock = 'none' } = options;
  const getEncryption = s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true);
  if (encryption === 'missing') {
    getEncryption.rejects(awsError(404, 'ServerSideEncryptionConfigurationNotFoundError'));
  } else {
    getEncryption.resolves({
      ServerSideEncryptionConfiguration: {
        Rules: encryption === 'empty' ? [] : [{
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm as 'AES256', KMSMasterKeyID: options.kmsKeyArn },
          BucketKeyEnabled: options.bucketKey,
          BlockedEncryptionTypes: { EncryptionType: (options.blocked ?? ['SSE-C']) as ['SSE-C'] },
        }],
      },
    });
  }
  const sids = options.sids ?? SSE_S3_SIDS;
  s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).resolves({
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: sids.map((Sid) => ({ Sid, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: '*' })) }),
  });
  const getLock = s3Mock.on(GetObjectLockConfigurationCommand, { Bucket: BUCKET }, true);
  if (lock === 'none') {
    getLock.rejects(awsError(404, 'ObjectLockConfigurationNotFoundError'));
  } else if (lock === 'denied') {
    getLock.rejects(accessDenied());
  } else {
    getLock.resolves({
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: lock === 'retention' ? { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } : undefined,
      },
    });
  }
}

/** The exact PutObject input of a probe. */
function put(event: AnyEvent, probe: string, headers: Partial<PutObjectCommandInput> = {}): PutObjectCommandInput {
  return { Bucket: BUCKET, Key: probeKey(event, probe), Body: BODY, IfNoneMatch: '*', ContentType: 'application/octet-stream', ...headers };
}
const SSE_C = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: CUSTOMER_KEY };

/** HeadObject of an accepted probe reports what S3 stored. */
function head(event: AnyEvent, probe: string, stored: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string; BucketKeyEnabled?: boolean }): void {
  s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: probeKey(event, probe) }).resolves({ ...stored, $metadata: { httpStatusCode: 200 } });
}

/** Cleanup of exactly `objects`, then a listing that finds nothing left. */
function cleanup(event: AnyEvent, objects: { Key: string; VersionId?: string }[]): void {
  s3Mock.on(DeleteObjectsCommand, { Bucket: BUCKET, Delete: { Objects: objects, Quiet: true } }, true).resolves({});
  s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: checkPrefix(event) }).resolves({ Versions: [], IsTruncated: false });
}

function sseS3Event(overrides: Partial<CheckProperties> = {}) {
  return createEvent({ BucketName: BUCKET, ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256', ExpectHeaders: 'DENY_MISMATCH', ExpectPolicySids: SSE_S3_SIDS, ...overrides });
}

/** The default posture of an SSE-S3 EncryptedBucket, as AWS answers it. */
function sseS3Bucket(event: AnyEvent, options: { versioned?: boolean } = {}): void {
  configuration();
  s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true).rejects(accessDenied());
  s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true)
    .resolves({ ServerSideEncryption: 'AES256', VersionId: options.versioned ? 'v-plain' : undefined, $metadata: { httpStatusCode: 200 } });
  head(event, 'upload-without-headers', { ServerSideEncryption: 'AES256' });
  s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
    .rejects(accessDenied());
  cleanup(event, [{ Key: probeKey(event, 'upload-without-headers'), ...(options.versioned ? { VersionId: 'v-plain' } : {}) }]);
}

describe('Create: an SSE-S3 bucket with SSE-C blocked', () => {
  test('SSE-C refused with 403 AccessDenied, default AES256, mismatched header refused: no violation', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    process.env.AWS_REGION = 'eu-west-1';

    const response = await onEvent(event, testEnv());

    expect(response.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(response.Data).toMatchObject({
      SseC: 'BLOCKED',
      DefaultAlgorithm: 'AES256',
      KmsKeyArn: '',
      BucketKeyEnabled: 'false',
      MismatchedHeaderRefused: 'true',
      AbsentHeaderRefused: 'false',
      Violations: '0',
    });
    const report = JSON.parse(response.Data!.Report);
    expect(report.violations).toEqual([]);
    expect(report.configuration).toMatchObject({ algorithm: 'AES256', blockedEncryptionTypes: ['SSE-C'], objectLock: 'NONE' });
    expect(report.cleanup).toEqual({ deleted: 1, leftovers: [] });
    // 3 reads, 3 uploads, HeadObject, DeleteObjects, and (no version id) ListObjectVersions.
    expect(report.s3Requests).toBe(9);
    expect(s3Mock.calls()).toHaveLength(9);
    expect(report.probes).toContainEqual({ probe: 'head-object (upload-without-headers)', answer: '200 AES256' });
  });

  test('versioned bucket: the probe version is deleted by its version id, and the prefix is listed for versions no answer named', async () => {
    const event = sseS3Event();
    sseS3Bucket(event, { versioned: true });
    const response = await onEvent(event, testEnv());
    expect(response.Data!.Violations).toBe('0');
    expect(s3Mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(1);
    expect(JSON.parse(response.Data!.Report).s3Requests).toBe(9);
    expect(s3Mock.commandCalls(DeleteObjectsCommand)[0].args[0].input.Delete!.Objects).toEqual([
      { Key: probeKey(event, 'upload-without-headers'), VersionId: 'v-plain' },
    ]);
  });

  test('every probe key is under the reserved prefix, and every upload is conditional', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    await onEvent(event, testEnv());
    for (const call of s3Mock.commandCalls(PutObjectCommand)) {
      expect(call.args[0].input.Key).toMatch(/^\.cdk-s3-encryption-check\/[0-9a-f]{16}\/[0-9a-f]{16}\//);
      expect(call.args[0].input.IfNoneMatch).toBe('*');
    }
  });

  test('SSE-C accepted where it must be blocked: FAILED with the bucket, the probe and what S3 answered; the object is deleted', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true)
      .resolves({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: CUSTOMER_KEY_MD5, $metadata: { httpStatusCode: 200 } });
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: probeKey(event, 'sse-c-upload') }, true).rejects(awsError(400, 'BadRequest', 'UnknownError'));
    s3Mock.on(GetObjectCommand, { Bucket: BUCKET, Key: probeKey(event, 'sse-c-upload'), ...SSE_C }, true).resolves({
      Body: { transformToByteArray: async () => new Uint8Array(BODY) } as never,
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKeyMD5: CUSTOMER_KEY_MD5,
      $metadata: { httpStatusCode: 200 },
    });
    s3Mock.on(DeleteObjectsCommand, {
      Bucket: BUCKET,
      Delete: { Objects: [{ Key: probeKey(event, 'sse-c-upload') }, { Key: probeKey(event, 'upload-without-headers') }], Quiet: true },
    }, true).resolves({});

    await expect(onEvent(event, testEnv())).rejects.toThrow(
      `bucket ${BUCKET} found 1 violation(s): bucket ${BUCKET}, probe sse-c-upload: expected SSE-C uploads to be refused with 403, but S3 answered 200`);
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  test('blocked by BlockedEncryptionTypes alone (no policy Sid) still counts as blocked', async () => {
    const event = sseS3Event({ ExpectPolicySids: undefined });
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true)
      .rejects(awsError(403, 'AccessDenied', 'Requests specifying Server Side Encryption with Customer provided keys are blocked for this bucket'));
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'BLOCKED', Violations: '0' });
  });

  test('a bucket policy without the library\'s Sids is a violation named after GetBucketPolicy', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(awsError(404, 'NoSuchBucketPolicy'));
    await expect(onEvent(event, testEnv())).rejects.toThrow(
      `probe GetBucketPolicy: expected statements ${SSE_S3_SIDS.join(', ')}, but S3 answered a policy with no Sids`);
  });

  test('a mismatched header that is accepted is a violation; WARN reports it and succeeds', async () => {
    const event = sseS3Event({ OnViolation: 'WARN' });
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
      .rejects(awsError(400, 'KMS.NotFoundException', 'Invalid keyId'));
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ MismatchedHeaderRefused: 'false', Violations: '1' });
    expect(JSON.parse(response.Data!.Report).violations).toEqual([
      `bucket ${BUCKET}, probe upload-with-mismatched-algorithm: expected a 403 refusal, but S3 answered 400 KMS.NotFoundException "Invalid keyId"`,
    ]);
    expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('found 1 violation(s)'));
  });

  test('uploads get another algorithm than declared: a violation from the upload and from the configuration', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    configuration({ algorithm: 'aws:kms', kmsKeyArn: KEY_ARN, bucketKey: true });
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true)
      .resolves({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN, BucketKeyEnabled: true, $metadata: { httpStatusCode: 200 } });
    head(event, 'upload-without-headers', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN, BucketKeyEnabled: true });
    await expect(onEvent(event, testEnv())).rejects.toThrow(/probe head-object \(upload-without-headers\): expected algorithm AES256, but S3 answered 200 with algorithm aws:kms.*probe GetBucketEncryption: expected algorithm AES256, but S3 answered a configuration with algorithm aws:kms/);
  });
});

describe('the foreign key id of the mismatch probes', () => {
  test('is built from the partition, region and account of the handler\'s own function', () => {
    const zero = '00000000-0000-4000-8000-000000000000';
    expect(foreignKeyArn(undefined, 'arn:aws-cn:lambda:cn-north-1:222233334444:function:check', 'us-east-1'))
      .toBe(`arn:aws-cn:kms:cn-north-1:222233334444:key/${zero}`);
    expect(foreignKeyArn(undefined, 'arn:aws-us-gov:lambda:us-gov-west-1:222233334444:function:check:live', 'us-east-1'))
      .toBe(`arn:aws-us-gov:kms:us-gov-west-1:222233334444:key/${zero}`);
    // The bucket's own key, when known, gives the bucket's region (a key must be in the bucket's region).
    expect(foreignKeyArn(KEY_ARN, 'arn:aws:lambda:us-east-1:222233334444:function:check', 'us-east-1'))
      .toBe(`arn:aws:kms:eu-west-1:111111111111:key/${zero}`);
  });

  test('the SSE-S3 mismatch probe names a key id in the Lambda\'s own partition and account (context.invokedFunctionArn)', async () => {
    const event = sseS3Event();
    const govKey = 'arn:aws-us-gov:kms:us-gov-west-1:222233334444:key/00000000-0000-4000-8000-000000000000';
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: govKey }), true)
      .rejects(accessDenied());
    const response = await onEvent(event, testEnv({ functionArn: 'arn:aws-us-gov:lambda:us-gov-west-1:222233334444:function:check' }));
    expect(response.Data).toMatchObject({ MismatchedHeaderRefused: 'true', Violations: '0' });
    expect(s3Mock.commandCalls(PutObjectCommand, { Key: probeKey(event, 'upload-with-mismatched-algorithm') })[0].args[0].input.SSEKMSKeyId).toBe(govKey);
  });
});

describe('HeadObject of the upload without headers', () => {
  test('what HeadObject reports is what counts', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    head(event, 'upload-without-headers', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN });
    await expect(onEvent(event, testEnv())).rejects.toThrow(/probe head-object \(upload-without-headers\): expected algorithm AES256, but S3 answered 200 with algorithm aws:kms/);
  });

  test('if HeadObject fails, the PutObject answer is used and the failure reported', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: probeKey(event, 'upload-without-headers') }).rejects(accessDenied());
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ DefaultAlgorithm: 'AES256', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).unverified).toEqual([
      'HeadObject of upload-without-headers: 403 AccessDenied "Access Denied" (the PutObject answer is used instead)',
    ]);
  });
});

describe('GetBucketEncryption without rules', () => {
  test.each(['empty', 'missing'] as const)('"%s" rules: the algorithm comes from the upload and nothing fails', async (encryption) => {
    const event = sseS3Event();
    sseS3Bucket(event);
    configuration({ encryption });
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ DefaultAlgorithm: 'AES256', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).configuration.encryptionRules).toBe(false);
  });
});

describe('SSE-C allowed', () => {
  function sseCAllowedBucket(event: AnyEvent, readBack: { headStatus?: number; bytes?: Buffer; md5?: string } = {}) {
    configuration({ blocked: ['NONE'], sids: ['DenyInsecureTransport', 'DenyOutdatedTls', 'DenyMismatchedEncryptionHeader'] });
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true)
      .resolves({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: CUSTOMER_KEY_MD5, VersionId: 'v-ssec', $metadata: { httpStatusCode: 200 } });
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true)
      .resolves({ ServerSideEncryption: 'AES256', VersionId: 'v-plain', $metadata: { httpStatusCode: 200 } });
    head(event, 'upload-without-headers', { ServerSideEncryption: 'AES256' });
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
      .rejects(accessDenied());
    const headWithoutKey = s3Mock.on(HeadObjectCommand, { Bucket: BUCKET, Key: probeKey(event, 'sse-c-upload') }, true);
    if (readBack.headStatus === 200) {
      headWithoutKey.resolves({ $metadata: { httpStatusCode: 200 } });
    } else {
      headWithoutKey.rejects(awsError(readBack.headStatus ?? 400, 'BadRequest', 'UnknownError'));
    }
    s3Mock.on(GetObjectCommand, { Bucket: BUCKET, Key: probeKey(event, 'sse-c-upload'), ...SSE_C }, true).resolves({
      Body: { transformToByteArray: async () => new Uint8Array(readBack.bytes ?? BODY) } as never,
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKeyMD5: readBack.md5 ?? CUSTOMER_KEY_MD5,
      $metadata: { httpStatusCode: 200 },
    });
    cleanup(event, [{ Key: probeKey(event, 'sse-c-upload'), VersionId: 'v-ssec' }, { Key: probeKey(event, 'upload-without-headers'), VersionId: 'v-plain' }]);
  }
  const allowedEvent = () => sseS3Event({ ExpectSseC: 'ALLOWED', ExpectPolicySids: undefined });

  test('accepted, unreadable without the key, same bytes and key MD5 with it; both versions deleted by id; 11 requests', async () => {
    const event = allowedEvent();
    sseCAllowedBucket(event);
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'ALLOWED', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).s3Requests).toBe(11);
  });

  test('readable without the key: a violation', async () => {
    const event = allowedEvent();
    sseCAllowedBucket(event, { headStatus: 200 });
    await expect(onEvent(event, testEnv())).rejects.toThrow(
      /probe sse-c-head-without-key: expected HeadObject without the customer key to be refused \(400 or 403\), but S3 answered 200/);
  });

  test('different bytes or key MD5 on read-back: a violation', async () => {
    const event = allowedEvent();
    sseCAllowedBucket(event, { bytes: Buffer.alloc(32, 1), md5: 'wrong' });
    await expect(onEvent(event, testEnv())).rejects.toThrow(/probe sse-c-get-with-key: .* 200 with different bytes, algorithm AES256, key MD5 not matching/);
  });

  test('SSE-C refused where it must be allowed: a violation naming the answer', async () => {
    const event = allowedEvent();
    sseCAllowedBucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true).rejects(accessDenied());
    cleanup(event, [{ Key: probeKey(event, 'upload-without-headers'), VersionId: 'v-plain' }]);
    await expect(onEvent(event, testEnv())).rejects.toThrow(/probe sse-c-upload: expected SSE-C uploads to be accepted, but S3 answered 403 AccessDenied "Access Denied"/);
    expect(s3Mock.commandCalls(HeadObjectCommand, { Key: probeKey(event, 'sse-c-upload') })).toHaveLength(0);
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  test('the customer key is never logged nor returned', async () => {
    const event = allowedEvent();
    sseCAllowedBucket(event);
    const response = await onEvent(event, testEnv());
    const logged = [...(console.log as jest.Mock).mock.calls, ...(console.warn as jest.Mock).mock.calls].flat().join('\n');
    for (const secret of [CUSTOMER_KEY, CUSTOMER_KEY_MD5]) {
      expect(logged).not.toContain(secret);
      expect(JSON.stringify(response)).not.toContain(secret);
    }
  });
});

describe('SSE-KMS bucket', () => {
  const kmsEvent = (overrides: Partial<CheckProperties> = {}) => createEvent({
    BucketName: BUCKET,
    ExpectSseC: 'BLOCKED',
    ExpectAlgorithm: 'aws:kms',
    ExpectKmsKeyArn: KEY_ARN,
    ExpectBucketKey: 'true',
    ExpectHeaders: 'DENY_MISMATCH',
    ...overrides,
  });
  function kmsBucket(event: AnyEvent, applied: { key?: string; bucketKey?: boolean } = {}) {
    configuration({ algorithm: 'aws:kms', kmsKeyArn: KEY_ARN, bucketKey: true });
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).resolves({
      ServerSideEncryption: 'aws:kms', SSEKMSKeyId: applied.key ?? KEY_ARN, BucketKeyEnabled: applied.bucketKey ?? true, $metadata: { httpStatusCode: 200 },
    });
    head(event, 'upload-without-headers', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: applied.key ?? KEY_ARN, BucketKeyEnabled: applied.bucketKey ?? true });
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'AES256' }), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-foreign-kms-key', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true).rejects(accessDenied());
    cleanup(event, [{ Key: probeKey(event, 'upload-without-headers') }]);
  }

  test('key, Bucket Key and the foreign-key refusal are observed', async () => {
    const event = kmsEvent();
    kmsBucket(event);
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({
      SseC: 'BLOCKED', DefaultAlgorithm: 'aws:kms', KmsKeyArn: KEY_ARN, BucketKeyEnabled: 'true', MismatchedHeaderRefused: 'true', Violations: '0',
    });
  });

  test('another key or no Bucket Key: violations', async () => {
    const event = kmsEvent();
    kmsBucket(event, { key: FOREIGN_KEY_ARN.replace('00000000', '99999999'), bucketKey: false });
    await expect(onEvent(event, testEnv())).rejects.toThrow(/expected KMS key .*11111111-2222.*, but S3 answered 200 with KMS key .*99999999.*expected BucketKeyEnabled true, but S3 answered 200 with BucketKeyEnabled false/);
  });

  test('the upload without headers is retried while the key policy\'s grant to a new role propagates (first deployment)', async () => {
    const event = kmsEvent();
    kmsBucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true)
      .rejectsOnce(awsError(403, 'AccessDenied', 'User is not authorized to perform: kms:GenerateDataKey'))
      .resolves({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN, BucketKeyEnabled: true, $metadata: { httpStatusCode: 200 } });
    const response = await onEvent(event, testEnv({ accessDeniedWaitMs: 10_000 }));
    expect(response.Data).toMatchObject({ DefaultAlgorithm: 'aws:kms', Violations: '0' });
    expect(s3Mock.commandCalls(PutObjectCommand, put(event, 'upload-without-headers'), true)).toHaveLength(2);
    // Uploads the bucket must refuse are not retried.
    expect(s3Mock.commandCalls(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true)).toHaveLength(1);
  });

  test('the retry is bounded: a grant that never arrives is a violation', async () => {
    const event = kmsEvent({ OnViolation: 'WARN' });
    kmsBucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).rejects(accessDenied());
    // Refused without headers, the upload is made again with the declared headers: refused too.
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-declared-headers', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN }), true)
      .rejects(accessDenied());
    let clock = 0;
    const response = await onEvent(event, testEnv({
      accessDeniedWaitMs: 5_000, now: () => clock, sleep: async (ms) => { clock += ms + 1_000; },
    }));
    const report = JSON.parse(response.Data!.Report);
    expect(report.violations).toContain(
      `bucket ${BUCKET}, probe upload-with-declared-headers: expected uploads that name the declared encryption to be accepted, but S3 answered 403 AccessDenied "Access Denied"`);
    // The AccessDenied wait is once per check (6 attempts at most), then one attempt per later probe round.
    const declaredCalls = s3Mock.commandCalls(PutObjectCommand, put(event, 'upload-with-declared-headers', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN }), true).length;
    expect(s3Mock.commandCalls(PutObjectCommand, put(event, 'upload-without-headers'), true).length).toBeLessThanOrEqual(6 + declaredCalls);
  });

  test('a foreign key id that is accepted by the policy (KMS refuses it) is a violation', async () => {
    const event = kmsEvent();
    kmsBucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-foreign-kms-key', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
      .rejects(awsError(403, 'KMS.AccessDeniedException', 'no access to key'));
    await expect(onEvent(event, testEnv())).rejects.toThrow(/probe upload-with-foreign-kms-key: expected a 403 refusal, but S3 answered 403 KMS.AccessDeniedException/);
  });
});

describe('encryption headers required', () => {
  test('the upload without headers must be refused; the declared one is accepted and shows the algorithm', async () => {
    const event = sseS3Event({ ExpectHeaders: 'REQUIRE', ExpectPolicySids: undefined });
    configuration();
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-declared-headers', { ServerSideEncryption: 'AES256' }), true)
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
    head(event, 'upload-with-declared-headers', { ServerSideEncryption: 'AES256' });
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
      .rejects(accessDenied());
    cleanup(event, [{ Key: probeKey(event, 'upload-with-declared-headers') }]);
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ AbsentHeaderRefused: 'true', DefaultAlgorithm: 'AES256', SseC: 'BLOCKED', Violations: '0' });
  });
});

describe('Object Lock', () => {
  test('default retention: no object is written; what could not be verified is reported', async () => {
    const event = sseS3Event();
    configuration({ lock: 'retention' });
    const response = await onEvent(event, testEnv());
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', AbsentHeaderRefused: 'UNVERIFIED', DefaultAlgorithm: 'AES256', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).unverified[0]).toMatch(/Object Lock default retention would make probe objects undeletable/);
  });

  test('an unreadable Object Lock configuration is treated as locked, and is a violation: a check that could not probe must not pass', async () => {
    const event = sseS3Event();
    configuration({ lock: 'denied' });
    await expect(onEvent(event, testEnv())).rejects.toThrow(
      `bucket ${BUCKET} found 3 violation(s): bucket ${BUCKET}: the check could not read its Object Lock configuration `
      + '(GetObjectLockConfiguration): S3 answered 403 AccessDenied "Access Denied"; grant the handler role s3:GetBucketObjectLockConfiguration '
      + `on the bucket, or use onViolation WARN; bucket ${BUCKET}: the check could not verify that SSE-C uploads are refused: no upload was made: `
      + 'the Object Lock configuration could not be read, so probe objects might be undeletable; '
      + `bucket ${BUCKET}: the check could not verify that a mismatched encryption header is refused: no upload was made`);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  test('an unreadable Object Lock configuration with WARN: nothing written, the violations reported, the deployment succeeds', async () => {
    const event = sseS3Event({ OnViolation: 'WARN' });
    configuration({ lock: 'denied' });
    const response = await onEvent(event, testEnv());
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', DefaultAlgorithm: 'AES256', Violations: '3' });
    const report = JSON.parse(response.Data!.Report);
    expect(report.violations[0]).toMatch(/could not read its Object Lock configuration \(GetObjectLockConfiguration\): S3 answered 403/);
    expect(report.unverified).toEqual(expect.arrayContaining([
      expect.stringMatching(/could not be read/), 'GetObjectLockConfiguration: 403 AccessDenied "Access Denied"',
    ]));
    expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('found 3 violation(s)'));
  });

  test('default retention with nothing to read the algorithm from: unverified, still no violation (the documented safe case)', async () => {
    const event = createEvent({ BucketName: BUCKET, ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'aws:kms', ExpectKmsKeyArn: KEY_ARN, ExpectBucketKey: 'true', ExpectHeaders: 'REQUIRE' });
    configuration({ lock: 'retention', encryption: 'missing' });
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', DefaultAlgorithm: '', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).unverified).toEqual(expect.arrayContaining([
      expect.stringMatching(/^the default algorithm aws:kms \(no upload was made/),
      expect.stringMatching(/^that uploads without encryption headers are refused/),
    ]));
  });

  test('Object Lock without default retention: probes run as usual', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    configuration({ lock: 'enabled' });
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'BLOCKED', Violations: '0' });
  });
});

describe('a handler that cannot read the configuration (an imported bucket whose owner granted nothing)', () => {
  test.each([
    ['GetBucketEncryption', GetBucketEncryptionCommand, 'its encryption configuration', 's3:GetEncryptionConfiguration'],
    ['GetBucketPolicy', GetBucketPolicyCommand, 'its bucket policy', 's3:GetBucketPolicy'],
  ] as const)('a refused %s is a violation naming the read, the answer and the permission', async (request, command, what, action) => {
    const event = sseS3Event({ ExpectPolicySids: undefined });
    sseS3Bucket(event);
    s3Mock.on(command as never, { Bucket: BUCKET }, true).rejects(accessDenied());
    await expect(onEvent(event, testEnv())).rejects.toThrow(
      `bucket ${BUCKET}: the check could not read ${what} (${request}): S3 answered 403 AccessDenied "Access Denied"; grant the handler role ${action}`);
  });

  test('a read that keeps failing with 5xx is a violation too (not a permission hint)', async () => {
    const event = sseS3Event({ OnViolation: 'WARN' });
    sseS3Bucket(event);
    s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(awsError(500, 'InternalError'));
    const response = await onEvent(event, testEnv());
    const report = JSON.parse(response.Data!.Report);
    expect(report.violations).toContain(
      `bucket ${BUCKET}: the check could not read its bucket policy (GetBucketPolicy): S3 answered 500 InternalError 5 times `
      + '(a fault of S3 or the network, not the bucket\'s verdict); deploy again later, or use onViolation WARN');
  });

  test('a bucket of another account: GetBucketPolicy answers 405, named as such', async () => {
    const event = sseS3Event({ OnViolation: 'WARN', ExpectPolicySids: undefined });
    sseS3Bucket(event);
    s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(awsError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.'));
    const response = await onEvent(event, testEnv());
    expect(JSON.parse(response.Data!.Report).violations).toEqual([
      `bucket ${BUCKET}: the check could not read its bucket policy (GetBucketPolicy): S3 answered 405 MethodNotAllowed "The specified method is not allowed against this resource."; `
      + 'S3 answers it only to identities of the bucket owner\'s account, or use onViolation WARN',
    ]);
  });

  test('"no configuration" answers are not failures: 404 for no rules, no policy, no Object Lock', async () => {
    const event = sseS3Event({ ExpectPolicySids: undefined });
    sseS3Bucket(event);
    configuration({ encryption: 'missing', lock: 'none' });
    s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(awsError(404, 'NoSuchBucketPolicy'));
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'BLOCKED', Violations: '0' });
  });

  /** Every configuration read but Object Lock's refused, and every upload refused: the handler lacks access. */
  function deniedEverywhere(event: AnyEvent): void {
    configuration();
    s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true).rejects(accessDenied());
    s3Mock.on(GetBucketPolicyCommand, { Bucket: BUCKET }, true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'sse-c-upload', SSE_C), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).rejects(accessDenied());
    s3Mock.on(PutObjectCommand, put(event, 'upload-with-mismatched-algorithm', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: FOREIGN_KEY_ARN }), true)
      .rejects(accessDenied());
  }

  test('FAIL: the deployment fails; a 403 on the SSE-C probe is not taken for the bucket refusing SSE-C', async () => {
    const event = sseS3Event();
    deniedEverywhere(event);
    await expect(onEvent(event, testEnv())).rejects.toThrow(/could not read its encryption configuration.*could not read its bucket policy.*could not verify that SSE-C uploads are refused: S3 answered 403 AccessDenied "Access Denied", and configuration reads were refused too/);
    // Refused uploads wrote nothing: no cleanup request.
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  test('WARN: the probes are reported as unverified, not as refusals', async () => {
    const event = sseS3Event({ OnViolation: 'WARN' });
    deniedEverywhere(event);
    const response = await onEvent(event, testEnv());
    expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', MismatchedHeaderRefused: 'UNVERIFIED', AbsentHeaderRefused: 'UNVERIFIED' });
    const report = JSON.parse(response.Data!.Report);
    expect(report.violations).toEqual([
      expect.stringMatching(/could not read its encryption configuration \(GetBucketEncryption\)/),
      expect.stringMatching(/could not read its bucket policy \(GetBucketPolicy\)/),
      expect.stringMatching(/could not verify that SSE-C uploads are refused/),
      `bucket ${BUCKET}, probe upload-without-headers: expected uploads without encryption headers to be accepted, but S3 answered 403 AccessDenied "Access Denied"`,
      expect.stringMatching(/could not verify the default algorithm AES256: no upload was accepted and GetBucketEncryption could not be read/),
      expect.stringMatching(/could not verify that upload-with-mismatched-algorithm is refused/),
    ]);
    expect(response.Data!.Violations).toBe('6');
  });
});

describe('retries, timeouts and failures', () => {
  test('503 SlowDown is retried with backoff and the check succeeds', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true)
      .rejectsOnce(awsError(503, 'SlowDown', 'Please reduce your request rate.'))
      .rejectsOnce(awsError(500, 'InternalError'))
      .resolves({ ServerSideEncryption: 'AES256', $metadata: { httpStatusCode: 200 } });
    const env = testEnv();
    const response = await onEvent(event, env);
    expect(response.Data!.Violations).toBe('0');
    expect(env.sleeps).toHaveLength(2);
    expect(JSON.parse(response.Data!.Report).s3Requests).toBe(11);
  });

  test('AccessDenied on the configuration reads is retried while a new role and policy propagate', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(GetBucketEncryptionCommand, { Bucket: BUCKET }, true).rejectsOnce(accessDenied()).resolves({
      ServerSideEncryption: undefined,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    } as never);
    const response = await onEvent(event, testEnv({ accessDeniedWaitMs: 10_000 }));
    expect(response.Data!.Violations).toBe('0');
    expect(s3Mock.commandCalls(GetBucketEncryptionCommand)).toHaveLength(2);
  });

  test('throttling that never ends: named as a fault, not as the bucket\'s verdict; cleanup still looks for the object', async () => {
    const event = sseS3Event({ OnViolation: 'WARN' });
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).rejects(awsError(503, 'SlowDown'));
    const env = testEnv();
    const response = await onEvent(event, env);
    expect(s3Mock.commandCalls(PutObjectCommand, put(event, 'upload-without-headers'), true)).toHaveLength(5);
    const report = JSON.parse(response.Data!.Report);
    // The default algorithm is read back from GetBucketEncryption instead: nothing fails.
    expect(report.violations).toEqual([]);
    expect(report.unverified).toEqual([
      'that uploads without encryption headers are accepted (S3 answered 503 SlowDown 5 times (a fault of S3 or the network, not the bucket\'s verdict))',
    ]);
    expect(response.Data).toMatchObject({ AbsentHeaderRefused: 'UNVERIFIED', DefaultAlgorithm: 'AES256' });
    // The outcome of a 5xx is unknown, so the key is deleted anyway.
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  test('the hard deadline: a request that never answers ends the check in time, named as a fault, and cleanup runs', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(PutObjectCommand, put(event, 'upload-without-headers'), true).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    // 35.1 s left: 25 s for cleanup, 10 s for the answer, 100 ms for probing.
    const response = await onEvent(event, testEnv({ remainingMs: () => 35_100 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    const report = JSON.parse(response.Data!.Report);
    // The default algorithm comes from GetBucketEncryption; the abandoned upload is a fault.
    expect(report.unverified).toEqual([
      'that uploads without encryption headers are accepted (no answer (deadline reached before upload-without-headers completed) (a fault of S3 or the network, not the bucket\'s verdict))',
    ]);
    expect(response.Data).toMatchObject({ AbsentHeaderRefused: 'UNVERIFIED', Violations: '0' });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  test('a failing DeleteObjects: the leftovers are reported and the lifecycle rule is named, the check itself passes', async () => {
    const event = sseS3Event();
    sseS3Bucket(event, { versioned: true });
    s3Mock.on(DeleteObjectsCommand).rejects(awsError(500, 'InternalError'));
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: checkPrefix(event) })
      .resolves({ Versions: [{ Key: probeKey(event, 'upload-without-headers'), VersionId: 'v-plain' }], IsTruncated: false });
    const response = await onEvent(event, testEnv());
    expect(response.Data!.Violations).toBe('0');
    expect(JSON.parse(response.Data!.Report).cleanup.leftovers).toEqual([
      'DeleteObjects failed: 500 InternalError',
      'DeleteObjects failed: 500 InternalError',
      `${probeKey(event, 'upload-without-headers')}?versionId=v-plain`,
    ]);
    expect(console.warn).toHaveBeenCalledWith(expect.stringMatching(/left behind .* lifecycle rule/));
  });

  test('DeleteObjects per-key errors: the listing finds the object and deletes it again', async () => {
    const event = sseS3Event();
    sseS3Bucket(event);
    s3Mock.on(DeleteObjectsCommand).resolvesOnce({ Errors: [{ Key: probeKey(event, 'upload-without-headers'), Code: 'InternalError' }] }).resolves({});
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: checkPrefix(event) })
      .resolves({ Versions: [{ Key: probeKey(event, 'upload-without-headers'), VersionId: 'null' }], IsTruncated: false });
    const response = await onEvent(event, testEnv());
    expect(JSON.parse(response.Data!.Report).cleanup).toEqual({ deleted: 1, leftovers: [] });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)[1].args[0].input.Delete!.Objects).toEqual([
      { Key: probeKey(event, 'upload-without-headers'), VersionId: 'null' },
    ]);
  });

  test('a missing bucket fails Create (FAIL) and reports (WARN)', async () => {
    const event = sseS3Event();
    s3Mock.on(GetBucketEncryptionCommand).rejects(awsError(404, 'NoSuchBucket'));
    s3Mock.on(GetBucketPolicyCommand).rejects(awsError(404, 'NoSuchBucket'));
    s3Mock.on(GetObjectLockConfigurationCommand).rejects(awsError(404, 'NoSuchBucket'));
    await expect(onEvent(event, testEnv())).rejects.toThrow(`bucket ${BUCKET} found 1 violation(s): bucket ${BUCKET} does not exist (S3 answered 404 NoSuchBucket)`);
    const warned = await onEvent(sseS3Event({ OnViolation: 'WARN' }), testEnv());
    // Nothing could be verified, not even the always-declared SSE-C expectation: one violation.
    expect(warned.Data).toMatchObject({ SseC: 'UNVERIFIED', Violations: '1' });
    expect(JSON.parse(warned.Data!.Report).violations[0]).toMatch(/does not exist/);
  });
});

describe('lifecycle events', () => {
  describe('a failed check on Update', () => {
    function missingBucketUpdate() {
      const event = updateEvent({ BucketName: BUCKET, ExpectAlgorithm: 'AES256' }, { BucketName: BUCKET, ExpectAlgorithm: 'aws:kms' });
      s3Mock.on(GetBucketEncryptionCommand).rejects(awsError(404, 'NoSuchBucket'));
      s3Mock.on(GetBucketPolicyCommand).rejects(awsError(404, 'NoSuchBucket'));
      s3Mock.on(GetObjectLockConfigurationCommand).rejects(awsError(404, 'NoSuchBucket'));
      return event;
    }

    test('fails an ordinary update', async () => {
      const stackStatus = jest.fn(async () => 'UPDATE_IN_PROGRESS');
      await expect(onEvent(missingBucketUpdate(), testEnv({ stackStatus }))).rejects.toThrow(/does not exist/);
      expect(stackStatus).toHaveBeenCalledWith(expect.stringMatching(/^arn:aws:cloudformation:eu-west-1:111111111111:stack\/Test\//));
    });

    test('is reported, not failed, while the stack rolls back (else UPDATE_ROLLBACK_FAILED)', async () => {
      jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      const response = await onEvent(missingBucketUpdate(), testEnv({ stackStatus: async () => 'UPDATE_ROLLBACK_IN_PROGRESS' }));
      expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', Violations: '1' });
      expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('not failing: the stack is rolling back'));
    });

    test('fails when the stack status cannot be read', async () => {
      jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      const stackStatus = async (): Promise<string> => { throw new Error('AccessDenied'); };
      await expect(onEvent(missingBucketUpdate(), testEnv({ stackStatus }))).rejects.toThrow(/does not exist/);
    });

    test('a failed Create never asks for the stack status', async () => {
      const stackStatus = jest.fn(async () => 'UPDATE_ROLLBACK_IN_PROGRESS');
      const event = sseS3Event();
      s3Mock.on(GetBucketEncryptionCommand).rejects(awsError(404, 'NoSuchBucket'));
      s3Mock.on(GetBucketPolicyCommand).rejects(awsError(404, 'NoSuchBucket'));
      s3Mock.on(GetObjectLockConfigurationCommand).rejects(awsError(404, 'NoSuchBucket'));
      await expect(onEvent(event, testEnv({ stackStatus }))).rejects.toThrow(/does not exist/);
      expect(stackStatus).not.toHaveBeenCalled();
    });
  });

  test('Update of the same bucket keeps the physical id; a new bucket gets a new one', async () => {
    const same = updateEvent({ BucketName: BUCKET, ExpectAlgorithm: 'AES256', ExpectHeaders: 'DENY_MISMATCH' }, { BucketName: BUCKET });
    sseS3Bucket(same);
    expect((await onEvent(same, testEnv())).PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(updateEvent({ BucketName: 'other' }, { BucketName: BUCKET }).PhysicalResourceId).toBe(PHYSICAL_ID);
  });

  test('Delete lists and removes every leftover version and delete marker under its own prefix', async () => {
    const event = deleteEvent({ BucketName: BUCKET });
    const prefix = checkPrefix(event);
    s3Mock.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: prefix }).resolves({
      Versions: [{ Key: `${prefix}r/upload-without-headers`, VersionId: 'v1' }],
      DeleteMarkers: [{ Key: `${prefix}r/upload-without-headers`, VersionId: 'm1' }],
      IsTruncated: false,
    });
    s3Mock.on(DeleteObjectsCommand, {
      Bucket: BUCKET,
      Delete: { Objects: [{ Key: `${prefix}r/upload-without-headers`, VersionId: 'v1' }, { Key: `${prefix}r/upload-without-headers`, VersionId: 'm1' }], Quiet: true },
    }, true).resolves({});
    expect(await onEvent(event, testEnv())).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  test.each([
    ['the bucket is gone', awsError(404, 'NoSuchBucket')],
    ['access was already revoked', accessDenied()],
    ['S3 keeps failing', awsError(500, 'InternalError')],
  ])('Delete never fails: %s', async (_, error) => {
    const event = deleteEvent({ BucketName: BUCKET });
    s3Mock.on(ListObjectVersionsCommand).rejects(error);
    expect(await onEvent(event, testEnv())).toEqual({ PhysicalResourceId: PHYSICAL_ID });
  });

  test('the probe prefix is stable per stack and logical id, and differs between resources', () => {
    const a = createEvent({ BucketName: BUCKET });
    expect(checkPrefix(a)).toBe(checkPrefix(deleteEvent({ BucketName: BUCKET })));
    expect(checkPrefix({ ...a, LogicalResourceId: 'Other' })).not.toBe(checkPrefix(a));
  });
});

describe('the report attribute', () => {
  test('stays within the response size limit: detail is dropped before the violations', () => {
    const base = {
      bucket: BUCKET,
      attributes: {
        SseC: 'BLOCKED', DefaultAlgorithm: 'AES256', KmsKeyArn: '', BucketKeyEnabled: 'false', MismatchedHeaderRefused: 'true', AbsentHeaderRefused: 'false',
      },
      configuration: { encryptionRules: true, objectLock: 'NONE' },
      probes: [{ probe: 'upload-without-headers', answer: '200 AES256' }],
      cleanup: { deleted: 1, leftovers: [] },
      unverified: [],
      faults: [],
      notes: [],
      rounds: { count: 1, elapsedMs: 0 },
      s3Requests: 8,
    } as const;
    const small = JSON.parse(compactReport({ ...base, violations: ['one'] } as never));
    expect(small).toMatchObject({ violations: ['one'], cleanup: { deleted: 1, leftovers: 0 }, s3Requests: 8 });
    const many = compactReport({ ...base, violations: Array.from({ length: 40 }, (_, i) => `violation ${i} `.repeat(10)) } as never);
    expect(many.length).toBeLessThanOrEqual(1_000);
    expect(JSON.parse(many)).toMatchObject({ bucket: BUCKET, violations: 40, truncated: true, first: expect.stringMatching(/^violation 0/) });
  });
});
