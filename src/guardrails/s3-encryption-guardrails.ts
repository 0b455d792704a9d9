import { Annotations, Names, Token } from 'aws-cdk-lib';
import * as organizations from 'aws-cdk-lib/aws-organizations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  OrganizationPolicyDocument, resourceControlPolicy, serviceControlPolicy, SID_DENY_SSE_C_OUTSIDE_ORGANIZATION, SID_PROTECT_ENCRYPTION_SETTINGS,
} from './guardrail-statements';
import { OrganizationTarget, TARGET_ID_FORMATS } from './organization-target';
import { PlatformRole } from './platform-role';
import { EncryptionHeaders, SUPPORTED_MINIMUM_TLS_VERSIONS } from '../encryption-options';
import { validationError } from '../errors';

/**
 * Properties of `S3EncryptionGuardrails`.
 */
export interface S3EncryptionGuardrailsProps {
  /**
   * Where both policies are attached: the root, organizational units or member accounts.
   * Start with one test OU, read CloudTrail for AccessDenied, then widen.
   */
  readonly targets: OrganizationTarget[];

  /**
   * The principals that may still change buckets' default encryption (and so
   * `BlockedEncryptionTypes`) and, with `protectBucketPolicies`, bucket policies.
   *
   * Must include the roles CloudFormation deploys with in the member accounts
   * (`PlatformRole.cdkCloudFormationExecutionRoles()` for CDK-bootstrapped accounts): every
   * bucket that declares default encryption is created with `PutBucketEncryption`.
   */
  readonly platformRoles: PlatformRole[];

  /**
   * The lowest TLS version any request to an S3 bucket of the targets may use: 1.2 or 1.3.
   *
   * 1.3 locks out every client that reaches S3 through PrivateLink for S3 or Multi-Region
   * Access Points, across the whole organisation.
   *
   * @default 1.2
   */
  readonly minimumTLSVersion?: number;

  /**
   * Buckets that may still receive SSE-C uploads, because a workload really encrypts with its
   * own keys: bucket names or name patterns (`legacy-sse-c-*`), or bucket ARNs or ARN patterns.
   * Keep each such bucket's own `customerProvidedKeys` setting, versioning and monitoring.
   *
   * @default - no bucket of the targets accepts SSE-C uploads
   */
  readonly sseCExemptBuckets?: string[];

  /**
   * Whether `s3:PutBucketPolicy` and `s3:DeleteBucketPolicy` are denied to every principal but
   * `platformRoles`, next to `s3:PutEncryptionConfiguration`.
   *
   * Both or neither: a principal that may put a bucket policy can replace it with one that
   * lacks the Deny statements, which is deleting it by another name.
   *
   * @default true
   */
  readonly protectBucketPolicies?: boolean;

  /**
   * Whether the SCP also denies SSE-C uploads by the targets' principals to buckets outside the
   * organisation (`aws:ResourceOrgID` differs from the principal's organisation).
   *
   * @default false
   */
  readonly denySseCOutsideOrganization?: boolean;

  /**
   * Whether the RCP checks the `x-amz-server-side-encryption` header of uploads.
   *
   * `DENY_MISMATCH` refuses uploads that name an algorithm other than `encryption`'s and lets
   * uploads without the header through (the bucket default applies). `REQUIRE` also refuses
   * uploads without the header: this breaks every client that relies on bucket defaults,
   * including CDK's own asset uploads, `aws s3 cp` without `--sse`, multipart uploads and AWS
   * log delivery. The key-id header is never checked: an organisation's buckets use many keys.
   *
   * @default EncryptionHeaders.NOT_ENFORCED
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * The algorithm uploads may name while `encryptionHeaders` is enforced: `S3_MANAGED`
   * (`AES256`), `KMS`/`KMS_MANAGED` (`aws:kms`) or `DSSE`/`DSSE_MANAGED` (`aws:kms:dsse`).
   *
   * Required when `encryptionHeaders` is `DENY_MISMATCH` or `REQUIRE`; not allowed otherwise.
   *
   * @default - none
   */
  readonly encryption?: s3.BucketEncryption;

