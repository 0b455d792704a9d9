import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Errors, Fn } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BucketEncryptionPolicy, EncryptionHeaders, OrganizationTarget, PlatformRole, S3EncryptionGuardrails, S3EncryptionGuardrailsProps,
} from '../../src';
import { testStack } from '../util/template';

const OU = 'ou-ab12-cd34ef56';
const BASE: S3EncryptionGuardrailsProps = {
  targets: [OrganizationTarget.organizationalUnit(OU)],
  platformRoles: [PlatformRole.cdkCloudFormationExecutionRoles()],
};

function synth(props: Partial<S3EncryptionGuardrailsProps> = {}) {
  const { stack } = testStack();
  const guardrails = new S3EncryptionGuardrails(stack, 'Guardrails', { ...BASE, ...props });
  const template = Template.fromStack(stack);
  const content = (policy: typeof guardrails.resourceControlPolicy) =>
    template.toJSON().Resources[stack.getLogicalId(policy)].Properties.Content as { Statement: Record<string, any>[] };
  return { stack, guardrails, template, rcp: content(guardrails.resourceControlPolicy), scp: content(guardrails.serviceControlPolicy) };
}

function build(props: Partial<S3EncryptionGuardrailsProps>) {
  const { stack } = testStack();
  return () => new S3EncryptionGuardrails(stack, 'Guardrails', { ...BASE, ...props });
}

