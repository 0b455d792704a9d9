import { Annotations, Mixin, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { IConstruct } from 'constructs';
import { BucketEncryptionPolicy } from './bucket-encryption-policy';
import { EncryptedBucket } from './encrypted-bucket';
import { CustomerProvidedKeys, EncryptionHeaders, EncryptionSettings, resolveEncryptionSettings, sseAlgorithmOf, usesCustomerKey } from './encryption-options';
import { validationError } from './errors';
import { bucketPoliciesOf } from './nag/analysis/bucket';
import { S3EncryptionKey } from './s3-encryption-key';

/**
 * Options of `EnforceEncryption`: the same names, meanings and defaults as `EncryptedBucket`'s
 * properties, except that an omitted `encryption` keeps a bucket's declared encryption.
 */
export interface EnforceEncryptionProps {
  /**
   * The bucket's default server-side encryption. `UNENCRYPTED` is not allowed.
   *
   * With `KMS` or `DSSE` and no `encryptionKey`, the bucket keeps the customer managed key it
   * already uses (from its L2 `encryptionKey`, or a `AWS::KMS::Key` its template references);
   * if it has none, an `S3EncryptionKey` is created as the child `Key` of the bucket
   * (of the L2 bucket when there is one, otherwise of the `CfnBucket`).
   *
   * @default - the encryption the bucket already declares (SSE-S3, SSE-KMS or DSSE-KMS, with
   * its key), so that applying the mixin to a whole app never downgrades a KMS bucket;
   * `KMS` if `encryptionKey` is set; `S3_MANAGED` for a bucket that declares none
   */
  readonly encryption?: s3.BucketEncryption;

  /**
   * The customer managed key for `KMS` or `DSSE`. Not allowed with other encryptions.
   *
   * @default - the bucket's current customer managed key, or a new `S3EncryptionKey`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Whether S3 Bucket Keys are enabled. Not supported with DSSE-KMS.
   *
   * @default - for SSE-KMS, the `BucketKeyEnabled` the bucket already declares, else true;
   * unset otherwise
   */
  readonly bucketKeyEnabled?: boolean;

  /**
   * What the bucket does with SSE-C uploads.
   *
   * @default CustomerProvidedKeys.BLOCK
   */
  readonly customerProvidedKeys?: CustomerProvidedKeys;

  /**
   * How the bucket policy treats the `x-amz-server-side-encryption*` headers of uploads.
   *
   * @default EncryptionHeaders.DENY_MISMATCH
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * The lowest TLS version the bucket policy accepts: 1.2 or 1.3.
   *
   * @default 1.2
   */
  readonly minimumTLSVersion?: number;
}

/**
 * A mixin that retrofits `EncryptedBucket`'s guarantees onto buckets this library did not
 * create: plain `s3.Bucket`s, `CfnBucket`s, and buckets made inside third-party constructs.
 *
 * ```ts
 * Mixins.of(stack).apply(new EnforceEncryption());              // every bucket in the stack
 * bucket.with(new EnforceEncryption({ encryption: s3.BucketEncryption.KMS }));
 * ```
 *
 * For each `AWS::S3::Bucket` it writes the same `BucketEncryption` as `EncryptedBucket` with the
 * same options (default encryption, Bucket Key, `BlockedEncryptionTypes`) and adds the same
 * `BucketEncryptionPolicy` statements, both from the same source as `EncryptedBucket`:
 *
 * - the statements go into the bucket's existing bucket policy wherever it is in the app (the
 *   L2 bucket's `policy`, or any `AWS::S3::BucketPolicy` that references the bucket), or into a
 *   new one created the way `s3.Bucket` creates it; a statement whose `Sid` is already there is
 *   not added again, and one whose `Sid` is there with other content is an error (the mixin
 *   was applied with other options before), so applying the mixin twice changes nothing;
 * - with `KMS`/`DSSE` on an L2 bucket, the key also becomes the bucket's `encryptionKey`, so
 *   grants made *after* the mixin include it; a key the mixin creates also lets principals of
 *   this account use it through S3 for this bucket (statement `SID_USE_BY_PRIOR_GRANTS`, like
 *   the AWS managed key `aws/s3`), so grants made *before* the mixin keep working;
 * - an `EncryptedBucket` is left as it is: it already enforces the settings it was created
 *   with (change its props instead);
 * - an imported bucket (`Bucket.fromBucketName` and the like, no resource in the app) cannot
 *   be changed: the mixin adds the warning `cdk-s3-encryption:importedBucket` naming the
 *   settings and the statements to apply by hand (`BucketEncryptionPolicy.statements` returns
 *   them). The CDK bootstrap bucket that file assets import (`<asset>/AssetBucket`) is skipped
 *   without a warning: it belongs to `cdk bootstrap`, not to the app.
 *
 * Invalid option combinations throw when the mixin is created, with the same messages as
 * `EncryptedBucket`.
 */
export class EnforceEncryption extends Mixin {
  /** The id of the warning added to imported buckets; acknowledge it with `Annotations.of(bucket).acknowledgeWarning(id, reason)`. */
  public static readonly IMPORTED_BUCKET_WARNING = 'cdk-s3-encryption:importedBucket';
  /**
   * Sid of the key-policy statement of a key the mixin creates that keeps grants made before the
   * mixin working: principals of this account may use the key through S3 for this bucket only.
   */
  public static readonly SID_USE_BY_PRIOR_GRANTS = 'UseThroughS3ForThisBucketInThisAccount';

  private readonly props: EnforceEncryptionProps;

  constructor(props: EnforceEncryptionProps = {}) {
    super();
    this.props = props;
    // Reject contradictions now, with EncryptedBucket's messages, not per bucket later.
    resolveEncryptionSettings(props);
  }

  /** Supports `CfnBucket`s (the L1 of every L2 bucket included) and imported buckets. */
  public supports(construct: IConstruct): boolean {
    return s3.CfnBucket.isCfnBucket(construct) || isImportedBucket(construct);
  }

  /** Enforces the encryption settings on one bucket. */
  public applyTo(construct: IConstruct): void {
    if (s3.CfnBucket.isCfnBucket(construct)) {
      this.enforce(construct);
    } else if (isImportedBucket(construct)) {
      this.warnImported(construct);
    }
  }

  private enforce(cfnBucket: s3.CfnBucket): void {
    const owner = cfnBucket.node.scope;
    const l2 = owner instanceof s3.BucketBase && owner.node.defaultChild === cfnBucket ? owner : undefined;
    if (l2 instanceof EncryptedBucket) {
      return;
    }

    const current = declaredEncryption(cfnBucket, l2);
    const encryption = this.props.encryption ?? (this.props.encryptionKey ? s3.BucketEncryption.KMS : current.encryption);
    let encryptionKey = this.props.encryptionKey;
    if (encryption !== undefined && usesCustomerKey(encryption) && !encryptionKey) {
      encryptionKey = current.key ?? newEncryptionKey(l2 ?? cfnBucket, cfnBucket);
    }
    const sseKms = encryption === s3.BucketEncryption.KMS || encryption === s3.BucketEncryption.KMS_MANAGED;
    const { settings, warnings } = resolveEncryptionSettings({
      encryption,
      encryptionKey,
      // An omitted option keeps what the bucket declares, as for `encryption` (SSE-KMS only:
      // the setting means nothing for SSE-S3 and DSSE-KMS does not support it).
      bucketKeyEnabled: this.props.bucketKeyEnabled ?? (sseKms ? current.bucketKeyEnabled : undefined),
      customerProvidedKeys: this.props.customerProvidedKeys,
      encryptionHeaders: this.props.encryptionHeaders,
      minimumTLSVersion: this.props.minimumTLSVersion,
    }, l2 ?? cfnBucket);

    cfnBucket.bucketEncryption = bucketEncryptionOf(settings);
    if (l2 && settings.encryptionKey && l2.encryptionKey !== settings.encryptionKey) {
      // s3.Bucket has no setter; grants read this property to include the key.
      (l2 as { encryptionKey?: kms.IKey }).encryptionKey = settings.encryptionKey;
    }

    const bucket = l2 ?? bucketOf(cfnBucket);
    const statements = BucketEncryptionPolicy.statements(bucket, {
      encryption: settings.encryption,
      encryptionKey: settings.encryptionKey,
      customerProvidedKeys: settings.customerProvidedKeys,
      encryptionHeaders: settings.encryptionHeaders,
      minimumTLSVersion: settings.minimumTLSVersion,
    });
    addStatements(cfnBucket, bucket, statements);

    for (const warning of warnings) {
      Annotations.of(l2 ?? cfnBucket).addWarningV2(warning.id, warning.message);
    }
  }

  private warnImported(bucket: s3.IBucket): void {
    const encryption = this.props.encryption ?? (this.props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED);
    const { settings } = resolveEncryptionSettings({ ...this.props, encryption }, bucket);
    // The statements need a key ARN only for their content; the Sids are the same with aws/s3.
    const sidOptions = usesCustomerKey(settings.encryption) && !settings.encryptionKey
      ? {
        ...settings,
        encryption: settings.encryption === s3.BucketEncryption.KMS ? s3.BucketEncryption.KMS_MANAGED : s3.BucketEncryption.DSSE_MANAGED,
      }
      : settings;
    const sids = BucketEncryptionPolicy.statements(bucket, sidOptions).map((statement) => statement.sid);
    const key = usesCustomerKey(settings.encryption) ? (settings.encryptionKey ? ' with the given key' : ' with a customer managed key (pass encryptionKey)') : '';
    Annotations.of(bucket).addWarningV2(EnforceEncryption.IMPORTED_BUCKET_WARNING,
      `EnforceEncryption cannot change ${bucket.node.path}: the bucket is imported, not defined in this app. Apply by hand: ` +
      `default encryption ${sseAlgorithmOf(settings.encryption)}${key}` +
      `${settings.bucketKeyEnabled ? ', BucketKeyEnabled true' : ''}, BlockedEncryptionTypes [${settings.blockedEncryptionTypes.map((t) => t.name).join(', ')}], ` +
      `and the bucket policy statements ${sids.join(', ')} (BucketEncryptionPolicy.statements(bucket, options) returns them).`);
  }
}

/**
 * An IBucket construct with no `AWS::S3::Bucket` of its own in the app, that the user declared.
 * Every file asset (Lambda code, layers, BucketDeployment sources, this library's own handler)
 * imports the CDK bootstrap bucket as `<asset>/AssetBucket`; that bucket belongs to `cdk
 * bootstrap`, not to the app, so a warning about it is noise nobody can act on (and would fail
 * `cdk synth --strict`).
 */
function isImportedBucket(construct: IConstruct): construct is s3.BucketBase {
  return construct instanceof s3.BucketBase && !s3.CfnBucket.isCfnBucket(construct.node.defaultChild)
    && !(construct.node.scope instanceof s3assets.Asset);
}

/** The `BucketEncryption` property `s3.Bucket` writes for these settings. */
function bucketEncryptionOf(settings: EncryptionSettings): s3.CfnBucket.BucketEncryptionProperty {
  return {
    serverSideEncryptionConfiguration: [{
      serverSideEncryptionByDefault: {
        sseAlgorithm: sseAlgorithmOf(settings.encryption),
        kmsMasterKeyId: settings.encryptionKey?.keyArn,
      },
      bucketKeyEnabled: settings.bucketKeyEnabled,
      blockedEncryptionTypes: { encryptionType: settings.blockedEncryptionTypes.map((t) => t.name) },
    }],
  };
}

/** What a bucket's template declares as its encryption. */
interface DeclaredEncryption {
  readonly encryption?: s3.BucketEncryption;
  /** The customer managed key, when one is known. */
  readonly key?: kms.IKey;
  /** `BucketKeyEnabled` when the template declares it as a boolean. */
  readonly bucketKeyEnabled?: boolean;
}

/** The encryption a bucket's template declares, its customer managed key when one is known, and its Bucket Key setting. */
function declaredEncryption(cfnBucket: s3.CfnBucket, l2?: s3.BucketBase): DeclaredEncryption {
  const config = cfnBucket.bucketEncryption as s3.CfnBucket.BucketEncryptionProperty | undefined;
  const rules = config && !Token.isUnresolved(config) ? config.serverSideEncryptionConfiguration : undefined;
  const rule = Array.isArray(rules) ? rules[0] : undefined;
  const readable = rule && !Token.isUnresolved(rule) ? rule as s3.CfnBucket.ServerSideEncryptionRuleProperty : undefined;
  const byDefault = readable?.serverSideEncryptionByDefault;
  if (!byDefault || Token.isUnresolved(byDefault)) {
    return {};
  }
  const bucketKeyEnabled = typeof readable?.bucketKeyEnabled === 'boolean' ? readable.bucketKeyEnabled : undefined;
  const { sseAlgorithm, kmsMasterKeyId } = byDefault as s3.CfnBucket.ServerSideEncryptionByDefaultProperty;
  if (sseAlgorithm === 'AES256') {
    return { encryption: s3.BucketEncryption.S3_MANAGED };
  }
  const dsse = sseAlgorithm === 'aws:kms:dsse';
  if (sseAlgorithm !== 'aws:kms' && !dsse) {
    return {};
  }
  if (kmsMasterKeyId === undefined) {
    return { encryption: dsse ? s3.BucketEncryption.DSSE_MANAGED : s3.BucketEncryption.KMS_MANAGED, bucketKeyEnabled };
  }
  const key = l2?.encryptionKey ?? keyReferencedBy(cfnBucket, kmsMasterKeyId);
  return { encryption: dsse ? s3.BucketEncryption.DSSE : s3.BucketEncryption.KMS, key, bucketKeyEnabled };
}

/**
 * The key a `KMSMasterKeyID` names: a key of the app (by reference), or a literal key ARN.
 * A key id or alias cannot stand in the statements, which compare full key ARNs.
 */
function keyReferencedBy(cfnBucket: s3.CfnBucket, kmsMasterKeyId: string): kms.IKey {
  let arn: string | undefined;
  if (Token.isUnresolved(kmsMasterKeyId)) {
    const reversed = Tokenization.reverse(kmsMasterKeyId);
    if (reversed && Reference.isReference(reversed) && kms.CfnKey.isCfnKey(reversed.target)) {
      const cfnKey = reversed.target;
      const l2Key = cfnKey.node.scope;
      if (l2Key instanceof kms.Key && l2Key.node.defaultChild === cfnKey) {
        return l2Key;
      }
      // Key.fromCfnKey cannot parse a key policy with intrinsics; the statements need only the ARN.
      arn = cfnKey.attrArn;
    }
  } else if (/^arn:[^:]+:kms:[^:]*:[^:]*:key\//.test(kmsMasterKeyId)) {
    arn = kmsMasterKeyId;
  }
  if (arn === undefined) {
    throw validationError(cfnBucket, 'UnknownBucketKey', `EnforceEncryption cannot tell which KMS key ${cfnBucket.node.path} uses (KMSMasterKeyID is neither a key of this app nor a key ARN), and the bucket policy must name the key's ARN. Pass encryptionKey (or encryption) explicitly for this bucket.`);
  }
  const id = 'EnforceEncryptionKey';
  return (cfnBucket.node.tryFindChild(id) as kms.IKey | undefined) ?? kms.Key.fromKeyArn(cfnBucket, id, arn);
}

/**
 * An `IBucket` for a `CfnBucket` that has no L2, made once. `Bucket.fromCfnBucket` would do,
 * but it fails on a bucket whose key has a key policy with intrinsics (any S3EncryptionKey).
 * `defaultChild` marks it as the CfnBucket's own, so the mixin never takes it for an import.
 */
function bucketOf(cfnBucket: s3.CfnBucket): s3.IBucket {
  const id = 'EnforceEncryptionBucket';
  const existing = cfnBucket.node.tryFindChild(id) as s3.IBucket | undefined;
  if (existing) {
    return existing;
  }
  const bucket = s3.Bucket.fromBucketAttributes(cfnBucket, id, { bucketArn: cfnBucket.attrArn, bucketName: cfnBucket.ref });
  bucket.node.defaultChild = cfnBucket;
  return bucket;
}

/**
 * The key the mixin creates for KMS/DSSE without one; found again on a second application.
 *
 * Grants made before the mixin (`bucket.grantReadWrite(role)`, a `BucketDeployment`, a role of
 * another construct) gave S3 permissions but no KMS permissions, since there was no key. So that
 * they keep working, the new key's policy lets principals of this account use it the way the
 * AWS managed key `aws/s3` does: only through S3 in this region (`kms:ViaService`), only from
 * this account (`kms:CallerAccount`) and, when the bucket's name is known at synth, only for
 * this bucket's objects (`kms:EncryptionContext:aws:s3:arn`). S3 permissions on the bucket still
 * decide who may read and write; the key adds nobody.
 */
function newEncryptionKey(scope: IConstruct, cfnBucket: s3.CfnBucket): kms.IKey {
  // `Key`, as EncryptedBucket and s3.Bucket name the key they create.
  const id = 'Key';
  const existing = scope.node.tryFindChild(id);
  if (existing instanceof kms.Key) {
    return existing;
  }
  const key = new S3EncryptionKey(scope, id);
  key.addToResourcePolicy(useByPriorGrantsStatement(cfnBucket));
  return key;
}

/** The key-policy statement of `newEncryptionKey`: S3 use by principals of this account, for this bucket. */
function useByPriorGrantsStatement(cfnBucket: s3.CfnBucket): iam.PolicyStatement {
  const stack = Stack.of(cfnBucket);
  const conditions: Record<string, Record<string, unknown>> = {
    StringEquals: {
      'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`,
      'kms:CallerAccount': stack.account,
    },
  };
  // The bucket's ARN cannot be referenced: the bucket references the key (KMSMasterKeyID), and a
  // reference back would be a circular dependency. A literal name needs no reference. S3 uses the
  // bucket ARN as encryption context with Bucket Keys, the object ARN without.
  const name = cfnBucket.bucketName;
  if (typeof name === 'string' && !Token.isUnresolved(name)) {
    const arn = `arn:${stack.partition}:s3:::${name}`;
    conditions.StringLike = { 'kms:EncryptionContext:aws:s3:arn': [arn, `${arn}/*`] };
  }
  return new iam.PolicyStatement({
    sid: EnforceEncryption.SID_USE_BY_PRIOR_GRANTS,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
    conditions,
  });
}

/**
 * Adds the statements to the bucket's policy, wherever it is in the app; creates the policy the
 * way s3.Bucket does when there is none. Skips statements already present by Sid.
 */
function addStatements(cfnBucket: s3.CfnBucket, bucket: s3.IBucket, statements: iam.PolicyStatement[]): void {
  const policy = existingPolicy(cfnBucket, bucket);
  if (!policy) {
    if (bucket instanceof s3.Bucket) {
      // Through the L2, so that its later addToResourcePolicy calls use the same policy.
      statements.forEach((statement) => bucket.addToResourcePolicy(statement));
    } else {
      new s3.BucketPolicy(cfnBucket, 'Policy', { bucket, document: new iam.PolicyDocument({ statements }) });
    }
    return;
  }

  const document = policy.policyDocument instanceof iam.PolicyDocument
    ? policy.policyDocument
    : iam.PolicyDocument.fromJson(policy.policyDocument);
  const stack = Stack.of(policy);
  const existing = new Map<string, unknown>();
  const rendered = document.toJSON() as { Statement?: Array<{ Sid?: string }> } | undefined;
  for (const statement of rendered?.Statement ?? []) {
    if (statement.Sid) {
      existing.set(statement.Sid, statement);
    }
  }
  for (const statement of statements) {
    const sid = statement.sid!;
    const present = existing.get(sid);
    if (present === undefined) {
      document.addStatements(statement);
    } else if (canonical(stack.resolve(present)) !== canonical(stack.resolve(statement.toStatementJson()))) {
      throw validationError(cfnBucket, 'ConflictingPolicyStatement', `EnforceEncryption: the bucket policy of ${cfnBucket.node.path} already has a statement ${sid} with other content than these options produce. ` +
        'Apply EnforceEncryption to each bucket with one set of options (a more specific selector, or a single Mixins.of(...).apply), or remove the other statement.');
    }
  }
  policy.policyDocument = document;
}

/**
 * The `AWS::S3::BucketPolicy` of the bucket: the L2's, or any in the app that targets it (by
 * reference, also from another stack, or by the bucket's literal name). S3 keeps one policy per
 * bucket and the one deployed last replaces the others, so merging into one of several would
 * not enforce anything: that is an error.
 */
function existingPolicy(cfnBucket: s3.CfnBucket, bucket: s3.IBucket): s3.CfnBucketPolicy | undefined {
  const policies = new Set<s3.CfnBucketPolicy>();
  const own = bucket.policy?.node.defaultChild;
  if (own && s3.CfnBucketPolicy.isCfnBucketPolicy(own)) {
    policies.add(own);
  }
  bucketPoliciesOf(cfnBucket).forEach((policy) => policies.add(policy));
  if (policies.size > 1) {
    throw validationError(cfnBucket, 'SeveralBucketPolicies', `EnforceEncryption: ${policies.size} AWS::S3::BucketPolicy resources target the bucket ${cfnBucket.node.path} ` +
      `(${[...policies].map((policy) => policy.node.path).join(', ')}). S3 keeps one policy per bucket and the one deployed last replaces the others, ` +
      'so statements merged into one of them may never take effect. Keep one policy per bucket (add statements through bucket.addToResourcePolicy or to one s3.BucketPolicy), then apply EnforceEncryption.');
  }
  return [...policies][0];
}

/** JSON with sorted keys, so that two renderings of one statement compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
    : v));
}
