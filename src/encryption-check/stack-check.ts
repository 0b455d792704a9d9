import { createHash } from 'crypto';
import { Annotations, ArnFormat, CfnResource, CustomResource, Duration, Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct, IDependable } from 'constructs';
import { CheckFunction } from './check-function';
import { acknowledgeFindings } from './nag-acknowledgements';
import { EncryptionCheckStackSettings } from './stack-settings';
import {
  ATTRIBUTE_MAX_LENGTH, ATTRIBUTE_OVERHEAD, ATTRIBUTES_BUDGET, attributeName, CheckAttributes, CheckEntry, CheckProperties, EXPECTATION_FIELDS,
  PROBE_PREFIX, RenderedStackCheckProperties, RESOURCE_TYPE,
} from './types';
import { validationError } from '../errors';
import { localBucketReferences } from '../local-reference';
import { S3EncryptionKey } from '../s3-encryption-key';

/** Object actions the probes need, only ever on `<bucket>/<probe prefix>*`. */
const OBJECT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'];
/** Configuration reads, on the bucket ARN. */
const BUCKET_READS = ['s3:GetEncryptionConfiguration', 's3:GetBucketPolicy', 's3:GetBucketObjectLockConfiguration'];
/** KMS use for SSE-KMS/DSSE-KMS probe uploads (multipart and Bucket Keys may need Decrypt too). */
const KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** Sids of the handler's grants, so reviewers can find them. */
export const GRANT_SIDS = {
  /** Probe objects under the prefix, in any bucket of the stack's account (role policy). */
  objects: 'ProbeObjectsInThisAccount',
  /** Listing of the probe prefix, in any bucket of the stack's account (role policy). */
  list: 'ListProbePrefixInThisAccount',
  /** The three configuration reads, on any bucket of the stack's account (role policy). */
  reads: 'ReadEncryptionConfigurationInThisAccount',
  /** Use of a same-stack customer managed key through S3 (key policy). */
  key: 'AllowEncryptionCheckThroughS3',
};

/**
 * Timing of the one check per stack. The handler answers CloudFormation itself before its own
 * timeout (it keeps RESPONSE_RESERVE for that), so the custom resource's ServiceTimeout only
 * matters when the function cannot run at all; it covers the longest an event can wait in
 * Lambda's asynchronous queue (throttling) plus one full run.
 */
export const CHECK_TIMING = {
  functionTimeout: Duration.minutes(5),
  /** An event older than this is dropped by Lambda: a late check answers a resource CloudFormation has given up on. */
  maxEventAge: Duration.minutes(5),
  serviceTimeout: Duration.minutes(12),
};

/** Synth-time limit on the resource properties: Update events carry old and new (Lambda's async payload limit is 256 KB). */
const PROPERTIES_LIMIT = 120_000;
const PROPERTIES_LIMIT_CONTEXT = 'cdk-s3-encryption:checkPropertiesLimit';
/** `{"Fn::GetAtt":["<logical id, at most 255>","Arn"]}`, with room to spare. */
const LONGEST_RESOLVED_REFERENCE = 300;

/**
 * Settings given to `EncryptionCheck.configureStack`, per stack object (a WeakMap: nothing is
 * shared between apps or kept after the stack is gone), read once when the check is created.
 */
const STACK_SETTINGS = new WeakMap<Stack, EncryptionCheckStackSettings>();

/** Prefix of the check's log group name when it is encrypted with a key (the key policy names it). */
const ENCRYPTED_LOG_GROUP_PREFIX = '/cdk-s3-encryption/encryption-check/';

interface Registration {
  readonly check: IConstruct;
  readonly properties: CheckProperties;
  /** Resolved into the fingerprint: what the bucket is checked against, as the template says it. */
  readonly fingerprintSources: () => unknown;
  /**
   * Token strings that stand for the checked bucket itself (its ARN, its name) and its key: in
   * the fingerprint they become fixed placeholders, so most entries need no resolving at all.
   */
  readonly selfTokens: Readonly<Record<string, string>>;
}

