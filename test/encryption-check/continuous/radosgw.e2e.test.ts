/**
 * End-to-end: drift after a passing run is reported by the next continuous run. The real
 * continuous path (`handleContinuous`, which runs the deploy-time `runCheck`) against a real
 * S3-compatible server, Ceph radosgw on 127.0.0.1.
 *
 * What radosgw cannot do is modelled as AWS does it, and said here:
 * - radosgw has no `BlockedEncryptionTypes` (FACTS.md), so "SSE-C blocked" is modelled in front
 *   of the client: while the bucket's modelled block is on, an SSE-C PutObject is answered
 *   `403 AccessDenied` without reaching radosgw, exactly as AWS answers a blocked SSE-C write.
 *   "Unblocking" turns the model off, and radosgw then accepts the SSE-C upload for real
 *   (ciphertext at rest, refused without the key), as an AWS bucket with `NONE` would.
 * - The run probes with the bucket owner's credentials, so deleting the bucket policy leaves the
 *   run able to read and probe. On AWS a same-stack bucket's grant to the handler lives in that
 *   bucket policy: deleting the policy makes the run's reads fail with 403, which the run reports
 *   as `Incomplete` (and the alarm counts). Both paths end in the alarm; this test covers the one
 *   radosgw can show, the unit tests the other.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import {
  CreateBucketCommand, DeleteBucketPolicyCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketPolicyCommand, PutBucketVersioningCommand,
  PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketEncryptionPolicy } from '../../../src';
import { CONTINUOUS_MARKER, ContinuousCheckInput } from '../../../src/encryption-check/continuous/types';
import { handleContinuous } from '../../../src/encryption-check/handler/scheduled';
import { PROBE_PREFIX } from '../../../src/encryption-check/types';
import { describeWithRadosgw, s3ClientFor } from '../../radosgw/jest';
import { Radosgw } from '../../radosgw/server';

const run = promisify(execFile);

/** The library's statements radosgw enforces over HTTPS (FACTS.md: its missing-key semantics differ elsewhere). */
const SIDS = [BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT, BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS];

function libraryPolicy(bucket: string): string {
  const stack = new Stack();
  const imported = s3.Bucket.fromBucketArn(stack, 'B', `arn:aws:s3:::${bucket}`);
  const statements = BucketEncryptionPolicy.statements(imported, { encryption: s3.BucketEncryption.S3_MANAGED })
    .map((s) => stack.resolve(s.toStatementJson()))
    .filter((s) => SIDS.includes(s.Sid));
  expect(statements.map((s) => s.Sid).sort()).toEqual([...SIDS].sort());
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** The client the run uses, with AWS's SSE-C block modelled for the buckets in `blocked`. */
function withModelledSseCBlock(client: S3Client, blocked: Set<string>): S3Client {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { send: unknown }).send = async (command: { input: Record<string, unknown> }, ...rest: unknown[]) => {
    if (command instanceof PutObjectCommand && command.input.SSECustomerAlgorithm && blocked.has(command.input.Bucket as string)) {
      throw new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' });
    }
    return send(command, ...rest);
  };
  return client;
}

