import { Duration, IResolvable, Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PROBE_PREFIX } from './encryption-check/types';
import { validationError } from './errors';

/**
 * The lifecycle rule that expires probe objects the deploy-time check could not delete (a
 * timeout, a failed DeleteObjects). One rule: once a rule expires current versions (Days), S3
 * also removes the expired object delete markers it leaves. Probes are single PutObjects, so there
 * is no multipart upload to abort. No rule id: its prefix says what it is, and every byte of it is
 * paid per bucket.
 */
export const PROBE_BACKSTOP_RULE: s3.LifecycleRule = {
  prefix: PROBE_PREFIX,
  expiration: Duration.days(1),
  noncurrentVersionExpiration: Duration.days(1),
};

/**
 * `PROBE_BACKSTOP_RULE` as s3.Bucket writes it into the template, as the whole
 * `LifecycleConfiguration` of a bucket that has no other rule (test/probe-backstop.test.ts holds
 * the two equal).
 */
const PROBE_BACKSTOP_TEMPLATE = {
  Rules: [{ ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Prefix: PROBE_PREFIX, Status: 'Enabled' }],
};

/**
 * A bucket's probe backstop, written the cheapest way that gives the same template.
 *
 * s3.Bucket parses, validates and converts every lifecycle rule again each time the template is
 * resolved (three times per synth), which made this one rule the largest single synth cost of the
 * check: 105 M of 1,820 M instructions for 100 buckets (docs/performance.md). So while it is the
 * bucket's only rule, it is written as a property override of `LifecycleConfiguration`, which is
 * resolved as written. As soon as the bucket has another rule (from props, a property injector or
 * `addLifecycleRule`), the backstop is one of the bucket's own rules instead, exactly as it was
 * before, and the override writes nothing.
 *
 * An escape hatch that replaces the L1 `lifecycleConfiguration` keeps its rules (without the
 * backstop, as on any bucket); one that overrides `LifecycleConfiguration` as a whole wins, as an
 * override does. Overriding a path inside it while only the backstop is there is refused at synth
 * with the fix: there is no rule array to override into.
 */
export class ProbeBackstop implements IResolvable {
  /**
   * Writes `bucket`'s backstop. `addRule` must add a rule the way s3.Bucket does (not through
   * the bucket's own `addLifecycleRule`, which moves the backstop).
   */
  public static attach(bucket: s3.Bucket, addRule: (rule: s3.LifecycleRule) => void): ProbeBackstop {
    const backstop = new ProbeBackstop(bucket, addRule);
    // Rules given to s3.Bucket's constructor are already there: the backstop joins them.
    if (Stack.of(bucket).resolve(backstop.#cfn.lifecycleConfiguration) !== undefined) {
      backstop.joinRules();
    } else {
      backstop.#cfn.addPropertyOverride('LifecycleConfiguration', backstop);
    }
    return backstop;
  }

  public readonly creationStack: string[] = [];
  // Private fields (#) so that the only own enumerable property is creationStack: anything else
  // was written into this object by an override of a path inside LifecycleConfiguration.
  readonly #bucket: s3.Bucket;
  readonly #cfn: s3.CfnBucket;
  readonly #addRule: (rule: s3.LifecycleRule) => void;
  readonly #original: unknown;
  #inRules = false;

  private constructor(bucket: s3.Bucket, addRule: (rule: s3.LifecycleRule) => void) {
    this.#bucket = bucket;
    this.#cfn = bucket.node.defaultChild as s3.CfnBucket;
    this.#addRule = addRule;
    this.#original = this.#cfn.lifecycleConfiguration;
  }

  /** Makes the backstop one of the bucket's rules (once); the override then writes nothing. */
  public joinRules(): void {
    if (!this.#inRules) {
      this.#inRules = true;
      this.#addRule(PROBE_BACKSTOP_RULE);
    }
  }

  public resolve(): unknown {
    const written = Object.keys(this).filter((key) => key !== 'creationStack');
    if (written.length > 0) {
      throw validationError(this.#bucket, 'ProbeBackstopPathOverride',
        `an override writes LifecycleConfiguration.${written[0]}, but the bucket's only lifecycle rule is the encryption check's probe backstop, which is written as an override of the whole LifecycleConfiguration, so there is nothing to override into. ` +
        'Add your rules with addLifecycleRule() (the backstop then joins them), or override LifecycleConfiguration as a whole.');
    }
    // `{}` merges into nothing: the rules s3.Bucket renders, or those an escape hatch set on the
    // L1 property, stand as written.
    return !this.#inRules && this.#cfn.lifecycleConfiguration === this.#original ? PROBE_BACKSTOP_TEMPLATE : {};
  }

  public toString(): string {
    return Token.asString(this);
  }
}
