import { CONFIGURATION_EVENTS } from './types';

/**
 * The rule pattern for "AWS API Call via CloudTrail" events of S3 configuration changes to the
 * given buckets (any bucket when none are given).
 */
export function configurationChangePattern(bucketNames?: string[]): Record<string, unknown> {
  return {
    'source': ['aws.s3'],
    'detail-type': ['AWS API Call via CloudTrail'],
    'detail': {
      eventSource: ['s3.amazonaws.com'],
      eventName: [...CONFIGURATION_EVENTS],
      ...(bucketNames ? { requestParameters: { bucketName: bucketNames } } : {}),
    },
  };
}
