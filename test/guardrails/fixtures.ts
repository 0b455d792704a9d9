import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { GuardrailConfig } from './guardrail-spec';
import { GUARDRAIL_CONFIGS } from './guardrail-spec';
import { BUCKETS, TARGET_OU, type GuardrailDocuments, type SseAlgorithm } from './org-model';
import { EncryptionHeaders, OrganizationTarget, PlatformRole, S3EncryptionGuardrails, S3EncryptionGuardrailsProps } from '../../src';
import type { PolicyDocument } from '../policy-sim/policy-check';
import { testStack } from '../util/template';

/** The props a user would write for a configuration of the spec. */
export function propsFor(c: GuardrailConfig): S3EncryptionGuardrailsProps {
  const encryptionOf: Record<SseAlgorithm, s3.BucketEncryption> = {
    'AES256': s3.BucketEncryption.S3_MANAGED,
    'aws:kms': s3.BucketEncryption.KMS,
    'aws:kms:dsse': s3.BucketEncryption.DSSE,
  };
  const exempt = {
    'no': undefined,
    'by name pattern': ['legacy-sse-c-*'],
    'by ARN': [`arn:aws:s3:::${BUCKETS.legacy.name}`],
  }[c.exemptLegacy];
  return {
    targets: [OrganizationTarget.organizationalUnit(TARGET_OU)],
    platformRoles: [PlatformRole.cdkCloudFormationExecutionRoles()],
    minimumTLSVersion: c.minimumTLSVersion,
    sseCExemptBuckets: exempt,
    protectBucketPolicies: c.protectBucketPolicies,
    denySseCOutsideOrganization: c.denySseCOutsideOrganization,
    encryptionHeaders: EncryptionHeaders[c.encryptionHeaders],
    encryption: c.algorithm ? encryptionOf[c.algorithm] : undefined,
  };
}

let synthesized: GuardrailDocuments[] | undefined;

/** The policy documents of each configuration, as synthesized into a template. */
export function guardrailDocuments(c: GuardrailConfig): GuardrailDocuments {
  if (!synthesized) {
    const { stack } = testStack('Guardrails');
    const constructs = GUARDRAIL_CONFIGS.map((config, i) => new S3EncryptionGuardrails(stack, `Guardrails${i}`, propsFor(config)));
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: { Content: PolicyDocument } }>;
    synthesized = constructs.map((g) => {
      const content = (policy: typeof g.resourceControlPolicy) => {
        const document = resources[stack.getLogicalId(policy)].Properties.Content;
        if (JSON.stringify(document).match(/"(Ref|Fn::[A-Za-z]+)"/)) {
          throw new Error(`the policy content contains a CloudFormation intrinsic: ${JSON.stringify(document)}`);
        }
        return document;
      };
      return { rcp: content(g.resourceControlPolicy), scp: content(g.serviceControlPolicy) };
    });
  }
  const index = GUARDRAIL_CONFIGS.indexOf(c);
  if (index < 0) {
    throw new Error('not a configuration of GUARDRAIL_CONFIGS');
  }
  return synthesized[index];
}
