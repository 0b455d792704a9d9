import { createHash, randomBytes } from 'crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mapBounded } from './batch';
import { BUCKET_CONCURRENCY, CLEANUP_RESERVE_MS, HandlerEnvironment } from './on-event';
import { stackPropertiesOf } from './properties';
import { CheckReport, runCheck } from './run-check';
import {
  CONFIGURATION_EVENTS, CONTINUOUS_INPUT_VERSION, CONTINUOUS_MARKER, ContinuousCheckInput, METRIC_NAMES, METRIC_NAMESPACE, REPORT_EVENT, Trigger,
} from '../continuous/types';
import { CheckEntry, PROBE_PREFIX } from '../types';

/**
 * A scheduled or change-triggered run of the stack's check (`ContinuousEncryptionCheck`). It
 * reuses `runCheck` and its guarantees (probes only under the prefix, versions deleted by id,
 * bounded concurrency and deadline, nothing written under Object Lock default retention) and
 * never fails: every outcome, an invalid input included, is a log line and a metric, never an
 * error to Lambda (which would only make EventBridge and Lambda retry the same probes).
 */

/** The scheduled handler's environment: the deploy-time handler's (no stack status: a run never fails), plus its outputs. */
export interface ScheduledEnvironment extends Omit<HandlerEnvironment, 'stackStatus'> {
  /** Writes one log line to standard output as is (metrics in CloudWatch embedded metric format). */
  readonly writeLine?: (line: string) => void;
  /** Puts the run's report on the default event bus; absent: no event. */
  readonly putReport?: (detail: ContinuousRunReport) => Promise<void>;
}

/** Time kept back after cleanup for the metrics and the report event. */
export const REPORT_RESERVE_MS = 10_000;
/** How long a change-triggered run waits before confirming a problem it found (S3 applies configuration eventually). */
export const CHANGE_SETTLE_MS = 60_000;
/** The least time a confirming re-check gets; with less left, the first result is reported. */
const MIN_RECHECK_MS = 90_000;

/** One bucket's result in a run. */
export interface BucketResult {
  readonly key: string;
  readonly bucket: string;
  readonly violations: string[];
  readonly unverified: string[];
  /** Why the check could not complete, when it did not. */
  readonly incomplete?: string;
  /** Probe objects the cleanup could not delete (the lifecycle rule expires them). */
  readonly leftovers: number;
}

/** What a run did: the log's last line, the detail of the report event and the tests' view. */
export interface ContinuousRunReport {
  readonly trigger?: Trigger;
  readonly stackName?: string;
  /** The CloudTrail event name, for a change-triggered run. */
  readonly eventName?: string;
  /** Set when the input was refused: nothing was probed. */
  readonly invalidInput?: string;
  readonly buckets: BucketResult[];
  readonly violations: number;
  readonly unverified: number;
  readonly incomplete: number;
}

/** Whether `event` claims to be a continuous run (it is then validated like any other input). */
export function isContinuousInput(event: unknown): boolean {
  return typeof event === 'object' && event !== null && CONTINUOUS_MARKER in event;
}

/**
 * The key prefix of one continuous run's probes of one bucket: disjoint from the deploy-time
 * check's, and unique per invocation. Runs overlap (a deploy's PutBucketPolicy and
 * PutBucketEncryption events arrive seconds apart, a schedule may fire meanwhile), and a
 * cleanup that lists its prefix (unversioned buckets) must never delete another run's probes.
 * A run that dies before its cleanup leaves objects only here, which the lifecycle rule expires.
 */
export function continuousPrefix(stackName: string, key: string, invocation: string): string {
  const id = createHash('sha256').update(`continuous/${stackName}/${key}`).digest('hex').slice(0, 16);
  return `${PROBE_PREFIX}c-${id}/${invocation}/`;
}

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const TRIGGERS: readonly Trigger[] = ['SCHEDULE', 'CONFIGURATION_CHANGE'];

/**
 * Validates the rule target's input. The expectations go through the deploy-time handler's own
 * validation (`stackPropertiesOf`), so an unknown expectation fails closed here too; the
 * changed bucket must be one of the entries (the rule's pattern lists them).
 */
