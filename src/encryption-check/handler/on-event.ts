import { createHash } from 'crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { mapBounded } from './batch';
import { cleanUp } from './cleanup';
import { InvalidEvent, knownBucketsOf, referencedOf, RequestType, requestTypeOf, ResponseTarget, stackPropertiesOf } from './properties';
import { CloudFormationResponse } from './respond';
import { CheckReport, runCheck } from './run-check';
import { S3Caller } from './s3-call';
import { ATTRIBUTE_MAX_LENGTH, CheckAttributes, CheckEntry, PROBE_PREFIX, StackCheckProperties } from '../types';

/** The handler's environment; injectable for tests. */
export interface HandlerEnvironment {
  readonly s3: S3Client;
  /** Milliseconds left before Lambda stops the invocation. */
  readonly remainingMs: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly randomBytes?: (size: number) => Buffer;
  readonly accessDeniedWaitMs?: number;
  /** ARN of the Lambda function (`context.invokedFunctionArn`); else the event's ServiceToken is used. */
  readonly functionArn?: string;
  /** The CloudFormation status of the stack (`DescribeStacks`), to tell a rollback from an update. */
  readonly stackStatus?: (stackId: string) => Promise<string | undefined>;
  /** Buckets checked at once (each check runs its own probes concurrently). */
  readonly concurrency?: number;
  /** How long a violation is probed again before it counts (settings still propagating); runCheck's default otherwise. */
  readonly recheckWindowMs?: number;
  /** How long cleanup waits for a write the handler gave up on; runCheck's default otherwise. */
  readonly lateWriteWaitMs?: number;
}

/** Buckets checked at once: 8 checks of up to 5 concurrent requests stay under the SDK's 50 sockets. */
export const BUCKET_CONCURRENCY = 8;
/** Time kept back from probing for cleanup, and from cleanup for the response. */
export const CLEANUP_RESERVE_MS = 25_000;
export const RESPONSE_RESERVE_MS = 10_000;

/** The key prefix of one bucket's probes: stable across the stack check's Create, Update and Delete. */
export function checkPrefix(target: Pick<ResponseTarget, 'StackId' | 'LogicalResourceId'>, key: string): string {
  const id = createHash('sha256').update(`${target.StackId}/${target.LogicalResourceId}/${key}`).digest('hex').slice(0, 16);
  return `${PROBE_PREFIX}${id}/`;
}

/** Stable for the stack's check: an Update never replaces it (which would send a Delete). */
export function physicalIdOf(target: Pick<ResponseTarget, 'LogicalResourceId'>): string {
  return `s3-encryption-check:${target.LogicalResourceId}`;
}

/** One bucket's outcome. */
interface BucketOutcome {
  readonly entry: CheckEntry;
  readonly report?: CheckReport;
  /** Why the check could not complete (a fault, the deadline), when it did not. */
  readonly error?: string;
}

/**
 * Handles a Create, Update or Delete event of the stack's `Custom::S3EncryptionCheck` and
 * returns the answer for CloudFormation. Never throws: every error becomes a FAILED answer
 * naming it (except on Delete, which always succeeds).
 */
export async function handleEvent(event: ResponseTarget & Record<string, unknown>, env: HandlerEnvironment): Promise<CloudFormationResponse> {
  const answer = (status: 'SUCCESS' | 'FAILED', physicalId: string, reason?: string, data?: Record<string, string>): CloudFormationResponse => ({
    Status: status,
    Reason: reason,
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data,
  });
  const physicalId = typeof event.PhysicalResourceId === 'string' && event.PhysicalResourceId !== '' ? event.PhysicalResourceId : physicalIdOf(event);

  let requestType: RequestType;
  try {
    requestType = requestTypeOf(event);
  } catch (error) {
    // Not even the request type is known: nothing is probed or deleted.
    return answer('FAILED', physicalId, `S3 encryption check: ${(error as Error).message}`);
  }
  if (requestType === 'Delete') {
    await deleteProbes(event, env);
    return answer('SUCCESS', physicalId);
  }

  try {
    const props = stackPropertiesOf(event.ResourceProperties);
    const outcome = await check(event, requestType, props, env);
    return answer(outcome.failure ? 'FAILED' : 'SUCCESS', requestType === 'Create' ? physicalIdOf(event) : physicalId, outcome.failure, outcome.data);
  } catch (error) {
    const message = error instanceof InvalidEvent ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
    console.error(JSON.stringify({ event: requestType, error: message }));
    return answer('FAILED', requestType === 'Create' ? physicalIdOf(event) : physicalId, `S3 encryption check: ${message}`);
  }
}

