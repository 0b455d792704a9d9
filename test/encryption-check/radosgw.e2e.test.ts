/**
 * End-to-end: the real handler (source, and the esbuild bundle in a separate Node process)
 * against a real S3-compatible server, Ceph radosgw on 127.0.0.1. It proves what radosgw does
 * like S3: SSE-C (ciphertext at rest, refusal without the key, read-back with it), bucket policy
 * refusals of mismatched and absent headers, Object Lock, and that every probe object and
 * version is deleted. What radosgw does differently (no SSE-S3, no default encryption, no SSE-C
 * condition key, BlockedEncryptionTypes) is covered by the AWS-shaped mocks in the unit tests.
 */
import { execFile } from 'child_process';
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
import { createEvent, deleteEvent } from './events';
import { BucketEncryptionPolicy, EncryptionHeaders } from '../../src';
import { checkPrefix, onEvent } from '../../src/encryption-check/handler/on-event';
import { PROBE_PREFIX } from '../../src/encryption-check/types';
import { describeWithRadosgw, s3ClientFor } from '../radosgw/jest';
import { Radosgw } from '../radosgw/server';

const run = promisify(execFile);
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

  const handlerEnv = (client: S3Client) => ({ s3: client, remainingMs: () => 60_000 });

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

    expect(response.PhysicalResourceId).toBe(`s3-encryption-check:${bucket}`);
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

    expect(response).toEqual({ PhysicalResourceId: `s3-encryption-check:${bucket}` });
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
    const all = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(all.Versions?.map((v) => v.Key)).toEqual(['user-data.txt']);
  });

  test('Delete succeeds when the bucket is already gone', async () => {
    const response = await onEvent(deleteEvent({ BucketName: bucketName('gone') }), handlerEnv(s3ClientFor(server())));
    expect(response.PhysicalResourceId).toMatch(/^s3-encryption-check:e2e-gone-/);
  });

  test('the esbuild bundle runs in its own Node process with the SDK from node_modules (as the Lambda runtime provides it)', async () => {
    const bucket = await newBucket('bundle', { versioned: true });
    const bundle = path.join(__dirname, '../../assets/encryption-check/check.lambda/index.js');
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000 })
        .then((r) => process.stdout.write('\\n@@RESULT ' + JSON.stringify(r)), (e) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify({ error: e.message })); });`;
    const { stdout } = await run(process.execPath, ['-e', script], {
      env: {
        PATH: process.env.PATH,
        EVENT: JSON.stringify(createEvent({ BucketName: bucket, ExpectSseC: 'ALLOWED' })),
        NODE_EXTRA_CA_CERTS: server().caFile,
        AWS_ENDPOINT_URL_S3: server().endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: server().accessKeyId,
        AWS_SECRET_ACCESS_KEY: server().secretAccessKey,
        AWS_S3_FORCE_PATH_STYLE: 'true',
      },
      timeout: 60_000,
    });
    const response = JSON.parse(stdout.slice(stdout.lastIndexOf('@@RESULT ') + '@@RESULT '.length));
    expect(response.error).toBeUndefined();
    expect(response.Data).toMatchObject({ SseC: 'ALLOWED', Violations: '0' });
    expect(await probeLeftovers(admin, bucket)).toEqual([]);
  });
});
