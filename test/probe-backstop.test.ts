/**
 * The probe backstop: written as an override while it is a bucket's only lifecycle rule (cheaper
 * at synth), one of the bucket's own rules otherwise, and the same template either way.
 */
import { Duration, IPropertyInjector, InjectionContext, PropertyInjectors, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, EncryptedBucketProps } from '../src';
import { PROBE_BACKSTOP_RULE } from '../src/probe-backstop';
import { testStack } from './util/template';

const USER_RULE: s3.LifecycleRule = { id: 'Archive', transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(30) }] };

/** What s3.Bucket writes for a rule, rendered by s3.Bucket itself. */
function renderedByS3Bucket(...rules: s3.LifecycleRule[]): unknown[] {
  const { stack } = testStack('Reference');
  new s3.Bucket(stack, 'B', { lifecycleRules: rules });
  return Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'))[0].Properties.LifecycleConfiguration.Rules;
}

function bucketResource(stack: Stack): { LifecycleConfiguration?: { Rules: unknown[] } } {
  const buckets = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'));
  expect(buckets).toHaveLength(1);
  return buckets[0].Properties;
}

function encryptedBucket(props: EncryptedBucketProps = {}): { stack: Stack; bucket: EncryptedBucket } {
  const { stack } = testStack();
  return { stack, bucket: new EncryptedBucket(stack, 'Bucket', props) };
}

class LifecycleInjector implements IPropertyInjector {
  public readonly constructUniqueId = s3.Bucket.PROPERTY_INJECTION_ID;
  public inject(originalProps: s3.BucketProps, _context: InjectionContext): s3.BucketProps {
    return { lifecycleRules: [USER_RULE], ...originalProps };
  }
}

describe('the probe backstop', () => {
  test('alone, it is written as an override, exactly as s3.Bucket would write the rule', () => {
    const { stack, bucket } = encryptedBucket();
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({ Rules: renderedByS3Bucket(PROBE_BACKSTOP_RULE) });
    // The cheap way is the one in use: the L1 property (what s3.Bucket renders) holds no rule.
    expect(stack.resolve((bucket.node.defaultChild as s3.CfnBucket).lifecycleConfiguration)).toBeUndefined();
  });

  test('with rules from props, it follows them as one of the bucket\'s rules', () => {
    const { stack } = encryptedBucket({ lifecycleRules: [USER_RULE] });
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({ Rules: renderedByS3Bucket(USER_RULE, PROBE_BACKSTOP_RULE) });
  });

  test('with rules from a property injector, it follows them too', () => {
    const { stack } = testStack();
    PropertyInjectors.of(stack).add(new LifecycleInjector());
    new EncryptedBucket(stack, 'Bucket');
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({ Rules: renderedByS3Bucket(USER_RULE, PROBE_BACKSTOP_RULE) });
  });

  test('addLifecycleRule after construction keeps it, before the new rules (as when it was added in the constructor)', () => {
    const { stack, bucket } = encryptedBucket();
    bucket.addLifecycleRule(USER_RULE);
    bucket.addLifecycleRule({ id: 'Second', expiration: Duration.days(400) });
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({
      Rules: renderedByS3Bucket(PROBE_BACKSTOP_RULE, USER_RULE, { id: 'Second', expiration: Duration.days(400) }),
    });
  });

  test('an escape hatch that replaces the L1 lifecycleConfiguration keeps its rules as written', () => {
    const { stack, bucket } = encryptedBucket();
    const own = { rules: [{ id: 'Own', status: 'Enabled', expirationInDays: 7 }] };
    (bucket.node.defaultChild as s3.CfnBucket).lifecycleConfiguration = own;
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({ Rules: [{ Id: 'Own', Status: 'Enabled', ExpirationInDays: 7 }] });
  });

  test('an override of LifecycleConfiguration as a whole wins, a deletion override deletes it', () => {
    const replaced = encryptedBucket();
    (replaced.bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('LifecycleConfiguration', { Rules: [{ Status: 'Enabled', ExpirationInDays: 9 }] });
    expect(bucketResource(replaced.stack).LifecycleConfiguration).toEqual({ Rules: [{ Status: 'Enabled', ExpirationInDays: 9 }] });

    const deleted = encryptedBucket();
    (deleted.bucket.node.defaultChild as s3.CfnBucket).addPropertyDeletionOverride('LifecycleConfiguration');
    expect(bucketResource(deleted.stack).LifecycleConfiguration).toBeUndefined();
  });

  test('an override of a path inside it is refused at synth, with the fix', () => {
    const { stack, bucket } = encryptedBucket();
    (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('LifecycleConfiguration.Rules.0.Status', 'Disabled');
    expect(() => Template.fromStack(stack)).toThrow(
      /TestStack\/Bucket: an override writes LifecycleConfiguration\.Rules, .*probe backstop.*Add your rules with addLifecycleRule\(\)/);
  });

  test('with rules, an override of a path inside LifecycleConfiguration works as on s3.Bucket', () => {
    const { stack, bucket } = encryptedBucket({ lifecycleRules: [USER_RULE] });
    (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('LifecycleConfiguration.Rules.0.Status', 'Disabled');
    expect(bucketResource(stack).LifecycleConfiguration!.Rules[0]).toMatchObject({ Id: 'Archive', Status: 'Disabled' });
  });

  test('without the check there is no backstop, and rules are added as on s3.Bucket', () => {
    expect(bucketResource(encryptedBucket({ verifyEncryption: false }).stack).LifecycleConfiguration).toBeUndefined();
    // (Each stack is synthesized once: the app keeps its first assembly.)
    const { stack, bucket } = encryptedBucket({ verifyEncryption: false });
    bucket.addLifecycleRule(USER_RULE);
    expect(bucketResource(stack).LifecycleConfiguration).toEqual({ Rules: renderedByS3Bucket(USER_RULE) });
  });

  test('the check\'s fingerprint does not depend on how the backstop is written', () => {
    const fingerprint = (addRuleLater: boolean) => {
      const { stack, bucket } = encryptedBucket();
      if (addRuleLater) {
        // A rule the fingerprint does not cover (lifecycle is no encryption setting): only the
        // way the backstop is written changes.
        bucket.addLifecycleRule(USER_RULE);
      }
      const check = Object.values(Template.fromStack(stack).findResources('Custom::S3EncryptionCheck'))[0];
      return check.Properties.Buckets[0].Fingerprint;
    };
    expect(fingerprint(true)).toEqual(fingerprint(false));
  });
});