/** Checks the buckets that need it, and returns the failure message (if the deployment must fail) and the referenced attributes. */
async function check(
  event: ResponseTarget & Record<string, unknown>, requestType: RequestType, props: StackCheckProperties, env: HandlerEnvironment,
): Promise<{ failure?: string; data: Record<string, string> }> {
  const now = env.now ?? Date.now;
  const started = now();
  const cleanupDeadline = started + env.remainingMs() - RESPONSE_RESERVE_MS;
  const deadline = Math.max(started, cleanupDeadline - CLEANUP_RESERVE_MS);

  const toCheck = requestType === 'Update' ? changedEntries(props, event.OldResourceProperties) : props.Buckets;
  const skipped = props.Buckets.length - toCheck.length;
  console.log(JSON.stringify({ event: requestType, buckets: props.Buckets.length, checking: toCheck.length, unchanged: skipped }));

  const results = await mapBounded(toCheck, env.concurrency ?? BUCKET_CONCURRENCY, async (entry): Promise<BucketOutcome> => {
    if (now() >= deadline) {
      return { entry, error: 'not checked: the check\'s deadline was reached before this bucket\'s turn' };
    }
    try {
      const report = await runCheck(entry, {
        s3: env.s3,
        prefix: checkPrefix(event, entry.Key),
        deadline,
        cleanupDeadline,
        sleep: env.sleep,
        now,
        randomBytes: env.randomBytes,
        accessDeniedWaitMs: env.accessDeniedWaitMs,
        recheckWindowMs: env.recheckWindowMs,
        lateWriteWaitMs: env.lateWriteWaitMs,
        functionArn: env.functionArn ?? (typeof event.ServiceToken === 'string' ? event.ServiceToken : undefined),
      });
      return { entry, report };
    } catch (error) {
      return { entry, error: (error as Error)?.message ?? String(error) };
    }
  });
  const outcomes = results.map((result, index) => ('cause' in result ? { entry: toCheck[index], error: result.message } : result) as BucketOutcome);

  const failing: string[] = [];
  const warned: string[] = [];
  const data: Record<string, string> = {};
  for (const outcome of outcomes) {
    const { entry, report, error } = outcome;
    if (report) {
      // The full report goes to the log; the response carries only referenced attributes.
      console.log(JSON.stringify({ key: entry.Key, ...report }));
      if (report.cleanup.leftovers.length > 0 || (report.cleanup.unsettled ?? []).length > 0) {
        const left = [...report.cleanup.leftovers, ...(report.cleanup.unsettled ?? []).map((key) => `${key} (a write whose outcome is unknown)`)];
        console.warn(`probe objects left behind in ${entry.BucketName} (the lifecycle rule expires them): ${left.join(', ')}`);
      }
      for (const note of report.notes) {
        // Stricter than declared (an SCP refusing header-less uploads, say): reported, never failed.
        console.warn(`bucket ${entry.BucketName}: ${note}`);
      }
    }
    const problem = error !== undefined
      ? `bucket ${entry.BucketName}: the check could not complete: ${error}`
      : report!.violations.length > 0
        ? `bucket ${entry.BucketName} found ${report!.violations.length} violation(s): ${report!.violations.join('; ')}${roundsOf(report!)}`
        : undefined;
    if (problem) {
      (entry.OnViolation === 'FAIL' ? failing : warned).push(problem);
    }
    for (const attribute of referencedOf(props, entry.Key)) {
      data[`${entry.Key}.${attribute}`] = attributesOf(entry, outcome)[attribute];
    }
  }
  for (const message of warned) {
    console.warn(`S3 encryption check (WARN): ${message}`);
  }
  if (failing.length === 0) {
    return { data };
  }
  const message = `S3 encryption check failed for ${failing.length} of ${props.Buckets.length} bucket(s): ${failing.join(' | ')}`;
  if (!await mustFail(requestType, event.StackId, env)) {
    console.warn(`${message} (not failing: the stack is rolling back)`);
    return { data };
  }
  console.error(message);
  return { failure: message, data };
}

/** How long a violation was seen: the check probes again before it counts one (settings propagate). */
function roundsOf(report: CheckReport): string {
  return report.rounds.count > 1 ? ` (still there after ${report.rounds.count} probe rounds over ${(report.rounds.elapsedMs / 1000).toFixed(1)} s)` : '';
}

/**
 * The entries an Update must check: new ones, and those whose expectations, fingerprint
 * (template encryption configuration and bucket policy) or bucket changed. Unchanged entries
 * whose attributes the template references are checked too: CloudFormation replaces all of a
 * custom resource's attributes on Update, and observations cannot be returned without probing.
 * Old properties that cannot be read (a hand-edited template) make every entry count as changed.
 */
export function changedEntries(props: StackCheckProperties, oldProperties: unknown): CheckEntry[] {
  const old = new Map(knownBucketsOf(oldProperties).map(({ key, entry }) => [key, canonical(entry)]));
  return props.Buckets.filter((entry) =>
    old.get(entry.Key) !== canonical(entry as unknown as Record<string, unknown>) || referencedOf(props, entry.Key).length > 0);
}

