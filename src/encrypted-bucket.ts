import { Annotations, InjectionContext, PropertyInjectors, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { BucketEncryptionPolicy } from './bucket-encryption-policy';
import { EncryptionCheck } from './encryption-check';
import { CustomerProvidedKeys, EncryptionHeaders, resolveEncryptionSettings, usesCustomerKey } from './encryption-options';
import { validationError } from './errors';
import { addProbeBackstop, PROBE_BACKSTOP_RULE } from './probe-backstop';
import { S3EncryptionKey } from './s3-encryption-key';

/**
 * Properties of an `EncryptedBucket`: every `s3.BucketProps` property, with secure defaults,
 * and the encryption enforcement this library adds.
 *
 * Defaults that differ from `s3.Bucket` (each written explicitly into the template):
 * `encryption` S3_MANAGED (KMS when `encryptionKey` is set), `bucketKeyEnabled` true for
 * SSE-KMS, `enforceSSL` true, `minimumTLSVersion` 1.2, `blockPublicAccess` BLOCK_ALL,
 * `objectOwnership` BUCKET_OWNER_ENFORCED (OBJECT_WRITER when `accessControl` needs ACLs, as
 * s3.Bucket derives it, with a warning), `versioned` true, `removalPolicy`
 * RETAIN_ON_UPDATE_OR_DELETE (CloudFormation `DeletionPolicy: RetainExceptOnCreate`: a failed
 * first deploy deletes the bucket, later it is retained; the bucket policy follows the bucket's
 * removal policy), and `blockedEncryptionTypes` derived from `customerProvidedKeys`.
 *
 * Every difference from s3.Bucket is listed in docs/differences-from-s3-bucket.md.
 */
export interface EncryptedBucketProps extends s3.BucketProps {
  /**
   * What the bucket does with SSE-C (customer-provided keys). `BLOCK` writes
   * `BlockedEncryptionTypes: [SSE-C]` and a bucket policy deny; `ALLOW` and `REQUIRE` write
   * `BlockedEncryptionTypes: [NONE]` (see `CustomerProvidedKeys.REQUIRE` for its multipart
   * caveat).
   *
   * Cannot be `REQUIRE` together with `encryptionHeaders: REQUIRE`. If you also set
   * `blockedEncryptionTypes`, it must agree with this property.
   *
   * @default CustomerProvidedKeys.BLOCK
   */
  readonly customerProvidedKeys?: CustomerProvidedKeys;

  /**
   * How the bucket policy treats the `x-amz-server-side-encryption*` headers of uploads.
   *
   * Cannot be `REQUIRE` together with `customerProvidedKeys: REQUIRE`.
   *
   * @default EncryptionHeaders.DENY_MISMATCH
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * Whether to prove the bucket's encryption against S3 at deploy time with an
   * `EncryptionCheck` (child `EncryptionCheck`) whose expectations are this bucket's own
   * settings. The check writes and deletes small probe objects under
   * `.cdk-s3-encryption-check/`, which a lifecycle rule also expires after a day.
   *
   * @default true
   */
  readonly verifyEncryption?: boolean;
}

/**
 * An `s3.Bucket` whose encryption at rest is explicit and enforced, and whose policy refuses
 * plain HTTP, old TLS, mismatched encryption headers and (by default) SSE-C.
 *
 * A drop-in replacement for `s3.Bucket`: every property, method and grant still works, and
 * grants on a KMS bucket include the key. With `encryption: KMS` or `DSSE` and no
 * `encryptionKey`, it creates an `S3EncryptionKey` as its child `Key`.
 *
 * Invalid combinations throw at synth with the property, the value and the fix; risky but
 * legal ones (TLS 1.3 only, the AWS managed key, SSE-C allowed, versioning off, public access
 * not fully blocked) add warnings that can be acknowledged with
 * `Annotations.of(bucket).acknowledgeWarning(id, reason)`.
 */
export class EncryptedBucket extends s3.Bucket {
  /** The id of the warning added when `accessControl` turns ACLs on (`ObjectOwnership: ObjectWriter`). */
  public static readonly ACLS_ENABLED_WARNING = 'cdk-s3-encryption:aclsEnabled';

  /** The bucket's default server-side encryption. */
  public readonly encryption: s3.BucketEncryption;
  /** What the bucket does with SSE-C uploads. */
  public readonly customerProvidedKeys: CustomerProvidedKeys;
  /** How the bucket policy treats upload encryption headers. */
  public readonly encryptionHeaders: EncryptionHeaders;
  /** The lowest TLS version the bucket policy accepts. */
  public readonly minimumTLSVersion: number;
  /**
   * The deploy-time check of this bucket, whose attributes (observed SSE-C behaviour, algorithm,
   * key, report) a stack can output or assert on.
   *
   * @default - none when `verifyEncryption` is false
   */
  public readonly encryptionCheck?: EncryptionCheck;
  /**
   * Whether S3 Bucket Keys are enabled.
   *
   * @default - not set for SSE-S3
   */
  public readonly bucketKeyEnabled?: boolean;

  constructor(scope: Construct, id: string, props: EncryptedBucketProps = {}) {
    // s3.Bucket's property injectors run on the props the user wrote, before this library reads
    // them, so an injected `encryption`, `versioned` or `removalPolicy` is honoured.
    const injector = bucketInjectorFor(scope);
    const userProps: EncryptedBucketProps = injector ? injector.inject(props, { scope, id }) : props;
    // The bucket does not exist before super(); errors name the path it is about to have.
    const place = futureConstruct(scope, id);
    validateDropInProps(place, userProps);
    const { settings, warnings } = resolveEncryptionSettings(userProps, place);
    if (!userProps.serverAccessLogsBucket && userProps.serverAccessLogsPrefix !== undefined) {
      // Logging to itself: s3.Bucket grants log delivery inside super(), before these settings exist.
      assertAcceptsServerAccessLogs(place, place, settings.encryption, settings.encryptionHeaders);
    }
    const createsKey = usesCustomerKey(settings.encryption) && !settings.encryptionKey;
    const removalPolicy = userProps.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const aclsEnabled = userProps.objectOwnership === undefined && aclNeedsObjectWriter(userProps.accessControl);

    const bucketProps: s3.BucketProps = {
      ...userProps,
      encryption: settings.encryption,
      // A key this bucket creates is made after super() (see adoptS3EncryptionKey): s3.Bucket
      // creates a placeholder `Key` that is swapped for an S3EncryptionKey at the same path.
      encryptionKey: settings.encryptionKey,
      bucketKeyEnabled: settings.bucketKeyEnabled,
      blockedEncryptionTypes: settings.blockedEncryptionTypes,
      // The TLS statements come from BucketEncryptionPolicy (stable Sids, one source of truth),
      // so s3.Bucket must not add its own copies.
      enforceSSL: false,
      minimumTLSVersion: undefined,
      versioned: userProps.versioned ?? true,
      blockPublicAccess: userProps.blockPublicAccess ?? s3.BlockPublicAccess.BLOCK_ALL,
      // ACLs stay disabled unless an ACL that needs them is asked for, as s3.Bucket derives it.
      objectOwnership: userProps.objectOwnership ?? (aclsEnabled ? s3.ObjectOwnership.OBJECT_WRITER : s3.ObjectOwnership.BUCKET_OWNER_ENFORCED),
      removalPolicy,
    };
    // The injector runs again inside super() on these props: what s3.Bucket is built from.
    const builtFrom = injector ? injector.inject({ ...bucketProps }, { scope, id }) : bucketProps;
    if (injector) {
      // It must not undo what was resolved here.
      assertInjectorKeepsSettings(place, builtFrom, bucketProps);
    }

    super(scope, id, bucketProps);

    if (createsKey) {
      this.adoptS3EncryptionKey(userProps);
    }
    this.encryption = settings.encryption;
    this.customerProvidedKeys = settings.customerProvidedKeys;
    this.encryptionHeaders = settings.encryptionHeaders;
    this.minimumTLSVersion = settings.minimumTLSVersion;
    this.bucketKeyEnabled = settings.bucketKeyEnabled;

    const policySids: string[] = [];
    for (const statement of BucketEncryptionPolicy.statements(this, {
      encryption: settings.encryption,
      encryptionKey: this.encryptionKey,
      customerProvidedKeys: settings.customerProvidedKeys,
      encryptionHeaders: settings.encryptionHeaders,
      minimumTLSVersion: settings.minimumTLSVersion,
    })) {
      this.addToResourcePolicy(statement);
      policySids.push(statement.sid!);
    }

    if (userProps.verifyEncryption ?? true) {
      // Backstop for probes the check could not delete, on the probe prefix only: the last
      // lifecycle rule of the bucket, written more cheaply than s3.Bucket writes its own.
      addProbeBackstop(this.node.defaultChild as s3.CfnBucket, {
        transitionDefaultMinimumObjectSize: builtFrom.transitionDefaultMinimumObjectSize,
        // s3.Bucket's own method, whatever a subclass makes of addLifecycleRule.
        fallback: () => super.addLifecycleRule(PROBE_BACKSTOP_RULE),
      });
      // The handler's grants are constant, on its own role (see StackEncryptionCheck).
      this.encryptionCheck = new EncryptionCheck(this, 'EncryptionCheck', {
        bucket: this,
        encryption: this.encryption,
        encryptionKey: this.encryptionKey,
        bucketKeyEnabled: this.bucketKeyEnabled,
        customerProvidedKeys: this.customerProvidedKeys,
        encryptionHeaders: this.encryptionHeaders,
        expectedPolicySids: policySids,
      });
    }

    // The policy is what keeps a retained bucket TLS-only and SSE-C-free: it stays with it.
    this.policy?.applyRemovalPolicy(removalPolicy);

    for (const warning of warnings) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }
    if (aclsEnabled) {
      Annotations.of(this).addWarningV2(EncryptedBucket.ACLS_ENABLED_WARNING,
        `accessControl: ${userProps.accessControl} needs ACLs, so ObjectOwnership is ObjectWriter (as s3.Bucket derives it) instead of BucketOwnerEnforced: objects uploaded by other accounts belong to them and ACLs decide who reads them. ` +
        'Use bucket policies instead of ACLs where you can (remove accessControl), or set objectOwnership explicitly to acknowledge the choice.');
    }
    if (userProps.versioned === false) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:versioningOff',
        'versioned: false removes the documented defence against SSE-C ransomware, which overwrites objects with copies encrypted under an attacker\'s key. Keep versioning on unless the data can be recreated.');
    }
    const bpa = userProps.blockPublicAccess;
    if (bpa && !(bpa.blockPublicAcls && bpa.blockPublicPolicy && bpa.ignorePublicAcls && bpa.restrictPublicBuckets)) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:publicAccessNotBlocked',
        'blockPublicAccess does not block all public access; encryption at rest does not protect data that is readable by anyone. Use BlockPublicAccess.BLOCK_ALL unless the bucket is meant to be public.');
    }
  }

  /**
   * Grants public read access, like `s3.Bucket.grantPublicAccess`. An EncryptedBucket blocks all
   * public access by default, which makes S3 refuse a public bucket policy at deploy; that is said
   * here, in this library's words, with the way out.
   */
  public grantPublicAccess(keyPrefix?: string, ...allowedActions: string[]): iam.Grant {
    if (publicPolicyBlocked(this)) {
      throw validationError(this, 'PublicAccessBlocked',
        'grantPublicAccess() would add a public bucket policy, but blockPublicAccess blocks public policies (EncryptedBucket defaults to BlockPublicAccess.BLOCK_ALL), so S3 would refuse the policy at deploy. ' +
        'If the bucket is meant to be public, set blockPublicAccess: new s3.BlockPublicAccess({ blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false }) ' +
        '(EncryptedBucket then adds the acknowledgeable warning cdk-s3-encryption:publicAccessNotBlocked); otherwise grant access to specific principals with grantRead().');
    }
    return super.grantPublicAccess(keyPrefix, ...allowedActions);
  }

  /**
   * Replaces the plain `kms.Key` s3.Bucket created for KMS/DSSE without a key by an
   * `S3EncryptionKey` at the same path (`<bucket>/Key`), so that the key is a child of this
   * bucket and of no other, whatever property injectors do with the props.
   */
  private adoptS3EncryptionKey(props: s3.BucketProps): void {
    const placeholder = this.node.tryFindChild('Key');
    if (!(placeholder instanceof kms.Key) || this.encryptionKey !== placeholder) {
      throw validationError(this, 'UnexpectedKeyLayout', `expected s3.Bucket to create its key at ${this.node.path}/Key; found ${placeholder?.node.path ?? 'none'}. Pass encryptionKey explicitly (for example an S3EncryptionKey).`);
    }
    this.node.tryRemoveChild('Key');
    const key = new S3EncryptionKey(this, 'Key');
    // s3.Bucket has no setter; grants read this property to include the key.
    (this as { encryptionKey?: kms.IKey }).encryptionKey = key;
    const cfnBucket = this.node.defaultChild as s3.CfnBucket;
    const encryption = cfnBucket.bucketEncryption as s3.CfnBucket.BucketEncryptionProperty;
    const [rule, ...rest] = encryption.serverSideEncryptionConfiguration as s3.CfnBucket.ServerSideEncryptionRuleProperty[];
    const byDefault = rule.serverSideEncryptionByDefault as s3.CfnBucket.ServerSideEncryptionByDefaultProperty;
    cfnBucket.bucketEncryption = {
      serverSideEncryptionConfiguration: [{ ...rule, serverSideEncryptionByDefault: { ...byDefault, kmsMasterKeyId: key.keyArn } }, ...rest],
    };
    if (props.replicationRules?.length) {
      // s3.Bucket grants its replication role Decrypt on a key passed in props only.
      const role = props.replicationRole ?? this.node.tryFindChild('ReplicationRole') as iam.IRole | undefined;
      if (role) {
        key.grantDecrypt(role);
      }
    }
  }

}