/**
 * The stack's one deploy-time check: a single `Custom::S3EncryptionCheck` that proves every
 * bucket of the stack that asks for it, served by one Lambda function that answers
 * CloudFormation itself (no Provider framework). Created on first use under the stack with a
 * fixed id, so it is unique per stack, never shared between apps, and gone with the app.
 *
 * Resources per stack: the function, its role (with its log permissions in the role itself),
 * its log group, its asynchronous-invoke settings and the custom resource: five, whatever the
 * number of buckets. Per bucket: one entry in the custom resource's properties (and, for an
 * `EncryptedBucket`, its own lifecycle rule on the probe prefix).
 *
 * Grants are constant in size and name no role principal in any bucket policy. The role's own
 * policy lets it write, read and delete objects under the probe prefix, list that prefix and
 * read the encryption configuration, policy and Object Lock configuration of the buckets *of
 * this stack's account* (`aws:ResourceAccount`): no IAM propagation race on a bucket or key
 * policy, nothing dangling after destroy, and nothing that grows with the number of buckets
 * (per-bucket grants cost about 2 KB of template per bucket, which kept a stack to 165
 * buckets). The price is that the handler could write probes under `.cdk-s3-encryption-check/`
 * of any bucket of the account, never outside it; `docs/encryption-check.md` weighs this. A
 * same-stack customer managed key allows the handler through S3 in its own policy, narrowed to
 * the handler's fixed `aws:userid` (one statement per key); imported buckets and keys, and
 * buckets of other accounts, are granted exactly, in managed policies on the role.
 */
export class StackEncryptionCheck extends Construct {
  /** The stack's check, created on first use. */
  public static of(scope: IConstruct): StackEncryptionCheck {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(StackEncryptionCheck.ID);
    if (existing instanceof StackEncryptionCheck) {
      return existing;
    }
    if (existing) {
      throw validationError(stack, 'EncryptionCheckIdTaken', `${StackEncryptionCheck.ID} exists but is not the stack's encryption check; do not use this construct id.`);
    }
    return new StackEncryptionCheck(stack, StackEncryptionCheck.ID, STACK_SETTINGS.get(stack) ?? {});
  }

  /**
   * Records the handler settings of `scope`'s stack. They shape the function and log group, so
   * they must come before the stack's first check; a second call must repeat the same settings.
   */
  public static configure(scope: IConstruct, settings: EncryptionCheckStackSettings): void {
    const stack = Stack.of(scope);
    validateSettings(stack, settings);
    const previous = STACK_SETTINGS.get(stack);
    if (previous) {
      if (!sameSettings(previous, settings)) {
        throw validationError(stack, 'EncryptionCheckConfiguredTwice', 'EncryptionCheck.configureStack was already called for this stack with different settings (vpc, vpcSubnets, securityGroups or logGroupEncryptionKey); the stack has one check handler, so call it once with all settings.');
      }
      return;
    }
    if (stack.node.tryFindChild(StackEncryptionCheck.ID)) {
      throw validationError(stack, 'EncryptionCheckConfiguredLate', 'EncryptionCheck.configureStack was called after the stack\'s encryption check was created (by the first EncryptionCheck, EncryptedBucket with a check, EnforceEncryption or ContinuousEncryptionCheck); the handler\'s VPC and log group key cannot change afterwards. Call EncryptionCheck.configureStack right after creating the stack.');
    }
    STACK_SETTINGS.set(stack, { ...settings, securityGroups: settings.securityGroups ? [...settings.securityGroups] : undefined });
  }

  private static readonly ID = 'CdkS3EncryptionCheck';

  /** The role the handler probes with. */
  public readonly role: iam.Role;
  public readonly handler: lambda.Function;
  public readonly resource: CustomResource;
  /** The role's one inline policy: logs, DescribeStacks and, once a bucket of this stack is checked, the probe grants. */
  private readonly handlerPolicy: iam.PolicyDocument;
  private accountGrantsAdded = false;
  private rendered?: { readonly count: number; readonly properties: RenderedStackCheckProperties };
  /** `aws:userid` of the handler's sessions: `<RoleId>:<FunctionName>`. */
  private readonly userId: string;
  private readonly registrations = new Map<string, Registration>();
  private readonly referenced = new Set<string>();
  private readonly granted = new Set<string>();
  /** Identity grants for imported buckets and keys, spread over managed policies as they fill. */
  private readonly importedGrants: ImportedGrants[] = [];
  private readonly importedGrantOf = new Map<string, ImportedGrants>();

