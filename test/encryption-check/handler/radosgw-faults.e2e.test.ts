/**
 * End-to-end: the per-bucket check (`runCheck`) against radosgw through a fault-injecting proxy
 * (test/radosgw/fault-proxy.ts): 503 SlowDown, 500 InternalError, reset connections, slow
 * answers, answers lost after the write landed, failing deletes. The proxy answers 412 to a
 * PutObject with `If-None-Match: *` on an existing key as AWS does (radosgw ignores the header);
 * one test turns that model off to show what radosgw itself does (a second version).
 *
 * What must hold whatever the faults: a correct bucket passes, or fails naming the fault (never
 * blaming the bucket); every probe version left under the prefix is reported; nothing outside
 * the prefix is touched. The bucket is "correct" in what radosgw can do like AWS: SSE-C accepted
 * and read back, uploads without headers accepted.
 */
import * as http from 'http';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CheckReport, runCheck } from '../../../src/encryption-check/handler/run-check';
import { CheckProperties, PROBE_PREFIX } from '../../../src/encryption-check/types';
import { Fault, FaultProxy, FaultProxyOptions, startFaultProxy } from '../../radosgw/fault-proxy';
import { describeWithRadosgw, s3ClientFor } from '../../radosgw/jest';
import { Radosgw } from '../../radosgw/server';

const FAULT = 'a fault of S3 or the network, not the bucket\'s verdict';
const USER_KEY = 'user-data.txt';
let counter = 0;

