import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { encryptedBucketFixture, newStack, VALID_CONFIGS } from './fixtures';
import { CfnTemplate, TemplateResolver } from './intrinsics';
import type { PolicyDocument } from './policy-check';
import { FOREIGN_ACCOUNT, OWNER_ACCOUNT } from './s3-requests';
import { simulate } from './simulator';
import { S3EncryptionKey } from '../../src';

/**
 * The S3EncryptionKey key policy, evaluated by the simulator: cryptographic use through S3 in
 * this account and region is allowed to principals whose IAM policies allow it; direct use, use
 * through another service or region, and use from another account are not; administration stays
 * with the account (through IAM policies), without the cryptographic actions.
 */

const S3_HERE = 's3.eu-west-1.amazonaws.com';

type Caller = 'crypto user' | 'key admin' | 'no IAM policy' | 'other account';

const CALLERS: Record<Caller, { arn: string; account: string; identity: SimulationIdentityPolicy[] }> = {
  // An application role: its IAM policy allows the cryptographic actions an S3 client needs.
  'crypto user': {
    arn: `arn:aws:iam::${OWNER_ACCOUNT}:role/App`,
    account: OWNER_ACCOUNT,
    identity: [{ name: 'Crypto', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'], Resource: '*' }] } }],
  },
  // An administrator: its IAM policy allows every KMS action.
  'key admin': {
    arn: `arn:aws:iam::${OWNER_ACCOUNT}:role/KeyAdmin`,
    account: OWNER_ACCOUNT,
    identity: [{ name: 'KmsAll', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }],
  },
  'no IAM policy': { arn: `arn:aws:iam::${OWNER_ACCOUNT}:role/Nobody`, account: OWNER_ACCOUNT, identity: [] },
  'other account': {
    arn: `arn:aws:iam::${FOREIGN_ACCOUNT}:role/Intruder`,
    account: FOREIGN_ACCOUNT,
    identity: [{ name: 'KmsAll', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }],
  },
};

type Via = 'through S3 here' | 'directly' | 'through S3 in another region' | 'through another service';
const VIA: Record<Via, string | undefined> = {
  'through S3 here': S3_HERE,
  'directly': undefined,
  'through S3 in another region': 's3.us-east-1.amazonaws.com',
  'through another service': 'ec2.eu-west-1.amazonaws.com',
};

const CRYPTO = ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:GenerateDataKeyWithoutPlaintext'];
const ADMIN = ['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:DisableKey', 'kms:EnableKeyRotation', 'kms:CancelKeyDeletion'];

/** The spec, row by row: who may do what, how. */
const SPEC: [Caller, string[], Via, 'Allowed' | 'ImplicitlyDenied'][] = [
  ['crypto user', CRYPTO, 'through S3 here', 'Allowed'],
  ['crypto user', CRYPTO, 'directly', 'ImplicitlyDenied'],
  ['crypto user', CRYPTO, 'through S3 in another region', 'ImplicitlyDenied'],
  ['crypto user', CRYPTO, 'through another service', 'ImplicitlyDenied'],
  ['crypto user', ADMIN, 'directly', 'ImplicitlyDenied'],
  ['key admin', CRYPTO, 'through S3 here', 'Allowed'],
  ['key admin', CRYPTO, 'directly', 'ImplicitlyDenied'],
  ['key admin', CRYPTO, 'through another service', 'ImplicitlyDenied'],
  ['key admin', ADMIN, 'directly', 'Allowed'],
  ['no IAM policy', CRYPTO, 'through S3 here', 'ImplicitlyDenied'],
  ['no IAM policy', ADMIN, 'directly', 'ImplicitlyDenied'],
  ['other account', CRYPTO, 'through S3 here', 'ImplicitlyDenied'],
  ['other account', CRYPTO, 'directly', 'ImplicitlyDenied'],
  ['other account', ADMIN, 'directly', 'ImplicitlyDenied'],
];

interface KeyUnderTest {
  readonly keyArn: string;
  readonly policy: PolicyDocument;
}

function standaloneKey(): KeyUnderTest {
  const stack = newStack();
  const key = new S3EncryptionKey(stack, 'Key', { alias: 'data' });
  const resolver = new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate);
  const id = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
  return { keyArn: resolver.getAtt(id, 'Arn'), policy: resolver.resolve(resolver.resource(id).Properties!.KeyPolicy) as PolicyDocument };
}

function bucketKey(encryption: 'KMS (library key)' | 'DSSE (library key)'): KeyUnderTest {
  const fixture = encryptedBucketFixture(VALID_CONFIGS.find((c) => c.encryption === encryption)!);
  return { keyArn: fixture.keyArn!, policy: fixture.keyPolicy! };
}

const KEYS: [string, () => KeyUnderTest][] = [
  ['a standalone S3EncryptionKey', standaloneKey],
  ['the key an EncryptedBucket creates for KMS', () => bucketKey('KMS (library key)')],
  ['the key an EncryptedBucket creates for DSSE', () => bucketKey('DSSE (library key)')],
];

describe.each(KEYS)('key policy of %s', (_name, keyUnderTest) => {
  test.each(SPEC.map(([caller, actions, via, outcome]) => [`${caller}: ${actions.join(', ')} ${via} -> ${outcome}`, caller, actions, via, outcome] as const))(
    '%s', async (_title, caller, actions, via, outcome) => {
      const key = keyUnderTest();
      const who = CALLERS[caller];
      const viaService = VIA[via];
      const results: Record<string, string> = {};
      for (const action of actions) {
        const context: Record<string, string> = { 'kms:CallerAccount': who.account };
        if (viaService) {
          context['kms:ViaService'] = viaService;
        }
        const result = await simulate(
          { principal: who.arn, action, resource: key.keyArn, resourceAccount: OWNER_ACCOUNT, context },
          { resourcePolicy: key.policy, identityPolicies: who.identity },
        );
        results[action] = result.result;
      }
      expect(results).toEqual(Object.fromEntries(actions.map((a) => [a, outcome])));
    });

  // kms:CreateGrant is kept from everyone, administrators included: a grant is not bound by the
  // key policy's kms:ViaService condition, so whoever may create grants could give itself
  // Decrypt outside S3. The administration statement names kms:CreateAlias, not kms:Create*,
  // and an explicit Deny (CT.KMS.PR.3) refuses it whatever an IAM policy allows.
  test('kms:CreateGrant is explicitly denied to everyone, not even a key admin may call it', async () => {
    const key = keyUnderTest();
    const createGrant = async (caller: Caller, context: Record<string, string> = {}) => simulate(
      { principal: CALLERS[caller].arn, action: 'kms:CreateGrant', resource: key.keyArn, resourceAccount: OWNER_ACCOUNT, context: { 'kms:CallerAccount': CALLERS[caller].account, ...context } },
      { resourcePolicy: key.policy, identityPolicies: CALLERS[caller].identity },
    );
    for (const caller of ['key admin', 'crypto user', 'no IAM policy', 'other account'] as Caller[]) {
      const direct = await createGrant(caller);
      expect([caller, direct.result, direct.deniedBy]).toEqual([caller, 'ExplicitlyDenied', [S3EncryptionKey.SID_DENY_GRANTS_EXCEPT_FOR_AWS_SERVICES]]);
      const notForAwsResource = await createGrant(caller, { 'kms:ViaService': S3_HERE, 'kms:GrantIsForAWSResource': 'false' });
      expect([caller, notForAwsResource.result]).toEqual([caller, 'ExplicitlyDenied']);
    }
    // A grant an AWS service creates for a resource it manages is not denied; nothing in the
    // library's policy allows it either (S3 needs no grant: it calls GenerateDataKey and Decrypt
    // with the requester's permissions).
    const forAwsResource = await createGrant('key admin', { 'kms:ViaService': S3_HERE, 'kms:GrantIsForAWSResource': 'true' });
    expect(forAwsResource.result).toBe('ImplicitlyDenied');
  });
  test('names the account root and no other account in its Allows; "*" only in the check\'s grant, narrowed to one aws:userid', () => {
    const statements = keyUnderTest().policy.Statement;
    const principals = JSON.stringify(statements.filter((s) => s.Effect === 'Allow' && s.Sid !== 'AllowEncryptionCheckThroughS3').map((s) => s.Principal));
    expect(principals).not.toMatch(/"\*"/);
    // A standalone key (no bucket checked with it) has no grant at all.
    const grant = statements.find((s) => s.Sid === 'AllowEncryptionCheckThroughS3') as { Condition: Record<string, Record<string, string>> } | undefined;
    if (grant) {
      expect(grant.Condition.StringEquals['aws:userid']).toMatch(/^AROA[0-9A-F]{8}:CdkS3EncryptionCheckHandler/);
    }
    expect(principals.match(/arn:aws:iam::\d{12}:root/g)!.every((arn) => arn === `arn:aws:iam::${OWNER_ACCOUNT}:root`)).toBe(true);
  });
});

/**
 * A key policy to which a user added grant permissions: the Deny must still keep every grant that
 * is not created by an AWS service for an AWS resource, while services keep theirs.
 */
describe('kms:CreateGrant on an S3EncryptionKey with grant permissions added later', () => {
  const SERVICE_PRINCIPAL = 'backup.amazonaws.com';

  function keyWithGrantStatements(): KeyUnderTest {
    const stack = newStack();
    const key = new S3EncryptionKey(stack, 'Key');
    // What a user might add for a service integration: grants for AWS resources only ...
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowGrantsForAwsResources',
      principals: [new iam.AccountRootPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }));
    // ... a careless one without that condition ...
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowGrantsToPartner',
      principals: [new iam.ArnPrincipal(CALLERS['other account'].arn)],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
    }));
    // ... and a service principal that creates grants itself.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowServiceGrants',
      principals: [new iam.ServicePrincipal(SERVICE_PRINCIPAL)],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
    }));
    const resolver = new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate);
    const id = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    return { keyArn: resolver.getAtt(id, 'Arn'), policy: resolver.resolve(resolver.resource(id).Properties!.KeyPolicy) as PolicyDocument };
  }

  type Identity = SimulationIdentityPolicy[];
  const grant = (key: KeyUnderTest, principal: string, account: string, identity: Identity, context: Record<string, string>) => simulate(
    { principal, action: 'kms:CreateGrant', resource: key.keyArn, resourceAccount: OWNER_ACCOUNT, context: { 'kms:CallerAccount': account, ...context } },
    { resourcePolicy: key.policy, identityPolicies: identity },
  );

  test('an AWS service creating a grant for its resource through S3 is allowed', async () => {
    const key = keyWithGrantStatements();
    const admin = CALLERS['key admin'];
    const result = await grant(key, admin.arn, admin.account, admin.identity, { 'kms:ViaService': S3_HERE, 'kms:GrantIsForAWSResource': 'true' });
    expect(result.result).toBe('Allowed');
  });

  test('the same principal creating a grant itself is denied by the CT.KMS.PR.3 statement', async () => {
    const key = keyWithGrantStatements();
    const admin = CALLERS['key admin'];
    const contexts: Record<string, string>[] = [{}, { 'kms:ViaService': S3_HERE }, { 'kms:ViaService': S3_HERE, 'kms:GrantIsForAWSResource': 'false' }];
    for (const context of contexts) {
      const result = await grant(key, admin.arn, admin.account, admin.identity, context);
      expect([context, result.result, result.deniedBy]).toEqual([context, 'ExplicitlyDenied', [S3EncryptionKey.SID_DENY_GRANTS_EXCEPT_FOR_AWS_SERVICES]]);
    }
  });

  test('a principal of another account that a key policy statement names without conditions is denied', async () => {
    const key = keyWithGrantStatements();
    const partner = CALLERS['other account'];
    const result = await grant(key, partner.arn, partner.account, partner.identity, { 'kms:ViaService': S3_HERE });
    expect(result.result).toBe('ExplicitlyDenied');
  });

  test('a service principal the key policy allows keeps creating grants (aws:PrincipalIsAWSService)', async () => {
    const key = keyWithGrantStatements();
    // addToResourcePolicy limited the statement to use through S3 like every grant of key use.
    const result = await grant(key, SERVICE_PRINCIPAL, OWNER_ACCOUNT, [], { 'kms:ViaService': S3_HERE, 'aws:PrincipalIsAWSService': 'true' });
    expect(result.result).toBe('Allowed');
  });
});