  /**
   * The start of both policies' names; the RCP's name ends in `-rcp`, the SCP's in `-scp`.
   * Policy names are unique per type within an organisation.
   *
   * @default - a name unique to this construct's path
   */
  readonly policyNamePrefix?: string;
}

/**
 * Organisation-wide guardrails for S3 encryption, from the same statements as the library's
 * bucket policies, attached to the root, OUs or accounts of an AWS Organizations organisation:
 *
 * - a resource control policy (RCP) that refuses, for every principal of any account, S3
 *   requests over plain HTTP or below the minimum TLS version and SSE-C uploads (except to
 *   exempt buckets); no bucket policy in a member account can weaken it;
 * - a service control policy (SCP) that refuses changes to default encryption and bucket
 *   policies to every principal of the member accounts but the platform roles, so a stolen
 *   credential cannot unblock SSE-C.
 *
 * Deploy it from the management account (or the delegated administrator for Organizations
 * policies). Neither policy restricts the management account, nor service-linked roles.
 */
export class S3EncryptionGuardrails extends Construct {
  /** The statement of the SCP that protects default encryption and bucket policies. */
  public static readonly SID_PROTECT_ENCRYPTION_SETTINGS = SID_PROTECT_ENCRYPTION_SETTINGS;
  /** The statement of the SCP that refuses SSE-C uploads to buckets outside the organisation. */
  public static readonly SID_DENY_SSE_C_OUTSIDE_ORGANIZATION = SID_DENY_SSE_C_OUTSIDE_ORGANIZATION;
  /** AWS Organizations' limit on the size of one SCP or RCP document, in characters. */
  public static readonly MAX_POLICY_SIZE = 5120;

  /** The `AWS::Organizations::Policy` of type `RESOURCE_CONTROL_POLICY`. */
  public readonly resourceControlPolicy: organizations.CfnPolicy;
  /** The `AWS::Organizations::Policy` of type `SERVICE_CONTROL_POLICY`. */
  public readonly serviceControlPolicy: organizations.CfnPolicy;

  constructor(scope: Construct, id: string, props: S3EncryptionGuardrailsProps) {
    super(scope, id);

    const targetIds = this.validateTargets(props.targets);
    const platformRoleArns = this.validatePlatformRoles(props.platformRoles);
    const minimumTLSVersion = this.validateMinimumTLSVersion(props.minimumTLSVersion ?? 1.2);
    const sseCExemptObjects = (props.sseCExemptBuckets ?? []).map((b) => this.exemptObjectsArn(b));
    const encryptionHeaders = props.encryptionHeaders ?? EncryptionHeaders.NOT_ENFORCED;
    this.validateEncryption(encryptionHeaders, props.encryption);

    const prefix = props.policyNamePrefix ?? Names.uniqueResourceName(this, { maxLength: 100, separator: '-' });
    if (!Token.isUnresolved(prefix) && (prefix.length < 1 || prefix.length > 124)) {
      throw validationError(this, 'InvalidPolicyNamePrefix', `policyNamePrefix: "${prefix}" has ${prefix.length} characters; Organizations policy names have 1 to 128, and "-rcp"/"-scp" is appended. Use 1 to 124 characters.`);
    }

    const rcp = resourceControlPolicy(this, { minimumTLSVersion, sseCExemptObjects, encryptionHeaders, encryption: props.encryption });
    const scp = serviceControlPolicy(this, {
      platformRoleArns,
      protectBucketPolicies: props.protectBucketPolicies ?? true,
      denySseCOutsideOrganization: props.denySseCOutsideOrganization ?? false,
    });
    this.checkSize('resource control policy', `${prefix}-rcp`, rcp);
    this.checkSize('service control policy', `${prefix}-scp`, scp);

    this.resourceControlPolicy = new organizations.CfnPolicy(this, 'ResourceControlPolicy', {
      name: `${prefix}-rcp`,
      type: 'RESOURCE_CONTROL_POLICY',
      description: 'S3 encryption guardrails (cdk-s3-encryption): TLS-only S3, no SSE-C uploads outside exempt buckets.',
      content: rcp,
      targetIds,
    });
    this.serviceControlPolicy = new organizations.CfnPolicy(this, 'ServiceControlPolicy', {
      name: `${prefix}-scp`,
      type: 'SERVICE_CONTROL_POLICY',
      description: 'S3 encryption guardrails (cdk-s3-encryption): only platform roles change default encryption and bucket policies.',
      content: scp,
      targetIds,
    });
  }