  private constructor(scope: Construct, id: string, settings: EncryptionCheckStackSettings) {
    super(scope, id);
    const stack = Stack.of(this);

    const logGroupKey = settings.logGroupEncryptionKey;
    // A key policy that names this log group must know its ARN before the log group exists (the
    // log group refers to the key): a name from the stack's name, unique per account and region.
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      ...(logGroupKey ? { encryptionKey: logGroupKey, logGroupName: `${ENCRYPTED_LOG_GROUP_PREFIX}${stack.stackName}` } : {}),
    });
    if (logGroupKey) {
      this.allowLogsToUse(logGroupKey, `${ENCRYPTED_LOG_GROUP_PREFIX}${stack.stackName}`);
    }
    // The role's own permissions live in the role (one resource, not two): log writes to this
    // function's log group, and DescribeStacks on this stack to tell a rollback from an update.
    this.handlerPolicy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [handlerLogs.logGroupArn] }),
        new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
      ],
    });
    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      // In a VPC, Lambda creates the function's network interfaces with the execution role's
      // permissions. aws-cdk-lib attaches this policy only to roles it creates itself.
      managedPolicies: settings.vpc ? [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')] : undefined,
      description: 'Probes S3 buckets under their .cdk-s3-encryption-check/ prefix at deploy time (cdk-s3-encryption EncryptionCheck)',
      inlinePolicies: { EncryptionCheckHandler: this.handlerPolicy },
    });

    this.handler = new CheckFunction(this, 'Handler', {
      description: 'cdk-s3-encryption: proves the encryption of the stack\'s buckets against S3 at deploy time',
      role: this.role,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // The handler answers CloudFormation before this timeout: see CHECK_TIMING.
      timeout: CHECK_TIMING.functionTimeout,
      // CloudFormation invokes asynchronously. The handler never fails an invocation (every
      // error becomes a FAILED answer), so a Lambda retry could only follow a crash of the
      // runtime itself (out of memory, a broken bundle) and would run every probe again for the
      // same result. Throttled events are still queued and retried by Lambda up to maxEventAge,
      // which is what an account with a low concurrency quota needs.
      retryAttempts: 0,
      maxEventAge: CHECK_TIMING.maxEventAge,
      logGroup: handlerLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      ...(settings.vpc ? { vpc: settings.vpc, vpcSubnets: settings.vpcSubnets, securityGroups: settings.securityGroups } : {}),
    });
    // One Fn::Sub string rather than Fn::Join of GetAtt and Ref: short, and read as one value.
    this.userId = Fn.sub(`\${${stack.getLogicalId(this.role.node.defaultChild as CfnResource)}.RoleId}:\${${stack.getLogicalId(this.handler.node.defaultChild as CfnResource)}}`);

    const properties: RenderedStackCheckProperties = {
      Defaults: Lazy.any({ produce: () => this.renderedProperties().Defaults }) as unknown as RenderedStackCheckProperties['Defaults'],
      Buckets: Lazy.any({ produce: () => this.renderedProperties().Buckets }) as unknown as CheckEntry[],
      Attributes: Lazy.list({ produce: () => [...this.referenced].sort() }, { omitEmpty: true }),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.handler.functionArn,
      resourceType: RESOURCE_TYPE,
      properties: properties as unknown as Record<string, unknown>,
      // A check that cannot run must fail the deployment within minutes, not CloudFormation's hour.
      serviceTimeout: CHECK_TIMING.serviceTimeout,
    });
    this.resource.node.addDependency(this.role);
    if (settings.vpc) {
      // The check needs the VPC's routes and endpoints (S3 gateway endpoint, CloudFormation
      // endpoint) while it runs: created before it, deleted after its Delete event is answered.
      // Covers whatever was added to the VPC construct itself (gatewayEndpoints,
      // addGatewayEndpoint, addInterfaceEndpoint); an imported VPC has nothing to wait for.
      this.resource.node.addDependency(settings.vpc);
    }

    this.node.addValidation({
      validate: () => {
        // Context `cdk-s3-encryption:checkPropertiesLimit` (0: off) exists for benchmarks that
        // synthesize stacks beyond CloudFormation's limits on purpose.
        const limit = Number(this.node.tryGetContext(PROPERTIES_LIMIT_CONTEXT) ?? PROPERTIES_LIMIT);
        if (limit <= 0) {
          return [];
        }
        // An upper bound first, without resolving: every token taken at the longest a reference
        // resolves to. Only a stack near the limit pays for resolving everything once more.
        const unresolved = JSON.stringify({ ...this.renderedProperties(), Attributes: [...this.referenced] });
        const tokens = (unresolved.match(/\$\{Token\[/g) ?? []).length;
        if (unresolved.length + tokens * LONGEST_RESOLVED_REFERENCE <= limit) {
          return [];
        }
        const size = JSON.stringify(stack.resolve(properties)).length;
        return size > limit
          ? [`the encryption check's properties take ${size} characters for ${this.registrations.size} buckets, more than ${limit}: CloudFormation sends them twice on Update, in one asynchronous Lambda event. Split the buckets over several stacks.`]
          : [];
      },
    });

    acknowledgeFindings({
      logGroups: [handlerLogs],
      functions: [this.handler],
      role: this.role,
      inVpc: settings.vpc !== undefined,
      logGroupEncrypted: logGroupKey !== undefined,
    });
  }

  /** Number of buckets this stack checks. */
  public get bucketCount(): number {
    return this.registrations.size;
  }

  /**
   * Adds a bucket to the stack's check and returns its key. The key is a hash of the check's
   * construct path: stable across deployments, independent of the other buckets.
   */
  public register(
    check: IConstruct, properties: CheckProperties, fingerprintSources: () => unknown, bucket?: s3.IBucket, encryptionKey?: kms.IKey,
  ): string {
    const key = createHash('sha256').update(check.node.path).digest('hex').slice(0, 10);
    const clash = this.registrations.get(key);
    if (clash) {
      throw validationError(check, 'EncryptionCheckKeyClash', `its check key ${key} equals that of ${clash.check.node.path}; rename one of the constructs.`);
    }
    const selfTokens: Record<string, string> = {};
    // The key by its construct path: another key is another placeholder, so a change of key still
    // changes the fingerprint. The bucket's local references (local-reference.ts) get the same
    // placeholders as its L2 tokens: the fingerprint is the same whichever form a statement uses.
    const local = bucket && localBucketReferences(bucket);
    const keyPlaceholder = `<key ARN of ${encryptionKey?.node.path}>`;
    for (const [token, placeholder] of [
      [bucket?.bucketArn, '<bucket ARN>'], [bucket?.bucketName, '<bucket name>'], [encryptionKey?.keyArn, keyPlaceholder],
      [local?.bucketArn, '<bucket ARN>'], [local?.objectsArn, '<bucket ARN>/*'], [local?.bucketName, '<bucket name>'],
    ]) {
      if (token !== undefined && Token.isUnresolved(token)) {
        selfTokens[token] = placeholder!;
      }
    }
    this.registrations.set(key, { check, properties, fingerprintSources, selfTokens });
    return key;
  }

  /**
   * The attribute `attribute` of the bucket `key`, recorded as referenced so the handler
   * returns it. Throws when the referenced attributes could exceed CloudFormation's 4 KB
   * response limit.
   */
  public attribute(check: IConstruct, key: string, attribute: keyof CheckAttributes): string {
    const name = attributeName(key, attribute);
    if (!this.referenced.has(name)) {
      const size = [...this.referenced, name].reduce((sum, n) => sum + n.length + ATTRIBUTE_MAX_LENGTH[n.slice(n.indexOf('.') + 1) as keyof CheckAttributes] + ATTRIBUTE_OVERHEAD, 0);
      if (size > ATTRIBUTES_BUDGET) {
        throw validationError(check, 'EncryptionCheckAttributesTooLarge',
          `referencing ${attribute} brings the stack's referenced check attributes to ${this.referenced.size + 1} (up to ${size} bytes), more than the ${ATTRIBUTES_BUDGET} bytes a custom resource response can carry (CloudFormation's limit is 4 KB). Reference fewer attributes (each Report takes up to ${ATTRIBUTE_MAX_LENGTH.Report}); every bucket's full report is in the check handler's log.`);
      }
      this.referenced.add(name);
    }
    return this.resource.getAttString(name);
  }

  /**
   * Lets the handler probe `bucket` and use `key` through S3: a bucket of this stack through the
   * role's constant account-wide grants, an imported or other-stack bucket exactly, in a managed
   * policy on the role; a key of this stack in its own policy, any other key in a managed
   * policy. The check waits for the bucket's policy and for what the grants are written in.
   * Idempotent per bucket and key.
   */
  public grantProbes(bucket: s3.IBucket, key: kms.IKey | undefined): void {
    const dependables: IDependable[] = [];
    const bucketId = `bucket:${bucket.node.path}`;
    if (!this.granted.has(bucketId)) {
      this.granted.add(bucketId);
      if (this.belongsHere(bucket)) {
        this.addAccountGrants();
        // The probes test the bucket policy, so it must be in force first.
        dependables.push(bucket.policy ?? bucket);
      } else {
        const grants = this.imported();
        grants.addBucket(bucket);
        dependables.push(grants.policy);
      }
    }

    if (key) {
      const keyId = `key:${key.node.path}`;
      if (!this.granted.has(keyId)) {
        this.granted.add(keyId);
        const added = this.belongsHere(key) && key instanceof kms.Key && key.addToResourcePolicy(new iam.PolicyStatement({
          sid: GRANT_SIDS.key,
          principals: [new iam.AnyPrincipal()],
          actions: KMS_ACTIONS,
          // In a key policy "*" means this key.
          resources: ['*'],
          conditions: { StringEquals: { ...viaS3(Stack.of(this)), 'aws:userid': this.userId } },
        })).statementAdded;
        if (!added) {
          const grants = this.imported();
          grants.addKey(key);
          this.importedGrantOf.set(keyId, grants);
        }
        dependables.push(this.importedGrantOf.get(keyId)?.policy ?? key);
      }
    }
    for (const dependable of dependables) {
      this.resource.node.addDependency(dependable);
    }
  }

  /**
   * Every registered bucket's entry (expectations as tokens, fingerprint computed), in key order:
   * the scheduled and change-triggered runs (`ContinuousEncryptionCheck`) carry them in their rule
   * targets' input. Read it only while resolving (inside a `Lazy`), once every bucket is registered.
   */
  public get checkEntries(): CheckEntry[] {
    return this.entries();
  }

  /** Every registered bucket's entry, with its fingerprint, in key order (deterministic). */
  private entries(): CheckEntry[] {
    return this.resolvedEntries().map(({ entry }) => entry);
  }

  /** Each entry with its expectations resolved (for comparing them), in key order. */
  private resolvedEntries(): { readonly entry: CheckEntry; readonly resolved: Record<string, unknown> }[] {
    const registrations = [...this.registrations.entries()].sort(([a], [b]) => a.localeCompare(b));
    const sources = registrations.map(([, registration]) => ({
      expectations: registration.properties,
      checkedAgainst: registration.fingerprintSources(),
    }));
    // Most entries hold no token but the bucket's own ARN and name: written as placeholders, they
    // need no resolving (which costs about as much as the rest of the check at synth). Whatever
    // holds another token is resolved, all in one resolution.
    const written = registrations.map(([, registration], i) => literalJson(sources[i], registration.selfTokens));
    const unresolved = written.flatMap((json, i) => json === undefined ? [i] : []);
    const resolved = Stack.of(this).resolve(unresolved.map((i) => sources[i])) as { expectations: Record<string, unknown> }[];
    const resolvedOf = new Map(unresolved.map((index, n) => [index, resolved[n]]));
    return registrations.map(([key, registration], i) => {
      const json = written[i] ?? JSON.stringify(resolvedOf.get(i));
      const fingerprint = createHash('sha256').update(json).digest('hex').slice(0, 16);
      const expectations = resolvedOf.get(i)?.expectations ?? (registration.properties as unknown as Record<string, unknown>);
      return { entry: { Key: key, ...registration.properties, Fingerprint: fingerprint }, resolved: expectations };
    });
  }

  /**
   * The properties as the template carries them, expectations shared by the buckets written once
   * in `Defaults` (see `RenderedStackCheckProperties`). Computed once registrations are complete,
   * at synth: the properties-size validation and the template read the same value, and it is
   * computed again only if a bucket is registered after that.
   */
  private renderedProperties(): RenderedStackCheckProperties {
    if (this.rendered?.count !== this.registrations.size) {
      this.rendered = { count: this.registrations.size, properties: withDefaults(this.resolvedEntries()) };
    }
    return this.rendered.properties;
  }

  /**
   * The handler's grants on the buckets of this stack, added to its role's inline policy once:
   * constant in size whatever the number of buckets. Every statement is limited to buckets owned
   * by the stack's account (`aws:ResourceAccount`); objects only under the probe prefix, listing
   * only of that prefix, and of bucket settings only the three reads the check makes.
   */
  private addAccountGrants(): void {
    if (this.accountGrantsAdded) {
      return;
    }
    this.accountGrantsAdded = true;
    const stack = Stack.of(this);
    const anyBucket = `arn:${stack.partition}:s3:::*`;
    const probeObjects = `${anyBucket}/${PROBE_PREFIX}*`;
    const thisAccount = { 'aws:ResourceAccount': stack.account };
    this.handlerPolicy.addStatements(
      new iam.PolicyStatement({
        sid: GRANT_SIDS.objects,
        actions: OBJECT_ACTIONS,
        resources: [probeObjects],
        conditions: { StringEquals: thisAccount },
      }),
      new iam.PolicyStatement({
        sid: GRANT_SIDS.list,
        actions: ['s3:ListBucketVersions'],
        resources: [anyBucket],
        conditions: { StringEquals: thisAccount, StringLike: { 's3:prefix': `${PROBE_PREFIX}*` } },
      }),
      new iam.PolicyStatement({
        sid: GRANT_SIDS.reads,
        actions: BUCKET_READS,
        resources: [anyBucket],
        conditions: { StringEquals: thisAccount },
      }),
    );
    acknowledgeFindings({ accountGrants: { role: this.role, objects: probeObjects, buckets: anyBucket } });
  }

  /**
   * The managed policy that takes the next imported grant. IAM allows 6,144 characters per managed
   * policy and, by default, 10 managed policies per role, so grants are spread over up to ten
   * policies of at most 16 buckets or keys each.
   */
  private imported(): ImportedGrants {
    const current = this.importedGrants[this.importedGrants.length - 1];
    if (current && !current.full) {
      return current;
    }
    const count = this.importedGrants.length;
    if (count >= MAX_IMPORTED_POLICIES) {
      throw validationError(this, 'TooManyImportedChecks', `EncryptionChecks of more than ${MAX_IMPORTED_POLICIES * ImportedGrants.CAPACITY} imported (or other-stack) buckets and keys in one stack would need more than the ${MAX_IMPORTED_POLICIES} managed policies IAM attaches to one role by default. Split the checks over several stacks.`);
    }
    const grants = new ImportedGrants(this, count === 0 ? 'ImportedResourcesPolicy' : `ImportedResourcesPolicy${count + 1}`, this.role);
    this.importedGrants.push(grants);
    // The role's identity grants must be in force before the check runs.
    this.resource.node.addDependency(grants.policy);
    return grants;
  }

  /**
   * Lets CloudWatch Logs use `key` for the check's log group (and nothing else), as AWS documents
   * for encrypting log data: the service principal of this region, limited by the encryption
   * context CloudWatch Logs sends (`aws:logs:arn`, the log group's ARN). Only a key of this stack
   * can be changed; for any other key a warning says what its policy must allow.
   */
  private allowLogsToUse(key: kms.IKey, logGroupName: string): void {
    const stack = Stack.of(this);
    const logGroupArn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const added = this.belongsHere(key) && key instanceof kms.Key && key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowEncryptionCheckLogGroup',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      // In a key policy "*" means this key.
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': logGroupArn } },
    })).statementAdded;
    if (!added) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:logGroupKeyPolicy',
        `logGroupEncryptionKey ${key.node.path} is not a key of this stack, so its policy cannot be changed here: it must allow the service principal logs.<region>.amazonaws.com kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey* and kms:Describe* for kms:EncryptionContext:aws:logs:arn ${ENCRYPTED_LOG_GROUP_PREFIX}<stack name>, or the log group cannot be created.`);
    }
  }

  /** Whether `construct` is a resource of this stack (not imported, not another stack's). */
  private belongsHere(construct: IConstruct): boolean {
    return Stack.of(construct) === Stack.of(this) && construct.node.defaultChild instanceof CfnResource;
  }
}

