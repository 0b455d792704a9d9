/**
 * The stack-level handler: one event for every bucket of a stack. Validation of every property
 * it reads, Delete that never fails, Update that re-checks only what changed, bounded
 * concurrency, the deadline, and a failure message that names every failing bucket.
 */
import {
  DeleteObjectsCommand, GetBucketEncryptionCommand, GetBucketPolicyCommand, GetObjectLockConfigurationCommand, HeadObjectCommand,
  ListObjectVersionsCommand, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { entry, PHYSICAL_ID, stackCreateEvent, stackDeleteEvent, stackProperties, stackUpdateEvent } from './events';
import { accessDenied, awsError, s3Mock, testEnv, useStrictS3Mock } from './mock-s3';
import { mapBounded, BatchError } from '../../src/encryption-check/handler/batch';
import { changedEntries, checkPrefix, handleEvent } from '../../src/encryption-check/handler/on-event';
import { stackPropertiesOf } from '../../src/encryption-check/handler/properties';
import { CheckEntry } from '../../src/encryption-check/types';

const SIDS = ['DenyInsecureTransport', 'DenySseCUploads'];

useStrictS3Mock();

/** How a fake bucket behaves: as declared, with KMS where AES256 is declared, or absent. */
type Posture = 'ok' | 'kms' | 'missing';

/**
 * An S3 in which every bucket answers by its name: `kms-*` applies aws:kms, `missing-*` does not
 * exist, every other bucket is an SSE-S3 bucket that blocks SSE-C and mismatched headers.
 * Records which buckets were probed and how many configuration reads ran at once.
 */
function fakeS3(options: { readDelayMs?: number } = {}) {
  const posture = (bucket: string): Posture => bucket.startsWith('kms-') ? 'kms' : bucket.startsWith('missing-') ? 'missing' : 'ok';
  const algorithm = (bucket: string) => posture(bucket) === 'kms' ? 'aws:kms' : 'AES256';
  const probed = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  s3Mock.on(GetBucketEncryptionCommand).callsFake(async ({ Bucket }) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, options.readDelayMs ?? 0));
    inFlight--;
    if (posture(Bucket) === 'missing') {
      throw awsError(404, 'NoSuchBucket');
    }
    return { ServerSideEncryption: undefined, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm(Bucket) }, BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } }] } };
  });
  s3Mock.on(GetBucketPolicyCommand).callsFake(async ({ Bucket }) => {
    if (posture(Bucket) === 'missing') {
      throw awsError(404, 'NoSuchBucket');
    }
    return { Policy: JSON.stringify({ Version: '2012-10-17', Statement: SIDS.map((Sid) => ({ Sid, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: '*' })) }) };
  });
  s3Mock.on(GetObjectLockConfigurationCommand).callsFake(async ({ Bucket }) => {
    throw awsError(404, posture(Bucket) === 'missing' ? 'NoSuchBucket' : 'ObjectLockConfigurationNotFoundError');
  });
  s3Mock.on(PutObjectCommand).callsFake(async (input) => {
    probed.set(input.Bucket, (probed.get(input.Bucket) ?? 0) + 1);
    if (input.SSECustomerAlgorithm || input.ServerSideEncryption) {
      throw accessDenied();
    }
    return { ServerSideEncryption: algorithm(input.Bucket), $metadata: { httpStatusCode: 200 } };
  });
  s3Mock.on(HeadObjectCommand).callsFake(async ({ Bucket }) => ({ ServerSideEncryption: algorithm(Bucket), $metadata: { httpStatusCode: 200 } }));
  s3Mock.on(DeleteObjectsCommand).resolves({});
  s3Mock.on(ListObjectVersionsCommand).resolves({ Versions: [], IsTruncated: false });
  return { probed, maxInFlight: () => maxInFlight };
}

function bucketEntry(key: string, bucket: string, overrides: Partial<CheckEntry> = {}): CheckEntry {
  return entry({ Key: key, BucketName: bucket, ExpectAlgorithm: 'AES256', ExpectHeaders: 'DENY_MISMATCH', ExpectPolicySids: SIDS, ...overrides });
}