export function continuousInputOf(event: unknown): ContinuousCheckInput {
  const problems: string[] = [];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new Error(`the input must be an object, got ${typeof event}`);
  }
  const raw = event as Record<string, unknown>;
  if (raw[CONTINUOUS_MARKER] !== CONTINUOUS_INPUT_VERSION) {
    problems.push(`${CONTINUOUS_MARKER} must be '${CONTINUOUS_INPUT_VERSION}', got ${JSON.stringify(raw[CONTINUOUS_MARKER])}`);
  }
  if (typeof raw.Trigger !== 'string' || !TRIGGERS.includes(raw.Trigger as Trigger)) {
    problems.push(`Trigger must be one of ${TRIGGERS.join(', ')}, got ${JSON.stringify(raw.Trigger)}`);
  }
  if (typeof raw.StackName !== 'string' || !STACK_NAME.test(raw.StackName)) {
    problems.push(`StackName must be a CloudFormation stack name, got ${JSON.stringify(raw.StackName)}`);
  }
  let buckets: CheckEntry[] = [];
  try {
    buckets = stackPropertiesOf({ Buckets: raw.Buckets }).Buckets;
    if (buckets.length === 0) {
      problems.push('Buckets must list at least one bucket');
    }
  } catch (error) {
    // Same checks as the deploy-time properties; the message names the input, not ResourceProperties.
    problems.push((error as Error).message.replace(/^invalid ResourceProperties: /, 'invalid input: '));
  }
  if (raw.Trigger === 'CONFIGURATION_CHANGE') {
    // Any bucket name: a large stack's rule cannot list every name (EventBridge's pattern limit)
    // and its buckets are spread over several targets, so a name that is not in this input's
    // Buckets is a valid event with nothing to check here. Only listed buckets are ever probed.
    if (typeof raw.ChangedBucket !== 'string' || !BUCKET_NAME.test(raw.ChangedBucket)) {
      problems.push(`ChangedBucket must be an S3 bucket name, got ${JSON.stringify(raw.ChangedBucket)}`);
    }
    if (typeof raw.EventName !== 'string' || !(CONFIGURATION_EVENTS as readonly string[]).includes(raw.EventName)) {
      problems.push(`EventName must be one of ${CONFIGURATION_EVENTS.join(', ')}, got ${JSON.stringify(raw.EventName)}`);
    }
  } else if (raw.ChangedBucket !== undefined || raw.EventName !== undefined) {
    problems.push('ChangedBucket and EventName belong to Trigger CONFIGURATION_CHANGE only');
  }
  for (const field of Object.keys(raw)) {
    if (![CONTINUOUS_MARKER, 'Trigger', 'StackName', 'Buckets', 'ChangedBucket', 'EventName'].includes(field)) {
      problems.push(`unknown property ${field}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(problems.join('; '));
  }
  return { ...(raw as unknown as ContinuousCheckInput), Buckets: buckets };
}

/**
 * Runs the check of the input's buckets (the changed one only, for a configuration change),
 * logs every report with what S3 answered, writes the metrics and puts the report event.
 * Never throws.
 */
export async function handleContinuous(event: unknown, env: ScheduledEnvironment): Promise<ContinuousRunReport> {
  const writeLine = env.writeLine ?? ((line: string) => { process.stdout.write(`${line}\n`); });
  let input: ContinuousCheckInput;
  try {
    input = continuousInputOf(event);
  } catch (error) {
    // Fail closed: nothing is probed on an input that does not say exactly what to expect.
    const report: ContinuousRunReport = { invalidInput: (error as Error).message, buckets: [], violations: 0, unverified: 0, incomplete: 0 };
    console.error(JSON.stringify({ event: 'InvalidContinuousInput', error: report.invalidInput }));
    await putReport(report, env);
    return report;
  }

  const now = env.now ?? Date.now;
  const toCheck = input.Trigger === 'CONFIGURATION_CHANGE' ? input.Buckets.filter((b) => b.BucketName === input.ChangedBucket) : input.Buckets;
  if (toCheck.length === 0) {
    // A change to a bucket this target does not cover: nothing to probe, no metric, no event.
    console.log(JSON.stringify({ event: 'NotCoveredHere', changedBucket: input.ChangedBucket, eventName: input.EventName }));
    const nothing = { buckets: [], violations: 0, unverified: 0, incomplete: 0 };
    return { trigger: input.Trigger, stackName: input.StackName, eventName: input.EventName, ...nothing };
  }
  let buckets = await checkBuckets(toCheck, input, env);
  const hasProblem = (results: BucketResult[]) => results.some((b) => b.violations.length > 0 || b.incomplete !== undefined);
  if (input.Trigger === 'CONFIGURATION_CHANGE' && hasProblem(buckets) && env.remainingMs() > CHANGE_SETTLE_MS + MIN_RECHECK_MS) {
    // S3 applies configuration changes eventually, and the event may arrive before the change is
    // in force everywhere (a deploy's own PutBucketPolicy among them): a problem found right
    // after a change is confirmed once after a pause before it is reported.
    console.log(JSON.stringify({ event: 'RecheckAfterChange', waitMs: CHANGE_SETTLE_MS, bucket: input.ChangedBucket }));
    await (env.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))))(CHANGE_SETTLE_MS);
    buckets = await checkBuckets(toCheck, input, env);
  }
  for (const result of buckets.filter((b) => b.incomplete !== undefined)) {
    console.error(JSON.stringify({ event: 'CheckIncomplete', key: result.key, bucket: result.bucket, error: result.incomplete }));
  }

  const report: ContinuousRunReport = {
    trigger: input.Trigger,
    stackName: input.StackName,
    eventName: input.EventName,
    buckets,
    violations: sum(buckets.map((b) => b.violations.length)),
    unverified: sum(buckets.map((b) => b.unverified.length)),
    incomplete: buckets.filter((b) => b.incomplete !== undefined).length,
  };
  for (const line of metricLines(report, now())) {
    writeLine(line);
  }
  if (report.violations > 0 || report.incomplete > 0) {
    const failing = buckets.filter((b) => b.violations.length > 0 || b.incomplete).map((b) => `${b.bucket}: ${b.incomplete ?? b.violations.join('; ')}`);
    console.warn(`S3 encryption check (${input.Trigger}): ${report.violations} violation(s), ${report.incomplete} bucket(s) not verified: ${failing.join(' | ')}`);
  }
  await putReport(report, env);
  return report;
}

/** Checks `toCheck` under one deadline, each bucket under this invocation's own prefix. Never throws. */
async function checkBuckets(toCheck: CheckEntry[], input: ContinuousCheckInput, env: ScheduledEnvironment): Promise<BucketResult[]> {
  const now = env.now ?? Date.now;
  const started = now();
  const cleanupDeadline = started + env.remainingMs() - REPORT_RESERVE_MS;
  const deadline = Math.max(started, cleanupDeadline - CLEANUP_RESERVE_MS);
  const invocation = (env.randomBytes ?? randomBytes)(6).toString('hex');
  console.log(JSON.stringify({ event: input.Trigger, stackName: input.StackName, eventName: input.EventName, buckets: toCheck.length, invocation }));

  const outcomes = await mapBounded(toCheck, env.concurrency ?? BUCKET_CONCURRENCY, async (entry): Promise<BucketResult> => {
    if (now() >= deadline) {
      return incompleteResult(entry, 'not checked: the run\'s deadline was reached before this bucket\'s turn');
    }
    try {
      const report = await runCheck(entry, {
        s3: env.s3,
        prefix: continuousPrefix(input.StackName, entry.Key, invocation),
        deadline,
        cleanupDeadline,
        sleep: env.sleep,
        now,
        randomBytes: env.randomBytes,
        accessDeniedWaitMs: env.accessDeniedWaitMs ?? 0,
        functionArn: env.functionArn,
      });
      logReport(entry, report);
      return {
        key: entry.Key,
        bucket: entry.BucketName,
        violations: report.violations,
        unverified: report.unverified,
        leftovers: report.cleanup.leftovers.length,
      };
    } catch (error) {
      return incompleteResult(entry, (error as Error)?.message ?? String(error));
    }
  });
  return outcomes.map((outcome, index) => ('cause' in outcome ? incompleteResult(toCheck[index], outcome.message) : outcome));
}

/**
 * The run's metrics as CloudWatch embedded metric format lines (one per bucket, dimensions
 * StackName and Bucket, and one per run, dimension StackName): CloudWatch Logs turns them into
 * metrics, so the function needs no `cloudwatch:PutMetricData` (which IAM grants only on `*`).
 *
 * The stack's sums drive the alarm, and a datapoint of 0 clears it. Only a scheduled run sees
 * every bucket (of its target), so only a scheduled run writes a clean sum; a change-triggered
 * run of one bucket writes the sum only when it found a problem: it can raise the alarm, never
 * clear it while another bucket still fails.
 */
export function metricLines(report: ContinuousRunReport, timestamp: number): string[] {
  const metrics = Object.values(METRIC_NAMES).map((Name) => ({ Name, Unit: 'Count' }));
  const line = (dimensions: Record<string, string>, values: Record<string, number>) => JSON.stringify({
    _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [Object.keys(dimensions)], Metrics: metrics }] },
    ...dimensions,
    ...values,
  });
  const stackName = report.stackName!;
  const writeSums = report.trigger === 'SCHEDULE' || report.violations > 0 || report.incomplete > 0;
  return [
    ...report.buckets.map((b) => line({ StackName: stackName, Bucket: b.bucket }, {
      [METRIC_NAMES.violations]: b.violations.length,
      [METRIC_NAMES.unverified]: b.unverified.length,
      [METRIC_NAMES.incomplete]: b.incomplete === undefined ? 0 : 1,
    })),
    ...(writeSums ? [line({ StackName: stackName }, {
      [METRIC_NAMES.violations]: report.violations,
      [METRIC_NAMES.unverified]: report.unverified,
      [METRIC_NAMES.incomplete]: report.incomplete,
    })] : []),
  ];
}

/** The full report with what S3 answered to every probe: the log is where an operator looks first. */
function logReport(entry: CheckEntry, report: CheckReport): void {
  console.log(JSON.stringify({ key: entry.Key, ...report }));
  if (report.cleanup.leftovers.length > 0) {
    console.warn(`probe objects left behind in ${entry.BucketName} (the lifecycle rule expires them): ${report.cleanup.leftovers.join(', ')}`);
  }
}

function incompleteResult(entry: CheckEntry, reason: string): BucketResult {
  return { key: entry.Key, bucket: entry.BucketName, violations: [], unverified: [], incomplete: reason, leftovers: 0 };
}

async function putReport(report: ContinuousRunReport, env: ScheduledEnvironment): Promise<void> {
  if (!env.putReport) {
    return;
  }
  try {
    await env.putReport(report);
  } catch (error) {
    // The metrics and the log already carry the verdict; a lost event is reported, never thrown.
    console.warn(JSON.stringify({ event: 'ReportEventNotSent', error: (error as Error)?.message ?? String(error) }));
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** EventBridge limits an entry to 256 KB; the report's per-bucket messages are cut well below that. */
const REPORT_EVENT_LIMIT = 200_000;

/**
 * Puts the run's report on the default event bus with the fixed source and detail-type (the only
 * ones the role may use). The client is created per run: CloudFormation's invocations never need it.
 */
export async function putReportEvent(report: ContinuousRunReport): Promise<void> {
  let detail = JSON.stringify(report);
  if (detail.length > REPORT_EVENT_LIMIT) {
    const counted = report.buckets.map((b) => ({ ...b, violations: b.violations.length, unverified: b.unverified.length }));
    detail = JSON.stringify({ ...report, buckets: counted, truncated: true });
  }
  const answer = await new EventBridgeClient({ maxAttempts: 3 }).send(new PutEventsCommand({
    Entries: [{ Source: REPORT_EVENT.source, DetailType: REPORT_EVENT.detailType, Detail: detail }],
  }));
  if ((answer.FailedEntryCount ?? 0) > 0) {
    throw new Error(`PutEvents refused the report: ${answer.Entries?.map((e) => e.ErrorCode).filter(Boolean).join(', ')}`);
  }
}
