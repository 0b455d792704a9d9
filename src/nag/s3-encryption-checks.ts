import { CfnResource, IPolicyValidationContext, PolicyValidationPluginReport, PolicyViolation, Validations } from 'aws-cdk-lib';
import { NagPack, NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { withAppIndex } from './analysis/intrinsics';
import { S3_ENCRYPTION_RULES } from './rules';
import { validationError } from '../errors';

/**
 * Properties of the `S3EncryptionChecks` rule pack.
 */
export interface S3EncryptionChecksProps extends NagPackProps {
  /**
   * Report findings without failing synthesis: every finding is reported as a warning in the
   * validation report (`cdk.out/validation-report.json` and the CLI output), and
   * `app.synth()` succeeds. For teams that adopt the rules gradually; switch it off once the
   * findings are fixed or acknowledged. `cdk synth` in construct-library strict mode still
   * fails on warnings.
   *
   * @default false
   */
  readonly auditOnly?: boolean;
}

/**
 * A cdk-nag rule pack for S3 encryption at rest and in transit, covering what cdk-nag's own
 * packs do not check: minimum TLS version, encryption headers, SSE-C, Bucket Keys, and the key
 * policy of the bucket's KMS key. DSSE-KMS counts as KMS.
 *
 * ```ts
 * Validations.of(app).addPlugins(new S3EncryptionChecks(app));
 * ```
 *
 * Rules read the synthesized L1 resources (`AWS::S3::Bucket`, the `AWS::S3::BucketPolicy` for
 * it anywhere in the app, `AWS::KMS::Key`), so they see buckets made by any construct. A value
 * that cannot be evaluated at synth time (`Fn::If`, a parameter) makes the rule not applicable
 * rather than failing.
 *
 * Acknowledge a finding on one resource with
 * `S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, reason)`: the
 * finding then appears, with its reason, under the suppressed violations of
 * `cdk.out/validation-report.json`, which is the audit trail reviewers keep. The bare rule id
 * (`Validations.of(bucket).acknowledge({ id: S3EncryptionChecks.SSE_C_BLOCKED, reason })`)
 * silences the finding too, but cdk-nag then drops it before aws-cdk-lib sees it, so the report
 * shows nothing.
 */
export class S3EncryptionChecks extends NagPack {
  /** The pack name: the prefix of every rule id. */
  public static readonly PACK_NAME = 'S3Encryption';
  /** The bucket declares its default encryption (SSE-S3, SSE-KMS or DSSE-KMS). */
  public static readonly DEFAULT_ENCRYPTION = 'S3Encryption-DefaultEncryption';
  /** At most one `AWS::S3::BucketPolicy` targets the bucket (S3 keeps only the one deployed last). */
  public static readonly SINGLE_BUCKET_POLICY = 'S3Encryption-SingleBucketPolicy';
  /** The bucket policy denies requests without TLS, on the bucket and its objects. */
  public static readonly TLS_ONLY = 'S3Encryption-TlsOnly';
  /** The bucket policy denies requests below TLS 1.2. */
  public static readonly MINIMUM_TLS_VERSION = 'S3Encryption-MinimumTlsVersion';
  /** SSE-C uploads are blocked. */
  public static readonly SSE_C_BLOCKED = 'S3Encryption-SseCBlocked';
  /** Uploads with a mismatched encryption header (or KMS key) are denied. */
  public static readonly ENCRYPTION_HEADERS = 'S3Encryption-EncryptionHeaders';
  /** SSE-KMS buckets enable S3 Bucket Keys. */
  public static readonly BUCKET_KEY = 'S3Encryption-BucketKey';
  /** The bucket's KMS key (when in the app) rotates automatically. */
  public static readonly KMS_KEY_ROTATION = 'S3Encryption-KmsKeyRotation';
  /** The bucket's KMS key (when in the app) allows cryptographic use only through S3. */
  public static readonly KMS_KEY_VIA_SERVICE = 'S3Encryption-KmsKeyViaService';
  /** The bucket names its KMS key by its ARN, not by an alias (in BucketEncryption and the bucket policy). */
  public static readonly KMS_KEY_NOT_ALIAS = 'S3Encryption-KmsKeyNotAlias';
  /** The bucket's server access logs go to a bucket that can receive them (SSE-S3, encryption header not required). */
  public static readonly SERVER_ACCESS_LOG_TARGET = 'S3Encryption-ServerAccessLogTarget';

  /**
   * The acknowledgement id that leaves an audit trail for a cdk-nag rule id (of this pack or any
   * cdk-nag pack, findings included): `<pack>::<rule id>`, for example
   * `S3Encryption::S3Encryption-SseCBlocked` or
   * `AwsSolutions::AwsSolutions-IAM5[Action::s3:*]`.
   *
   * aws-cdk-lib files an acknowledgement under the plugin named before `::`; with that prefix
   * cdk-nag reports the finding and aws-cdk-lib moves it to the report's suppressed violations
   * with the reason. Without it, aws-cdk-lib files the id as an annotation, cdk-nag drops the
   * finding itself, and `cdk.out/validation-report.json` keeps no record.
   *
   * @param ruleId a cdk-nag rule id `<pack>-<rule>[<finding>]`, whose pack name has no `-`; an id
   * that already has a `<pack>::` prefix is returned unchanged
   */
  public static acknowledgementId(ruleId: string): string {
    if (ruleId.split('[')[0].includes('::')) {
      return ruleId;
    }
    const dash = ruleId.indexOf('-');
    if (dash <= 0 || dash > ruleId.split('[')[0].length) {
      throw new Error(`ruleId: '${ruleId}' is not a cdk-nag rule id: expected <pack>-<rule>, for example ${S3EncryptionChecks.SSE_C_BLOCKED} or AwsSolutions-IAM5[Action::s3:*].`);
    }
    return `${ruleId.slice(0, dash)}::${ruleId}`;
  }

  /**
   * Acknowledges one cdk-nag finding on `scope` and its children, leaving the reason in
   * `cdk.out/validation-report.json` (see `acknowledgementId`). Works for this pack's rules and
   * for any cdk-nag pack's (`AwsSolutions-IAM5[Action::s3:*]`).
   *
   * @param scope the resource (or a construct above it) the finding is on
   * @param ruleId the rule id or finding id, for example `S3EncryptionChecks.SSE_C_BLOCKED`
   * @param reason why the finding is acceptable here; a reviewer reads it in the report
   */
  public static acknowledge(scope: IConstruct, ruleId: string, reason: string): void {
    if (reason.trim().length === 0) {
      throw validationError(scope, 'EmptyAcknowledgementReason', `reason is empty for ${ruleId}: say why the finding is acceptable on this resource; reviewers read it in cdk.out/validation-report.json.`);
    }
    Validations.of(scope).acknowledge({ id: S3EncryptionChecks.acknowledgementId(ruleId), reason });
  }

  /** The plugin name shown in the validation report. */
  public readonly name: string = S3EncryptionChecks.PACK_NAME;
  /** The ids of every rule of the pack. */
  public readonly ruleIds?: string[] = S3_ENCRYPTION_RULES.map((rule) => `${S3EncryptionChecks.PACK_NAME}-${rule.id}`);
  private readonly auditOnly: boolean;
  /** Whether the CDK is asking: then acknowledged findings go to it, to be listed as suppressed. */
  private reportingToCdk = false;

  constructor(scope?: IConstruct, props: S3EncryptionChecksProps = {}) {
    super(scope, props);
    this.packName = S3EncryptionChecks.PACK_NAME;
    this.auditOnly = props.auditOnly ?? false;
  }

  /**
   * Called by the CDK during synthesis. Findings acknowledged with `acknowledgementId` are
   * reported, so that aws-cdk-lib lists them, with their reason, as suppressed violations.
   */
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.reportingToCdk = true;
    try {
      return super.validate(context);
    } finally {
      this.reportingToCdk = false;
    }
  }

  /**
   * Validates a construct tree directly: the entry point for tests and for CI scripts that
   * want the findings as data. Acknowledged findings (either id form) are left out.
   */
  public validateScope(scope: IConstruct): PolicyValidationPluginReport {
    let report = withAppIndex(scope, () => super.validateScope(scope));
    if (!this.reportingToCdk) {
      report = withoutAuditedAcknowledgements(scope, report);
    }
    if (!this.auditOnly) {
      return report;
    }
    // The CDK fails synthesis on an unsuccessful report, and recomputes success from the
    // severities when acknowledgements exist: both must say "warning" to only report.
    return {
      success: true,
      violations: report.violations.map((violation) => ({ ...violation, severity: 'warning' })),
    };
  }

  protected checkResource(node: CfnResource): void {
    for (const rule of S3_ENCRYPTION_RULES) {
      this.applyRule({
        ruleSuffixOverride: rule.id,
        info: rule.info,
        explanation: rule.explanation,
        level: rule.level,
        node,
        rule: rule.check,
      });
    }
  }
}