/**
 * `value` as JSON when it holds no token but those of `selfTokens` (replaced by their
 * placeholders), with keys in a fixed order; undefined when it holds any other token, which
 * only resolving can turn into what the template says.
 */
function literalJson(value: unknown, selfTokens: Readonly<Record<string, string>>): string | undefined {
  let unresolvable = false;
  // The replacer sees each value before its toJSON() (as `this[key]`): an intrinsic, a Lazy or
  // any other class instance can only be turned into what the template says by resolving.
  let json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, node: unknown) {
    const original = this[key];
    if (typeof original === 'number') {
      unresolvable ||= Token.isUnresolved(original);
    } else if (original !== null && typeof original === 'object' && !Array.isArray(original)) {
      const prototype = Object.getPrototypeOf(original);
      unresolvable ||= prototype !== Object.prototype && prototype !== null;
    }
    return node;
  });
  if (unresolvable || json === undefined) {
    return undefined;
  }
  for (const [token, placeholder] of Object.entries(selfTokens)) {
    json = json.split(token).join(placeholder);
  }
  // Any token left in a string (or a list) is someone else's.
  return Token.isUnresolved(json) || json.includes('#{Token[') ? undefined : json;
}

/**
 * `entries` with every expectation that all of them state, and at least two state alike, moved
 * into `Defaults` (the most common value; on a tie, the first in key order). Values are compared
 * resolved, so two references to the same key ARN count as equal.
 */