describe('S3EncryptionGuardrails template', () => {
  test('one RCP and one SCP, attached to the targets, named after the construct', () => {
    const { template } = synth({ targets: [OrganizationTarget.root('r-ab12'), OrganizationTarget.account('123456789012')] });
    template.resourceCountIs('AWS::Organizations::Policy', 2);
    for (const [type, suffix] of [['RESOURCE_CONTROL_POLICY', 'rcp'], ['SERVICE_CONTROL_POLICY', 'scp']]) {
      template.hasResourceProperties('AWS::Organizations::Policy', {
        Type: type,
        Name: Match.stringLikeRegexp(`^TestStack-Guardrails-[0-9A-F]{8}-${suffix}$`),
        TargetIds: ['r-ab12', '123456789012'],
      });
    }
  });

  test('the RCP: Principal "*" (Organizations refuses {"AWS":"*"}), Resource "*", the bucket policies\' Sids', () => {
    const { rcp } = synth();
    expect(rcp.Statement.map((s) => s.Sid)).toEqual([
      BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT, BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS, BucketEncryptionPolicy.SID_DENY_SSE_C,
    ]);
    for (const statement of rcp.Statement) {
      expect(statement).toMatchObject({ Effect: 'Deny', Principal: '*', Resource: '*' });
    }
  });

  test('the SCP by default: settings changes by anyone but the platform roles; no Principal', () => {
    const { scp } = synth();
    expect(scp.Statement).toEqual([{
      Sid: S3EncryptionGuardrails.SID_PROTECT_ENCRYPTION_SETTINGS,
      Effect: 'Deny',
      Action: ['s3:PutEncryptionConfiguration', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'],
      Resource: '*',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': ['arn:*:iam::*:role/cdk-hnb659fds-cfn-exec-role-*'] } },
    }]);
  });

  test('protectBucketPolicies: false leaves bucket policies alone, not default encryption', () => {
    const { scp } = synth({ protectBucketPolicies: false });
    expect(scp.Statement[0].Action).toEqual(['s3:PutEncryptionConfiguration']);
  });

  test('exempt buckets become NotResource object ARNs, by name in any partition or by ARN as given', () => {
    const { rcp } = synth({ sseCExemptBuckets: ['legacy-*', 'arn:aws-cn:s3:::cn-legacy', 'Legacy_US_East_1'] });
    const sseC = rcp.Statement.find((s) => s.Sid === BucketEncryptionPolicy.SID_DENY_SSE_C)!;
    expect(sseC.Resource).toBeUndefined();
    expect(sseC.NotResource).toEqual(['arn:*:s3:::legacy-*/*', 'arn:aws-cn:s3:::cn-legacy/*', 'arn:*:s3:::Legacy_US_East_1/*']);
  });

  test('the same conditions as the bucket policies, statement for statement', () => {
    for (const minimumTLSVersion of [1.2, 1.3]) {
      for (const [encryption, encryptionHeaders] of [
        [s3.BucketEncryption.S3_MANAGED, EncryptionHeaders.DENY_MISMATCH],
        [s3.BucketEncryption.KMS_MANAGED, EncryptionHeaders.REQUIRE],
        [s3.BucketEncryption.DSSE_MANAGED, EncryptionHeaders.DENY_MISMATCH],
      ] as const) {
        const { stack, rcp } = synth({ minimumTLSVersion, encryption, encryptionHeaders });
        const bucketStatements = [
          ...BucketEncryptionPolicy.statements(new s3.Bucket(stack, `Blocking${encryption}`), { minimumTLSVersion, encryption }),
          ...BucketEncryptionPolicy.statements(new s3.Bucket(stack, `Headers${encryption}`), {
            minimumTLSVersion, encryption, encryptionHeaders, customerProvidedKeys: undefined,
          }),
        ].map((s) => s.toStatementJson());
        for (const statement of rcp.Statement) {
          const same = bucketStatements.find((b) => b.Sid === statement.Sid);
          expect([statement.Sid, statement.Action]).toEqual([statement.Sid, same?.Action]);
          if (statement.Sid !== BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION) {
            // (The missing-header statement also exempts SSE-C uploads: exempt buckets take them.)
            expect([statement.Sid, statement.Condition]).toEqual([statement.Sid, same?.Condition]);
          }
        }
      }
    }
  });

  test('encryptionHeaders: the key-id statement is never written (an organisation has many keys)', () => {
    const { rcp } = synth({ encryption: s3.BucketEncryption.KMS, encryptionHeaders: EncryptionHeaders.REQUIRE });
    expect(rcp.Statement.map((s) => s.Sid)).toEqual([
      BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT, BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS, BucketEncryptionPolicy.SID_DENY_SSE_C,
      BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION, BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION,
    ]);
    expect(rcp.Statement[3].Condition.StringNotEquals).toEqual({ 's3:x-amz-server-side-encryption': 'aws:kms' });
  });

  test('denySseCOutsideOrganization compares the bucket\'s organisation with the principal\'s', () => {
    const { scp } = synth({ denySseCOutsideOrganization: true });
    expect(scp.Statement[1]).toEqual({
      Sid: S3EncryptionGuardrails.SID_DENY_SSE_C_OUTSIDE_ORGANIZATION,
      Effect: 'Deny',
      Action: 's3:PutObject',
      Resource: '*',
      Condition: {
        Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' },
        StringNotEquals: { 'aws:ResourceOrgID': '${aws:PrincipalOrgID}' },
      },
    });
  });

  test('policyNamePrefix names both policies', () => {
    const { template } = synth({ policyNamePrefix: 'platform-s3' });
    template.hasResourceProperties('AWS::Organizations::Policy', { Name: 'platform-s3-rcp' });
    template.hasResourceProperties('AWS::Organizations::Policy', { Name: 'platform-s3-scp' });
  });

  test('the construct tree holds the two policies and nothing else (the statement source stays out of it)', () => {
    const { guardrails } = synth();
    expect(guardrails.node.children.map((c) => c.node.id).sort()).toEqual(['ResourceControlPolicy', 'ServiceControlPolicy']);
  });

  test('under the CDK CLI (CDK_OUTDIR set) no second app registers for synthesis, so no extra stack reaches cdk.out', () => {
    const { stack } = testStack(); // the user's own app, made before CDK_OUTDIR is set
    const before = process.listenerCount('beforeExit');
    process.env.CDK_OUTDIR = '/nonexistent/cdk.out';
    try {
      new S3EncryptionGuardrails(stack, 'Guardrails', {
        ...BASE, encryption: s3.BucketEncryption.KMS, encryptionHeaders: EncryptionHeaders.REQUIRE, denySseCOutsideOrganization: true,
      });
    } finally {
      delete process.env.CDK_OUTDIR;
    }
    expect(process.listenerCount('beforeExit')).toBe(before);
  });

  test('deterministic: the same props give the same template', () => {
    const props = { sseCExemptBuckets: ['a-*'], denySseCOutsideOrganization: true };
    expect(synth(props).template.toJSON()).toEqual(synth(props).template.toJSON());
  });

  test('TLS 1.3 and REQUIRE are legal but warn', () => {
    const { stack } = synth({ minimumTLSVersion: 1.3, encryption: s3.BucketEncryption.S3_MANAGED, encryptionHeaders: EncryptionHeaders.REQUIRE });
    Annotations.fromStack(stack).hasWarning('/TestStack/Guardrails', Match.stringLikeRegexp('PrivateLink'));
    Annotations.fromStack(stack).hasWarning('/TestStack/Guardrails', Match.stringLikeRegexp('CDK asset publishing'));
    const quiet = synth();
    expect(Annotations.fromStack(quiet.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('S3EncryptionGuardrails validation', () => {
  test.each([
    ['no target', { targets: [] }, /targets: \[\] attaches the policies nowhere/],
    ['a malformed root id', { targets: [OrganizationTarget.root('r-AB')] }, /targets: "r-AB" is not a valid root id: expected the form r-ab12/],
    ['an account id given as OU', { targets: [OrganizationTarget.organizationalUnit('123456789012')] }, /"123456789012" is not a valid organizationalUnit id/],
    ['an 11-digit account', { targets: [OrganizationTarget.account('12345678901')] }, /"12345678901" is not a valid account id/],
    ['a duplicate target', { targets: [OrganizationTarget.organizationalUnit(OU), OrganizationTarget.organizationalUnit(OU)] }, /"ou-ab12-cd34ef56" is given twice/],
    ['no platform role', { platformRoles: [] }, /platformRoles: \[\] would refuse PutBucketEncryption to everyone.*cdkCloudFormationExecutionRoles/],
    ['a role name instead of an ARN', { platformRoles: [PlatformRole.fromRoleArnPattern('PlatformAdmin')] }, /"PlatformAdmin" is not an IAM principal ARN pattern/],
    ['an sts session ARN', { platformRoles: [PlatformRole.fromRoleArnPattern('arn:aws:sts::123456789012:assumed-role/Admin/me')] }, /not the sts assumed-role ARN/],
    ['every role', { platformRoles: [PlatformRole.fromRoleArnPattern('arn:aws:iam::*:role/*')] }, /matches every role or user, which turns the protection off/],
    ['a bad bootstrap qualifier', { platformRoles: [PlatformRole.cdkCloudFormationExecutionRoles('Not_Valid')] }, /bootstrap qualifier "Not_Valid"/],
    ['TLS 1.1', { minimumTLSVersion: 1.1 }, /minimumTLSVersion: 1.1 is not supported: use 1.2/],
    ['TLS 1.4', { minimumTLSVersion: 1.4 }, /minimumTLSVersion: 1.4 is not supported/],
    ['encryption without headers', { encryption: s3.BucketEncryption.KMS }, /encryption: KMS has no effect while encryptionHeaders is NOT_ENFORCED/],
    ['headers without encryption', { encryptionHeaders: EncryptionHeaders.DENY_MISMATCH }, /encryptionHeaders: DENY_MISMATCH needs encryption/],
    ['UNENCRYPTED', { encryptionHeaders: EncryptionHeaders.DENY_MISMATCH, encryption: s3.BucketEncryption.UNENCRYPTED }, /encryption: UNENCRYPTED names no algorithm/],
    ['an object ARN as exempt bucket', { sseCExemptBuckets: ['arn:aws:s3:::legacy/*'] }, /"arn:aws:s3:::legacy\/\*" is neither a bucket name/],
    ['a bucket name with a space', { sseCExemptBuckets: ['legacy data'] }, /"legacy data" is neither a bucket name/],
    ['an S3 URI', { sseCExemptBuckets: ['s3://legacy-data'] }, /"s3:\/\/legacy-data" is neither a bucket name/],
    ['an exemption of every bucket', { sseCExemptBuckets: ['*'] }, /only wildcards would exempt every bucket/],
    ['an exempt bucket as a token', { sseCExemptBuckets: [Fn.importValue('LegacyBucketName')] }, /sseCExemptBuckets: a bucket given as a token/],
    ['an empty name prefix', { policyNamePrefix: '' }, /policyNamePrefix: "" has 0 characters/],
    ['a 125-character name prefix', { policyNamePrefix: 'p'.repeat(125) }, /has 125 characters/],
  ] as [string, Partial<S3EncryptionGuardrailsProps>, RegExp][])('%s', (_name, props, error) => {
    expect(build(props)).toThrow(error);
  });

  test('errors are aws-cdk-lib validation errors that name the construct path', () => {
    try {
      build({ targets: [] })();
      throw new Error('no error thrown');
    } catch (e) {
      expect(Errors.isValidationError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^TestStack\/Guardrails: targets/);
    }
  });

  test('targets given as tokens are not checked at synth', () => {
    expect(build({ targets: [OrganizationTarget.organizationalUnit(Fn.importValue('SandboxOu'))] })).not.toThrow();
  });
});

describe('S3EncryptionGuardrails size check (AWS Organizations: 5,120 characters per policy)', () => {
  const exempt = (n: number) => Array.from({ length: n }, (_, i) => `legacy-sse-c-bucket-${String(i).padStart(4, '0')}`);

  test('the size measured is the minified content of the template', () => {
    const { rcp, scp } = synth({ sseCExemptBuckets: exempt(3) });
    // Printed so that a reviewer sees how much of the limit the defaults use.
    console.log(`default RCP with 3 exemptions: ${JSON.stringify(rcp).length} characters, default SCP: ${JSON.stringify(scp).length}`);
    expect(JSON.stringify(rcp).length).toBeLessThan(S3EncryptionGuardrails.MAX_POLICY_SIZE / 2);
  });

  test('the largest RCP that fits passes; one exemption more fails with the policy\'s name and size', () => {
    let n = 1;
    while (!(() => { try { build({ sseCExemptBuckets: exempt(n + 1) })(); return false; } catch { return true; } })()) {
      n += 1;
    }
    const { rcp } = synth({ sseCExemptBuckets: exempt(n) });
    expect(JSON.stringify(rcp).length).toBeLessThanOrEqual(S3EncryptionGuardrails.MAX_POLICY_SIZE);
    expect(build({ sseCExemptBuckets: exempt(n + 1) }))
      .toThrow(/the resource control policy TestStack-Guardrails-[0-9A-F]{8}-rcp has 51\d\d characters, over the AWS Organizations limit of 5120/);
    console.log(`exempt buckets with 33-character names that fit in the RCP: ${n}`);
  });

  test('the SCP is checked too', () => {
    const roles = Array.from({ length: 120 }, (_, i) => PlatformRole.fromRoleArnPattern(`arn:aws:iam::*:role/platform/team-${i}-bucket-admin`));
    expect(build({ platformRoles: roles })).toThrow(/the service control policy TestStack-Guardrails-[0-9A-F]{8}-scp has \d+ characters, over/);
  });
});

describe('what Organizations accepts, as the simulator models it', () => {
  test('an RCP whose Principal is {"AWS":"*"}, as iam.AnyPrincipal writes it, is refused', async () => {
    const response = await runSimulation({
      request: { principal: 'arn:aws:iam::111111111111:role/App', action: 's3:GetObject', resource: { resource: 'arn:aws:s3:::b/k', accountId: '111111111111' }, contextVariables: {} },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [{
        orgIdentifier: OU,
        policies: [{ name: 'rcp', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: '*' }] } }],
      }],
    }, { simulationMode: 'Strict' });
    expect(response.resultType).toBe('error');
    expect(JSON.stringify(response)).toMatch(/Principal must be \\"\*\\" in a resource control policy/);
  });
});