describeWithRadosgw('the per-bucket check through a fault-injecting proxy', (server: () => Radosgw) => {
  let admin: S3Client;
  const proxies: FaultProxy[] = [];
  const clients: S3Client[] = [];
  beforeAll(() => {
    admin = s3ClientFor(server());
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
    clients.splice(0).forEach((c) => c.destroy());
  });
  afterAll(() => admin?.destroy());

  /** A versioned bucket holding one user object outside the probe prefix. */
  async function newBucket(): Promise<string> {
    const bucket = `faults-${process.pid}-${++counter}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: USER_KEY, Body: 'keep me' }));
    return bucket;
  }

  /** Whether the key's current version exists, asked past the proxy (for the AWS 412 model). */
  async function exists(bucket: string, key: string): Promise<boolean> {
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    return (listed.Contents ?? []).some((o) => o.Key === key);
  }

  async function proxiedClient(options: Omit<FaultProxyOptions, 'target' | 'ca' | 'exists'>): Promise<{ client: S3Client; proxy: FaultProxy }> {
    const proxy = await startFaultProxy({ target: server().endpoint, ca: server().ca, exists, ...options });
    proxies.push(proxy);
    const client = new S3Client({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: server().accessKeyId, secretAccessKey: server().secretAccessKey },
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true }) },
    });
    clients.push(client);
    return { client, proxy };
  }

  const props = (bucket: string): CheckProperties => ({ BucketName: bucket, ExpectSseC: 'ALLOWED', OnViolation: 'FAIL' });

  async function check(client: S3Client, bucket: string): Promise<CheckReport> {
    const now = Date.now();
    return runCheck(props(bucket), {
      s3: client,
      prefix: `${PROBE_PREFIX}${process.pid}-${counter}/`,
      deadline: now + 12_000,
      cleanupDeadline: now + 20_000,
      attemptTimeoutMs: 500,
      recheckWindowMs: 1_500,
      recheckDelayMs: 250,
      lateWriteWaitMs: 300,
    });
  }

  /** Every version and delete marker under the probe prefix, listed straight from radosgw. */
  async function probeVersions(bucket: string): Promise<{ key: string; version: string }[]> {
    const listed = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: PROBE_PREFIX }));
    return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({ key: v.Key!, version: v.VersionId! }));
  }

  /** The invariants of every run, whatever the faults. */
  async function expectSafe(bucket: string, report: CheckReport, proxy: FaultProxy): Promise<void> {
    // Pass, or fail naming the fault: no violation blames the bucket.
    for (const violation of report.violations) {
      expect(violation).toContain(FAULT);
    }
    // Every version left under the prefix is reported (by key, with or without its version id).
    const reported = [...report.cleanup.leftovers, ...report.cleanup.unsettled ?? []];
    for (const left of await probeVersions(bucket)) {
      expect(reported.some((r) => r.startsWith(left.key))).toBe(true);
    }
    // Nothing outside the prefix was touched: not by a request, not in a DeleteObjects body.
    for (const request of proxy.requests) {
      if (request.key !== '') {
        expect(request.key.startsWith(PROBE_PREFIX)).toBe(true);
      }
      request.deleteKeys.forEach((key) => expect(key.startsWith(PROBE_PREFIX)).toBe(true));
    }
    const user = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: USER_KEY }));
    expect(user.Versions).toHaveLength(1);
    expect(user.DeleteMarkers ?? []).toHaveLength(0);
    const body = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: USER_KEY }));
    expect(await body.Body!.transformToString()).toBe('keep me');
  }

  /** Loses the answer to the first PutObject of the upload without headers, after radosgw wrote it. */
  const loseFirstPlainAnswer = () => {
    let lost = false;
    return (request: { method: string; key: string }): Fault | 'none' => {
      if (!lost && request.method === 'PUT' && request.key.endsWith('/upload-without-headers')) {
        lost = true;
        return 'answer-lost';
      }
      return 'none';
    };
  };

  test('an answer lost after the write landed, the retry answered 412 as AWS does: the bucket passes, nothing is left', async () => {
    const bucket = await newBucket();
    const { client, proxy } = await proxiedClient({ seed: 1, script: loseFirstPlainAnswer() });

    const report = await check(client, bucket);

    expect(report.violations).toEqual([]);
    expect(report.attributes).toMatchObject({ SseC: 'ALLOWED', AbsentHeaderRefused: 'false' });
    expect(proxy.requests.filter((r) => r.fault === 'answer-lost')).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.fault === 'precondition-failed')).toHaveLength(1);
    expect(report.notes).toContainEqual(expect.stringMatching(/then 412 PreconditionFailed on the retry: the earlier attempt had landed/));
    expect(await probeVersions(bucket)).toEqual([]);
    expect(report.cleanup.leftovers).toEqual([]);
    await expectSafe(bucket, report, proxy);
  });

  test('radosgw\'s own behaviour (If-None-Match ignored): the retry writes a second version, which cleanup finds by listing', async () => {
    const bucket = await newBucket();
    const { client, proxy } = await proxiedClient({ seed: 2, script: loseFirstPlainAnswer(), modelIfNoneMatch: false });

    const report = await check(client, bucket);

    expect(report.violations).toEqual([]);
    const plainPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.key.endsWith('/upload-without-headers'));
    expect(plainPuts.map((r) => r.status)).toEqual([200, 200]);
    expect(await probeVersions(bucket)).toEqual([]);
    expect(report.cleanup.leftovers).toEqual([]);
    await expectSafe(bucket, report, proxy);
  });

  test('failing deletes: what cannot be deleted is reported, by key', async () => {
    const bucket = await newBucket();
    const { client, proxy } = await proxiedClient({
      seed: 3, script: (r) => r.method === 'POST' && /(^|&)delete/.test(r.query) ? 'fail-delete' : 'none',
    });
    const report = await check(client, bucket);
    expect(report.violations).toEqual([]);
    const left = await probeVersions(bucket);
    expect(left.length).toBeGreaterThan(0);
    expect(report.cleanup.leftovers).toContain('DeleteObjects failed: 500 InternalError "We encountered an internal error. Please try again."');
    await expectSafe(bucket, report, proxy);
  });

  test('seeded random faults (5xx, resets, delays, lost answers, failing deletes): every run passes or names the fault, and reports what it left', async () => {
    const outcomes: string[] = [];
    const seen = new Set<string>();
    const moderate = { slowDown: 0.08, internalError: 0.05, reset: 0.05, answerLost: 0.08, delay: 0.04, failDelete: 0.2 };
    const heavy = { slowDown: 0.15, internalError: 0.1, reset: 0.1, answerLost: 0.15, delay: 0.05, failDelete: 0.5 };
    const runs = [
      ...[100, 101, 102, 103, 104, 105, 106, 107].map((seed) => ({ seed, rates: moderate })),
      ...[200, 201, 202, 203, 204].map((seed) => ({ seed, rates: heavy })),
    ];
    for (const { seed, rates } of runs) {
      const bucket = await newBucket();
      const { client, proxy } = await proxiedClient({ seed, rates, delayMs: 700 });
      const report = await check(client, bucket);
      await expectSafe(bucket, report, proxy);
      proxy.requests.forEach((r) => r.fault && seen.add(r.fault));
      outcomes.push(`seed ${seed}: ${report.violations.length} violation(s), ${report.faults.length} fault(s), ${report.cleanup.leftovers.length} leftover(s)`
        + `${report.violations.length ? `: ${report.violations[0]}` : ''}`);
    }
    // The run exercised what it claims to (the faults are seeded, the order of concurrent requests is not).
    expect([...seen]).toEqual(expect.arrayContaining(['slow-down', 'answer-lost', 'fail-delete']));
    console.log(outcomes.join('\n'));
  }, 90_000);
});