function withDefaults(entries: readonly { readonly entry: CheckEntry; readonly resolved: Record<string, unknown> }[]): RenderedStackCheckProperties {
  const defaults: Record<string, unknown> = {};
  const shared = new Map<string, string>();
  for (const field of EXPECTATION_FIELDS) {
    if (entries.some(({ resolved }) => resolved[field] === undefined)) {
      continue;
    }
    const counts = new Map<string, { count: number; value: unknown }>();
    for (const { entry, resolved } of entries) {
      const json = JSON.stringify(resolved[field]);
      const seen = counts.get(json);
      counts.set(json, { count: (seen?.count ?? 0) + 1, value: seen?.value ?? entry[field] });
    }
    let best: [string, { count: number; value: unknown }] | undefined;
    for (const candidate of counts) {
      if (!best || candidate[1].count > best[1].count) {
        best = candidate;
      }
    }
    if (best && best[1].count >= 2) {
      defaults[field] = best[1].value;
      shared.set(field, best[0]);
    }
  }
  const buckets = entries.map(({ entry, resolved }) => Object.fromEntries(Object.entries(entry)
    .filter(([field]) => !shared.has(field) || JSON.stringify(resolved[field]) !== shared.get(field))) as Partial<CheckEntry>);
  return { Defaults: shared.size > 0 ? defaults : undefined, Buckets: buckets };
}

