import { App, CfnResource as CfnResourceConstruct, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import type { BucketConfig, CustomerProvidedKeysChoice, EncryptionChoice, EncryptionHeadersChoice } from './expected-outcomes';
import { isRejected } from './expected-outcomes';
import { CfnResource, CfnTemplate, TemplateResolver } from './intrinsics';
import type { PolicyDocument } from './policy-check';
import { OWNER_ACCOUNT, FOREIGN_ROLE_ARN, OWNER_ROLE_ARN, PARTNER_ROLE_ARN, Principals, S3_ACTIONS } from './s3-requests';
import {
  BucketEncryptionPolicy, CustomerProvidedKeys, EncryptedBucket, EncryptedBucketProps, EncryptionHeaders, S3EncryptionKey,
} from '../../src';

/**
 * The synthesized configurations the policy tests evaluate. Every configuration of the matrix
 * lives in one stack, synthesized once per test file and memoized: 112 buckets synthesize in well
 * under a second, 112 separate apps would take several.
 */

export const ENCRYPTION_CHOICES: readonly EncryptionChoice[] = [
  'S3_MANAGED', 'KMS (library key)', 'KMS (user key)', 'KMS_MANAGED', 'DSSE (library key)', 'DSSE (user key)', 'DSSE_MANAGED',
];
export const CUSTOMER_PROVIDED_KEYS_CHOICES: readonly CustomerProvidedKeysChoice[] = ['BLOCK', 'ALLOW', 'REQUIRE'];
export const ENCRYPTION_HEADERS_CHOICES: readonly EncryptionHeadersChoice[] = ['DENY_MISMATCH', 'REQUIRE', 'NOT_ENFORCED'];
export const MINIMUM_TLS_CHOICES: readonly (1.2 | 1.3)[] = [1.2, 1.3];

/** Every configuration, including those the library must reject. */
export const ALL_CONFIGS: readonly BucketConfig[] = ENCRYPTION_CHOICES.flatMap((encryption) =>
  CUSTOMER_PROVIDED_KEYS_CHOICES.flatMap((customerProvidedKeys) =>
    ENCRYPTION_HEADERS_CHOICES.flatMap((encryptionHeaders) =>
      MINIMUM_TLS_CHOICES.map((minimumTLSVersion) => ({ encryption, customerProvidedKeys, encryptionHeaders, minimumTLSVersion })))));

export const VALID_CONFIGS = ALL_CONFIGS.filter((c) => !isRejected(c));
export const REJECTED_CONFIGS = ALL_CONFIGS.filter(isRejected);

export function newStack(): Stack {
  const app = new App({ stackTraces: false });
  return new Stack(app, 'PolicySim', { env: { account: OWNER_ACCOUNT, region: 'eu-west-1' } });
}

const ENCRYPTIONS: Record<EncryptionChoice, s3.BucketEncryption> = {
  'S3_MANAGED': s3.BucketEncryption.S3_MANAGED,
  'KMS (library key)': s3.BucketEncryption.KMS,
  'KMS (user key)': s3.BucketEncryption.KMS,
  'KMS_MANAGED': s3.BucketEncryption.KMS_MANAGED,
  'DSSE (library key)': s3.BucketEncryption.DSSE,
  'DSSE (user key)': s3.BucketEncryption.DSSE,
  'DSSE_MANAGED': s3.BucketEncryption.DSSE_MANAGED,
};

/** The library options for `config`; `userKey` is used where the user brings a key. */
export function optionsFor(config: BucketConfig, userKey: kms.IKey | undefined) {
  return {
    encryption: ENCRYPTIONS[config.encryption],
    encryptionKey: config.encryption.endsWith('(user key)') ? userKey : undefined,
    customerProvidedKeys: CustomerProvidedKeys[config.customerProvidedKeys],
    encryptionHeaders: EncryptionHeaders[config.encryptionHeaders],
    minimumTLSVersion: config.minimumTLSVersion,
  };
}

export function configId(config: BucketConfig): string {
  return `${config.encryption}-${config.customerProvidedKeys}-${config.encryptionHeaders}-${config.minimumTLSVersion}`.replace(/[^A-Za-z0-9]/g, '');
}

/** A bucket as the simulator sees it. */
export interface BucketFixture {
  readonly config: BucketConfig;
  readonly bucketArn: string;
  /** The ARN of the bucket's customer managed key, if it has one. */
  readonly keyArn?: string;
  /** The whole bucket policy, intrinsics resolved. */
  readonly policy: PolicyDocument;
  /** The key policy of the bucket's key, if the template creates the key. */
  readonly keyPolicy?: PolicyDocument;
  readonly principals: Principals;
  /** Whether the bucket policy carries Allow statements for the `granted` and `partner` roles. */
  readonly grantsInBucketPolicy: boolean;
}

interface BuiltBucket {
  readonly config: BucketConfig;
  readonly bucket: s3.IBucket;
  readonly key?: kms.IKey;
}

function resolveFixtures(stack: Stack, built: BuiltBucket[], grantedRole: iam.IRole | undefined): Map<string, BucketFixture> {
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const resolver = new TemplateResolver(template);
  const grantedRoleArn = grantedRole
    ? resolver.getAtt(stack.getLogicalId(grantedRole.node.defaultChild as iam.CfnRole), 'Arn')
    : `arn:aws:iam::${OWNER_ACCOUNT}:role/NotGrantedAnywhere`;
  const fixtures = new Map<string, BucketFixture>();
  for (const { config, bucket, key } of built) {
    const bucketLogicalId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    const policyLogicalId = stack.getLogicalId(bucket.policy!.node.defaultChild as s3.CfnBucketPolicy);
    const keyLogicalId = key ? stack.getLogicalId(key.node.defaultChild as kms.CfnKey) : undefined;
    fixtures.set(configId(config), {
      config,
      bucketArn: resolver.getAtt(bucketLogicalId, 'Arn'),
      keyArn: keyLogicalId ? resolver.getAtt(keyLogicalId, 'Arn') : undefined,
      policy: resolver.resolve(resolver.resource(policyLogicalId).Properties!.PolicyDocument) as PolicyDocument,
      keyPolicy: keyLogicalId ? resolver.resolve(resolver.resource(keyLogicalId).Properties!.KeyPolicy) as PolicyDocument : undefined,
      principals: { owner: OWNER_ROLE_ARN, granted: grantedRoleArn, foreign: FOREIGN_ROLE_ARN, partner: PARTNER_ROLE_ARN },
      grantsInBucketPolicy: grantedRole !== undefined,
    });
  }
  return fixtures;
}

/** Adds the Allow statements for the `granted` and `partner` roles to `bucket`'s policy. */
function addGrants(bucket: s3.IBucket, grantedRole: iam.IRole) {
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowGrantedRoles',
    principals: [new iam.ArnPrincipal(grantedRole.roleArn), new iam.ArnPrincipal(PARTNER_ROLE_ARN)],
    actions: [...S3_ACTIONS],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
  }));
}