/** What a caller of `inject` needs of a property injector for s3.Bucket. */
interface BucketPropsInjector {
  inject(props: s3.BucketProps, context: InjectionContext): s3.BucketProps;
}

/** The property injector for s3.Bucket that applies under `scope`, found as aws-cdk-lib finds it. */
function bucketInjectorFor(scope: IConstruct): BucketPropsInjector | undefined {
  for (let current: IConstruct | undefined = scope; current; current = current.node.scope) {
    if (PropertyInjectors.hasPropertyInjectors(current)) {
      const injector = PropertyInjectors.of(current).for(s3.Bucket.PROPERTY_INJECTION_ID);
      if (injector) {
        return injector as BucketPropsInjector;
      }
    }
  }
  return undefined;
}

/** Settings EncryptedBucket resolves that an injector must not change when it runs again in super(). */
const SETTLED_PROPS: Array<keyof s3.BucketProps> = [
  'encryption', 'encryptionKey', 'bucketKeyEnabled', 'versioned', 'blockPublicAccess', 'objectOwnership', 'removalPolicy', 'accessControl',
];

/**
 * aws-cdk-lib applies s3.Bucket's injectors inside s3.Bucket's constructor, that is a second
 * time, on the props EncryptedBucket resolved. An injector that sets defaults (`{ ...defaults,
 * ...props }`) or forces values it already forced changes nothing there; one that would change a
 * resolved setting is refused rather than silently overriding (or being overridden by) it.
 */