/** Refuses settings that cannot work, naming the property and the fix. Unresolved tokens are not checked. */
function validateSettings(stack: Stack, settings: EncryptionCheckStackSettings): void {
  if (!settings.vpc && settings.vpcSubnets) {
    throw validationError(stack, 'EncryptionCheckSubnetsWithoutVpc', 'EncryptionCheck.configureStack: vpcSubnets is set but vpc is not; set vpc to the VPC the subnets belong to, or remove vpcSubnets.');
  }
  if (!settings.vpc && settings.securityGroups && settings.securityGroups.length > 0) {
    throw validationError(stack, 'EncryptionCheckSecurityGroupsWithoutVpc', 'EncryptionCheck.configureStack: securityGroups is set but vpc is not; set vpc to the security groups\' VPC, or remove securityGroups.');
  }
  if (settings.securityGroups && settings.securityGroups.length === 0) {
    throw validationError(stack, 'EncryptionCheckNoSecurityGroups', 'EncryptionCheck.configureStack: securityGroups is an empty list; a function in a VPC needs at least one. Name the security groups, or leave securityGroups out for one that allows outbound traffic only.');
  }
  if (settings.logGroupEncryptionKey instanceof S3EncryptionKey) {
    throw validationError(stack, 'EncryptionCheckLogKeyLimitedToS3', `EncryptionCheck.configureStack: logGroupEncryptionKey is the S3EncryptionKey ${settings.logGroupEncryptionKey.node.path}, whose policy allows its use only through S3 (kms:ViaService), so CloudWatch Logs could not use it and the log group would fail to create. Use a kms.Key for logs.`);
  }
  const key = settings.logGroupEncryptionKey;
  const aliasName = (key as Partial<kms.IAlias> | undefined)?.aliasName;
  if (aliasName !== undefined || (key && !Token.isUnresolved(key.keyArn) && !key.keyArn.includes(':key/'))) {
    throw validationError(stack, 'EncryptionCheckLogKeyNotAKey', `EncryptionCheck.configureStack: logGroupEncryptionKey ${aliasName ?? key?.keyArn} is not a key ARN (CloudWatch Logs takes a key ARN, not an alias); pass the key, or import it with kms.Key.fromKeyArn.`);
  }
}