/** JSON with sorted keys, so property order does not count as a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonical).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** One bucket's attributes: what it observed, or UNVERIFIED with one violation when the check could not complete. */
function attributesOf(entry: CheckEntry, outcome: BucketOutcome): CheckAttributes {
  if (outcome.report) {
    return { ...outcome.report.attributes, Violations: String(outcome.report.violations.length), Report: compactReport(outcome.report) };
  }
  return {
    SseC: 'UNVERIFIED',
    DefaultAlgorithm: '',
    KmsKeyArn: '',
    BucketKeyEnabled: 'UNVERIFIED',
    MismatchedHeaderRefused: 'UNVERIFIED',
    AbsentHeaderRefused: 'UNVERIFIED',
    // Nothing could be verified, the always-declared SSE-C expectation included: a violation.
    Violations: '1',
    Report: fit({ bucket: entry.BucketName, error: (outcome.error ?? '').slice(0, ATTRIBUTE_MAX_LENGTH.Report - 200) }, ATTRIBUTE_MAX_LENGTH.Report),
  };
}

/** The report as JSON within the attribute's size limit: detail is dropped before violations. */
export function compactReport(report: CheckReport, limit: number = ATTRIBUTE_MAX_LENGTH.Report): string {
  const full = {
    bucket: report.bucket,
    attributes: report.attributes,
    violations: report.violations,
    unverified: report.unverified,
    faults: report.faults,
    notes: report.notes,
    rounds: report.rounds.count,
    cleanup: { deleted: report.cleanup.deleted, leftovers: report.cleanup.leftovers.length, unsettled: (report.cleanup.unsettled ?? []).length },
    s3Requests: report.s3Requests,
  };
  let json = JSON.stringify(full);
  if (json.length <= limit) {
    return json;
  }
  json = JSON.stringify({
    bucket: report.bucket,
    violations: report.violations,
    unverified: report.unverified.length,
    faults: report.faults.length,
    notes: report.notes.length,
  });
  if (json.length <= limit) {
    return json;
  }
  return fit({
    bucket: report.bucket,
    violations: report.violations.length,
    unverified: report.unverified.length,
    truncated: true,
    first: `${report.violations[0] ?? report.unverified[0] ?? ''}`.slice(0, limit - 300),
  }, limit);
}

/** `value` as JSON of at most `limit` characters, dropping `first`/`error` text when escaping makes it longer. */
function fit(value: Record<string, unknown>, limit: number): string {
  let json = JSON.stringify(value);
  for (const field of ['first', 'error']) {
    if (json.length > limit && typeof value[field] === 'string') {
      value = { ...value, [field]: (value[field] as string).slice(0, Math.max(0, (value[field] as string).length - (json.length - limit) - 3)) };
      json = JSON.stringify(value);
    }
  }
  return json.length <= limit ? json : JSON.stringify({ bucket: value.bucket, truncated: true }).slice(0, limit);
}

/**
 * Whether a failed check must fail the deployment. During an update's rollback CloudFormation
 * sends an Update with the previous properties; failing it too (S3 still misbehaving, say
 * because of an SCP) would leave the stack in UPDATE_ROLLBACK_FAILED, which only an operator
 * can repair. So a rollback is reported, not failed. When the status cannot be read, fail.
 */
async function mustFail(requestType: RequestType, stackId: string, env: HandlerEnvironment): Promise<boolean> {
  if (requestType !== 'Update' || !env.stackStatus) {
    return true;
  }
  try {
    return (await env.stackStatus(stackId)) !== 'UPDATE_ROLLBACK_IN_PROGRESS';
  } catch (error) {
    console.warn(`could not read the stack status, so the check fails as usual: ${(error as Error).message}`);
    return true;
  }
}

/**
 * Delete removes leftover probes of every bucket it can name and never fails: a failed Delete
 * would block the stack's deletion over objects the lifecycle rule expires anyway. Properties
 * that are absent, null or partly invalid clean what they still name.
 */
async function deleteProbes(event: ResponseTarget & Record<string, unknown>, env: HandlerEnvironment): Promise<void> {
  try {
    const now = env.now ?? Date.now;
    const cleanupDeadline = now() + env.remainingMs() - RESPONSE_RESERVE_MS;
    const buckets = knownBucketsOf(event.ResourceProperties);
    await mapBounded(buckets, env.concurrency ?? BUCKET_CONCURRENCY, async ({ key, bucketName }) => {
      try {
        const caller = new S3Caller({ deadline: cleanupDeadline, sleep: env.sleep, now });
        const result = await cleanUp(env.s3, caller, bucketName, checkPrefix(event, key), []);
        console.log(JSON.stringify({ event: 'Delete', bucket: bucketName, ...result }));
      } catch (error) {
        console.warn(JSON.stringify({ event: 'Delete', bucket: bucketName, error: (error as Error)?.message ?? String(error) }));
      }
    });
  } catch (error) {
    console.warn(JSON.stringify({ event: 'Delete', error: (error as Error)?.message ?? String(error) }));
  }
}