describeWithRadosgw('continuous check against radosgw', (server: () => Radosgw) => {
  let admin: S3Client;
  beforeAll(() => {
    admin = s3ClientFor(server());
  });
  afterAll(() => admin?.destroy());

  async function everything(bucket: string, prefix?: string): Promise<string[]> {
    const listed = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
    return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => `${v.Key}@${v.VersionId}`).sort();
  }

  test('bucket policy deleted and SSE-C unblocked after a passing run: the next scheduled run reports both, in the log and the metric; nothing left, no user object touched', async () => {
    const bucket = `continuous-${process.pid}-${Date.now() % 100_000}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: libraryPolicy(bucket) }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'user/data.txt', Body: 'user data' }));
    const userObjects = await everything(bucket);

    const blocked = new Set([bucket]);
    const client = withModelledSseCBlock(s3ClientFor(server()), blocked);
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const env = { s3: client, remainingMs: () => 60_000, writeLine: (line: string) => lines.push(line) };
    const input = (extra: Partial<ContinuousCheckInput> = {}) => ({
      [CONTINUOUS_MARKER]: '1',
      Trigger: 'SCHEDULE',
      StackName: 'E2e',
      ...extra,
      Buckets: [{ Key: 'k1', BucketName: bucket, ExpectSseC: 'BLOCKED', ExpectPolicySids: SIDS, OnViolation: 'FAIL', Fingerprint: '0' }],
    });
    const bucketMetric = () => lines.map((l) => JSON.parse(l)).filter((m) => m.Bucket === bucket).pop();
    const stackMetric = () => lines.map((l) => JSON.parse(l)).filter((m) => m.Bucket === undefined).pop();

    try {
      // 1. As deployed: passes.
      const first = await handleContinuous(input(), env);
      expect(first).toMatchObject({ violations: 0, incomplete: 0 });
      expect(bucketMetric()).toMatchObject({ StackName: 'E2e', Bucket: bucket, Violations: 0, Incomplete: 0 });
      expect(await everything(bucket, PROBE_PREFIX)).toEqual([]);

      // 2. Drift, as someone with s3:PutBucketPolicy / s3:PutEncryptionConfiguration could cause it.
      await admin.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      blocked.delete(bucket);

      // 3. The next scheduled run reports both.
      lines.length = 0;
      const second = await handleContinuous(input(), env);
      const violations = second.buckets[0].violations.join(' | ');
      expect(violations).toMatch(/SSE-C uploads to be refused/);
      expect(violations).toMatch(/DenyInsecureTransport/);
      expect(second.violations).toBeGreaterThanOrEqual(2);
      expect(bucketMetric()).toMatchObject({ Bucket: bucket, Violations: second.violations, Incomplete: 0 });
      expect(stackMetric()).toMatchObject({ StackName: 'E2e', Violations: second.violations });
      // The log says what S3 answered to each probe (the accepted SSE-C upload among them).
      const logged = log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"probes"')).pop()!;
      expect(JSON.parse(logged).probes).toEqual(expect.arrayContaining([expect.objectContaining({ probe: 'sse-c-upload', answer: expect.stringMatching(/^200/) })]));

      // 4. A change-triggered run of the same bucket says the same.
      const third = await handleContinuous(input({ Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: bucket, EventName: 'DeleteBucketPolicy' }), env);
      expect(third.violations).toBe(second.violations);

      // Nothing left under the prefix (every probe version deleted by id), the user's object untouched.
      expect(await everything(bucket, PROBE_PREFIX)).toEqual([]);
      expect(await everything(bucket)).toEqual(userObjects);
      const body = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: 'user/data.txt' }));
      expect(await body.Body!.transformToString()).toBe('user data');
    } finally {
      client.destroy();
      jest.restoreAllMocks();
    }
  }, 120_000);

  test('the esbuild bundle: a scheduled input through the Lambda entry point runs the check and writes the metric lines to standard output', async () => {
    const bucket = `continuous-bundle-${process.pid}-${Date.now() % 100_000}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const bundle = path.join(__dirname, '../../../assets/encryption-check/check.lambda/index.js');
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000, invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:check' })
        .then((r) => process.stdout.write('\\n@@RESULT ' + JSON.stringify({ returned: r ?? null })), (e) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify({ error: e.message })); });`;
    // radosgw accepts SSE-C (nothing blocks it here): a bucket that declares BLOCKED has a violation.
    const event = {
      [CONTINUOUS_MARKER]: '1',
      Trigger: 'SCHEDULE',
      StackName: 'E2eBundle',
      Buckets: [{ Key: 'k1', BucketName: bucket, ExpectSseC: 'BLOCKED', OnViolation: 'FAIL', Fingerprint: '0' }],
    };
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
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      },
      timeout: 60_000,
    });
    // A continuous run never fails its invocation.
    expect(JSON.parse(stdout.slice(stdout.lastIndexOf('@@RESULT ') + '@@RESULT '.length))).toEqual({ returned: null });
    const metrics = stdout.split('\n').filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.Bucket)).toEqual([bucket, undefined]);
    expect(metrics[0]).toMatchObject({ StackName: 'E2eBundle', Violations: 1, Incomplete: 0 });
    expect(metrics[1]).toMatchObject({ StackName: 'E2eBundle', Violations: 1 });
    expect(await everything(bucket, PROBE_PREFIX)).toEqual([]);
  }, 90_000);
});
