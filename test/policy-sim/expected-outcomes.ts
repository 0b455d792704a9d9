import type { S3Request, SseAlgorithm } from './s3-requests';

/**
 * THE SPEC: what an encrypted bucket must do with each request, written from S3's documented
 * behaviour and the promises this library makes in its README and API docs. It deliberately
 * does not import or call the code under test (not even its algorithm mapping); only the Sid
 * strings are shared, because they are public API that users and auditors search for.
 *
 * A request is refused for every rule below that applies to it (a request can break several);
 * if none applies, it is allowed for a principal whose access is granted, and implicitly
 * denied for a principal of another account that no bucket policy statement names.
 */

/** The bucket configurations of the matrix, named as a user would choose them. */
export type EncryptionChoice =
  | 'S3_MANAGED'
  | 'KMS (library key)'
  | 'KMS (user key)'
  | 'KMS_MANAGED'
  | 'DSSE (library key)'
  | 'DSSE (user key)'
  | 'DSSE_MANAGED';

export type CustomerProvidedKeysChoice = 'BLOCK' | 'ALLOW' | 'REQUIRE';
export type EncryptionHeadersChoice = 'DENY_MISMATCH' | 'REQUIRE' | 'NOT_ENFORCED';

export interface BucketConfig {
  readonly encryption: EncryptionChoice;
  readonly customerProvidedKeys: CustomerProvidedKeysChoice;
  readonly encryptionHeaders: EncryptionHeadersChoice;
  readonly minimumTLSVersion: 1.2 | 1.3;
}

export function describeConfig(c: BucketConfig): string {
  return `${c.encryption} / SSE-C ${c.customerProvidedKeys} / headers ${c.encryptionHeaders} / TLS >= ${c.minimumTLSVersion}`;
}

/** The `x-amz-server-side-encryption` value S3 documents for each default encryption. */
export function documentedAlgorithm(encryption: EncryptionChoice): SseAlgorithm {
  if (encryption === 'S3_MANAGED') return 'AES256'; // SSE-S3
  if (encryption.startsWith('KMS')) return 'aws:kms'; // SSE-KMS
  return 'aws:kms:dsse'; // DSSE-KMS
}

/** Whether the bucket encrypts with a customer managed key whose ARN its policy can name. */
export function hasCustomerKey(encryption: EncryptionChoice): boolean {
  return encryption.endsWith('key)');
}

/** Whether the bucket encrypts with KMS at all (a customer key or the AWS managed `aws/s3`). */
export function usesKms(encryption: EncryptionChoice): boolean {
  return encryption !== 'S3_MANAGED';
}

/** Whether the library must refuse the configuration at synth. */
export function isRejected(c: BucketConfig): boolean {
  // An SSE-C upload carries no x-amz-server-side-encryption header: requiring both would make
  // every upload fail.
  return c.customerProvidedKeys === 'REQUIRE' && c.encryptionHeaders === 'REQUIRE';
}

const TLS_VERSIONS: Record<string, number> = { 'TLS 1.0': 1.0, 'TLS 1.1': 1.1, 'TLS 1.2': 1.2, 'TLS 1.3': 1.3 };

export interface Rule {
  /** The statement that must refuse the request. */
  readonly sid: string;
  /** The rule in words, as the README states it. */
  readonly says: string;
  readonly applies: (c: BucketConfig, r: S3Request) => boolean;
}

const upload = (r: S3Request) => r.action === 's3:PutObject';
const headersEnforced = (c: BucketConfig) => c.encryptionHeaders !== 'NOT_ENFORCED';

