import { randomBytes as nodeRandomBytes } from 'crypto';
import { ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { cleanUp, CleanupResult } from './cleanup';
import { BucketConfiguration, NoSuchBucket, readConfiguration } from './configuration';
import { evaluate, Evaluation, Observations } from './evaluate';
import {
  customerKeyOf, encryptionHeaders, readBackSseC, readStoredEncryption, SseCReadBack, sseCHeaders, StoredEncryption,
  upload, UploadProbe, UploadResult,
} from './probes';
import { describeAnswer, S3Caller } from './s3-call';
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
  /**
   * How long a violation is probed again before it is reported, so that a bucket setting or
   * policy S3 has not applied everywhere yet (eventual consistency) does not fail the deploy.
   * Never past `deadline`.
   * @default 60_000
   */
  readonly recheckWindowMs?: number;
  /**
   * First pause between probe rounds; doubles per round up to 15 s.
   * @default 2_000
   */
  readonly recheckDelayMs?: number;
  /**
   * Longest wait for one S3 answer before the attempt is abandoned and retried (a fault).
   * @default 10_000
   */
  readonly attemptTimeoutMs?: number;
  /**
   * How long cleanup waits before its last listing when a write was given up on without an
   * answer (it may still land). Never past `cleanupDeadline`.
   * @default 5_000
   */
  readonly lateWriteWaitMs?: number;
}

/**
 * Raised only for a programming error inside the check (never for anything S3 answers or fails
 * to answer), after cleanup ran: it carries what cleanup deleted and left.
 */
