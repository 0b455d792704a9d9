import { S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { onEvent, OnEventResponse } from './handler/on-event';

// Created once per execution environment. The handler does its own retries (with a deadline),
// so the SDK's are off; the endpoint comes from the environment as usual (AWS_ENDPOINT_URL_S3
// points the end-to-end tests at a local server).
const s3 = new S3Client({ maxAttempts: 1, followRegionRedirects: true });

/** The Provider framework's onEvent handler of `EncryptionCheck`. */
export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<OnEventResponse> {
  return onEvent(event, { s3, remainingMs: () => context.getRemainingTimeInMillis(), functionArn: context.invokedFunctionArn, stackStatus });
}

/** Only asked when a check fails on Update, so the CloudFormation client is loaded on demand. */
async function stackStatus(stackId: string): Promise<string | undefined> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const answer = await new CloudFormationClient({ maxAttempts: 3 }).send(new DescribeStacksCommand({ StackName: stackId }));
  return answer.Stacks?.[0]?.StackStatus;
}
