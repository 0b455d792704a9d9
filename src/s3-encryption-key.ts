import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Properties of an `S3EncryptionKey`.
 */
export interface S3EncryptionKeyProps {
  /**
   * An alias for the key, with or without the `alias/` prefix.
   *
   * @default - no alias
   */
  readonly alias?: string;

  /**
   * A description of the key.
   *
   * @default - "Encrypts S3 objects; usable only through S3 in this account and region (<construct path>)"
   */
  readonly description?: string;

  /**
   * What happens to the key when it leaves the stack. Deleting a key makes every object
   * encrypted with it unreadable, so the key is kept unless you say otherwise; only when the
   * stack's very first deploy rolls back is it deleted (no object can be encrypted with it yet),
   * so a failed first deploy leaves no orphaned key behind.
   *
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (CloudFormation `DeletionPolicy:
   * RetainExceptOnCreate`, `UpdateReplacePolicy: Retain`)
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long KMS waits before deleting the key once deletion is scheduled (7 to 30 days).
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * How often KMS rotates the key material (90 to 2560 days). Rotation is always on.
   *
   * @default Duration.days(365)
   */
  readonly rotationPeriod?: Duration;
}

/**
 * A KMS key for S3 server-side encryption (SSE-KMS or DSSE-KMS) whose key policy this library
 * manages:
 *
 * - the account root keeps the administrative actions, so the key never becomes unmanageable,
 *   but not the cryptographic ones, nor `kms:CreateGrant` (grants escape `kms:ViaService`);
 * - an explicit Deny of `kms:CreateGrant` to everyone unless an AWS service creates the grant
 *   for a resource it manages (`kms:GrantIsForAWSResource`) or the caller is an AWS service
 *   (`aws:PrincipalIsAWSService`), in the shape AWS Control Tower's proactive control
 *   CT.KMS.PR.3 requires, so that no statement added later can hand out grants;
 * - cryptographic use is allowed only to principals of this account whose IAM policies allow
 *   it, and only through S3 in this region (`kms:ViaService` `s3.<region>.<url suffix>`,
 *   `kms:CallerAccount`), so the key cannot decrypt data outside S3;
 * - automatic rotation is on and the key is retained on deletion (except when the stack's first
 *   deploy rolls back).
 *
 * Grants such as `bucket.grantRead(role)` add the KMS permissions to the principal's policy;
 * the key policy then limits them to requests that come through S3. A statement added to the
 * key policy later (a cross-account grant, `addToResourcePolicy`) that allows a cryptographic
 * action without a `kms:ViaService` condition gets the same S3-only condition, so no principal,
 * in this account or another, can use the key outside S3 through it.
 */
export class S3EncryptionKey extends kms.Key {
  /** Sid of the key policy statement that keeps administration with the account root. */
  public static readonly SID_KEY_ADMINISTRATION = 'KeyAdministrationByAccount';
  /** Sid of the key policy statement that allows cryptographic use only through S3. */
  public static readonly SID_USE_THROUGH_S3 = 'UseOnlyThroughS3InThisAccount';
  /** Sid of the key policy statement that denies `kms:CreateGrant` unless an AWS service creates the grant (CT.KMS.PR.3). */
  public static readonly SID_DENY_GRANTS_EXCEPT_FOR_AWS_SERVICES = 'DenyGrantsExceptForAwsServices';

  /** KMS actions that encrypt, decrypt or hand out key use; each is limited to use through S3. */
  private static readonly CRYPTOGRAPHIC_ACTIONS = /^kms:(\*|Encrypt|Decrypt|ReEncrypt|GenerateDataKey|CreateGrant)/;

  constructor(scope: Construct, id: string, props: S3EncryptionKeyProps = {}) {
    const stack = Stack.of(scope);
    const accountRoot = new iam.AccountRootPrincipal();
    const policy = new iam.PolicyDocument({
      statements: [
        // In a key policy, resource "*" means "this key"; no narrower resource exists.
        // kms:CreateAlias rather than kms:Create*: kms:CreateGrant would let an administrator
        // grant Decrypt outside S3, since grants are not bound by the kms:ViaService condition.
        new iam.PolicyStatement({
          sid: S3EncryptionKey.SID_KEY_ADMINISTRATION,
          principals: [accountRoot],
          actions: [
            'kms:CreateAlias', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*',
            'kms:Revoke*', 'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource',
            'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: S3EncryptionKey.SID_USE_THROUGH_S3,
          principals: [accountRoot],
          actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
          resources: ['*'],
          conditions: {
            StringEquals: {
              'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`,
              'kms:CallerAccount': stack.account,
            },
          },
        }),
        // Nothing above allows kms:CreateGrant; this Deny keeps it so whatever is added later
        // (a cross-account grant, an administrator's `kms:*` in an IAM policy plus a key policy
        // edit), because a grant is not bound by kms:ViaService. BoolIfExists: a direct call
        // carries no kms:GrantIsForAWSResource, which must count as "not for an AWS resource".
        // The exact shape (Principal *, Resource *, only these two keys) is what CT.KMS.PR.3 reads.
        new iam.PolicyStatement({
          sid: S3EncryptionKey.SID_DENY_GRANTS_EXCEPT_FOR_AWS_SERVICES,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:CreateGrant'],
          resources: ['*'],
          conditions: {
            BoolIfExists: {
              'kms:GrantIsForAWSResource': 'false',
              'aws:PrincipalIsAWSService': 'false',
            },
          },
        }),
      ],
    });

    super(scope, id, {
      description: props.description,
      alias: props.alias,
      enableKeyRotation: true,
      rotationPeriod: props.rotationPeriod,
      pendingWindow: props.pendingWindow,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      policy,
    });

    if (props.description === undefined) {
      // Set after super() because the default names the construct path.
      (this.node.defaultChild as kms.CfnKey).description =
        `Encrypts S3 objects; usable only through S3 in this account and region (${this.node.path})`;
    }
  }

  /**
   * Adds a statement to the key policy. An Allow of a cryptographic action without a
   * `kms:ViaService` condition is added with the condition `kms:ViaService` =
   * `s3.<region>.<url suffix>`, which keeps the key usable only through S3.
   */
  public addToResourcePolicy(statement: iam.PolicyStatement, allowNoOp?: boolean): iam.AddToResourcePolicyResult {
    const grantsUse = statement.effect === iam.Effect.ALLOW && statement.actions.some((action) => S3EncryptionKey.CRYPTOGRAPHIC_ACTIONS.test(action));
    const conditions = statement.conditions ?? {};
    const limited = Object.values(conditions).some((block: any) => block && typeof block === 'object' && 'kms:ViaService' in block);
    if (!grantsUse || limited) {
      return super.addToResourcePolicy(statement, allowNoOp);
    }
    const stack = Stack.of(this);
    const throughS3 = statement.copy();
    throughS3.addCondition('StringEquals', { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}` });
    return super.addToResourcePolicy(throughS3, allowNoOp);
  }
}
