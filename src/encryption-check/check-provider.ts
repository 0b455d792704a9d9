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
 * role its probe prefix in its own bucket policy (a same-account bucket policy suffices for S3),
 * and a same-stack KMS key grants it GenerateDataKey/Decrypt in its own key policy, only via S3
 * in this region and account. The key policy is chosen over one identity statement on
 * `key/*`: it names exactly the bucket's key (no wildcard, nothing else in the account), costs
 * one statement per key (a key shared by many buckets gets it once), and a key policy that names
 * the principal needs no identity grant. The role's own (managed) policies hold only the log
 * permissions, plus the resource ARNs of *imported* or other-stack buckets and keys, whose
 * policies are not this stack's to change; so 300 EncryptedBuckets add nothing to the role.
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
  /** Identity grants for imported buckets and keys, spread over managed policies as they fill. */
  private readonly importedGrants: ImportedGrants[] = [];
  /** Which of those holds the grant of a bucket or key already granted. */
  private readonly importedGrantOf = new Map<string, ImportedGrants>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    // Customer managed policies rather than the roles' inline default policies (HIPAA, NIST and
    // PCI IAMNoInlinePolicy); their statements are written here, not by grant helpers.
    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Probes S3 buckets under their .cdk-s3-encryption-check/ prefix at deploy time (cdk-s3-encryption EncryptionCheck)',
    });
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', { retention: logs.RetentionDays.ONE_YEAR });
    const handlerPolicy = new iam.ManagedPolicy(this, 'HandlerPolicy', {
      description: 'Lets the cdk-s3-encryption EncryptionCheck handler write its logs; bucket access is granted by each bucket\'s own policy',
      roles: [this.role],
      statements: [
        logWrite(handlerLogs),
        // Read only when a check fails on Update: a rollback is reported instead of failed.
        new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [Stack.of(this).stackId] }),
      ],
    });

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
    this.handler.node.addDependency(handlerPolicy);

    const frameworkRole = new iam.Role(this, 'FrameworkRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the custom resource Provider framework of cdk-s3-encryption EncryptionCheck',
    });
    const frameworkLogs = new logs.LogGroup(this, 'FrameworkLogs', { retention: logs.RetentionDays.ONE_YEAR });
    const frameworkPolicy = new iam.ManagedPolicy(this, 'FrameworkPolicy', {
      description: 'Lets the cdk-s3-encryption EncryptionCheck provider framework write its logs and invoke the handler',
      roles: [frameworkRole],
      statements: [
        logWrite(frameworkLogs),
        // The framework invokes the unqualified function ARN: no `:*` version wildcard needed.
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction', 'lambda:GetFunction'], resources: [this.handler.functionArn] }),
      ],
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      // Immutable for the framework's own grant helpers, which would write an inline policy with
      // a `<function>:*` wildcard; the managed policy above holds what it needs.
      frameworkOnEventRole: frameworkRole.withoutPolicyUpdates(),
      logGroup: frameworkLogs,
    });
    provider.node.addDependency(frameworkPolicy);
    this.serviceToken = provider.serviceToken;

    acknowledgeFindings({
      logGroups: [handlerLogs, frameworkLogs],
      functions: [this.handler, provider.node.findChild('framework-onEvent') as lambda.Function],
    });
  }

  /**
   * Lets the handler probe `bucket` and use `key` through S3: in the bucket's and key's own
   * policies when they belong to this stack, in the role's identity policy otherwise. Returns
   * what the check must wait for. Idempotent per bucket and key.
   */
  public grantProbes(bucket: s3.IBucket, key: kms.IKey | undefined): IDependable[] {
    const dependables: IDependable[] = [this.role];
    const stack = Stack.of(this);

    const bucketId = `bucket:${bucket.node.path}`;
    const bucketOwned = this.belongsHere(bucket);
    let inBucketPolicy = bucketOwned;
    if (!this.granted.has(bucketId)) {
      this.granted.add(bucketId);
      if (bucketOwned) {
        inBucketPolicy = probeStatements(bucket).every((statement) => {
          statement.addPrincipals(this.role);
          return bucket.addToResourcePolicy(statement).statementAdded;
        });
      }
      if (!inBucketPolicy) {
        const grants = this.imported();
        grants.addBucket(bucket);
        this.importedGrantOf.set(bucketId, grants);
      }
    }
    const bucketGrants = this.importedGrantOf.get(bucketId);
    if (bucketGrants) {
      dependables.push(bucketGrants.policy);
    } else if (bucket.policy) {
      dependables.push(bucket.policy);
    }

    if (key) {
      const keyId = `key:${key.node.path}`;
      const keyOwned = this.belongsHere(key) && key instanceof kms.Key;
      if (!this.granted.has(keyId)) {
        this.granted.add(keyId);
        const added = keyOwned && key.addToResourcePolicy(new iam.PolicyStatement({
          sid: GRANT_SIDS.key,
          principals: [this.role],
          actions: KMS_ACTIONS,
          // In a key policy "*" means this key.
          resources: ['*'],
          conditions: viaS3(stack),
        })).statementAdded;
        if (!added) {
          const grants = this.imported();
          grants.addKey(key);
          this.importedGrantOf.set(keyId, grants);
        }
      }
      dependables.push(this.importedGrantOf.get(keyId)?.policy ?? key);
    }
    return dependables;
  }

  /**
   * The managed policy that takes the next imported grant. IAM allows 6,144 characters per managed
   * policy and, by default, 10 managed policies per role (one is the handler's own), so grants
   * are spread over up to nine policies of at most 16 buckets or keys each.
   */
  private imported(): ImportedGrants {
    const current = this.importedGrants[this.importedGrants.length - 1];
    if (current && !current.full) {
      return current;
    }
    const count = this.importedGrants.length;
    if (count >= MAX_IMPORTED_POLICIES) {
      throw new Error(`${Stack.of(this).node.path}: EncryptionChecks of more than ${MAX_IMPORTED_POLICIES * ImportedGrants.CAPACITY} imported (or other-stack) buckets and keys in one stack would need more than the ${MAX_IMPORTED_POLICIES + 1} managed policies IAM attaches to one role by default. Split the checks over several stacks.`);
    }
    const grants = new ImportedGrants(this, count === 0 ? 'ImportedResourcesPolicy' : `ImportedResourcesPolicy${count + 1}`, this.role);
    this.importedGrants.push(grants);
    return grants;
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

/** The three statements that let the handler probe `bucket`, without a principal. */
function probeStatements(bucket: s3.IBucket): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: GRANT_SIDS.objects, actions: OBJECT_ACTIONS, resources: [bucket.arnForObjects(`${PROBE_PREFIX}*`)] }),
    new iam.PolicyStatement({ sid: GRANT_SIDS.bucket, actions: BUCKET_READS, resources: [bucket.bucketArn] }),
    new iam.PolicyStatement({
      sid: GRANT_SIDS.list,
      actions: ['s3:ListBucketVersions'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': `${PROBE_PREFIX}*` } },
    }),
  ];
}

function logWrite(logGroup: logs.LogGroup): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] });
}

/** Only through S3 in this region, from this account: the key serves probe uploads and nothing else. */
function viaS3(stack: Stack): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`, 'kms:CallerAccount': stack.account } };
}

/** Managed policies for imported grants: IAM's default of 10 per role, less the handler's own. */
const MAX_IMPORTED_POLICIES = 9;

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
    this.keys = new iam.PolicyStatement({ actions: KMS_ACTIONS, conditions: viaS3(Stack.of(scope)) });
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
