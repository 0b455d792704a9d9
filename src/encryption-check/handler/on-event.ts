import { createHash } from 'crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { cleanUp } from './cleanup';
import { CheckReport, runCheck } from './run-check';
import { S3Caller } from './s3-call';
import { ATTRIBUTE_NAMES, CheckAttributes, CheckProperties, PROBE_PREFIX } from '../types';

/** What the Provider framework expects back from an onEvent handler. */
export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: CheckAttributes;
}

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
}

/**
 * Whether a failed check must fail the deployment. During an update's rollback CloudFormation
 * sends an Update with the previous properties; failing it too (S3 still misbehaving, say
 * because of an SCP) would leave the stack in UPDATE_ROLLBACK_FAILED, which only an operator
 * can repair. So a rollback is reported, not failed. When the status cannot be read, fail.
 */
async function mustFail(event: CloudFormationCustomResourceEvent, env: HandlerEnvironment): Promise<boolean> {
  if (event.RequestType !== 'Update' || !env.stackStatus) {
    return true;
  }
  try {
    return (await env.stackStatus(event.StackId)) !== 'UPDATE_ROLLBACK_IN_PROGRESS';
  } catch (error) {
    console.warn(`could not read the stack status, so the check fails as usual: ${(error as Error).message}`);
    return true;
  }
}

/** Time kept back from probing for cleanup, and from cleanup for the response. */
const CLEANUP_RESERVE_MS = 25_000;
const RESPONSE_RESERVE_MS = 3_000;
/** Provider framework response data is limited to 4 KB altogether. */
const REPORT_LIMIT = 2_500;

/** The key prefix of one custom resource's probes: stable across its Create, Update and Delete. */
export function checkPrefix(event: CloudFormationCustomResourceEvent): string {
  const id = createHash('sha256').update(`${event.StackId}/${event.LogicalResourceId}`).digest('hex').slice(0, 16);
  return `${PROBE_PREFIX}${id}/`;
}

/** Stable per bucket: an Update that keeps the bucket keeps the id; a new bucket replaces the resource. */
export function physicalIdOf(props: CheckProperties): string {
  return `s3-encryption-check:${props.BucketName}`;
}

/** CloudFormation sends every property as a string, and lists as lists of strings. */
function propertiesOf(raw: Record<string, unknown>): CheckProperties {
  const props = raw as unknown as CheckProperties;
  if (typeof props.BucketName !== 'string' || props.BucketName === '') {
    throw new Error('BucketName is required');
  }
  return { ...props, OnViolation: props.OnViolation === 'WARN' ? 'WARN' : 'FAIL', ExpectSseC: props.ExpectSseC ?? 'BLOCKED' };
}

/** Handles a Create, Update or Delete event from the Provider framework. */
export async function onEvent(event: CloudFormationCustomResourceEvent, env: HandlerEnvironment): Promise<OnEventResponse> {
  const now = env.now ?? Date.now;
  const started = now();
  const remaining = env.remainingMs();
  const cleanupDeadline = started + remaining - RESPONSE_RESERVE_MS;
  const deadline = Math.max(started, cleanupDeadline - CLEANUP_RESERVE_MS);
  const prefix = checkPrefix(event);

  if (event.RequestType === 'Delete') {
    // Delete only removes leftover probes and never fails: a failed Delete would block the
    // stack's deletion over objects the lifecycle rule expires anyway.
    const props = event.ResourceProperties as unknown as Partial<CheckProperties>;
    if (props.BucketName) {
      try {
        const caller = new S3Caller({ deadline: cleanupDeadline, sleep: env.sleep, now });
        const result = await cleanUp(env.s3, caller, props.BucketName, prefix, []);
        console.log(JSON.stringify({ event: 'Delete', bucket: props.BucketName, ...result }));
      } catch (error) {
        console.warn(JSON.stringify({ event: 'Delete', bucket: props.BucketName, error: (error as Error).message }));
      }
    }
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const props = propertiesOf(event.ResourceProperties);
  const physicalId = physicalIdOf(props);
  let report: CheckReport;
  try {
    report = await runCheck(props, {
      s3: env.s3,
      prefix,
      deadline,
      cleanupDeadline,
      sleep: env.sleep,
      now,
      randomBytes: env.randomBytes,
      accessDeniedWaitMs: env.accessDeniedWaitMs,
      // The Provider framework's function is in the same partition, region and account.
      functionArn: env.functionArn ?? event.ServiceToken,
    });
  } catch (error) {
    const message = `S3 encryption check of bucket ${props.BucketName} could not complete: ${(error as Error).message}`;
    if (props.OnViolation === 'FAIL' && await mustFail(event, env)) {
      throw new Error(message);
    }
    console.warn(props.OnViolation === 'FAIL' ? `${message} (not failing: the stack is rolling back)` : message);
    // Nothing could be verified, the always-declared SSE-C expectation included: that counts as
    // a violation, so WARN reports it and `violationCount` is not 0.
    return { PhysicalResourceId: physicalId, Data: unverifiedAttributes(props.BucketName, message) };
  }

  console.log(JSON.stringify(report));
  if (report.violations.length > 0) {
    const message = `S3 encryption check of bucket ${props.BucketName} found ${report.violations.length} violation(s): ${report.violations.join('; ')}`;
    if (props.OnViolation === 'FAIL' && await mustFail(event, env)) {
      throw new Error(message);
    }
    console.warn(props.OnViolation === 'FAIL' ? `${message} (not failing: the stack is rolling back)` : message);
  }
  if (report.cleanup.leftovers.length > 0) {
    console.warn(`probe objects left behind in ${props.BucketName} (the lifecycle rule expires them): ${report.cleanup.leftovers.join(', ')}`);
  }
  return {
    PhysicalResourceId: physicalId,
    Data: { ...report.attributes, [ATTRIBUTE_NAMES.Violations]: String(report.violations.length), [ATTRIBUTE_NAMES.Report]: compactReport(report) },
  };
}

function unverifiedAttributes(bucket: string, error: string): CheckAttributes {
  return {
    SseC: 'UNVERIFIED',
    DefaultAlgorithm: '',
    KmsKeyArn: '',
    BucketKeyEnabled: 'UNVERIFIED',
    MismatchedHeaderRefused: 'UNVERIFIED',
    AbsentHeaderRefused: 'UNVERIFIED',
    Violations: '1',
    Report: JSON.stringify({ bucket, error: error.slice(0, REPORT_LIMIT - 100) }),
  };
}

/** The report as JSON within the response size limit: detail is dropped before violations. */
export function compactReport(report: CheckReport): string {
  const full = {
    bucket: report.bucket,
    attributes: report.attributes,
    violations: report.violations,
    unverified: report.unverified,
    configuration: report.configuration,
    probes: report.probes,
    cleanup: report.cleanup,
    s3Requests: report.s3Requests,
  };
  let json = JSON.stringify(full);
  if (json.length <= REPORT_LIMIT) {
    return json;
  }
  json = JSON.stringify({
    ...full,
    probes: undefined,
    configuration: undefined,
    cleanup: { deleted: report.cleanup.deleted, leftovers: report.cleanup.leftovers.length },
  });
  if (json.length <= REPORT_LIMIT) {
    return json;
  }
  return JSON.stringify({
    bucket: report.bucket,
    violations: report.violations.length,
    unverified: report.unverified.length,
    truncated: true,
    first: `${report.violations[0] ?? report.unverified[0] ?? ''}`.slice(0, REPORT_LIMIT - 300),
  });
}
