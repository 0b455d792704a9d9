/**
 * Jest wiring for the radosgw harness: one server per test file, started in beforeAll and
 * stopped in afterAll. Without the Debian packages the suite is skipped locally with a message
 * that says how to install them; in CI (`CI=true`) it runs anyway so that a server that cannot
 * start fails the build instead of silently skipping.
 */
import * as https from 'https';
import { S3Client } from '@aws-sdk/client-s3';
import { missingBinaries, Radosgw, startRadosgw } from './server';

const missing = missingBinaries();
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** `describe` with a running radosgw; `server()` returns it inside tests. */
export function describeWithRadosgw(name: string, body: (server: () => Radosgw) => void): void {
  if (missing.length > 0 && !inCi) {
    describe.skip(`${name} (skipped: ${missing.join(', ')} not installed; run test/radosgw/install.sh)`, () => {
      it('needs radosgw', () => undefined);
    });
    return;
  }
  describe(name, () => {
    let running: Radosgw | undefined;
    beforeAll(async () => {
      running = await startRadosgw();
    }, 90_000);
    afterAll(async () => {
      await running?.stop();
    });
    body(() => {
      if (!running) {
        throw new Error('radosgw did not start (see the beforeAll error)');
      }
      return running;
    });
  });
}

/** An S3 client for `server` that trusts its self-signed certificate; SDK retries off like the handler's. */
export function s3ClientFor(server: Radosgw): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
    // radosgw answers 411 to streamed bodies with the SDK's default trailing checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    requestHandler: { httpsAgent: new https.Agent({ ca: server.ca, keepAlive: true }) },
  });
}
