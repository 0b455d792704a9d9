import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';
import { CheckFunction } from './check-function';
import { acknowledgeFindings } from './nag-acknowledgements';
import { PROBE_PREFIX } from './types';

/** Object actions the probes need, only ever on `<bucket>/<probe prefix>*`. */
const OBJECT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'];
/** Configuration reads, on the bucket ARN. */
const BUCKET_READS = ['s3:GetEncryptionConfiguration', 's3:GetBucketPolicy', 's3:GetBucketObjectLockConfiguration'];
/** KMS use for SSE-KMS/DSSE-KMS probe uploads (multipart and Bucket Keys may need Decrypt too). */
const KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** Sids of the statements added to bucket and key policies, so reviewers can find them. */
export const GRANT_SIDS = {
  objects: 'AllowEncryptionCheckProbes',
  bucket: 'AllowEncryptionCheckConfigurationReads',
  list: 'AllowEncryptionCheckProbeListing',
  key: 'AllowEncryptionCheckThroughS3',
};

/**
 * The stack's one EncryptionCheck handler and Provider framework, shared by every
 * `EncryptionCheck` in the stack (looked up by a fixed id under the Stack, so it is unique per
 * stack, never shared between apps, and gone with the app).
 *
 * Permissions scale by living on the buckets, not on the role: a same-stack bucket grants the
 * role its probe prefix in its own bucket policy, and a same-stack KMS key grants it use through
 * S3 in its own key policy. The role's identity policy holds only its log permissions plus one
 * statement per *imported* bucket or key (these are few; the 10,240-character inline limit would
 * break at a few dozen), so 300 EncryptedBuckets add nothing to it.
 */
export class EncryptionCheckProvider extends Construct {
  /** The stack's provider, created on first use. */
  public static of(scope: Construct): EncryptionCheckProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(EncryptionCheckProvider.ID);
    if (existing instanceof EncryptionCheckProvider) {
      return existing;
    }
    if (existing) {
      throw new Error(`${stack.node.path}/${EncryptionCheckProvider.ID} exists but is not an EncryptionCheckProvider; do not use this construct id.`);
    }
    return new EncryptionCheckProvider(stack, EncryptionCheckProvider.ID);
  }

  private static readonly ID = 'CdkS3EncryptionCheckProvider';

  /** The role the handler probes with. */
  public readonly role: iam.Role;
  public readonly handler: lambda.Function;
  public readonly serviceToken: string;
  private readonly granted = new Set<string>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Probes S3 buckets under their .cdk-s3-encryption-check/ prefix at deploy time (cdk-s3-encryption EncryptionCheck)',
    });
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', { retention: logs.RetentionDays.ONE_YEAR });
    handlerLogs.grantWrite(this.role);

    this.handler = new CheckFunction(this, 'Handler', {
      description: 'cdk-s3-encryption: proves a bucket\'s encryption posture against S3 at deploy time',
      role: this.role,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // The handler keeps its own deadline 28 s inside this timeout, for cleanup and the answer.
      timeout: Duration.minutes(2),
      logGroup: handlerLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    });
    // Grants on the log group are not visible to Lambda's creation order: without this the first
    // invocation can race the role's policy.
    this.handler.node.addDependency(this.role);

    const frameworkRole = new iam.Role(this, 'FrameworkRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the custom resource Provider framework of cdk-s3-encryption EncryptionCheck',
    });
    const frameworkLogs = new logs.LogGroup(this, 'FrameworkLogs', { retention: logs.RetentionDays.ONE_YEAR });
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    this.serviceToken = provider.serviceToken;

    acknowledgeFindings(this, { handler: this.handler, frameworkRole, provider });
  }

  /**
   * Lets the handler probe `bucket` and use `key` through S3: in the bucket's and key's own
   * policies when they belong to this stack, in the role's identity policy otherwise. Returns
   * what the check must wait for. Idempotent per bucket and key.
   */
  public grantProbes(bucket: s3.IBucket, key: kms.IKey | undefined): IDependable[] {
    const dependables: IDependable[] = [this.role];
    const probeObjects = bucket.arnForObjects(`${PROBE_PREFIX}*`);

    const bucketOwned = this.belongsHere(bucket);
    const bucketId = `bucket:${bucket.node.path}`;
    if (!this.granted.has(bucketId)) {
      this.granted.add(bucketId);
      const statements = [
        new iam.PolicyStatement({ sid: GRANT_SIDS.objects, actions: OBJECT_ACTIONS, resources: [probeObjects] }),
        new iam.PolicyStatement({ sid: GRANT_SIDS.bucket, actions: BUCKET_READS, resources: [bucket.bucketArn] }),
        new iam.PolicyStatement({
          sid: GRANT_SIDS.list,
          actions: ['s3:ListBucketVersions'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': `${PROBE_PREFIX}*` } },
        }),
      ];
      let inBucketPolicy = false;
      if (bucketOwned) {
        inBucketPolicy = statements.every((statement) => {
          statement.addPrincipals(this.role);
          return bucket.addToResourcePolicy(statement).statementAdded;
        });
      }
      if (!inBucketPolicy) {
        // Imported (or another stack's) bucket: its policy is not ours to change, so the grant goes
        // on the role. Sids are dropped: one role policy holds one such statement per bucket.
        for (const statement of statements) {
          this.role.addToPrincipalPolicy(new iam.PolicyStatement({
            actions: statement.actions, resources: statement.resources, conditions: statement.conditions,
          }));
        }
        acknowledgeFindings(this, { importedObjects: probeObjects });
      }
    }
    if (bucketOwned && bucket.policy) {
      dependables.push(bucket.policy);
    }

    if (key) {
      const keyId = `key:${key.node.path}`;
      const keyOwned = this.belongsHere(key) && key instanceof kms.Key;
      if (!this.granted.has(keyId)) {
        this.granted.add(keyId);
        const stack = Stack.of(this);
        // Only through S3, from this account: the key is used for probe uploads and nothing else.
        const conditions = {
          StringEquals: {
            'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`,
            'kms:CallerAccount': stack.account,
          },
        };
        const added = keyOwned && key.addToResourcePolicy(new iam.PolicyStatement({
          sid: GRANT_SIDS.key,
          principals: [this.role],
          actions: KMS_ACTIONS,
          // In a key policy "*" means this key.
          resources: ['*'],
          conditions,
        })).statementAdded;
        if (!added) {
          this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: KMS_ACTIONS, resources: [key.keyArn], conditions }));
        }
      }
      if (keyOwned) {
        dependables.push(key);
      }
    }
    return dependables;
  }

  /** Whether `construct` is a resource of this stack (not imported, not another stack's). */
  private belongsHere(construct: Construct): boolean {
    return Stack.of(construct) === Stack.of(this) && !isImported(construct);
  }
}

/** Imported resources (`fromBucketName`, `fromKeyArn`) have no CloudFormation resource of their own. */
function isImported(construct: Construct): boolean {
  return construct.node.defaultChild === undefined;
}