let encryptedBuckets: Map<string, BucketFixture> | undefined;

/**
 * Full `EncryptedBucket` templates, one bucket per valid configuration. Each bucket policy also
 * carries an Allow for a same-account role with no identity policy (as the deploy-time check's
 * handler role will have) and one for a role of another account, so the matrix proves that the
 * library's Denies hold next to such grants.
 */
export function encryptedBucketFixture(config: BucketConfig): BucketFixture {
  if (!encryptedBuckets) {
    const stack = newStack();
    const userKey = new kms.Key(stack, 'UserKey');
    const grantedRole = new iam.Role(stack, 'GrantedRole', { assumedBy: new iam.AccountRootPrincipal() });
    const built = VALID_CONFIGS.map((c) => {
      const props: EncryptedBucketProps = optionsFor(c, userKey);
      const bucket = new EncryptedBucket(stack, `Bucket${configId(c)}`, props);
      addGrants(bucket, grantedRole);
      return { config: c, bucket, key: bucket.encryptionKey };
    });
    encryptedBuckets = resolveFixtures(stack, built, grantedRole);
  }
  return lookup(encryptedBuckets, config);
}

/** Props an `EncryptedBucket` may take besides the matrix's four choices. */
export interface ExtraProps {
  readonly bucketName?: string;
  readonly versioned?: boolean;
  readonly bucketKeyEnabled?: boolean;
  readonly verifyEncryption?: boolean;
}

const singleBuckets = new Map<string, BucketFixture>();

/**
 * One `EncryptedBucket` (with the same extra grants as the matrix) in its own stack, synthesized.
 * Memoized per distinct props.
 */
export function singleEncryptedBucketFixture(config: BucketConfig, extra: ExtraProps): BucketFixture {
  const id = JSON.stringify([configId(config), extra]);
  let fixture = singleBuckets.get(id);
  if (!fixture) {
    const stack = newStack();
    const userKey = new kms.Key(stack, 'UserKey');
    const grantedRole = new iam.Role(stack, 'GrantedRole', { assumedBy: new iam.AccountRootPrincipal() });
    const bucket = new EncryptedBucket(stack, 'Bucket', { ...optionsFor(config, userKey), ...extra });
    addGrants(bucket, grantedRole);
    fixture = lookup(resolveFixtures(stack, [{ config, bucket, key: bucket.encryptionKey }], grantedRole), config);
    singleBuckets.set(id, fixture);
  }
  return fixture;
}

let shared: { stack: Stack; userKey: kms.IKey; grantedRole: iam.Role; fixtures: Map<string, BucketFixture> } | undefined;

/**
 * The same as `singleEncryptedBucketFixture`, but every bucket joins one shared stack and its
 * policies are resolved with `stack.resolve` instead of a full synthesis: property tests draw
 * hundreds of props, and a synthesis each (with the deploy-time check's Lambda assets) would
 * cost seconds. A test checks that both give the same policies.
 */
