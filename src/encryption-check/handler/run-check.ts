import { randomBytes as nodeRandomBytes } from 'crypto';
import { ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { cleanUp, CleanupResult } from './cleanup';
import { BucketConfiguration, readConfiguration } from './configuration';
import { evaluate, Evaluation, Observations } from './evaluate';
import {
  customerKeyOf, encryptionHeaders, readBackSseC, readStoredEncryption, SseCReadBack, sseCHeaders, StoredEncryption,
  upload, UploadProbe, UploadResult,
} from './probes';
import { DeadlineExceeded, describeAnswer, S3Caller } from './s3-call';
import { CheckProperties } from '../types';

/** Everything one check needs from its environment; injectable for tests. */
export interface CheckEnvironment {
  readonly s3: S3Client;
  /** Key prefix of this check's probes (under the reserved prefix, unique per custom resource). */
  readonly prefix: string;
  /** Epoch milliseconds by which probing must end. */
  readonly deadline: number;
  /** Epoch milliseconds by which cleanup must end (after `deadline`, inside the Lambda timeout). */
  readonly cleanupDeadline: number;
  readonly randomBytes?: (size: number) => Buffer;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** How long AccessDenied on the configuration reads is retried (IAM propagation). */
  readonly accessDeniedWaitMs?: number;
  /** ARN of the Lambda function running the check: the partition, region and account of the foreign key id. */
  readonly functionArn?: string;
}

/** The check's full result. */
export interface CheckReport extends Evaluation {
  readonly bucket: string;
  readonly configuration: Omit<BucketConfiguration, 'failures'>;
  readonly probes: { readonly probe: string; readonly answer: string }[];
  readonly cleanup: CleanupResult;
  /** S3 requests sent, retries included. */
  readonly s3Requests: number;
}

/**
 * A syntactically valid key ARN that names no real key: the all-zero key id (KMS key ids are
 * random UUIDs) in the partition, region and account of `like` (the bucket's key) or else of
 * `functionArn` (the handler's own Lambda function, in the stack's partition, region and account).
 *
 * The caller's own account rather than a third party's: the zero id cannot be a real key in any
 * account, a third-party account would make S3 send a cross-account KMS request that the other
 * account's CloudTrail may record (with this role's ARN), and a hard-coded `aws` partition is
 * a malformed ARN in aws-cn and aws-us-gov. `fallbackRegion` is used only when neither ARN parses.
 */
export function foreignKeyArn(like: string | undefined, functionArn: string | undefined, fallbackRegion: string): string {
  const zero = '00000000-0000-4000-8000-000000000000';
  const key = like?.match(/^(arn:[^:]+:kms:[^:]*:[^:]*:key\/)/);
  if (key) {
    return `${key[1]}${zero}`;
  }
  const fn = functionArn?.match(/^arn:([^:]+):lambda:([^:]+):(\d{12}):function:/);
  return fn ? `arn:${fn[1]}:kms:${fn[2]}:${fn[3]}:key/${zero}` : `arn:aws:kms:${fallbackRegion}:111122223333:key/${zero}`;
}

/**
 * Probes the bucket: reads its configuration, makes the upload probes concurrently, reads an
 * accepted SSE-C probe back, and always deletes every probe object and version it may have
 * written, also when a step fails or the deadline passes.
 */
export async function runCheck(props: CheckProperties, env: CheckEnvironment): Promise<CheckReport> {
  const randomBytes = env.randomBytes ?? nodeRandomBytes;
  const caller = new S3Caller({ deadline: env.deadline, sleep: env.sleep, now: env.now, accessDeniedWaitMs: env.accessDeniedWaitMs });
  const bucket = props.BucketName;
  const uploads: Partial<Record<UploadProbe, UploadResult>> = {};
  let configuration: BucketConfiguration | undefined;
  let sseCReadBack: SseCReadBack | undefined;
  let stored: StoredEncryption | undefined;
  let uploadsSkipped: string | undefined;
  let cleanup: CleanupResult = { deleted: 0, leftovers: [] };
  let failure: unknown;

  try {
    configuration = await readConfiguration(env.s3, caller, bucket);
    if (configuration.objectLock === 'DEFAULT_RETENTION' || configuration.objectLock === 'UNKNOWN') {
      // Every object written now would be locked and could not be deleted: write nothing.
      uploadsSkipped = configuration.objectLock === 'DEFAULT_RETENTION'
        ? 'Object Lock default retention would make probe objects undeletable'
        : 'the Object Lock configuration could not be read, so probe objects might be undeletable';
    } else {
      // The declared encryption, or (when none is declared) the configured one.
      const declared = props.ExpectAlgorithm !== undefined;
      const algorithm = declared ? props.ExpectAlgorithm : configuration.encryptionRules ? configuration.algorithm : undefined;
      const kmsKeyArn = declared ? props.ExpectKmsKeyArn : configuration.encryptionRules ? configuration.kmsKeyArn : undefined;
      const run = randomBytes(8).toString('hex');
      const key = (probe: UploadProbe) => `${env.prefix}${run}/${probe}`;
      const customerKey = customerKeyOf(randomBytes(32));
      const body = randomBytes(32);

      // On a KMS bucket an upload that must be accepted may be refused for a while on the first
      // deployment, until the key policy's grant to the new role has propagated: retry its
      // AccessDenied within the same bounded window as the configuration reads.
      const absentExpectedRefused = props.ExpectSseC === 'REQUIRED' || props.ExpectHeaders === 'REQUIRE';
      const waitForKms = algorithm?.startsWith('aws:kms') === true;
      const planned: [UploadProbe, Parameters<typeof upload>[6], boolean?][] = [
        ['sse-c-upload', sseCHeaders(customerKey)],
        ['upload-without-headers', {}, waitForKms && !absentExpectedRefused],
      ];
      if (props.ExpectHeaders === 'REQUIRE' && props.ExpectSseC !== 'REQUIRED' && algorithm) {
        planned.push(['upload-with-declared-headers', encryptionHeaders(algorithm, kmsKeyArn), waitForKms]);
      }
      if (algorithm) {
        const region = process.env.AWS_REGION ?? 'us-east-1';
        const foreignKey = foreignKeyArn(kmsKeyArn, env.functionArn, region);
        // For a KMS bucket the mismatch is SSE-S3. For an SSE-S3 bucket it is SSE-KMS with a
        // key that does not exist: if the policy lets it through, KMS refuses it and nothing is
        // written (no object, and no AWS managed key aws/s3 created as a side effect).
        planned.push(['upload-with-mismatched-algorithm', algorithm.startsWith('aws:kms')
          ? encryptionHeaders('AES256')
          : encryptionHeaders('aws:kms', foreignKey)]);
        if (algorithm.startsWith('aws:kms')) {
          planned.push(['upload-with-foreign-kms-key', encryptionHeaders(algorithm, foreignKey)]);
        }
      }

      const results = await Promise.all(planned.map(([probe, headers, retryAccessDenied]) =>
        upload(env.s3, caller, bucket, probe, key(probe), body, headers, { retryAccessDenied })));
      for (const result of results) {
        uploads[result.probe] = result;
      }
      const timedOut = results.find((r) => r.timedOut);
      if (timedOut) {
        throw new DeadlineExceeded(timedOut.probe);
      }
      // Read back concurrently: the SSE-C object without and with its key, and what S3 stored
      // for the upload without SSE-C (HeadObject, as any reader sees it).
      const sseC = uploads['sse-c-upload'];
      const plain = [uploads['upload-without-headers'], uploads['upload-with-declared-headers']].find((u) => u?.accepted);
      [sseCReadBack, stored] = await Promise.all([
        sseC?.accepted ? readBackSseC(env.s3, caller, bucket, sseC.key, customerKey, body) : undefined,
        plain ? readStoredEncryption(env.s3, caller, bucket, plain) : undefined,
      ]);
    }
  } catch (error) {
    failure = error;
  } finally {
    const known: ObjectIdentifier[] = Object.values(uploads)
      .filter((u) => u.mayExist)
      .map((u) => ({ Key: u.key, ...(u.versionId ? { VersionId: u.versionId } : {}) }));
    if (known.length > 0) {
      const cleanupCaller = new S3Caller({ deadline: env.cleanupDeadline, sleep: env.sleep, now: env.now });
      cleanup = await cleanUp(env.s3, cleanupCaller, bucket, `${env.prefix}`, known);
      caller.requests += cleanupCaller.requests;
    }
  }
  if (failure !== undefined) {
    throw failure;
  }

  const observed: Observations = { configuration: configuration!, uploads, sseCReadBack, stored, uploadsSkipped };
  const evaluation = evaluate(props, observed);
  const { failures: _failures, ...configurationReport } = configuration!;
  return {
    bucket,
    ...evaluation,
    configuration: configurationReport,
    probes: [
      ...Object.values(uploads).map((u) => ({ probe: u.probe, answer: summarize(u) })),
      ...(stored ? [{ probe: `head-object (${stored.probe})`, answer: summarizeApplied(stored.answer.status, stored.applied) ?? describeAnswer(stored.answer) }] : []),
      ...(sseCReadBack ? [
        { probe: 'sse-c-head-without-key', answer: String(sseCReadBack.headWithoutKey.status ?? sseCReadBack.headWithoutKey.code) },
        { probe: 'sse-c-get-with-key', answer: `${sseCReadBack.getWithKey.status ?? sseCReadBack.getWithKey.code}${sseCReadBack.bodyMatches ? ' same bytes' : ''}` },
      ] : []),
    ],
    cleanup,
    s3Requests: caller.requests,
  };
}

function summarize(u: UploadResult): string {
  if (!u.accepted) {
    return `${u.answer.status ?? ''} ${u.answer.code ?? ''}`.trim();
  }
  return summarizeApplied(u.answer.status, u.applied)!;
}

function summarizeApplied(status: number | undefined, applied: UploadResult['applied']): string | undefined {
  if (!applied) {
    return undefined;
  }
  return [status, applied.algorithm, applied.kmsKeyArn, applied.bucketKeyEnabled ? 'BucketKey' : undefined]
    .filter((x) => x !== undefined && x !== '').join(' ');
}
