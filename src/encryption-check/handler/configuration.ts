import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { answerOf, describeAttempts, isFault, S3Answer, S3Caller } from './s3-call';

/** What the bucket's configuration says, as read back from S3. */
export interface BucketConfiguration {
  /** Whether GetBucketEncryption returned a rule ("no rules" and the 404 both mean false). */
  readonly encryptionRules: boolean;
  readonly algorithm?: string;
  readonly kmsKeyArn?: string;
  readonly bucketKeyEnabled?: boolean;
  readonly blockedEncryptionTypes?: string[];
  /** Sids of the bucket policy's statements; undefined when the policy could not be read. */
  readonly policySids?: string[];
  /**
   * `NONE`, `ENABLED` (Object Lock without default retention), `DEFAULT_RETENTION` (every new
   * object is locked) or `UNKNOWN` (could not be read: treated as locked).
   */
  readonly objectLock: 'NONE' | 'ENABLED' | 'DEFAULT_RETENTION' | 'UNKNOWN';
  /** Reads that failed, with what S3 answered (and, for a fault, every failed attempt). */
  readonly failures: { readonly request: string; readonly answer: S3Answer; readonly fault?: string }[];
}

/** Raised when the bucket does not exist: nothing else can be checked. */
export class NoSuchBucket extends Error {
  constructor(bucket: string, public readonly answer: S3Answer) {
    super(`bucket ${bucket} does not exist (S3 answered ${answer.status} ${answer.code})`);
    this.name = 'NoSuchBucket';
  }
}

/**
 * Reads the encryption configuration, bucket policy and Object Lock configuration concurrently.
 * Throws only `NoSuchBucket`; every other failure, the deadline included, is in `failures`.
 */
export async function readConfiguration(s3: S3Client, caller: S3Caller, bucket: string): Promise<BucketConfiguration> {
  const failures: { request: string; answer: S3Answer; fault?: string }[] = [];
  const read = async <T>(request: string, run: (signal: AbortSignal) => Promise<T>, absent: string[]): Promise<T | 'ABSENT' | 'FAILED'> => {
    const attempts: S3Answer[] = [];
    try {
      return await caller.call(request, run, { retryAccessDenied: true, attempts });
    } catch (error) {
      const answer = answerOf(error);
      if (answer.code === 'NoSuchBucket') {
        throw new NoSuchBucket(bucket, answer);
      }
      if (answer.code !== undefined && absent.includes(answer.code)) {
        return 'ABSENT';
      }
      // A fault (5xx, no answer, the deadline) is named with every failed attempt.
      failures.push({ request, answer, ...(isFault(answer) ? { fault: describeAttempts(attempts.length ? attempts : [answer]) } : {}) });
      return 'FAILED';
    }
  };

  const [encryption, policy, lock] = await Promise.all([
    read('GetBucketEncryption', (abortSignal) => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }), { abortSignal }),
      ['ServerSideEncryptionConfigurationNotFoundError']),
    read('GetBucketPolicy', (abortSignal) => s3.send(new GetBucketPolicyCommand({ Bucket: bucket }), { abortSignal }),
      ['NoSuchBucketPolicy']),
    read('GetObjectLockConfiguration', (abortSignal) => s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }), { abortSignal }),
      ['ObjectLockConfigurationNotFoundError']),
  ]);

  const rule = typeof encryption === 'object' ? encryption.ServerSideEncryptionConfiguration?.Rules?.[0] : undefined;
  const byDefault = rule?.ApplyServerSideEncryptionByDefault;

  let policySids: string[] | undefined;
  if (policy === 'ABSENT') {
    policySids = [];
  } else if (typeof policy === 'object') {
    policySids = sidsOf(policy.Policy);
  }

  let objectLock: BucketConfiguration['objectLock'] = 'UNKNOWN';
  if (lock === 'ABSENT') {
    objectLock = 'NONE';
  } else if (typeof lock === 'object') {
    const config = lock.ObjectLockConfiguration;
    if (config?.ObjectLockEnabled !== 'Enabled') {
      objectLock = 'NONE';
    } else {
      objectLock = config.Rule?.DefaultRetention ? 'DEFAULT_RETENTION' : 'ENABLED';
    }
  }

  return {
    encryptionRules: byDefault?.SSEAlgorithm !== undefined,
    algorithm: byDefault?.SSEAlgorithm,
    kmsKeyArn: byDefault?.KMSMasterKeyID,
    bucketKeyEnabled: rule?.BucketKeyEnabled,
    blockedEncryptionTypes: rule?.BlockedEncryptionTypes?.EncryptionType,
    policySids,
    objectLock,
    failures,
  };
}

function sidsOf(policy: string | undefined): string[] {
  if (!policy) {
    return [];
  }
  try {
    const document = JSON.parse(policy) as { Statement?: { Sid?: string }[] | { Sid?: string } };
    const statements = Array.isArray(document.Statement) ? document.Statement : document.Statement ? [document.Statement] : [];
    return statements.map((s) => s.Sid).filter((sid): sid is string => typeof sid === 'string');
  } catch {
    return [];
  }
}
