import type { BucketConfig } from './expected-outcomes';
import { correctUpload, documentedAlgorithm, expectedOutcome, hasCustomerKey } from './expected-outcomes';
import type { BucketFixture } from './fixtures';
import type { S3Request, Transport } from './s3-requests';
import { describeRequest, identityPoliciesOf, S3_ACTIONS, SSE_ALGORITHMS, toSimulatedRequest, TRANSPORTS } from './s3-requests';
import { simulate } from './simulator';

/**
 * The rows of the request matrix for one bucket configuration, grouped as the issue lists them.
 */

/** The lowest TLS version the bucket accepts: the edge every good request uses. */
export function minimumTransport(c: BucketConfig): Transport {
  return c.minimumTLSVersion === 1.3 ? 'TLS 1.3' : 'TLS 1.2';
}

/** Get/Put/Delete/List over plain HTTP and each TLS version; the upload is a correct one. */
export function transportRows(c: BucketConfig): S3Request[] {
  return S3_ACTIONS.flatMap((action) => TRANSPORTS.map((transport) => ({
    principal: 'owner' as const,
    action,
    transport,
    ...(action === 's3:PutObject' ? correctUpload(c) : {}),
  })));
}

/** Uploads with every combination of encryption headers a client might send. */
export function uploadHeaderVariants(c: BucketConfig): Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'>[] {
  const own = documentedAlgorithm(c.encryption);
  const variants: Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'>[] = [
    {}, // no encryption header: the bucket default applies
    { sse: own }, // the bucket's algorithm
  ];
  if (hasCustomerKey(c.encryption)) {
    variants.push({ sse: own, kmsKey: 'bucket key' }); // the bucket's algorithm and key
  }
  for (const other of SSE_ALGORITHMS.filter((a) => a !== own)) {
    variants.push({ sse: other }); // another algorithm
  }
  for (const kmsAlgorithm of SSE_ALGORITHMS.filter((a) => a !== 'AES256')) {
    // A key from another account (on an aws/s3 bucket, any named key).
    variants.push({ sse: kmsAlgorithm, kmsKey: 'foreign key' });
  }
  if (hasCustomerKey(c.encryption)) {
    // The bucket's key under the other KMS algorithm.
    variants.push({ sse: own === 'aws:kms' ? 'aws:kms:dsse' : 'aws:kms', kmsKey: 'bucket key' });
  }
  variants.push({ sseC: true }); // SSE-C
  return variants;
}

/** Each upload variant over the lowest accepted TLS version and over plain HTTP. */
export function uploadRows(c: BucketConfig): S3Request[] {
  return (['HTTP', minimumTransport(c)] as Transport[]).flatMap((transport) =>
    uploadHeaderVariants(c).map((headers) => ({ principal: 'owner' as const, action: 's3:PutObject' as const, transport, ...headers })));
}

/** Principals other than the owner: a bucket-policy grantee, another account, a granted partner. */
export function principalRows(c: BucketConfig): S3Request[] {
  return (['granted', 'foreign', 'partner'] as const).flatMap((principal) => [
    { principal, action: 's3:GetObject' as const, transport: minimumTransport(c) },
    { principal, action: 's3:PutObject' as const, transport: minimumTransport(c), ...correctUpload(c) },
    { principal, action: 's3:PutObject' as const, transport: minimumTransport(c), sseC: true },
    { principal, action: 's3:ListBucket' as const, transport: 'HTTP' as const },
    { principal, action: 's3:DeleteObject' as const, transport: 'TLS 1.1' as const },
  ]);
}

/** Runs `rows` against `fixture` and returns one line per row whose outcome differs from the spec. */
export async function mismatches(fixture: BucketFixture, rows: S3Request[]): Promise<string[]> {
  const problems: string[] = [];
  for (const row of rows) {
    const expected = expectedOutcome(fixture.config, row, fixture.grantsInBucketPolicy);
    const actual = await simulate(toSimulatedRequest(row, fixture), {
      resourcePolicy: fixture.policy,
      identityPolicies: identityPoliciesOf(row.principal, fixture.bucketArn),
    });
    if (actual.result !== expected.outcome || actual.deniedBy.join() !== expected.deniedBy.join()) {
      problems.push(`${describeRequest(row)}: expected ${expected.outcome} [${expected.deniedBy.join(', ')}], ` +
        `got ${actual.result} [${actual.deniedBy.join(', ')}]`);
    }
  }
  return problems;
}