describe('one event, many buckets', () => {
  test('every bucket is checked, each under its own prefix; only referenced attributes are returned, by key', async () => {
    const s3 = fakeS3();
    const entries = Array.from({ length: 12 }, (_, i) => bucketEntry(`k${i}`, `bucket-${i}`));
    const event = stackCreateEvent(stackProperties(entries, ['k3.SseC', 'k7.Violations']));
    const response = await handleEvent(event as never, testEnv());
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(response.Data).toEqual({ 'k3.SseC': 'BLOCKED', 'k7.Violations': '0' });
    expect([...s3.probed.keys()].sort()).toEqual(entries.map((e) => e.BucketName).sort());
    const prefixes = new Set(s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key!.split('/').slice(0, 2).join('/')));
    expect(prefixes.size).toBe(12);
    expect(prefixes.has(checkPrefix(event, 'k3').slice(0, -1))).toBe(true);
  });

  test('one misconfigured and one missing bucket among 20: FAILED, naming both and what S3 answered, and no other', async () => {
    fakeS3();
    const entries = Array.from({ length: 20 }, (_, i) => bucketEntry(`k${i}`, i === 4 ? 'kms-bucket' : i === 11 ? 'missing-bucket' : `bucket-${i}`));
    const response = await handleEvent(stackCreateEvent(stackProperties(entries, [])) as never, testEnv());
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^S3 encryption check failed for 2 of 20 bucket\(s\): /);
    expect(response.Reason).toMatch(/bucket kms-bucket found \d+ violation\(s\)[^:]*:.*expected algorithm AES256, but S3 answered 200 with algorithm aws:kms/);
    // A missing bucket is a violation of its own (it cannot be what the template declares).
    expect(response.Reason).toMatch(/bucket missing-bucket found 1 violation\(s\)[^:]*: bucket missing-bucket does not exist \(S3 answered 404 NoSuchBucket\)/);
    expect(response.Reason).not.toMatch(/bucket-\d/);
  });

  test('WARN buckets never fail the deployment; their violations are counted in their attributes', async () => {
    fakeS3();
    const entries = [bucketEntry('a', 'kms-bucket', { OnViolation: 'WARN' }), bucketEntry('b', 'bucket-b')];
    const response = await handleEvent(stackCreateEvent(stackProperties(entries, ['a.Violations', 'b.Violations'])) as never, testEnv());
    expect(response.Status).toBe('SUCCESS');
    expect(Number(response.Data!['a.Violations'])).toBeGreaterThan(0);
    expect(response.Data!['b.Violations']).toBe('0');
  });

  test('bounded concurrency: at most `concurrency` buckets are checked at once', async () => {
    const s3 = fakeS3({ readDelayMs: 5 });
    const entries = Array.from({ length: 10 }, (_, i) => bucketEntry(`k${i}`, `bucket-${i}`));
    const response = await handleEvent(stackCreateEvent(stackProperties(entries, [])) as never, testEnv({ concurrency: 3 }));
    expect(response.Status).toBe('SUCCESS');
    expect(s3.maxInFlight()).toBe(3);
  });

  test('the deadline: buckets whose turn comes after it are failed as not checked, never passed', async () => {
    fakeS3();
    let clock = 1_000_000;
    const entries = Array.from({ length: 3 }, (_, i) => bucketEntry(`k${i}`, `bucket-${i}`));
    // 10 s answer + 25 s cleanup reserve + 1 ms of probing; each S3 answer takes the clock 1 s on.
    s3Mock.on(GetBucketEncryptionCommand).callsFake(async () => {
      clock += 1_000;
      return { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } };
    });
    const env = testEnv({ concurrency: 1, now: () => clock, remainingMs: () => 35_001 });
    const response = await handleEvent(stackCreateEvent(stackProperties(entries, [])) as never, env);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/bucket bucket-2: the check could not complete: not checked: the check's deadline was reached before this bucket's turn/);
  });
});

describe('Update re-checks what changed', () => {
  const a = bucketEntry('a', 'bucket-a', { Fingerprint: 'aaaa' });
  const b = bucketEntry('b', 'bucket-b', { Fingerprint: 'bbbb' });

  test('a changed fingerprint re-checks that bucket only; unchanged buckets are not probed', async () => {
    const s3 = fakeS3();
    const event = stackUpdateEvent(stackProperties([a, { ...b, Fingerprint: 'cccc' }], []), stackProperties([a, b], []));
    const response = await handleEvent(event as never, testEnv());
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect([...s3.probed.keys()]).toEqual(['bucket-b']);
  });

  test('changed expectations, a new bucket, a renamed bucket are re-checked; property order is not a change', async () => {
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as CheckEntry;
    const props = stackProperties([reordered, { ...b, ExpectSseC: 'ALLOWED' }, bucketEntry('c', 'bucket-c'), bucketEntry('d', 'bucket-d-new')]);
    const old = stackProperties([a, b, bucketEntry('d', 'bucket-d-old')]);
    expect(changedEntries({ ...props, Attributes: undefined }, old).map((e) => e.Key)).toEqual(['b', 'c', 'd']);
  });

  test('an unchanged bucket whose attributes the template references is checked (CloudFormation replaces all attributes)', () => {
    expect(changedEntries(stackProperties([a, b], ['a.SseC']), stackProperties([a, b])).map((e) => e.Key)).toEqual(['a']);
  });

  test('old properties that cannot be read make every bucket count as changed', () => {
    for (const old of [undefined, null, 'x', { Buckets: 'x' }, { BucketName: 'bucket-a' }]) {
      expect(changedEntries(stackProperties([a, b], []), old).map((e) => e.Key)).toEqual(['a', 'b']);
    }
  });

  test('nothing changed: SUCCESS without a single S3 request', async () => {
    fakeS3();
    const response = await handleEvent(stackUpdateEvent(stackProperties([a, b], []), stackProperties([a, b], [])) as never, testEnv());
    expect(response.Status).toBe('SUCCESS');
    expect(s3Mock.calls()).toHaveLength(0);
  });
});

