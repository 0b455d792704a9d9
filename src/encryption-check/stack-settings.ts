import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Settings of a stack's deploy-time check handler (the one Lambda function and log group every
 * `EncryptionCheck` of the stack shares), for organisations whose controls require them: AWS
 * Control Tower's CT.LAMBDA.PR.3 (Lambda in a VPC) and CT.CLOUDWATCH.PR.3 (log group encrypted
 * with KMS). Apply with `EncryptionCheck.configureStack(stack, settings)` before the stack's
 * first check is created.
 */
export interface EncryptionCheckStackSettings {
  /**
   * The VPC the handler runs in. The handler calls S3 (the probes), CloudFormation's pre-signed
   * S3 response URL (its answer) and, on a failed Update, CloudFormation `DescribeStacks`: the
   * subnets need a route to those, for example an S3 gateway endpoint plus a CloudFormation
   * interface endpoint, or a NAT gateway (and EventBridge, with a `ContinuousEncryptionCheck`).
   * S3 calls KMS for SSE-KMS buckets itself; the handler needs no KMS endpoint. The check
   * depends on this construct, so endpoints added to a VPC of the same stack exist before it
   * runs. See docs/encryption-check.md.
   *
   * The handler's role then gets the AWS managed policy
   * `service-role/AWSLambdaVPCAccessExecutionRole`, which Lambda needs to create the function's
   * network interfaces (aws-cdk-lib attaches it only to roles it creates itself).
   *
   * @default - the handler runs outside any VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where to place the handler's network interfaces within the VPC. Requires `vpc`.
   *
   * @default - the VPC's private subnets (aws-cdk-lib's default for Lambda functions)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The security groups of the handler's network interfaces. They must allow outbound HTTPS
   * (443) to S3 and CloudFormation. Requires `vpc`.
   *
   * @default - a security group that allows all outbound traffic and no inbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * The KMS key the handler's log group is encrypted with. CloudWatch Logs must be allowed to
   * use it: for a `kms.Key` of the same stack the check adds that statement to the key policy
   * (service principal `logs.<region>.amazonaws.com`, limited to the check's log group by
   * `kms:EncryptionContext:aws:logs:arn`); for an imported or other-stack key, its key policy
   * must already allow it. The log group is then named `/cdk-s3-encryption/encryption-check/<stack name>`
   * so that the key policy can name it without a circular dependency.
   *
   * An `S3EncryptionKey` is refused: its policy limits every use to requests through S3.
   *
   * @default - the log group is encrypted by CloudWatch Logs with its own keys
   */
  readonly logGroupEncryptionKey?: kms.IKey;
}
