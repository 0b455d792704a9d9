import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { OrganizationTarget, PlatformRole, S3EncryptionGuardrails } from '../src';

/** Properties of the platform repo's guardrails stack. */
export interface GuardrailsStackProps extends StackProps {
  /**
   * The organizational units the guardrails are attached to. Roll out one test OU first, read
   * CloudTrail for AccessDenied errors that name the guardrails, then add OUs or the root.
   */
  readonly organizationalUnitIds: string[];
}

/**
 * A stack of the platform repo that manages the organisation: deployed to the management account
 * (or the delegated administrator for Organizations policies), with the SCP and RCP policy types
 * enabled in the organisation.
 */
export class GuardrailsStack extends Stack {
  public readonly guardrails: S3EncryptionGuardrails;

  constructor(scope: Construct, id: string, props: GuardrailsStackProps) {
    super(scope, id, props);

    this.guardrails = new S3EncryptionGuardrails(this, 'S3Encryption', {
      targets: props.organizationalUnitIds.map((ou) => OrganizationTarget.organizationalUnit(ou)),
      platformRoles: [
        // Every CDK-bootstrapped member account deploys buckets with this role.
        PlatformRole.cdkCloudFormationExecutionRoles(),
        // The platform team's break-glass role, in every member account.
        PlatformRole.fromRoleArnPattern('arn:aws:iam::*:role/platform/S3EncryptionAdmin'),
      ],
      // One workload still encrypts with its own keys; its buckets are named accordingly.
      sseCExemptBuckets: ['partner-exchange-sse-c-*'],
      denySseCOutsideOrganization: true,
      policyNamePrefix: 'platform-s3-encryption',
    });
  }
}