describe('Defaults: expectations stated once for every bucket', () => {
  const shared = { ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256', ExpectPolicySids: SIDS, OnViolation: 'FAIL' };
  const compact = (key: string, bucket: string, props: Record<string, unknown> = {}) => ({ Key: key, BucketName: bucket, Fingerprint: '0', ...props });

  test('each entry gets the defaults, and an entry\'s own value wins', () => {
    const props = stackPropertiesOf({ ServiceToken: 'x', Defaults: shared, Buckets: [compact('a', 'bucket-a'), compact('b', 'bucket-b', { ExpectSseC: 'ALLOWED' })] });
    expect(props.Buckets).toEqual([
      { ...shared, ...compact('a', 'bucket-a') },
      { ...shared, ...compact('b', 'bucket-b'), ExpectSseC: 'ALLOWED' },
    ]);
  });

  test.each([
    ['a default that is not an expectation', { ...shared, BucketName: 'bucket-x' }, /Defaults\.BucketName is not an expectation that can be shared/],
    ['an unknown default', { ...shared, ExpectSSEC: 'BLOCKED' }, /Defaults\.ExpectSSEC is not an expectation that can be shared/],
    ['Defaults not an object', ['BLOCKED'], /Defaults must be an object of expectations \(or absent\), got \["BLOCKED"\]/],
    ['an invalid default value, named in every entry it applies to', { ...shared, ExpectSseC: 'blocked' }, /Buckets\[0\] \(bucket-a\)\.ExpectSseC \(from Defaults\) must be BLOCKED, ALLOWED or REQUIRED, got 'blocked'/],
  ])('%s fails closed', async (_name, defaults, message) => {
    fakeS3();
    const response = await handleEvent(stackCreateEvent({ ServiceToken: 'x', Defaults: defaults, Buckets: [compact('a', 'bucket-a')] } as never) as never, testEnv());
    expect(response).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(message) });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('Update compares full expectations: moving a value into Defaults is not a change, changing a default is', () => {
    const full = [entry({ ...shared, Key: 'a', BucketName: 'bucket-a' } as never), entry({ ...shared, Key: 'b', BucketName: 'bucket-b' } as never)];
    const written = { ServiceToken: 'x', Defaults: shared, Buckets: [compact('a', 'bucket-a', { ExpectHeaders: 'DENY_MISMATCH' }), compact('b', 'bucket-b')] };
    const parsed = stackPropertiesOf(written);
    // From the old flat form (as deployed before Defaults existed) to Defaults: only the entry whose expectations changed.
    expect(changedEntries(parsed, stackProperties(full, [])).map((e) => e.Key)).toEqual(['a']);
    // A changed default changes every entry it applies to.
    expect(changedEntries(stackPropertiesOf({ ...written, Defaults: { ...shared, OnViolation: 'WARN' } }), written).map((e) => e.Key)).toEqual(['a', 'b']);
    expect(changedEntries(parsed, written)).toEqual([]);
  });

  test('Delete with Defaults cleans every bucket up', async () => {
    fakeS3();
    const response = await handleEvent(stackDeleteEvent({ ServiceToken: 'x', Defaults: shared, Buckets: [compact('a', 'bucket-a'), compact('b', 'bucket-b')] }) as never, testEnv());
    expect(response.Status).toBe('SUCCESS');
    expect(s3Mock.commandCalls(ListObjectVersionsCommand).map((call) => call.args[0].input.Bucket).sort()).toEqual(['bucket-a', 'bucket-b']);
  });
});

describe('every property is validated: unknown values fail closed, naming the property and the value', () => {
  const valid = bucketEntry('a', 'bucket-a');
  const cases: [string, unknown, RegExp][] = [
    ['ExpectSseC blocked', { ...valid, ExpectSseC: 'blocked' }, /Buckets\[0\] \(bucket-a\)\.ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got 'blocked'/],
    ['ExpectSseC BLOCK', { ...valid, ExpectSseC: 'BLOCK' }, /ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got 'BLOCK'/],
    ['ExpectSseC true', { ...valid, ExpectSseC: true }, /ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got true/],
    ['ExpectSseC absent', { ...valid, ExpectSseC: undefined }, /ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got nothing/],
    ['OnViolation', { ...valid, OnViolation: 'warn' }, /OnViolation must be FAIL or WARN, got 'warn'/],
    ['ExpectAlgorithm', { ...valid, ExpectAlgorithm: 'aes256' }, /ExpectAlgorithm must be AES256, aws:kms or aws:kms:dsse \(or absent\), got 'aes256'/],
    ['ExpectBucketKey', { ...valid, ExpectBucketKey: true }, /ExpectBucketKey must be true or false \(or absent\), got true/],
    ['ExpectHeaders', { ...valid, ExpectHeaders: 'DENY' }, /ExpectHeaders must be DENY_MISMATCH, REQUIRE or NOT_ENFORCED \(or absent\), got 'DENY'/],
    ['ExpectKmsKeyArn', { ...valid, ExpectAlgorithm: 'aws:kms', ExpectKmsKeyArn: 'alias/mine' }, /ExpectKmsKeyArn must be a KMS key ARN \(or absent\), got 'alias\/mine'/],
    ['ExpectKmsKeyArn without KMS', { ...valid, ExpectKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/abc' }, /ExpectKmsKeyArn needs ExpectAlgorithm aws:kms or aws:kms:dsse, got ExpectAlgorithm 'AES256'/],
    ['ExpectPolicySids a string', { ...valid, ExpectPolicySids: 'DenySseCUploads' }, /ExpectPolicySids must be a list of non-empty strings \(or absent\), got 'DenySseCUploads'/],
    ['ExpectPolicySids numbers', { ...valid, ExpectPolicySids: [1] }, /ExpectPolicySids must be a list of non-empty strings \(or absent\), got \[1\]/],
    ['BucketName', { ...valid, BucketName: ['bucket-a'] }, /Buckets\[0\]\.BucketName must be an S3 bucket name, got \["bucket-a"\]/],
    ['BucketName empty', { ...valid, BucketName: '' }, /BucketName must be an S3 bucket name, got ''/],
    ['Key', { ...valid, Key: 'a.b' }, /Key must be 1-64 letters, digits, - or _, got 'a.b'/],
    ['Fingerprint', { ...valid, Fingerprint: 7 }, /Fingerprint must be a hex string, got 7/],
    ['unknown entry property', { ...valid, ExpectSSEC: 'BLOCKED' }, /ExpectSSEC is not a known property/],
    ['REQUIRED with REQUIRE', { ...valid, ExpectSseC: 'REQUIRED', ExpectHeaders: 'REQUIRE' }, /ExpectSseC REQUIRED cannot be combined with ExpectHeaders REQUIRE/],
    ['entry not an object', 'bucket-a', /Buckets\[0\] must be an object, got 'bucket-a'/],
  ];
  test.each(cases)('%s', async (_name, bad, message) => {
    const response = await handleEvent(stackCreateEvent({ ServiceToken: 'x', Buckets: [bad as CheckEntry] }) as never, testEnv());
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(message);
    expect(response.Reason).not.toMatch(/is not a function|undefined/);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  const stackCases: [string, unknown, RegExp][] = [
    ['Buckets absent', { ServiceToken: 'x' }, /Buckets must be a list of bucket entries, got nothing/],
    ['Buckets a string', { ServiceToken: 'x', Buckets: 'bucket-a' }, /Buckets must be a list of bucket entries, got 'bucket-a'/],
    ['ResourceProperties null', null, /ResourceProperties must be an object, got null/],
    ['duplicate keys', { Buckets: [valid, { ...valid, BucketName: 'bucket-b' }] }, /Buckets\[1\]\.Key 'a' appears more than once/],
    ['Attributes a string', { Buckets: [valid], Attributes: 'a.SseC' }, /Attributes must be a list of '<Key>.<Attribute>' names, got 'a.SseC'/],
    ['Attributes unknown attribute', { Buckets: [valid], Attributes: ['a.Sse'] }, /Attributes\[0\] must be '<Key>.<Attribute>' .* got 'a.Sse'/],
    ['Attributes unknown key', { Buckets: [valid], Attributes: ['z.SseC'] }, /Attributes\[0\] must be .* got 'z.SseC'/],
    ['unknown property', { Buckets: [valid], Bucket: 'x' }, /unknown property Bucket/],
  ];
  test.each(stackCases)('%s', async (_name, props, message) => {
    const response = await handleEvent(stackCreateEvent(props as never) as never, testEnv());
    expect(response).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(message) });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test.each(['create', 'CREATE', 'Updated', undefined, 7])('RequestType %p: FAILED, nothing probed or deleted', async (type) => {
    fakeS3();
    const response = await handleEvent({ ...stackCreateEvent(stackProperties([valid])), RequestType: type } as never, testEnv());
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/RequestType must be Create, Update or Delete, got/);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('Update: the new properties are validated like Create', async () => {
    const response = await handleEvent(stackUpdateEvent({ ServiceToken: 'x', Buckets: [{ ...valid, ExpectSseC: 'blocked' as never }] }, stackProperties([valid])) as never, testEnv());
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID, Reason: expect.stringMatching(/ExpectSseC must be BLOCKED, ALLOWED or REQUIRED, got 'blocked'/) });
  });
});

describe('Delete never fails', () => {
  test.each([
    ['absent', undefined],
    ['null', null],
    ['a string', 'x'],
    ['Buckets null', { Buckets: null }],
    ['Buckets of nonsense', { Buckets: [null, 7, 'x', { Key: 3 }] }],
  ])('ResourceProperties %s: SUCCESS, nothing touched', async (_name, props) => {
    const response = await handleEvent(stackDeleteEvent(props) as never, testEnv());
    expect(response).toEqual(expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID }));
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('cleans the probes of every bucket it can name, also when others are invalid or their cleanup fails', async () => {
    const invalid = { Key: 'b', BucketName: 'bucket-b', ExpectSseC: 'nonsense' };
    const event = stackDeleteEvent({ Buckets: [bucketEntry('a', 'bucket-a'), invalid, { BucketName: 'no-key' }] });
    const leftover = `${checkPrefix(event, 'a')}0707070707070707/upload-without-headers`;
    s3Mock.on(ListObjectVersionsCommand, { Bucket: 'bucket-a' }).resolves({ Versions: [{ Key: leftover, VersionId: 'v1' }], IsTruncated: false });
    s3Mock.on(ListObjectVersionsCommand, { Bucket: 'bucket-b' }).rejects(awsError(500, 'InternalError'));
    s3Mock.on(DeleteObjectsCommand, { Bucket: 'bucket-a' }).resolves({});
    const response = await handleEvent(event as never, testEnv());
    expect(response.Status).toBe('SUCCESS');
    const listed = s3Mock.commandCalls(ListObjectVersionsCommand).map((c) => [c.args[0].input.Bucket, c.args[0].input.Prefix]);
    expect(listed).toEqual(expect.arrayContaining([
      ['bucket-a', checkPrefix(event, 'a')],
      ['bucket-b', checkPrefix(event, 'b')],
    ]));
    expect(s3Mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects)).toEqual([[{ Key: leftover, VersionId: 'v1' }]]);
  });

  test('an unknown RequestType is not a Delete: it fails and deletes nothing', async () => {
    const response = await handleEvent({ ...stackDeleteEvent(stackProperties([bucketEntry('a', 'bucket-a')])), RequestType: 'delete' } as never, testEnv());
    expect(response.Status).toBe('FAILED');
    expect(s3Mock.calls()).toHaveLength(0);
  });
});

describe('mapBounded', () => {
  test('keeps order, never runs more than the limit at once, and turns a throw into that item\'s BatchError', async () => {
    let running = 0;
    let most = 0;
    const results = await mapBounded([1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 8 - n));
      running--;
      if (n === 4) {
        throw new Error('four');
      }
      return n * 10;
    });
    expect(most).toBe(2);
    expect(results.slice(0, 3)).toEqual([10, 20, 30]);
    expect(results[3]).toBeInstanceOf(BatchError);
    expect((results[3] as BatchError).message).toBe('four');
    expect(results.slice(4)).toEqual([50, 60, 70]);
  });

  test('an empty list and a limit above the list length', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
    expect(await mapBounded([1], 4, async (n) => n)).toEqual([1]);
    await expect(mapBounded([1], 0, async (n) => n)).rejects.toThrow(/limit must be a positive integer, got 0/);
  });
});
