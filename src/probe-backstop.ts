import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PROBE_PREFIX } from './encryption-check/types';
import { isIntrinsic, isObject } from './nag/analysis/intrinsics';

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
function backstopRule(): Record<string, unknown> {
  return { ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Prefix: PROBE_PREFIX, Status: 'Enabled' };
}

/** How `addProbeBackstop` writes the rule. */
interface ProbeBackstopOptions {
  /**
   * The bucket's `transitionDefaultMinimumObjectSize`, which s3.Bucket writes only next to a
   * rule of its own: written next to the backstop when the bucket has no other rule.
   */
  readonly transitionDefaultMinimumObjectSize?: s3.TransitionDefaultMinimumObjectSize;
  /** Adds the rule the way s3.Bucket does, if a future aws-cdk-lib renders otherwise. */
  readonly fallback: () => void;
}

/** The protected method through which a CfnResource turns its resolved properties into template. */
interface PropertyRenderer {
  renderProperties(props: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Adds the probe backstop to the bucket resource `cfn` as the last of its lifecycle rules, in the
 * template.
 *
 * Why not `addLifecycleRule`: s3.Bucket parses, validates and converts every lifecycle rule again
 * each time the template is resolved (three times per synth, plus the tree metadata), which made
 * this one rule the largest single synth cost of the check: 105 M of 1,820 M instructions for 100
 * buckets (docs/performance.md). Here the rule is appended, as the template writes it, to what
 * the resource renders from its properties, at the point where s3.Bucket's own rules are already
 * rendered and overrides are not yet applied: every override and escape hatch then acts on it as
 * on an s3.Bucket rule, and the template is the one an s3.Bucket with this rule as its last would
 * get.
 */
export function addProbeBackstop(cfn: s3.CfnBucket, options: ProbeBackstopOptions): void {
  const render = (cfn as unknown as PropertyRenderer).renderProperties;
  if (typeof render !== 'function') {
    options.fallback();
    return;
  }
  Object.defineProperty(cfn, 'renderProperties', {
    value: (props: Record<string, unknown>) => withProbeBackstop(render.call(cfn, props), options.transitionDefaultMinimumObjectSize),
    configurable: true,
    writable: true,
  });
}

/** `rendered` with the backstop as the last lifecycle rule, unless the rules are an intrinsic. */
function withProbeBackstop(rendered: Record<string, unknown>, transitionDefaultMinimumObjectSize?: string): Record<string, unknown> {
  const lifecycle = rendered.LifecycleConfiguration;
  if (lifecycle === undefined) {
    const setting = transitionDefaultMinimumObjectSize ? { TransitionDefaultMinimumObjectSize: transitionDefaultMinimumObjectSize } : {};
    return { ...rendered, LifecycleConfiguration: { Rules: [backstopRule()], ...setting } };
  }
  // An intrinsic (`Fn::If` on the L1 property, say) decides by itself what the bucket gets.
  if (!isObject(lifecycle) || isIntrinsic(lifecycle)) {
    return rendered;
  }
  const rules = lifecycle.Rules;
  if (rules !== undefined && !Array.isArray(rules)) {
    return rendered;
  }
  // Even next to an identical rule of the bucket's own, as s3.Bucket would write both: an
  // override may still change or disable that one.
  return { ...rendered, LifecycleConfiguration: { ...lifecycle, Rules: [...(rules ?? []) as unknown[], backstopRule()] } };
}
