/**
 * A small offline evaluator of EventBridge event patterns, enough for the patterns this library
 * writes: nested objects, and arrays of exact string values (EventBridge's "match any of these
 * values"; an array in the event matches when any element does). Any other pattern syntax
 * (prefix, anything-but, numeric, exists...) throws, so a pattern this evaluator cannot read can
 * never pass a test by accident. aws-cdk-lib and the devDependencies offer no offline matcher;
 * EventBridge's own TestEventPattern API needs an account.
 */
export function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event[field];
    if (Array.isArray(expected)) {
      for (const value of expected) {
        if (typeof value !== 'string') {
          throw new Error(`unsupported pattern syntax at ${field}: ${JSON.stringify(value)}`);
        }
      }
      const values = Array.isArray(actual) ? actual : [actual];
      return values.some((v) => typeof v === 'string' && expected.includes(v));
    }
    if (typeof expected === 'object' && expected !== null) {
      return typeof actual === 'object' && actual !== null && !Array.isArray(actual)
        && matches(expected as Record<string, unknown>, actual as Record<string, unknown>);
    }
    throw new Error(`unsupported pattern syntax at ${field}: ${JSON.stringify(expected)} (EventBridge patterns take arrays)`);
  });
}

/** An "AWS API Call via CloudTrail" event for an S3 bucket-level call, as EventBridge delivers it. */
export function cloudTrailS3Event(eventName: string, bucketName: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'version': '0',
    'id': '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'AWS API Call via CloudTrail',
    'source': 'aws.s3',
    'account': '111111111111',
    'time': '2026-11-29T19:00:00Z',
    'region': 'eu-west-1',
    'resources': [],
    'detail': {
      eventVersion: '1.09',
      eventSource: 's3.amazonaws.com',
      eventName,
      awsRegion: 'eu-west-1',
      requestParameters: { bucketName, Host: `${bucketName}.s3.eu-west-1.amazonaws.com`, policy: '' },
      eventType: 'AwsApiCall',
      managementEvent: true,
      eventCategory: 'Management',
    },
    ...overrides,
  };
}
