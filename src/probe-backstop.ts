import { Duration, IResolvable, IResolveContext, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PROBE_PREFIX } from './encryption-check/types';

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

/** `PROBE_BACKSTOP_RULE` as s3.Bucket writes it into the template (test/probe-backstop.test.ts holds the two equal). */
function backstopRuleTemplate(): Record<string, unknown> {
  return { ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Prefix: PROBE_PREFIX, Status: 'Enabled' };
}

/**
 * A bucket's probe backstop, written the cheapest way that gives the same template.
 *
 * s3.Bucket parses, validates and converts every lifecycle rule again each time the template is
 * resolved (three times per synth, plus the tree metadata), which made this one rule the largest
 * single synth cost of the check: 105 M of 1,820 M instructions for 100 buckets
 * (docs/performance.md). So while it would be the bucket's only rule, it is written as a property
 * override of `LifecycleConfiguration`, which is resolved as written. A bucket created with rules
 * (or `transitionDefaultMinimumObjectSize`) gets it as one of its s3.Bucket rules, and so does a
 * bucket that gets one later through `addLifecycleRule` (the override then writes nothing).
 *
 * Escape hatches work as they do on s3.Bucket: overrides of paths inside `LifecycleConfiguration`
 * are written into this object by aws-cdk-lib (it walks into any object on an override path) and
 * are merged here as aws-cdk-lib would merge them; an escape hatch that replaces the L1
 * `lifecycleConfiguration` keeps its rules and gets the backstop after them.
 */
export class ProbeBackstop implements IResolvable {
  /**
   * Writes the backstop of a bucket whose L1 resource is `cfn`. `joinRules` says the bucket's
   * constructor got rules (or a lifecycle setting) of its own: the backstop is then added with
   * `addRule`, which must add a rule the way s3.Bucket does.
   */
  public static attach(cfn: s3.CfnBucket, addRule: (rule: s3.LifecycleRule) => void, joinRules: boolean): ProbeBackstop {
    const backstop = new ProbeBackstop(cfn, addRule);
    if (joinRules) {
      backstop.joinRules();
    } else {
      cfn.addPropertyOverride('LifecycleConfiguration', backstop);
    }
    return backstop;
  }

  public readonly creationStack: string[] = [];
  // Private fields (#) so that the only own enumerable property is creationStack: anything else
  // was written into this object by an override of a path inside LifecycleConfiguration.
  readonly #cfn: s3.CfnBucket;
  readonly #addRule: (rule: s3.LifecycleRule) => void;
  readonly #original: unknown;
  #inRules = false;

  private constructor(cfn: s3.CfnBucket, addRule: (rule: s3.LifecycleRule) => void) {
    this.#cfn = cfn;
    this.#addRule = addRule;
    this.#original = cfn.lifecycleConfiguration;
  }

  /** Makes the backstop one of the bucket's s3.Bucket rules (once); the override then writes nothing of its own. */
  public joinRules(): void {
    if (!this.#inRules) {
      this.#inRules = true;
      this.#addRule(PROBE_BACKSTOP_RULE);
    }
  }

  public resolve(context: IResolveContext): unknown {
    const l1 = this.#cfn.lifecycleConfiguration;
    const keys = Object.keys(this);
    if (!this.#inRules && l1 === this.#original && keys.length === 1) {
      // The common case, once per bucket and resolution: the backstop alone, as written.
      return { Rules: [backstopRuleTemplate()] };
    }
    // What overrides of paths inside LifecycleConfiguration wrote into this object.
    const written = Object.fromEntries(Object.entries(this).filter(([key]) => key !== 'creationStack'));
    if (this.#inRules) {
      return written;
    }
    const ownRules = l1 === this.#original ? undefined : (context.resolve(l1) as { rules?: unknown } | undefined)?.rules;
    // After the rules an escape hatch wrote into the L1 property, by index: aws-cdk-lib merges an
    // override's object keys into the array it renders.
    const backstop = Array.isArray(ownRules) && ownRules.length > 0
      ? { Rules: { [ownRules.length]: backstopRuleTemplate() } }
      : { Rules: [backstopRuleTemplate()] };
    return mergeOverride(backstop, written);
  }

  public toString(): string {
    return Token.asString(this);
  }
}

/**
 * `source` merged into `target` as aws-cdk-lib merges an override into a rendered resource:
 * objects key by key (into arrays too, by index), `undefined` deletes, anything else replaces.
 */
function mergeOverride(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) {
      delete target[key];
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !Token.isUnresolved(value)) {
      const current = target[key];
      target[key] = mergeOverride(current !== null && typeof current === 'object' ? current as Record<string, unknown> : {}, value as Record<string, unknown>);
    } else {
      target[key] = value;
    }
  }
  return target;
}
