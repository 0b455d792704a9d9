/**
 * Benchmark of the EncryptionCheck Lambda handler (a script, not a test; `npx projen bench:check`):
 *
 * - bundle size of `assets/encryption-check/check.lambda/index.js` (raw and gzip);
 * - module init time: `require()` of the bundle in a fresh Node process, against `require()` of
 *   `@aws-sdk/client-s3` alone (which the Lambda runtime loads anyway), as a ratio;
 * - a full check against a local radosgw (test/radosgw), as CloudFormation invokes it (one
 *   stack-level event, the answer PUT to a local ResponseURL): wall time of a cold first check
 *   and of warm checks, and the number of S3 requests, against one PutObject round trip as a
 *   ratio; for one bucket and for a stack of 100 buckets (one invocation for all of them).
 *
 * Needs test/radosgw/install.sh. Prints a table and writes `.bench/check-handler.json`.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as zlib from 'zlib';
import { CreateBucketCommand, PutBucketPolicyCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { s3ClientFor } from '../test/radosgw/jest';
import { startRadosgw } from '../test/radosgw/server';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const BUNDLE = path.join(ROOT, 'assets/encryption-check/check.lambda/index.js');
const INIT_RUNS = 15;
const WARM_CHECKS = 10;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Milliseconds `require(target)` takes in a fresh Node process. */
async function requireTime(target: string): Promise<number> {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(target)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT });
  return Number(stdout);
}

/**
 * The child process that runs the bundled handler as Lambda would: each invocation answers the
 * ResponseURL (a local HTTP server here). One cold invocation, then warm ones, then one
 * PutObject. The S3 request count is summed from the per-bucket reports the handler logs.
 */
const CHILD = `
const http = require('http');
const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
const { handler } = require(process.env.BUNDLE);
const context = { getRemainingTimeInMillis: () => 300000, invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:bench' };
(async () => {
  const answers = [];
  const server = http.createServer((req, res) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => { answers.push(JSON.parse(b)); res.end(); }); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = 'http://127.0.0.1:' + server.address().port + '/answer';
  let requests = 0;
  let buckets = 0;
  const log = console.log;
  console.log = (line) => { try { const o = JSON.parse(line); if (o.key && typeof o.s3Requests === 'number') { requests += o.s3Requests; buckets++; } } catch {} };
  console.warn = () => undefined;
  console.error = () => undefined;
  const results = [];
  for (let i = 0; i <= Number(process.env.WARM); i++) {
    const event = JSON.parse(process.env.EVENT);
    event.LogicalResourceId += i;
    event.ResponseURL = url;
    requests = 0;
    buckets = 0;
    const started = process.hrtime.bigint();
    await handler(event, context);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const answer = answers[answers.length - 1];
    results.push({ ms, s3Requests: requests, buckets, status: answer.Status, reason: answer.Reason });
  }
  console.log = log;
  server.close();
  const s3 = new S3Client({ maxAttempts: 1 });
  const puts = [];
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    await s3.send(new PutObjectCommand({ Bucket: process.env.PUT_BUCKET, Key: 'bench/put-' + i, Body: Buffer.alloc(32), ServerSideEncryption: 'AES256' }));
    puts.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  process.stdout.write('\\n@@RESULT ' + JSON.stringify({ results, puts }));
})().catch((e) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify({ error: e.message })); });
`;

