/**
 * End-to-end: the real handler (source, and the esbuild bundle in a separate Node process)
 * against a real S3-compatible server, Ceph radosgw on 127.0.0.1. It proves what radosgw does
 * like S3: SSE-C (ciphertext at rest, refusal without the key, read-back with it), bucket policy
 * refusals of mismatched and absent headers, Object Lock, and that every probe object and
 * version is deleted. What radosgw does differently (no SSE-S3, no default encryption, no SSE-C
 * condition key, BlockedEncryptionTypes) is covered by the AWS-shaped mocks in the unit tests.
 */
import { execFile } from 'child_process';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { promisify } from 'util';
import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { bucketEntryFor, createEvent, deleteEvent, KEY, PHYSICAL_ID, stackCreateEvent, stackProperties } from './events';
import { BucketEncryptionPolicy, EncryptionHeaders } from '../../src';
import { checkPrefix as prefixOf, handleEvent, HandlerEnvironment } from '../../src/encryption-check/handler/on-event';
import { PROBE_PREFIX } from '../../src/encryption-check/types';
import { describeWithRadosgw, s3ClientFor } from '../radosgw/jest';
import { Radosgw } from '../radosgw/server';

/** The probe prefix of the single bucket (key `KEY`) of `event`. */
function checkPrefix(event: Parameters<typeof prefixOf>[0]): string {
  return prefixOf(event, KEY);
}

/**
 * The stack check's answer for a one-bucket event, read per bucket: FAILED throws its reason;
 * SUCCESS returns the bucket's attributes without their key prefix, and the full report the
 * handler logged in place of the (size-limited) Report attribute.
 */
async function onEvent(event: unknown, env: HandlerEnvironment): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    const response = await handleEvent(event as never, env);
    if (response.Status === 'FAILED') {
      throw new Error(response.Reason);
    }
    if (!response.Data) {
      return { PhysicalResourceId: response.PhysicalResourceId };
    }
    const data: Record<string, string> = Object.fromEntries(
      Object.entries(response.Data).map(([name, value]) => [name.slice(KEY.length + 1), value]));
    const logged = log.mock.calls.map(([line]) => String(line)).filter((line) => line.startsWith(`{"key":"${KEY}"`));
    if (logged.length > 0) {
      const { key: _key, ...report } = JSON.parse(logged[logged.length - 1]);
      data.Report = JSON.stringify(report);
    }
    return { PhysicalResourceId: response.PhysicalResourceId, Data: data };
  } finally {
    log.mockRestore();
  }
}

const run = promisify(execFile);

/** Runs `work` with the handler's per-bucket log lines silenced. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const spies = (['log', 'warn', 'error'] as const).map((level) => jest.spyOn(console, level).mockImplementation(() => undefined));
  try {
    return await work();
  } finally {
    spies.forEach((mocked) => mocked.mockRestore());
  }
}
let counter = 0;
const bucketName = (what: string) => `e2e-${what}-${process.pid}-${++counter}`;

/** Every version and delete marker under the reserved prefix. */
async function probeLeftovers(client: S3Client, bucket: string): Promise<string[]> {
  const listed = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: PROBE_PREFIX }));
  return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => `${v.Key}@${v.VersionId}`);
}

/** The library's own statements for `bucket` as JSON (literal ARNs, no tokens), and their Sids. */
function libraryStatements(bucket: string, encryptionHeaders: EncryptionHeaders): { statements: { Sid: string }[]; sids: string[] } {
  const stack = new Stack();
  const imported = s3.Bucket.fromBucketArn(stack, 'B', `arn:aws:s3:::${bucket}`);
  const statements = BucketEncryptionPolicy.statements(imported, { encryption: s3.BucketEncryption.S3_MANAGED, encryptionHeaders });
  return { statements: statements.map((s) => stack.resolve(s.toStatementJson())), sids: statements.map((s) => s.sid!) };
}

/** Wraps `client.send` to see every command the handler sends, and to act before some of them. */
function spy(client: S3Client, before?: (command: { constructor: { name: string }; input: unknown }) => Promise<void>) {
  const sent: { name: string; input: unknown }[] = [];
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { send: unknown }).send = async (command: { constructor: { name: string }; input: unknown }, ...rest: unknown[]) => {
    sent.push({ name: command.constructor.name, input: command.input });
    await before?.(command);
    return send(command, ...rest);
  };
  return sent;
}

