import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { UnresolvableValue } from './bucket-errors';

/** One rule of the S3EncryptionChecks pack: its id suffix, texts, level and check. */
export interface S3EncryptionRule {
  /** The suffix of the rule id: the finding is `S3Encryption-<id>`. */
  readonly id: string;
  /** What is wrong, as a reviewer reads it in the report. */
  readonly info: string;
  /** Why it matters and how to fix it (shown with `verbose: true`). */
  readonly explanation: string;
  readonly level: NagMessageLevel;
  readonly check: (node: CfnResource) => NagRuleCompliance;
}

/**
 * Maps a three-valued check to a compliance: `true` compliant, `false` non-compliant,
 * `undefined` (a value that cannot be known at synth time) not applicable, so that an
 * intrinsic the rule cannot evaluate never becomes a crash or a false finding.
 */
export function verdict(check: () => boolean | undefined): NagRuleCompliance {
  try {
    const result = check();
    if (result === undefined) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return result ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  } catch (e) {
    if (e instanceof UnresolvableValue) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    throw e;
  }
}