export function fastEncryptedBucketFixture(config: BucketConfig, extra: ExtraProps): BucketFixture {
  if (!shared) {
    const stack = newStack();
    shared = {
      stack,
      userKey: new kms.Key(stack, 'UserKey'),
      grantedRole: new iam.Role(stack, 'GrantedRole', { assumedBy: new iam.AccountRootPrincipal() }),
      fixtures: new Map(),
    };
  }
  const { stack, userKey, grantedRole, fixtures } = shared;
  const id = JSON.stringify([configId(config), extra]);
  let fixture = fixtures.get(id);
  if (!fixture) {
    const bucket = new EncryptedBucket(stack, `Bucket${fixtures.size}`, { ...optionsFor(config, userKey), ...extra });
    addGrants(bucket, grantedRole);
    const resolver = new TemplateResolver(resourceTypesOf(stack));
    const cfnKey = bucket.encryptionKey?.node.defaultChild as kms.CfnKey | undefined;
    fixture = {
      config,
      bucketArn: resolver.resolve(stack.resolve(bucket.bucketArn)) as string,
      keyArn: cfnKey ? resolver.resolve(stack.resolve(bucket.encryptionKey!.keyArn)) as string : undefined,
      policy: resolver.resolve(stack.resolve((bucket.policy!.node.defaultChild as s3.CfnBucketPolicy).policyDocument)) as PolicyDocument,
      keyPolicy: cfnKey ? resolver.resolve(stack.resolve(cfnKey.keyPolicy)) as PolicyDocument : undefined,
      principals: {
        owner: OWNER_ROLE_ARN,
        granted: resolver.resolve(stack.resolve(grantedRole.roleArn)) as string,
        foreign: FOREIGN_ROLE_ARN,
        partner: PARTNER_ROLE_ARN,
      },
      grantsInBucketPolicy: true,
    };
    fixtures.set(id, fixture);
  }
  return fixture;
}

const resourceEntries = new WeakMap<IConstruct, [string, CfnResource]>();

/**
 * Just enough of a template for the resolver: each resource's type and explicit physical name.
 * Entries are cached per construct: computing a logical id hashes the construct path, and the
 * shared stack grows to hundreds of buckets.
 */
function resourceTypesOf(stack: Stack): CfnTemplate {
  const resources: Record<string, CfnResource> = {};
  for (const construct of stack.node.findAll()) {
    if (!CfnResourceConstruct.isCfnResource(construct)) continue;
    let entry = resourceEntries.get(construct);
    if (!entry) {
      const properties: Record<string, unknown> = {};
      if (construct instanceof s3.CfnBucket && construct.bucketName !== undefined) {
        properties.BucketName = stack.resolve(construct.bucketName);
      }
      if (construct instanceof iam.CfnRole && construct.roleName !== undefined) {
        properties.RoleName = stack.resolve(construct.roleName);
      }
      entry = [stack.getLogicalId(construct), { Type: construct.cfnResourceType, Properties: properties }];
      resourceEntries.set(construct, entry);
    }
    resources[entry[0]] = entry[1];
  }
  return { Resources: resources };
}

let statementsOnly: Map<string, BucketFixture> | undefined;

/**
 * Plain `s3.Bucket`s whose policy holds only `BucketEncryptionPolicy.statements(bucket, options)`,
 * one per valid configuration: what a user gets who retrofits the statements onto their own
 * bucket. Where the configuration calls for a library key, an `S3EncryptionKey` is passed.
 */
export function statementsOnlyFixture(config: BucketConfig): BucketFixture {
  if (!statementsOnly) {
    const stack = newStack();
    const userKey = new kms.Key(stack, 'UserKey');
    const built = VALID_CONFIGS.map((c) => {
      const options = optionsFor(c, userKey);
      const key = options.encryptionKey ?? (c.encryption.endsWith('(library key)') ? new S3EncryptionKey(stack, `Key${configId(c)}`) : undefined);
      const bucket = new s3.Bucket(stack, `Bucket${configId(c)}`, { encryption: options.encryption, encryptionKey: key });
      for (const statement of BucketEncryptionPolicy.statements(bucket, { ...options, encryptionKey: key })) {
        bucket.addToResourcePolicy(statement);
      }
      return { config: c, bucket, key };
    });
    statementsOnly = resolveFixtures(stack, built, undefined);
  }
  return lookup(statementsOnly, config);
}

function lookup(fixtures: Map<string, BucketFixture>, config: BucketConfig): BucketFixture {
  const fixture = fixtures.get(configId(config));
  if (!fixture) {
    throw new Error(`no fixture for ${JSON.stringify(config)} (a rejected configuration?)`);
  }
  return fixture;
}

/** The statements of `policy` that the library wrote (their Sid is in `ALL_SIDS`). */
export function libraryStatements(policy: PolicyDocument) {
  return policy.Statement.filter((s) => s.Sid !== undefined && BucketEncryptionPolicy.ALL_SIDS.includes(s.Sid));
}