/** Whether two calls name the same constructs: compared by identity, arrays element by element. */
function sameSettings(a: EncryptionCheckStackSettings, b: EncryptionCheckStackSettings): boolean {
  const same = (x: unknown, y: unknown): boolean => Array.isArray(x) && Array.isArray(y)
    ? x.length === y.length && x.every((item, i) => item === y[i])
    : x === y;
  const subnets = (s: EncryptionCheckStackSettings) => (s.vpcSubnets ?? {}) as Record<string, unknown>;
  const sameSubnets = [...new Set([...Object.keys(subnets(a)), ...Object.keys(subnets(b))])].every((k) => same(subnets(a)[k], subnets(b)[k]));
  return a.vpc === b.vpc && a.logGroupEncryptionKey === b.logGroupEncryptionKey && sameSubnets
    && same(a.securityGroups ?? [], b.securityGroups ?? []);
}

/** Only through S3 in this region, from this account: the key serves probe uploads and nothing else. */
function viaS3(stack: Stack): Record<string, string> {
  return { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`, 'kms:CallerAccount': stack.account };
}

/** Managed policies for imported grants: IAM's default of 10 per role (the role's own policy is inline). */
const MAX_IMPORTED_POLICIES = 10;

/**
 * The handler's identity grants for buckets and keys whose own policies are not this stack's to
 * change (imported, or another stack's). A customer managed policy with one statement per
 * action group whose resource lists grow by one ARN per bucket or key: up to about 264
 * characters per bucket (63-character names) against the 6,144-character managed policy limit,
 * so each policy takes at most CAPACITY of them. EncryptedBuckets add nothing here.
 */
class ImportedGrants {
  /** Buckets and keys per policy: 16 x 264 characters plus the statements' own stay under 6,144. */
  public static readonly CAPACITY = 16;
  public readonly policy: iam.ManagedPolicy;
  private entries = 0;
  private readonly objects = new iam.PolicyStatement({ actions: OBJECT_ACTIONS });
  private readonly reads = new iam.PolicyStatement({ actions: BUCKET_READS });
  private readonly list = new iam.PolicyStatement({ actions: ['s3:ListBucketVersions'], conditions: { StringLike: { 's3:prefix': `${PROBE_PREFIX}*` } } });
  private readonly keys: iam.PolicyStatement;

  constructor(scope: Construct, id: string, role: iam.IRole) {
    this.keys = new iam.PolicyStatement({ actions: KMS_ACTIONS, conditions: { StringEquals: viaS3(Stack.of(scope)) } });
    this.policy = new iam.ManagedPolicy(scope, id, {
      description: 'Lets the cdk-s3-encryption EncryptionCheck handler probe imported buckets under .cdk-s3-encryption-check/',
      roles: [role],
    });
    acknowledgeFindings({ importedGrants: this.policy });
  }

  public get full(): boolean {
    return this.entries >= ImportedGrants.CAPACITY;
  }

  public addBucket(bucket: s3.IBucket): void {
    this.entries++;
    this.add(this.objects, bucket.arnForObjects(`${PROBE_PREFIX}*`));
    this.add(this.reads, bucket.bucketArn);
    this.add(this.list, bucket.bucketArn);
  }

  public addKey(key: kms.IKey): void {
    this.entries++;
    this.add(this.keys, key.keyArn);
  }

  private add(statement: iam.PolicyStatement, resource: string): void {
    if (!statement.hasResource) {
      this.policy.addStatements(statement);
    }
    statement.addResources(resource);
  }
}
