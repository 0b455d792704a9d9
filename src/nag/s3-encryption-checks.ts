import { CfnResource, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { NagPack, NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { withAppIndex } from './analysis/intrinsics';
import { S3_ENCRYPTION_RULES } from './rules';

/**
 * Properties of the `S3EncryptionChecks` rule pack.
 */
export interface S3EncryptionChecksProps extends NagPackProps {
  /**
   * Report findings without failing synthesis: every finding is reported as a warning in the
   * validation report (`policy-validation-report.json` and the CLI output), and
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
 * rather than failing. Acknowledge a finding on one resource with
 * `Validations.of(bucket).acknowledge({ id: S3EncryptionChecks.SSE_C_BLOCKED, reason })`.
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

  /** The plugin name shown in the validation report. */
  public readonly name: string = S3EncryptionChecks.PACK_NAME;
  /** The ids of every rule of the pack. */
  public readonly ruleIds?: string[] = S3_ENCRYPTION_RULES.map((rule) => `${S3EncryptionChecks.PACK_NAME}-${rule.id}`);
  private readonly auditOnly: boolean;

  constructor(scope?: IConstruct, props: S3EncryptionChecksProps = {}) {
    super(scope, props);
    this.packName = S3EncryptionChecks.PACK_NAME;
    this.auditOnly = props.auditOnly ?? false;
  }

  /**
   * Validates a construct tree directly: the entry point for tests and for CI scripts that
   * want the findings as data.
   */
  public validateScope(scope: IConstruct): PolicyValidationPluginReport {
    const report = withAppIndex(scope, () => super.validateScope(scope));
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