  private validateTargets(targets: OrganizationTarget[]): string[] {
    if (targets.length === 0) {
      throw validationError(this, 'NoGuardrailTargets', 'targets: [] attaches the policies nowhere. Pass at least one OrganizationTarget (start with one test organizational unit).');
    }
    const ids = targets.map((t) => t.targetId);
    for (const target of targets) {
      const format = TARGET_ID_FORMATS[target.kind];
      if (!Token.isUnresolved(target.targetId) && !format.pattern.test(target.targetId)) {
        throw validationError(this, 'InvalidGuardrailTarget', `targets: "${target.targetId}" is not a valid ${target.kind} id: expected the form ${format.example} (${format.pattern.source}). Copy the id from the Organizations console or \`aws organizations list-roots\`/\`list-organizational-units-for-parent\`/\`list-accounts\`.`);
      }
    }
    const duplicate = ids.find((id, i) => !Token.isUnresolved(id) && ids.indexOf(id) !== i);
    if (duplicate) {
      throw validationError(this, 'DuplicateGuardrailTarget', `targets: "${duplicate}" is given twice; Organizations attaches a policy to a target once. Remove the duplicate.`);
    }
    return ids;
  }

  private validatePlatformRoles(roles: PlatformRole[]): string[] {
    if (roles.length === 0) {
      throw validationError(this, 'NoPlatformRoles', 'platformRoles: [] would refuse PutBucketEncryption to everyone in the member accounts, including CloudFormation, so no encrypted bucket could be deployed there. Pass at least PlatformRole.cdkCloudFormationExecutionRoles() (or the roles your pipelines deploy with).');
    }
    const arnShape = /^arn:[a-z0-9*?-]+:iam::[0-9*?]*:(role\/.+|user\/.+|root)$/;
    return roles.map((role) => {
      const pattern = role.arnPattern;
      if (Token.isUnresolved(pattern)) {
        return pattern;
      }
      if (!arnShape.test(pattern)) {
        throw validationError(this, 'InvalidPlatformRole', `platformRoles: "${pattern}" is not an IAM principal ARN pattern: expected arn:<partition>:iam::<account>:role/<name> (or user/<name>, root), with * and ? as wildcards. aws:PrincipalArn of an assumed-role session is the role's ARN, not the sts assumed-role ARN.`);
      }
      if (/:(role|user)\/[*?/]*$/.test(pattern)) {
        throw validationError(this, 'PlatformRoleTooBroad', `platformRoles: "${pattern}" matches every role or user, which turns the protection off. Name the platform roles, for example arn:aws:iam::*:role/platform/*.`);
      }
      const qualifier = /:role\/cdk-(.*)-cfn-exec-role-\*$/.exec(pattern)?.[1];
      if (qualifier !== undefined && !/^[a-z0-9]{1,10}$/.test(qualifier)) {
        throw validationError(this, 'InvalidBootstrapQualifier', `platformRoles: "${pattern}" has the bootstrap qualifier "${qualifier}": CDK qualifiers are 1 to 10 lowercase letters or digits (default hnb659fds).`);
      }
      return pattern;
    });
  }

