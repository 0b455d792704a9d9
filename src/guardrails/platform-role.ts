/**
 * A principal that may still change a bucket's encryption configuration and bucket policy under
 * `S3EncryptionGuardrails`: a role of the platform team, or the roles CloudFormation deploys with.
 *
 * Matched with `ArnNotLike` on `aws:PrincipalArn`, which for an assumed-role session is the
 * role's ARN (with its path), so a pattern names roles, not sessions.
 */
export class PlatformRole {
  /**
   * A role ARN or ARN pattern, for example `arn:aws:iam::*:role/platform/bucket-admin` or
   * `arn:aws:iam::123456789012:role/BreakGlass*`. `*` and `?` are wildcards within each
   * colon-separated part.
   */
  public static fromRoleArnPattern(arnPattern: string): PlatformRole {
    return new PlatformRole(arnPattern);
  }

  /**
   * The CloudFormation execution roles of the CDK bootstrap stack in every member account
   * (`cdk-<qualifier>-cfn-exec-role-<account>-<region>`). CloudFormation calls
   * `PutBucketEncryption` for every bucket that declares default encryption and
   * `PutBucketPolicy`/`DeleteBucketPolicy` for every bucket policy, so without this exemption
   * every `cdk deploy` of an encrypted bucket in the member accounts fails.
   *
   * @param qualifier the bootstrap qualifier; `hnb659fds` unless the accounts were bootstrapped with another
   */
  public static cdkCloudFormationExecutionRoles(qualifier: string = 'hnb659fds'): PlatformRole {
    // Any partition: the same guardrail may be deployed to aws, aws-cn and aws-us-gov organisations.
    return new PlatformRole(`arn:*:iam::*:role/cdk-${qualifier}-cfn-exec-role-*`);
  }

  private constructor(
    /** The ARN pattern matched against `aws:PrincipalArn`. */
    public readonly arnPattern: string,
  ) {}
}