export class CheckStopped extends Error {
  constructor(public readonly cause: unknown, public readonly cleanup: CleanupResult) {
    super(`the check stopped: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'CheckStopped';
  }
}

/** The probe rounds of one check. */
export interface CheckRounds {
  /** Rounds made: more than one when a violation was probed again. */
  readonly count: number;
  /** Milliseconds from the first round's start to the last round's end. */
  readonly elapsedMs: number;
  /** Violations seen in the first round that later rounds did not see (a setting still propagating). */
  readonly cleared?: string[];
}

/** The check's full result. */
export interface CheckReport extends Evaluation {
  readonly bucket: string;
  readonly configuration: Omit<BucketConfiguration, 'failures'>;
  readonly probes: { readonly probe: string; readonly answer: string }[];
  /** Always present: what was deleted and what was left, also when the deadline was reached. */
  readonly cleanup: CleanupResult;
  /** S3 requests sent, retries and cleanup included. */
  readonly s3Requests: number;
  readonly rounds: CheckRounds;
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

/** Objects the check may have written, across rounds: cleanup deletes them and lists the prefix. */
interface Written {
  readonly known: Map<string, ObjectIdentifier>;
  /** One key per write attempt sent without an answer. */
  readonly abandoned: string[];
}

function remember(written: Written, result: UploadResult): void {
  const add = (o: ObjectIdentifier) => written.known.set(`${o.Key}@${o.VersionId ?? ''}`, o);
  if (result.mayExist) {
    add({ Key: result.key, ...(result.versionId ? { VersionId: result.versionId } : {}) });
  }
  result.alsoWritten?.forEach((Key) => add({ Key }));
  written.abandoned.push(...result.abandoned ?? []);
}

/**
 * One round: reads the configuration, makes the upload probes concurrently (and, when an upload
 * without headers is refused although not declared, one with the declared headers), and reads
 * back what was accepted. Never throws for anything S3 answers or fails to answer.
 */
async function probeRound(props: CheckProperties, env: CheckEnvironment, caller: S3Caller, written: Written): Promise<Observations> {
  const randomBytes = env.randomBytes ?? nodeRandomBytes;
  const bucket = props.BucketName;
  let configuration: BucketConfiguration;
  try {
    configuration = await readConfiguration(env.s3, caller, bucket);
  } catch (error) {
    if (error instanceof NoSuchBucket) {
      return { configuration: { encryptionRules: false, objectLock: 'UNKNOWN', failures: [] }, uploads: {}, missingBucket: error.answer };
    }
    throw error;
  }
  if (configuration.objectLock === 'DEFAULT_RETENTION' || configuration.objectLock === 'UNKNOWN') {
    // Every object written now would be locked and could not be deleted: write nothing.
    const uploadsSkipped = configuration.objectLock === 'DEFAULT_RETENTION'
      ? 'Object Lock default retention would make probe objects undeletable'
      : 'the Object Lock configuration could not be read, so probe objects might be undeletable';
    return { configuration, uploads: {}, uploadsSkipped };
  }

  // The declared encryption, or (when none is declared) the configured one.
  const declared = props.ExpectAlgorithm !== undefined;
  const algorithm = declared ? props.ExpectAlgorithm : configuration.encryptionRules ? configuration.algorithm : undefined;
  const kmsKeyArn = declared ? props.ExpectKmsKeyArn : configuration.encryptionRules ? configuration.kmsKeyArn : undefined;
  const run = randomBytes(8).toString('hex');
  const key = (probe: UploadProbe) => `${env.prefix}${run}/${probe}`;
  const customerKey = customerKeyOf(randomBytes(32));
  const body = randomBytes(32);
  const uploads: Partial<Record<UploadProbe, UploadResult>> = {};
  const probe = async (name: UploadProbe, headers: Parameters<typeof upload>[6], retryAccessDenied?: boolean) => {
    const result = await upload(env.s3, caller, bucket, name, key(name), body, headers, { retryAccessDenied });
    remember(written, result);
    uploads[name] = result;
    return result;
  };

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
  await Promise.all(planned.map(([name, headers, retryAccessDenied]) => probe(name, headers, retryAccessDenied)));

  // An upload without headers refused (403 AccessDenied) although the declaration says S3 must
  // accept it: typically an SCP requiring x-amz-server-side-encryption, which sees the request
  // before S3 applies the bucket default. Observe the encryption with the declared headers instead.
  const plainUpload = uploads['upload-without-headers'];
  const handlerDenied = configuration.failures.some((f) => f.answer.status === 403);
  let declaredAfterRefusal = false;
  if (!absentExpectedRefused && !uploads['upload-with-declared-headers'] && !handlerDenied
    && plainUpload && !plainUpload.fault && plainUpload.answer.status === 403 && plainUpload.answer.code === 'AccessDenied') {
    declaredAfterRefusal = true;
    // With no algorithm declared or configured, SSE-S3 is what S3 applies by default anyway.
    await probe('upload-with-declared-headers', encryptionHeaders(algorithm ?? 'AES256', kmsKeyArn), waitForKms);
  }

  // Read back concurrently: the SSE-C object without and with its key, and what S3 stored
  // for the upload without SSE-C (HeadObject, as any reader sees it).
  const sseC = uploads['sse-c-upload'];
  const plain = [uploads['upload-without-headers'], uploads['upload-with-declared-headers']].find((u) => u?.accepted);
  const [sseCReadBack, stored]: [SseCReadBack | undefined, StoredEncryption | undefined] = await Promise.all([
    sseC?.accepted ? readBackSseC(env.s3, caller, bucket, sseC.key, customerKey, body) : undefined,
    plain ? readStoredEncryption(env.s3, caller, bucket, plain) : undefined,
  ]);
  return { configuration, uploads, sseCReadBack, stored, ...(declaredAfterRefusal ? { declaredAfterRefusal } : {}) };
}

/**
 * Probes the bucket: reads its configuration, makes the upload probes concurrently, reads an
 * accepted SSE-C probe back, probes again with backoff while a violation is seen (up to
 * `recheckWindowMs`, never past the deadline), and always deletes every probe object and
 * version it may have written, also when a step fails or the deadline passes.
 *
 * Never throws for anything S3 answers or fails to answer: a fault is named in the report and
 * leaves the observation unverified. A programming error is thrown as `CheckStopped`, after
 * cleanup, with the cleanup result.
 */
export async function runCheck(props: CheckProperties, env: CheckEnvironment): Promise<CheckReport> {
  const now = env.now ?? Date.now;
  const sleep = env.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const caller = new S3Caller({
    deadline: env.deadline, sleep, now, accessDeniedWaitMs: env.accessDeniedWaitMs, attemptTimeoutMs: env.attemptTimeoutMs,
  });
  const bucket = props.BucketName;
  const written: Written = { known: new Map(), abandoned: [] };
  const window = env.recheckWindowMs ?? 60_000;
  let delay = env.recheckDelayMs ?? 2_000;
  const started = now();
  let slept = 0;
  let count = 0;
  let firstViolations: string[] | undefined;
  let observed: Observations | undefined;
  let evaluation: Evaluation | undefined;
  let cleanup: CleanupResult = { deleted: 0, leftovers: [] };
  let failure: unknown;
  let cleanupRequests = 0;

  try {
    for (;;) {
      count++;
      const roundStarted = now();
      observed = await probeRound(props, env, caller, written);
      evaluation = evaluate(props, observed);
      if (evaluation.violations.length === 0) {
        break;
      }
      firstViolations ??= evaluation.violations;
      // Probe again only within the window (measured by the clock, and at least by the pauses
      // taken), and only if another round fits before the deadline.
      const roundMs = now() - roundStarted;
      const elapsed = Math.max(now() - started, slept);
      if (elapsed + delay > window || now() + delay + 1.5 * roundMs + 1_000 > env.deadline) {
        break;
      }
      await sleep(delay);
      slept += delay;
      delay = Math.min(delay * 2, 15_000);
    }
  } catch (error) {
    failure = error;
  } finally {
    const known = [...written.known.values()];
    if (known.length > 0 || written.abandoned.length > 0) {
      const cleanupCaller = new S3Caller({ deadline: env.cleanupDeadline, sleep, now, attemptTimeoutMs: env.attemptTimeoutMs });
      cleanup = await cleanUp(env.s3, cleanupCaller, bucket, env.prefix, known, {
        abandoned: [...written.abandoned], lateWriteWaitMs: env.lateWriteWaitMs, sleep, now, deadline: env.cleanupDeadline,
      });
      cleanupRequests = cleanupCaller.requests;
    }
  }
  if (failure !== undefined) {
    throw new CheckStopped(failure, cleanup);
  }

  const result = evaluation!;
  const cleared = firstViolations?.filter((v) => !result.violations.includes(v));
  const rounds: CheckRounds = { count, elapsedMs: now() - started, ...(cleared?.length ? { cleared } : {}) };
  const notes = [...result.notes];
  if (count > 1) {
    notes.push(result.violations.length > 0
      ? `the violations persisted over ${count} probe rounds in ${Math.round(rounds.elapsedMs / 1000)} s`
      : `${firstViolations!.length} violation(s) of the first round cleared after ${count} probe rounds in ${Math.round(rounds.elapsedMs / 1000)} s (a setting still propagating)`);
  }
  if (cleanup.unsettled?.length) {
    notes.push(`writes given up on without an answer may still land after cleanup: ${cleanup.unsettled.join(', ')} (the lifecycle rule expires them)`);
  }
  const { failures: _failures, ...configurationReport } = observed!.configuration;
  const { uploads, stored, sseCReadBack } = observed!;
  return {
    bucket,
    ...result,
    notes,
    configuration: configurationReport,
    probes: [
      ...Object.values(uploads).map((u) => ({ probe: u.probe, answer: summarize(u) })),
      ...(stored ? [{ probe: `head-object (${stored.probe})`, answer: summarizeApplied(stored.answer.status, stored.applied) ?? describeAnswer(stored.answer) }] : []),
      ...(sseCReadBack ? [
        { probe: 'sse-c-head-without-key', answer: sseCReadBack.headFault ?? String(sseCReadBack.headWithoutKey.status ?? sseCReadBack.headWithoutKey.code) },
        {
          probe: 'sse-c-get-with-key',
          answer: sseCReadBack.getFault ?? `${sseCReadBack.getWithKey.status ?? sseCReadBack.getWithKey.code}${sseCReadBack.bodyMatches ? ' same bytes' : ''}`,
        },
      ] : []),
    ],
    cleanup,
    s3Requests: caller.requests + cleanupRequests,
    rounds,
  };
}

function summarize(u: UploadResult): string {
  if (u.fault) {
    return u.fault;
  }
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
