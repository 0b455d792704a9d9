import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SecureStorageStack } from '../../examples/secure-storage-stack';
import { TEST_ENV, testStack } from '../util/template';

describe('the example app under cdk-nag AwsSolutions', () => {
  test('synthesizes with no unacknowledged finding', () => {
    const { app } = testStack('Unused');
    new SecureStorageStack(app, 'SecureStorage', { env: TEST_ENV });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('the pack is really running: a plain bucket added to the same stack fails the synth', () => {
    const { app } = testStack('Unused');
    const stack = new SecureStorageStack(app, 'SecureStorage', { env: TEST_ENV });
    new s3.Bucket(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S(1|10)/);
  });
});