describeWithRadosgw('EncryptionCheck handler against radosgw', (server: () => Radosgw) => {
  let admin: S3Client;
  beforeAll(() => {
    admin = s3ClientFor(server());
  });
  afterAll(() => admin?.destroy());

  // Violations here are real and lasting (radosgw applies settings at once), so the re-probe
  // window that rides out propagation on AWS (60 s by default) is kept short; the window itself
  // is tested in test/encryption-check/handler/run-check.test.ts.
  const handlerEnv = (client: S3Client) => ({ s3: client, remainingMs: () => 120_000, recheckWindowMs: 1_000 });

  async function newBucket(what: string, options: { versioned?: boolean; objectLock?: boolean } = {}): Promise<string> {
    const bucket = bucketName(what);
    await admin.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: options.objectLock }));
    if (options.versioned) {
      await admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    }
    return bucket;
  }

  test('SSE-C probe: ciphertext at rest, refused without the key, same bytes with it; nothing left behind', async () => {
    const bucket = await newBucket('ssec', { versioned: true });
    const client = s3ClientFor(server());
    let plaintext: Buffer | undefined;
    let atRest: Buffer | undefined;
    const sent = spy(client, async (command) => {
      const input = command.input as PutObjectCommandInput;
      if (command.constructor.name === 'PutObjectCommand' && input.SSECustomerKey) {
        plaintext = Buffer.from(input.Body as Uint8Array);
      }
      if (command.constructor.name === 'DeleteObjectsCommand') {
        // Before cleanup: read the SSE-C object's bytes straight from the OSD, past radosgw.
        // A versioned bucket also has an empty head object per key: keep the largest match.
        const names = (await server().rados(['-p', 'default.rgw.buckets.data', 'ls'])).toString().split('\n');
        for (const raw of names.filter((n) => n.endsWith('/sse-c-upload'))) {
          const bytes = await server().rados(['-p', 'default.rgw.buckets.data', 'get', raw, '-']);
          if (!atRest || bytes.length > atRest.length) {
            atRest = bytes;
          }
        }
      }
    });

    const response = await onEvent(createEvent({ BucketName: bucket, ExpectSseC: 'ALLOWED' }), handlerEnv(client));

    expect(response.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(response.Data).toMatchObject({ SseC: 'ALLOWED', Violations: '0', AbsentHeaderRefused: 'false' });
    const report = JSON.parse(response.Data!.Report);
    expect(report.probes).toEqual(expect.arrayContaining([
      { probe: 'sse-c-head-without-key', answer: '400' },
      { probe: 'sse-c-get-with-key', answer: '200 same bytes' },
    ]));
    expect(plaintext).toHaveLength(32);
    expect(atRest).toBeDefined();
    expect(atRest!.length).toBeGreaterThanOrEqual(32);
    expect(atRest!.includes(plaintext!)).toBe(false);
    // Conditional writes only, under the reserved prefix.
    const puts = sent.filter((c) => c.name === 'PutObjectCommand').map((c) => c.input as PutObjectCommandInput);
    expect(puts.every((p) => p.IfNoneMatch === '*' && p.Key!.startsWith(PROBE_PREFIX))).toBe(true);
    expect(report.cleanup).toEqual({ deleted: 2, leftovers: [] });
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
    expect(sent.length).toBeLessThanOrEqual(10);
  });

  // radosgw evaluates `Null: false` like `Null: true` (it denies requests *without* the header),
  // so the library's DENY_MISMATCH and SSE-C statements cannot be tested here; the mocks cover
  // them. `Null: true` (DenyMissingEncryptionHeader) it evaluates like AWS.
  test('a bucket policy radosgw enforces: absent header refused (403), declared header accepted, the missing mismatch deny reported', async () => {
    const bucket = await newBucket('require', { versioned: true });
    const { statements, sids } = libraryStatements(bucket, EncryptionHeaders.REQUIRE);
    const enforceable = [
      BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT,
      BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS,
      BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION,
    ];
    await admin.send(new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements.filter((s) => enforceable.includes(s.Sid)) }),
    }));

    const response = await onEvent(createEvent({
      BucketName: bucket, ExpectSseC: 'BLOCKED', ExpectAlgorithm: 'AES256', ExpectHeaders: 'REQUIRE', ExpectPolicySids: sids, OnViolation: 'WARN',
    }), handlerEnv(s3ClientFor(server())));

    // An SSE-C upload sends no x-amz-server-side-encryption header, so REQUIRE refuses it too.
    // radosgw has no SSE-S3 (it reports no algorithm), so the declared AES256 stays unverified:
    // a declared expectation the check could not verify is a violation too.
    expect(response.Data).toMatchObject({ SseC: 'BLOCKED', AbsentHeaderRefused: 'true', MismatchedHeaderRefused: 'false', Violations: '3' });
    const report = JSON.parse(response.Data!.Report);
    expect(report.probes).toEqual(expect.arrayContaining([
      { probe: 'sse-c-upload', answer: '403 AccessDenied' },
      { probe: 'upload-without-headers', answer: '403 AccessDenied' },
      expect.objectContaining({ probe: 'upload-with-declared-headers', answer: expect.stringMatching(/^200/) }),
    ]));
    expect(report.violations).toEqual([
      `bucket ${bucket}: the check could not verify the default algorithm AES256: S3 reported no algorithm for the accepted upload-with-declared-headers and GetBucketEncryption showed no rule`,
      expect.stringMatching(new RegExp(`^bucket ${bucket}, probe upload-with-mismatched-algorithm: expected a 403 refusal, but S3 answered 4\\d\\d`)),
      expect.stringMatching(/probe GetBucketPolicy: expected statements DenySseCUploads, DenyMismatchedEncryptionHeader, but S3 answered a policy with DenyInsecureTransport, DenyOutdatedTls, DenyMissingEncryptionHeader/),
    ]);
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
  });

  test('a violation fails Create with the bucket, the probe and what S3 answered, and still cleans up', async () => {
    const bucket = await newBucket('violation', { versioned: true });
    await expect(onEvent(createEvent({ BucketName: bucket, ExpectSseC: 'BLOCKED' }), handlerEnv(s3ClientFor(server()))))
      .rejects.toThrow(new RegExp(`bucket ${bucket}, probe sse-c-upload: expected SSE-C uploads to be refused with 403, but S3 answered 200`));
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
  });

  test('WARN reports the violation and succeeds', async () => {
    const bucket = await newBucket('warn');
    const response = await onEvent(createEvent({ BucketName: bucket, ExpectSseC: 'BLOCKED', OnViolation: 'WARN' }), handlerEnv(s3ClientFor(server())));
    expect(response.Data).toMatchObject({ SseC: 'ALLOWED', Violations: '1' });
    expect(JSON.parse(response.Data!.Report).violations[0]).toMatch(/probe sse-c-upload/);
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
  });

  test('Object Lock default retention: nothing is written, and the report says what was not verified', async () => {
    const bucket = await newBucket('lock', { objectLock: true });
    await admin.send(new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
    }));
    const client = s3ClientFor(server());
    const sent = spy(client);

    const response = await onEvent(createEvent({ BucketName: bucket, ExpectSseC: 'BLOCKED' }), handlerEnv(client));

    expect(sent.map((c) => c.name)).not.toContain('PutObjectCommand');
    expect(response.Data).toMatchObject({ SseC: 'UNVERIFIED', Violations: '0' });
    expect(JSON.parse(response.Data!.Report).unverified[0]).toMatch(/Object Lock default retention/);
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
  });

  test('Delete removes every leftover version and delete marker under the check\'s prefix, and nothing else', async () => {
    const bucket = await newBucket('delete', { versioned: true });
    const event = deleteEvent({ BucketName: bucket });
    const leftover = `${checkPrefix(event)}run/upload-without-headers`;
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: leftover, Body: 'one' }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: leftover, Body: 'two' }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'user-data.txt', Body: 'keep me' }));

    const response = await onEvent(event, handlerEnv(s3ClientFor(server())));

    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
    const all = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(all.Versions?.map((v) => v.Key)).toEqual(['user-data.txt']);
  });

  test('Delete succeeds when the bucket is already gone', async () => {
    const response = await onEvent(deleteEvent({ BucketName: bucketName('gone') }), handlerEnv(s3ClientFor(server())));
    expect(response.PhysicalResourceId).toBe(PHYSICAL_ID);
  });

  test('the esbuild bundle runs in its own Node process with the SDK from node_modules, and PUTs its answer to the ResponseURL', async () => {
    const bucket = await newBucket('bundle', { versioned: true });
    const answers: string[] = [];
    const responder = http.createServer((request, reply) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        answers.push(body);
        reply.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => responder.listen(0, '127.0.0.1', resolve));
    try {
      const bundle = path.join(__dirname, '../../assets/encryption-check/check.lambda/index.js');
      const script = `
        const { handler } = require(${JSON.stringify(bundle)});
        handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000, invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:check' })
          .then((r) => process.stdout.write('\\n@@RESULT ' + JSON.stringify({ returned: r ?? null })), (e) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify({ error: e.message })); });`;
      const event = { ...createEvent({ BucketName: bucket, ExpectSseC: 'ALLOWED' }), ResponseURL: `http://127.0.0.1:${(responder.address() as AddressInfo).port}/answer` };
      const { stdout } = await run(process.execPath, ['-e', script], {
        env: {
          PATH: process.env.PATH,
          EVENT: JSON.stringify(event),
          NODE_EXTRA_CA_CERTS: server().caFile,
          AWS_ENDPOINT_URL_S3: server().endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: server().accessKeyId,
          AWS_SECRET_ACCESS_KEY: server().secretAccessKey,
          AWS_S3_FORCE_PATH_STYLE: 'true',
        },
        timeout: 60_000,
      });
      // The invocation itself never fails: the answer goes to CloudFormation.
      expect(JSON.parse(stdout.slice(stdout.lastIndexOf('@@RESULT ') + '@@RESULT '.length))).toEqual({ returned: null });
      expect(answers).toHaveLength(1);
      const answer = JSON.parse(answers[0]);
      expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID, Data: { [`${KEY}.SseC`]: 'ALLOWED', [`${KEY}.Violations`]: '0' } });
      expect(await probeLeftovers(admin, bucket)).toEqual([]);
    } finally {
      await new Promise((resolve) => responder.close(resolve));
    }
  });

  describe('one check for many buckets', () => {
    test('100 buckets in one event: every bucket checked, SUCCESS, nothing left behind', async () => {
      const buckets = await Promise.all(Array.from({ length: 100 }, () => newBucket('many', { versioned: true })));
      const entries = buckets.map((bucket, i) => bucketEntryFor(`k${i}`, bucket, { ExpectSseC: 'ALLOWED' }));
      const started = Date.now();
      const response = await quietly(() => handleEvent(stackCreateEvent(stackProperties(entries, ['k0.SseC', 'k99.Violations'])) as never, handlerEnv(s3ClientFor(server()))));
      const elapsed = Date.now() - started;
      expect(response).toMatchObject({ Status: 'SUCCESS', Data: { 'k0.SseC': 'ALLOWED', 'k99.Violations': '0' } });
      // The target is 10 s on a quiet machine (bench/check-handler.ts measures it); a test only
      // guards against the check going serial or hanging.
      expect(elapsed).toBeLessThan(60_000);
      const leftovers = await Promise.all(buckets.map((bucket) => probeLeftovers(admin, bucket)));
      expect(leftovers.flat()).toEqual([]);
    }, 180_000);

    test('one misconfigured bucket among 50 fails the check, and the message names it and only it', async () => {
      const buckets = await Promise.all(Array.from({ length: 50 }, () => newBucket('fifty', { versioned: true })));
      // radosgw cannot block SSE-C: the bucket that must block it is the misconfigured one.
      const entries = buckets.map((bucket, i) => bucketEntryFor(`k${i}`, bucket, { ExpectSseC: i === 17 ? 'BLOCKED' : 'ALLOWED' }));
      const response = await quietly(() => handleEvent(stackCreateEvent(stackProperties(entries, [])) as never, handlerEnv(s3ClientFor(server()))));
      expect(response.Status).toBe('FAILED');
      expect(response.Reason).toMatch(new RegExp(`^S3 encryption check failed for 1 of 50 bucket\\(s\\): bucket ${buckets[17]} found 1 violation\\(s\\): bucket ${buckets[17]}, probe sse-c-upload: expected SSE-C uploads to be refused with 403, but S3 answered 200`));
      for (const [i, bucket] of buckets.entries()) {
        if (i !== 17) {
          expect(response.Reason).not.toContain(bucket);
        }
      }
      const leftovers = await Promise.all(buckets.map((bucket) => probeLeftovers(admin, bucket)));
      expect(leftovers.flat()).toEqual([]);
    }, 120_000);
  });
});
