import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GuardrailsStack } from '../../examples/guardrails-stack';
import { S3EncryptionChecks } from '../../src';
import { testStack } from '../util/template';

describe('the example platform stack', () => {
  const env = { account: '111111111111', region: 'us-east-1' };

  test('attaches an RCP and an SCP to the sandbox OU and passes both rule packs', () => {
    const { app } = testStack('Unused');
    const stack = new GuardrailsStack(app, 'OrganizationGuardrails', { env, organizationalUnitIds: ['ou-ab12-sandbox1'] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Organizations::Policy', 2);
    template.hasResourceProperties('AWS::Organizations::Policy', { Type: 'RESOURCE_CONTROL_POLICY', Name: 'platform-s3-encryption-rcp', TargetIds: ['ou-ab12-sandbox1'] });
    template.hasResourceProperties('AWS::Organizations::Policy', { Type: 'SERVICE_CONTROL_POLICY', Name: 'platform-s3-encryption-scp', TargetIds: ['ou-ab12-sandbox1'] });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new S3EncryptionChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('the packs are really running on it: a plain bucket added to the same stack fails the synth', () => {
    const { app } = testStack('Unused');
    const stack = new GuardrailsStack(app, 'OrganizationGuardrails', { env, organizationalUnitIds: ['ou-ab12-sandbox1'] });
    new s3.Bucket(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new S3EncryptionChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S(1|10)/);
  });

  test('an OU id with a typo fails at synth, naming the property', () => {
    const { app } = testStack('Unused');
    expect(() => new GuardrailsStack(app, 'OrganizationGuardrails', { env, organizationalUnitIds: ['ou-ab12'] }))
      .toThrow(/OrganizationGuardrails\/S3Encryption: targets: "ou-ab12" is not a valid organizationalUnit id/);
  });
});
