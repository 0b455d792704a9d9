import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import type { SimulatedRequest } from './simulator';

/**
 * The requests the tests send, in S3's own terms, and how each becomes the context keys S3 would
 * put on it. Only keys S3 fills in for the action are sent (the simulator wrapper treats any
 * other key as a test error).
 */

export const OWNER_ACCOUNT = '111111111111';
export const FOREIGN_ACCOUNT = '222222222222';

export type S3Action = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:ListBucket';
export const S3_ACTIONS: readonly S3Action[] = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'];

export type Transport = 'HTTP' | 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2' | 'TLS 1.3';
export const TRANSPORTS: readonly Transport[] = ['HTTP', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'];

export type SseAlgorithm = 'AES256' | 'aws:kms' | 'aws:kms:dsse';
export const SSE_ALGORITHMS: readonly SseAlgorithm[] = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/**
 * Who sends the request.
 * - `owner`: a role of the bucket's account whose identity policy allows `s3:*` on the bucket
 *   and `kms:*` (the usual application role).
 * - `granted`: a role of the bucket's account with no identity policy at all; only a bucket
 *   policy Allow naming it can let it in (like the deploy-time check's handler role).
 * - `foreign`: a role of another account whose identity policy allows `s3:*`, not named in the
 *   bucket policy.
 * - `partner`: a role of another account whose identity policy allows `s3:*` and which a bucket
 *   policy Allow names.
 */
export type PrincipalName = 'owner' | 'granted' | 'foreign' | 'partner';

export const FOREIGN_KEY_ARN = `arn:aws:kms:eu-west-1:${FOREIGN_ACCOUNT}:key/99999999-9999-4999-8999-999999999999`;

export interface S3Request {
  readonly principal: PrincipalName;
  readonly action: S3Action;
  readonly transport: Transport;
  /** `x-amz-server-side-encryption` (uploads only). */
  readonly sse?: SseAlgorithm;
  /** `x-amz-server-side-encryption-aws-kms-key-id` (uploads only). */
  readonly kmsKey?: 'bucket key' | 'foreign key';
  /** The SSE-C headers, `x-amz-server-side-encryption-customer-algorithm: AES256` (uploads only). */
  readonly sseC?: boolean;
}

/** A readable one-line description of a request, for test names and failure messages. */
export function describeRequest(r: S3Request): string {
  const headers = [
    r.sse && `sse=${r.sse}`,
    r.kmsKey && `key=${r.kmsKey}`,
    r.sseC && 'SSE-C',
  ].filter(Boolean);
  const upload = r.action === 's3:PutObject' ? ` [${headers.length ? headers.join(', ') : 'no encryption headers'}]` : '';
  return `${r.principal} ${r.action}${upload} over ${r.transport}`;
}

/** The ARN of each principal, given the bucket-policy grantee roles' ARNs of the fixture. */
export interface Principals {
  readonly owner: string;
  readonly granted: string;
  readonly foreign: string;
  readonly partner: string;
}

export const OWNER_ROLE_ARN = `arn:aws:iam::${OWNER_ACCOUNT}:role/BucketOwnerApp`;
export const FOREIGN_ROLE_ARN = `arn:aws:iam::${FOREIGN_ACCOUNT}:role/ForeignApp`;
export const PARTNER_ROLE_ARN = `arn:aws:iam::${FOREIGN_ACCOUNT}:role/PartnerApp`;

function allowS3(bucketArn: string): SimulationIdentityPolicy {
  return {
    name: 'AllowS3OnBucket',
    policy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`] }],
    },
  };
}

const ALLOW_KMS: SimulationIdentityPolicy = {
  name: 'AllowKms',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
};

/** The identity policies of each principal. */
export function identityPoliciesOf(principal: PrincipalName, bucketArn: string): SimulationIdentityPolicy[] {
  switch (principal) {
    case 'owner':
      return [allowS3(bucketArn), ALLOW_KMS];
    case 'granted':
      return [];
    case 'foreign':
    case 'partner':
      return [allowS3(bucketArn), ALLOW_KMS];
  }
}

/** The request context S3 would build for `r`. */
export function contextOf(r: S3Request, bucketKeyArn: string | undefined): Record<string, string> {
  const context: Record<string, string> = {};
  if (r.transport === 'HTTP') {
    // No TLS, so no s3:TlsVersion at all.
    context['aws:SecureTransport'] = 'false';
  } else {
    context['aws:SecureTransport'] = 'true';
    context['s3:TlsVersion'] = r.transport.slice('TLS '.length);
  }
  const headers = r.sse !== undefined || r.kmsKey !== undefined || r.sseC;
  if (headers && r.action !== 's3:PutObject') {
    throw new Error(`${describeRequest(r)}: encryption headers are only meaningful on uploads`);
  }
  if (r.sse) {
    context['s3:x-amz-server-side-encryption'] = r.sse;
  }
  if (r.kmsKey === 'bucket key') {
    if (!bucketKeyArn) {
      throw new Error(`${describeRequest(r)}: the bucket has no customer managed key to name`);
    }
    context['s3:x-amz-server-side-encryption-aws-kms-key-id'] = bucketKeyArn;
  } else if (r.kmsKey === 'foreign key') {
    context['s3:x-amz-server-side-encryption-aws-kms-key-id'] = FOREIGN_KEY_ARN;
  }
  if (r.sseC) {
    context['s3:x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
  }
  return context;
}

/** `r` as the simulator wrapper takes it. */
export function toSimulatedRequest(r: S3Request, target: { bucketArn: string; keyArn?: string; principals: Principals }): SimulatedRequest {
  return {
    principal: target.principals[r.principal],
    action: r.action,
    resource: r.action === 's3:ListBucket' ? target.bucketArn : `${target.bucketArn}/some/object.txt`,
    resourceAccount: OWNER_ACCOUNT,
    context: contextOf(r, target.keyArn),
  };
}
