/**
 * The example app that `npx cdk synth` runs: one stack that composes EncryptedBuckets in every
 * encryption mode the way an application stack would, and one stack of a platform repo that
 * attaches the organisation guardrails (an SCP and an RCP), checked by cdk-nag's AwsSolutions
 * pack and this library's S3EncryptionChecks pack.
 * It needs no AWS credentials: the environment is given explicitly.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { S3EncryptionChecks } from '../src';
import { GuardrailsStack } from './guardrails-stack';
import { SecureStorageStack } from './secure-storage-stack';

// No stack traces in the cloud assembly: faster, and no local paths in cdk.out.
const app = new App({ stackTraces: false });
new SecureStorageStack(app, 'SecureStorage', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' },
});
// Organizations policies are managed from the management account; its API lives in us-east-1.
new GuardrailsStack(app, 'OrganizationGuardrails', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: 'us-east-1' },
  organizationalUnitIds: ['ou-ab12-sandbox1'],
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new S3EncryptionChecks(app));
app.synth();