async function main(): Promise<void> {
  if (!fs.existsSync(BUNDLE)) {
    throw new Error(`${BUNDLE} is missing: run \`npx projen bundle\` first`);
  }
  const raw = fs.readFileSync(BUNDLE);
  const bundle = { bytes: raw.length, gzipBytes: zlib.gzipSync(raw).length };

  const sdkInit: number[] = [];
  const handlerInit: number[] = [];
  for (let i = 0; i < INIT_RUNS; i++) {
    sdkInit.push(await requireTime('@aws-sdk/client-s3'));
    handlerInit.push(await requireTime(BUNDLE));
  }
  const init = {
    sdkMs: round(median(sdkInit)),
    handlerMs: round(median(handlerInit)),
    ratio: round(median(handlerInit) / median(sdkInit), 2),
  };

  const server = await startRadosgw();
  const scenarios: Record<string, unknown> = {};
  try {
    const admin = s3ClientFor(server);
    const env = {
      PATH: process.env.PATH,
      BUNDLE,
      WARM: String(WARM_CHECKS),
      NODE_EXTRA_CA_CERTS: server.caFile,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    };
    const versioned = async (bucket: string) => {
      await admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    };
    const setups: Record<string, { buckets: number; warm: number; props: Record<string, unknown>; setup: (bucket: string) => Promise<void> }> = {
      // The most requests per bucket: SSE-C accepted and read back, two versions deleted.
      'sse-c-allowed-versioned': {
        buckets: 1,
        warm: WARM_CHECKS,
        // No ExpectAlgorithm: radosgw has no SSE-S3, so a declared AES256 would stay unverified, a
        // violation the handler probes again for its whole re-probe window (60 s in the bundle)
        // before it counts, which would time the window instead of the check. The probes are the
        // same without it.
        props: { ExpectSseC: 'ALLOWED', OnViolation: 'WARN' },
        setup: versioned,
      },
      // Headers required by the bucket policy (radosgw enforces `Null: true`): uploads refused.
      'headers-required': {
        buckets: 1,
        warm: WARM_CHECKS,
        props: { ExpectSseC: 'BLOCKED', OnViolation: 'WARN' },
        setup: async (bucket) => {
          await admin.send(new PutBucketPolicyCommand({
            Bucket: bucket,
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{
                Sid: 'DenyMissingEncryptionHeader',
                Effect: 'Deny',
                Principal: { AWS: '*' },
                Action: 's3:PutObject',
                Resource: `arn:aws:s3:::${bucket}/*`,
                Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
              }],
            }),
          }));
        },
      },
      // A stack of 100 buckets: one custom resource, one Lambda invocation (target: 10 s wall).
      'stack-of-100-buckets': {
        buckets: 100,
        warm: 3,
        props: { ExpectSseC: 'ALLOWED', OnViolation: 'FAIL' },
        setup: versioned,
      },
    };
    for (const [name, scenario] of Object.entries(setups)) {
      const names = Array.from({ length: scenario.buckets }, (_, i) => `bench-${name}-${i}`);
      await Promise.all(names.map(async (bucket) => {
        await admin.send(new CreateBucketCommand({ Bucket: bucket }));
        await scenario.setup(bucket);
      }));
      const event = {
        RequestType: 'Create',
        ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:bench',
        ResponseURL: 'set by the child',
        StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/Bench/1',
        RequestId: 'bench',
        LogicalResourceId: 'Check',
        ResourceType: 'Custom::S3EncryptionCheck',
        ResourceProperties: {
          ServiceToken: 'bench',
          Buckets: names.map((bucket, i) => ({ Key: `k${i}`, BucketName: bucket, Fingerprint: '0', ...scenario.props })),
        },
      };
      const { stdout } = await run(process.execPath, ['-e', CHILD], {
        cwd: ROOT,
        env: { ...env, WARM: String(scenario.warm), PUT_BUCKET: names[0], EVENT: JSON.stringify(event) },
        timeout: 600_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const result = JSON.parse(stdout.slice(stdout.lastIndexOf('@@RESULT ') + '@@RESULT '.length));
      if (result.error) {
        throw new Error(`${name}: ${result.error}`);
      }
      const [cold, ...warm] = result.results as { ms: number; s3Requests: number; buckets: number; status: string; reason?: string }[];
      if (cold.status !== 'SUCCESS') {
        throw new Error(`${name}: the check answered ${cold.status}: ${cold.reason}`);
      }
      const putMs = median(result.puts);
      scenarios[name] = {
        buckets: scenario.buckets,
        lambdaInvocations: 1,
        coldCheckMs: round(cold.ms),
        warmCheckMs: round(median(warm.map((w) => w.ms))),
        s3Requests: cold.s3Requests,
        s3RequestsPerBucket: round(cold.s3Requests / cold.buckets, 1),
        onePutObjectMs: round(putMs),
        warmCheckOverPutObject: round(median(warm.map((w) => w.ms)) / putMs, 1),
      };
    }
    admin.destroy();
  } finally {
    await server.stop();
  }

  const results = { node: process.version, radosgwStartupMs: server.startupMs, bundle, init, scenarios };
  fs.mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, '.bench/check-handler.json'), JSON.stringify(results, null, 2));
  console.log(`bundle: ${bundle.bytes} B (${bundle.gzipBytes} B gzip), AWS SDK external`);
  console.log(`module init (median of ${INIT_RUNS} fresh processes): handler ${init.handlerMs} ms vs @aws-sdk/client-s3 alone ${init.sdkMs} ms (ratio ${init.ratio})`);
  console.log(`radosgw started in ${server.startupMs} ms`);
  console.table(scenarios);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