/**
 * The report without the findings acknowledged as `S3Encryption::<rule id>`, which cdk-nag does
 * not recognise (it leaves them to aws-cdk-lib, which suppresses them at synthesis).
 */
function withoutAuditedAcknowledgements(scope: IConstruct, report: PolicyValidationPluginReport): PolicyValidationPluginReport {
  const acknowledged = (path: string | undefined, id: string): boolean => {
    let construct: IConstruct | undefined = path === undefined ? undefined : scope.node.root.node.tryFindChild(path.split('/')[0]);
    const parts = path === undefined ? [] : path.split('/').slice(1);
    const chain: IConstruct[] = [];
    while (construct) {
      chain.push(construct);
      const next = parts.shift();
      construct = next === undefined ? undefined : construct.node.tryFindChild(next);
    }
    return chain.some((c) => c.node.metadata.some((entry) =>
      entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && entry.data && id in (entry.data as Record<string, string>)));
  };
  const violations: PolicyViolation[] = [];
  for (const violation of report.violations) {
    const id = S3EncryptionChecks.acknowledgementId(violation.ruleName);
    const remaining = violation.violatingResources.filter((resource) => !acknowledged(resource.constructPath, id));
    if (remaining.length > 0) {
      violations.push({ ...violation, violatingResources: remaining });
    }
  }
  return { success: violations.length === 0, violations };
}