export const RULES: readonly Rule[] = [
  {
    sid: 'DenyInsecureTransport',
    says: 'Every request over plain HTTP is refused, whatever the action and whoever asks.',
    applies: (_c, r) => r.transport === 'HTTP',
  },
  {
    sid: 'DenyOutdatedTls',
    says: 'Every request over a TLS version below the minimum is refused.',
    applies: (c, r) => r.transport !== 'HTTP' && TLS_VERSIONS[r.transport] < c.minimumTLSVersion,
  },
  {
    sid: 'DenySseCUploads',
    says: 'With SSE-C blocked, an upload that sends the SSE-C headers is refused.',
    applies: (c, r) => upload(r) && c.customerProvidedKeys === 'BLOCK' && r.sseC === true,
  },
  {
    sid: 'DenyUploadsWithoutSseC',
    says: 'With SSE-C required, an upload without the SSE-C headers is refused.',
    applies: (c, r) => upload(r) && c.customerProvidedKeys === 'REQUIRE' && !r.sseC,
  },
  {
    sid: 'DenyMismatchedEncryptionHeader',
    says: 'While headers are enforced, an upload that names an algorithm other than the bucket\'s is refused.',
    applies: (c, r) => upload(r) && headersEnforced(c) && r.sse !== undefined && r.sse !== documentedAlgorithm(c.encryption),
  },
  {
    sid: 'DenyForeignKmsKey',
    says: 'While headers are enforced, on a KMS or DSSE-KMS bucket an upload that names a KMS key other than the bucket\'s own ' +
      'is refused; with the AWS managed key aws/s3 any named key is refused. (On an SSE-S3 bucket naming a key means naming ' +
      'a KMS algorithm, which the algorithm rule already refuses.)',
    applies: (c, r) => upload(r) && headersEnforced(c) && usesKms(c.encryption) && r.kmsKey !== undefined &&
      (r.kmsKey === 'foreign key' || !hasCustomerKey(c.encryption)),
  },
  {
    sid: 'DenyMissingEncryptionHeader',
    says: 'With headers required, an upload without an x-amz-server-side-encryption header is refused, unless it is an ' +
      'SSE-C upload to a bucket that accepts SSE-C.',
    applies: (c, r) => upload(r) && c.encryptionHeaders === 'REQUIRE' && r.sse === undefined &&
      !(r.sseC === true && c.customerProvidedKeys !== 'BLOCK'),
  },
];

export type Outcome = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Expectation {
  readonly outcome: Outcome;
  /** The Sids that must refuse the request, sorted. */
  readonly deniedBy: string[];
}

/**
 * What must happen to `r` on a bucket configured as `c`.
 *
 * `grantsInBucketPolicy`: whether the bucket policy under test also carries the Allow statements
 * for the `granted` and `partner` roles (a full EncryptedBucket fixture does; the library's
 * statements alone do not).
 */
export function expectedOutcome(c: BucketConfig, r: S3Request, grantsInBucketPolicy: boolean): Expectation {
  const deniedBy = RULES.filter((rule) => rule.applies(c, r)).map((rule) => rule.sid).sort();
  if (deniedBy.length > 0) {
    return { outcome: 'ExplicitlyDenied', deniedBy };
  }
  switch (r.principal) {
    case 'owner':
      // Same account: the identity policy alone is enough.
      return { outcome: 'Allowed', deniedBy };
    case 'granted':
      // Same account: the bucket policy alone is enough, if it names the role.
      return { outcome: grantsInBucketPolicy ? 'Allowed' : 'ImplicitlyDenied', deniedBy };
    case 'foreign':
      // Cross account: both the identity policy and the bucket policy must allow.
      return { outcome: 'ImplicitlyDenied', deniedBy };
    case 'partner':
      return { outcome: grantsInBucketPolicy ? 'Allowed' : 'ImplicitlyDenied', deniedBy };
  }
}

/**
 * The upload a well-behaved client of the bucket sends: SSE-C where SSE-C is required;
 * otherwise the bucket's own algorithm, naming the bucket's own key where it has one.
 */
export function correctUpload(c: BucketConfig): Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'> {
  if (c.customerProvidedKeys === 'REQUIRE') {
    return { sseC: true };
  }
  return { sse: documentedAlgorithm(c.encryption), kmsKey: hasCustomerKey(c.encryption) ? 'bucket key' : undefined };
}
