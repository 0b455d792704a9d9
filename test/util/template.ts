import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** Account and region of every test stack: concrete, so templates read like real ones. */
export const TEST_ENV = { account: '111111111111', region: 'eu-west-1' };

/** A fresh app (with the context `cdk init` writes for S3 access logs) and stack. */
export function testStack(id = 'TestStack'): { app: App; stack: Stack } {
  const app = new App({
    // Faster synths, and no paths or line numbers in the cloud assembly.
    stackTraces: false,
    context: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true },
  });
  const stack = new Stack(app, id, { env: TEST_ENV });
  return { app, stack };
}

/**
 * The template as JSON with asset hashes masked, so snapshots show every change to what
 * users deploy but not the hash of a rebuilt Lambda bundle.
 */
export function maskedTemplate(stack: Stack): unknown {
  const json = JSON.stringify(Template.fromStack(stack).toJSON());
  return JSON.parse(json.replace(/[0-9a-f]{64}(\.zip)?/g, (_m, zip) => `<asset-hash>${zip ?? ''}`));
}
