import { CfnResource, IResolvable, IResolveContext, Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * A reference to a resource (`Ref`, or `Fn::GetAtt` of `attribute`), optionally followed by a
 * literal suffix, as a token. Resolved in the resource's own stack it renders the reference
 * itself; resolved anywhere else it stands for `fallback`, the L2's own token, so that cross-stack
 * and cross-environment references are made by aws-cdk-lib as usual.
 *
 * Why not the L2's token everywhere: for each reference, in every resolution pass of every synth
 * (three, plus the tree metadata), aws-cdk-lib works the logical ID out again (an MD5 of the
 * construct path), splits a string such as `<bucket ARN>/*` into fragments and joins them with
 * `Fn::Join`, and records the reference as a possible cross-stack one. For the library's own
 * statements and check entries that was the largest part of what an EncryptedBucket costs at
 * synth (docs/performance.md). A same-stack reference needs none of it.
 */
class LocalReference implements IResolvable {
  public readonly creationStack: string[] = [];
  private fallbackToken?: string;

  constructor(
    private readonly resource: CfnResource,
    private readonly attribute: string | undefined,
    private readonly fallback: () => string,
    private readonly suffix: string,
  ) {}

  public resolve(context: IResolveContext): unknown {
    if (Stack.of(context.scope) !== this.resource.stack) {
      this.fallbackToken ??= this.fallback();
      return this.fallbackToken;
    }
    const logicalId = logicalIdOf(this.resource, context);
    const reference = this.attribute === undefined ? { Ref: logicalId } : { 'Fn::GetAtt': [logicalId, this.attribute] };
    return this.suffix ? { 'Fn::Join': ['', [reference, this.suffix]] } : reference;
  }

  public toString(): string {
    // Named like aws-cdk-lib's own reference tokens, for messages that print unresolved tokens.
    return Token.asString(this, { displayHint: `${this.resource.node.path}.${this.attribute ?? 'Ref'}${this.suffix}` });
  }
}

/**
 * A resource's logical ID, worked out once and again whenever what it depends on besides the
 * construct path may have changed: the resource's `overrideLogicalId` and its stack's
 * `renameLogicalId` (either may come after a first resolution: a test, an aspect, a mixin). Both
 * are read from where aws-cdk-lib keeps them, because they can be set through paths no wrapper sees
 * (jsii languages call the class's method directly). If a future aws-cdk-lib keeps them elsewhere,
 * nothing is cached: slower, never stale. A Stack subclass whose `allocateLogicalId` depends on
 * state changed after the first resolution is not supported (aws-cdk-lib documents it as a
 * naming scheme).
 */
const LOGICAL_IDS = new WeakMap<CfnResource, { readonly state: string; readonly logicalId: unknown }>();

function logicalIdOf(resource: CfnResource, context: IResolveContext): unknown {
  const state = logicalIdState(resource);
  const cached = LOGICAL_IDS.get(resource);
  if (state !== undefined && cached?.state === state) {
    return cached.logicalId;
  }
  const logicalId = context.resolve(resource.logicalId);
  if (state !== undefined) {
    LOGICAL_IDS.set(resource, { state, logicalId });
  }
  return logicalId;
}

/**
 * The resource's logical ID override and the number of its stack's renames (aws-cdk-lib refuses a
 * second rename of the same ID, so the renames only grow), or undefined if they are not found.
 */
function logicalIdState(resource: CfnResource): string | undefined {
  const override = (resource as unknown as { _logicalIdOverride?: unknown })._logicalIdOverride;
  const renames = (resource.stack as unknown as { _logicalIds?: { renames?: unknown } })._logicalIds?.renames;
  if (!('_logicalIdOverride' in resource) || (override !== undefined && typeof override !== 'string') || renames === null || typeof renames !== 'object') {
    return undefined;
  }
  return `${Object.keys(renames).length}:${override ?? ''}`;
}

/** A bucket's own references, as tokens that render like `bucketArn`, `arnForObjects('*')` and `bucketName`. */
export interface LocalBucketReferences {
  readonly bucketArn: string;
  readonly objectsArn: string;
  readonly bucketName: string;
}

const BUCKET_REFERENCES = new WeakMap<s3.IBucket, LocalBucketReferences>();

/**
 * The references of a bucket of this app, made once per bucket so that every statement shares
 * them and the check's fingerprint knows them as the bucket's own. Only for aws-cdk-lib's own
 * bucket classes over a `CfnBucket` (an `s3.Bucket`, `Bucket.fromCfnBucket`), whose `bucketArn`
 * is that resource's `Fn::GetAtt Arn` and `bucketName` its `Ref`; undefined for any other bucket,
 * which then keeps its own tokens.
 */
export function localBucketReferences(bucket: s3.IBucket): LocalBucketReferences | undefined {
  const cfn = bucket.node.defaultChild;
  if (!(bucket instanceof s3.BucketBase) || !s3.CfnBucket.isCfnBucket(cfn)) {
    return undefined;
  }
  let references = BUCKET_REFERENCES.get(bucket);
  if (!references) {
    references = {
      bucketArn: new LocalReference(cfn, 'Arn', () => bucket.bucketArn, '').toString(),
      objectsArn: new LocalReference(cfn, 'Arn', () => bucket.arnForObjects('*'), '/*').toString(),
      bucketName: new LocalReference(cfn, undefined, () => bucket.bucketName, '').toString(),
    };
    BUCKET_REFERENCES.set(bucket, references);
  }
  return references;
}
