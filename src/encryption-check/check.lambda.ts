import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { handleEvent, RESPONSE_RESERVE_MS } from './handler/on-event';
import { responseTargetOf } from './handler/properties';
import { CloudFormationResponse, sendResponse } from './handler/respond';
import { handleContinuous, isContinuousInput, putReportEvent } from './handler/scheduled';

// Created once per execution environment and shared by every bucket's check. The handler does
// its own retries (with a deadline), so the SDK's are off; the endpoint comes from the
// environment as usual (AWS_ENDPOINT_URL_S3 points the end-to-end tests at a local server).
const s3 = new S3Client({ maxAttempts: 1, followRegionRedirects: true });

/**
 * The stack's `Custom::S3EncryptionCheck` handler, invoked by CloudFormation directly (no
 * Provider framework). It always answers: the check's own answer, or FAILED when the check has
 * not answered shortly after its cleanup deadline, and never an error to Lambda.
 */
export async function handler(event: unknown, context: Context): Promise<void> {
  // A scheduled or change-triggered run (ContinuousEncryptionCheck) says so with its marker and
  // is validated in full there; anything else must be a CloudFormation event, which
  // respondTo validates (an unknown shape is logged and nothing runs).
  if (isContinuousInput(event)) {
    await handleContinuous(event, {
      s3,
      remainingMs: () => context.getRemainingTimeInMillis(),
      functionArn: context.invokedFunctionArn,
      putReport: process.env.REPORT_EVENTS === 'default' ? putReportEvent : undefined,
    });
    return;
  }
  return respondTo(event, context, handleEvent);
}

/** The handler with the check injectable (tests): answers with the check's result or the watchdog's, whichever comes first. */
export async function respondTo(event: unknown, context: Context, check: typeof handleEvent): Promise<void> {
  let target;
  try {
    target = responseTargetOf(event);
  } catch (error) {
    // Without a response URL there is nobody to answer; CloudFormation's ServiceTimeout ends it.
    console.error(JSON.stringify({ event: 'InvalidEvent', error: (error as Error).message }));
    return;
  }
  const remaining = () => context.getRemainingTimeInMillis();
  const fallbackPhysicalId = typeof (event as Record<string, unknown>).PhysicalResourceId === 'string'
    ? (event as Record<string, string>).PhysicalResourceId
    : `s3-encryption-check:${target.LogicalResourceId}`;

  const isDelete = (event as Record<string, unknown>).RequestType === 'Delete';
  const fallback = (reason: string): CloudFormationResponse => ({
    // Delete never fails, whatever happened.
    Status: isDelete ? 'SUCCESS' : 'FAILED',
    Reason: reason,
    PhysicalResourceId: fallbackPhysicalId,
    StackId: target.StackId,
    RequestId: target.RequestId,
    LogicalResourceId: target.LogicalResourceId,
  });

  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<CloudFormationResponse>((resolve) => {
    timer = setTimeout(() => resolve(fallback('S3 encryption check: the check did not finish within its deadline (see the check handler\'s log for the buckets it reached)')),
      Math.max(0, remaining() - RESPONSE_RESERVE_MS + 1_000));
  });
  // handleEvent does not throw; should it ever, the error is the answer.
  const checked = Promise.resolve().then(() => check(target as never, {
    s3,
    remainingMs: remaining,
    functionArn: context.invokedFunctionArn,
    stackStatus,
  })).catch((error: unknown) => fallback(`S3 encryption check: unexpected error: ${(error as Error)?.message ?? String(error)}`));
  const response = await Promise.race([checked, watchdog]);
  clearTimeout(timer);
  const sent = await sendResponse(target.ResponseURL, response, { deadline: Date.now() + remaining() - 1_000 });
  console.log(JSON.stringify({ event: 'Response', status: response.Status, delivered: sent.delivered, attempts: sent.attempts }));
}

/** Only asked when a check fails on Update, so the CloudFormation client is loaded on demand. */
async function stackStatus(stackId: string): Promise<string | undefined> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const answer = await new CloudFormationClient({ maxAttempts: 3 }).send(new DescribeStacksCommand({ StackName: stackId }));
  return answer.Stacks?.[0]?.StackStatus;
}