  private validateMinimumTLSVersion(version: number): number {
    if (Token.isUnresolved(version)) {
      return version;
    }
    if (!SUPPORTED_MINIMUM_TLS_VERSIONS.includes(version)) {
      throw validationError(this, 'InvalidMinimumTlsVersion', `minimumTLSVersion: ${version} is not supported: use 1.2 (the default) or 1.3. Lower versions are insecure and S3 negotiates no higher one.`);
    }
    if (version === 1.3) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:guardrailsTls13',
        'minimumTLSVersion: 1.3 in an organisation policy locks every client that reaches S3 through PrivateLink for S3 or Multi-Region Access Points out of every bucket of the targets. Use 1.2 unless you know no client does.');
    }
    return version;
  }

  private validateEncryption(encryptionHeaders: EncryptionHeaders, encryption: s3.BucketEncryption | undefined) {
    if (encryptionHeaders === EncryptionHeaders.NOT_ENFORCED) {
      if (encryption !== undefined) {
        throw validationError(this, 'EncryptionWithoutHeaders', `encryption: ${encryption} has no effect while encryptionHeaders is NOT_ENFORCED: it only names the algorithm uploads may send. Set encryptionHeaders to DENY_MISMATCH, or remove encryption.`);
      }
      return;
    }
    if (encryption === undefined) {
      throw validationError(this, 'HeadersWithoutEncryption', `encryptionHeaders: ${encryptionHeaders} needs encryption, the algorithm an upload may name: S3_MANAGED (AES256), KMS (aws:kms) or DSSE (aws:kms:dsse).`);
    }
    if (encryption === s3.BucketEncryption.UNENCRYPTED) {
      throw validationError(this, 'InvalidGuardrailEncryption', 'encryption: UNENCRYPTED names no algorithm. Use S3_MANAGED (AES256), KMS (aws:kms) or DSSE (aws:kms:dsse).');
    }
    if (encryptionHeaders === EncryptionHeaders.REQUIRE) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:guardrailsRequireHeader',
        'encryptionHeaders: REQUIRE refuses, in every account of the targets, uploads that rely on the bucket default: CDK asset publishing, `aws s3 cp` without --sse, multipart uploads (UploadPart carries no header) and AWS log delivery. Prefer DENY_MISMATCH.');
    }
  }

  /** The object ARN pattern of an exempt bucket given by name, name pattern, ARN or ARN pattern. */
  private exemptObjectsArn(bucket: string): string {
    if (Token.isUnresolved(bucket)) {
      throw validationError(this, 'UnresolvedExemptBucket', 'sseCExemptBuckets: a bucket given as a token (for example bucket.bucketName of another stack) cannot be checked or measured at synth. Give the name or ARN as a literal string.');
    }
    const arn = /^arn:([a-z0-9*?-]+):s3:::([^/]+)$/.exec(bucket);
    const name = arn ? arn[2] : bucket;
    // S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens; buckets created in
    // us-east-1 before March 2018 may also have upper-case letters and underscores and up to 255
    // characters, and such legacy buckets are the likely exemptions. * and ? are wildcards.
    if (!/^[A-Za-z0-9._*?-]{1,255}$/.test(name) || name.replace(/[*?]/g, '').length === 0) {
      throw validationError(this, 'InvalidExemptBucket', `sseCExemptBuckets: "${bucket}" is neither a bucket name (pattern) nor a bucket ARN: expected for example legacy-sse-c-data, legacy-sse-c-*, or arn:aws:s3:::legacy-sse-c-data (no object path). A pattern that is only wildcards would exempt every bucket; remove sseCExemptBuckets' entry instead.`);
    }
    // A name without partition matches the bucket in any partition.
    return `arn:${arn ? arn[1] : '*'}:s3:::${name}/*`;
  }

  private checkSize(kind: string, name: string, document: OrganizationPolicyDocument) {
    // Organizations counts every character; whitespace outside strings can be left out, and is.
    const size = JSON.stringify(document).length;
    if (size > S3EncryptionGuardrails.MAX_POLICY_SIZE) {
      throw validationError(this, 'OrganizationPolicyTooLarge', `the ${kind} ${name} has ${size} characters, over the AWS Organizations limit of ${S3EncryptionGuardrails.MAX_POLICY_SIZE} (whitespace removed). Use fewer, broader sseCExemptBuckets or platformRoles patterns (for example legacy-sse-c-* instead of each bucket).`);
    }
  }
}