function assertInjectorKeepsSettings(place: IConstruct, injected: s3.BucketProps, resolved: s3.BucketProps): void {
  for (const name of SETTLED_PROPS) {
    if (injected[name] !== resolved[name]) {
      throw validationError(place, 'PropertyInjectorConflict',
        `a PropertyInjector for s3.Bucket changes ${name} from ${describe(resolved[name])} to ${describe(injected[name])} after EncryptedBucket applied it (aws-cdk-lib runs s3.Bucket's injectors again inside EncryptedBucket). ` +
        'EncryptedBucket honours the values an injector gives the props you write; make the injector set defaults ({ ...defaults, ...originalProps }) or set the same value whatever the props say.');
    }
  }
  const tls = injected.minimumTLSVersion;
  if (tls !== undefined && !injected.enforceSSL) {
    throw validationError(place, 'PropertyInjectorConflict',
      `a PropertyInjector for s3.Bucket sets minimumTLSVersion: ${tls} without enforceSSL: true, which s3.Bucket refuses. Set both in the injector, or neither (EncryptedBucket enforces TLS itself).`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'undefined (not set)';
  }
  if (value !== null && typeof value === 'object') {
    return (value as Partial<IConstruct>).node?.path ?? JSON.stringify(value);
  }
  return String(value);
}

/**
 * A stand-in for the construct `scope/id` before it exists, so that errors thrown while reading
 * its props name the path the bucket is about to have.
 */
function futureConstruct(scope: IConstruct, id: string): IConstruct {
  const path = scope.node.path ? `${scope.node.path}/${id}` : id;
  return { node: { path, id, scope, root: scope.node.root } } as unknown as IConstruct;
}

/** The canned ACLs that need ACLs enabled (s3.Bucket derives `ObjectWriter` for them). */
function aclNeedsObjectWriter(accessControl?: s3.BucketAccessControl): boolean {
  return accessControl !== undefined && ![
    s3.BucketAccessControl.PRIVATE, s3.BucketAccessControl.BUCKET_OWNER_READ, s3.BucketAccessControl.BUCKET_OWNER_FULL_CONTROL,
  ].includes(accessControl);
}

/** Rejects, in this library's words, the props whose aws-cdk-lib error would name what the user did not set. */
function validateDropInProps(place: IConstruct, props: EncryptedBucketProps): void {
  if (props.bucketKeyEnabled === true && props.encryption === undefined && props.encryptionKey === undefined) {
    // s3.Bucket refuses this too (no encryption); here the default would be SSE-S3, where a
    // Bucket Key does nothing, so the user most likely meant SSE-KMS.
    throw validationError(place, 'BucketKeyWithoutEncryption',
      'bucketKeyEnabled: true is set without encryption. S3 Bucket Keys reduce the cost of SSE-KMS and do nothing for the default SSE-S3. ' +
      'Set encryption: s3.BucketEncryption.KMS (Bucket Keys are then on by default), or remove bucketKeyEnabled.');
  }
  if (props.objectOwnership === s3.ObjectOwnership.BUCKET_OWNER_ENFORCED && aclNeedsObjectWriter(props.accessControl)) {
    throw validationError(place, 'AccessControlNeedsAcls',
      `accessControl: ${props.accessControl} needs ACLs, but objectOwnership: BUCKET_OWNER_ENFORCED disables them. Remove accessControl (use bucket policies), or set objectOwnership: s3.ObjectOwnership.OBJECT_WRITER.`);
  }
  const bpa = props.blockPublicAccess ?? s3.BlockPublicAccess.BLOCK_ALL;
  if (props.publicReadAccess && bpa.blockPublicPolicy !== false) {
    throw validationError(place, 'PublicAccessBlocked',
      `publicReadAccess: true adds a public bucket policy, but blockPublicAccess blocks public policies${props.blockPublicAccess ? '' : ' (EncryptedBucket defaults to BlockPublicAccess.BLOCK_ALL)'}, so S3 would refuse the policy at deploy. ` +
      'If the bucket is meant to be public, also set blockPublicAccess: new s3.BlockPublicAccess({ blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false }); otherwise remove publicReadAccess.');
  }
}

/** Whether the bucket's template blocks public bucket policies. */
function publicPolicyBlocked(bucket: s3.Bucket): boolean {
  const config = (bucket.node.defaultChild as s3.CfnBucket).publicAccessBlockConfiguration;
  const readable = config !== undefined && !Token.isUnresolved(config) ? config as s3.CfnBucket.PublicAccessBlockConfigurationProperty : undefined;
  return readable?.blockPublicPolicy === true;
}

/**
 * S3 server access log delivery writes without encryption headers and supports only SSE-S3 on
 * the destination bucket: a KMS/DSSE destination, or one that requires the encryption header,
 * never receives a log. Thrown at synth, naming both buckets.
 */
function assertAcceptsServerAccessLogs(
  target: IConstruct, source: IConstruct, encryption: s3.BucketEncryption, encryptionHeaders: EncryptionHeaders,
): void {
  const from = source === target ? 'itself' : source.node.path;
  if (encryption !== s3.BucketEncryption.S3_MANAGED) {
    throw validationError(target, 'KmsLogTarget',
      `${target.node.path} receives S3 server access logs (from ${from}) but its encryption is ${encryption}: S3 delivers server access logs only to buckets whose default encryption is SSE-S3, so no log would ever arrive. ` +
      'Log to an EncryptedBucket with the default encryption (S3_MANAGED) instead.');
  }
  if (encryptionHeaders === EncryptionHeaders.REQUIRE) {
    throw validationError(target, 'HeaderRequiredLogTarget',
      `${target.node.path} receives S3 server access logs (from ${from}) but has encryptionHeaders: REQUIRE: log delivery sends no x-amz-server-side-encryption header, so the bucket policy refuses every log. ` +
      'Use encryptionHeaders: DENY_MISMATCH (the default) on the log bucket.');
  }
}

/**
 * Log delivery through the bucket policy, whatever `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`
 * says: the flag's other branch enables the `LogDeliveryWrite` ACL, which needs ACLs, and an
 * EncryptedBucket keeps them disabled. The statement is the one aws-cdk-lib writes with the flag.
 * s3.Bucket calls this (a private method of s3.Bucket) on the target bucket of
 * `serverAccessLogsBucket`, and on itself when it logs to itself, inside its constructor.
 */
function allowLogDelivery(this: EncryptedBucket, from: s3.IBucket, prefix?: string): void {
  // Undefined while this bucket's own constructor runs (logging to itself): checked before super().
  if (this.encryptionHeaders !== undefined) {
    assertAcceptsServerAccessLogs(this, from, this.encryption, this.encryptionHeaders);
  }
  const sameStackBucket = from instanceof s3.Bucket && Stack.of(this) === Stack.of(from);
  this.addToResourcePolicy(new iam.PolicyStatement({
    effect: iam.Effect.ALLOW,
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [this.arnForObjects(prefix ? `${prefix}*` : '*')],
    conditions: sameStackBucket
      ? { ArnLike: { 'aws:SourceArn': from.bucketArn }, StringEquals: { 'aws:SourceAccount': from.env.account } }
      : undefined,
  }));
}
Object.defineProperty(EncryptedBucket.prototype, 'allowLogDelivery', { value: allowLogDelivery, writable: true, configurable: true });
