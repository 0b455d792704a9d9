/**
 * The probe backstop: written as an override while it would be a bucket's only lifecycle rule
 * (cheaper at synth), one of the bucket's s3.Bucket rules otherwise. Whatever the user does with
 * rules and escape hatches, the template must be what an s3.Bucket with the backstop as an
 * ordinary rule would get.
 */
import { Duration, IPropertyInjector, InjectionContext, Lazy, PropertyInjectors, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, EncryptedBucketProps } from '../src';
import { PROBE_BACKSTOP_RULE } from '../src/probe-backstop';
import { testStack } from './util/template';

const USER_RULE: s3.LifecycleRule = { id: 'Archive', transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(30) }] };
const LATER_RULE: s3.LifecycleRule = { id: 'Later', expiration: Duration.days(400) };

type Setup = (bucket: s3.Bucket, cfn: s3.CfnBucket) => void;

function lifecycleOf(stack: Stack): unknown {
  const buckets = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'));
  expect(buckets).toHaveLength(1);
  return buckets[0].Properties.LifecycleConfiguration;
}

/** The LifecycleConfiguration of an EncryptedBucket with `props`, after `setup`. */
function encryptedLifecycle(props: EncryptedBucketProps = {}, setup: Setup = () => undefined): unknown {
  const { stack } = testStack();
  const bucket = new EncryptedBucket(stack, 'Bucket', props);
  setup(bucket, bucket.node.defaultChild as s3.CfnBucket);
  return lifecycleOf(stack);
}

/**
 * The LifecycleConfiguration of an s3.Bucket that gets the backstop as an ordinary rule, after the
 * rules of its props (where the library's constructor used to add it), after `setup`.
 */
function s3BucketLifecycle(props: s3.BucketProps = {}, setup: Setup = () => undefined): unknown {
  const { stack } = testStack('Reference');
  const bucket = new s3.Bucket(stack, 'Bucket', { ...props, lifecycleRules: [...props.lifecycleRules ?? [], PROBE_BACKSTOP_RULE] });
  setup(bucket, bucket.node.defaultChild as s3.CfnBucket);
  return lifecycleOf(stack);
}

function expectSameAsS3Bucket(props: EncryptedBucketProps & s3.BucketProps, setup?: Setup): void {
  const expected = s3BucketLifecycle(props, setup);
  expect(expected).toBeDefined();
  expect(encryptedLifecycle(props, setup)).toEqual(expected);
}

class LifecycleInjector implements IPropertyInjector {
  public readonly constructUniqueId = s3.Bucket.PROPERTY_INJECTION_ID;
  public inject(originalProps: s3.BucketProps, _context: InjectionContext): s3.BucketProps {
    return { lifecycleRules: [USER_RULE], ...originalProps };
  }
}

describe('the probe backstop', () => {
  test('alone, it is written as an override, exactly as s3.Bucket writes the rule', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Bucket');
    expect(lifecycleOf(stack)).toEqual(s3BucketLifecycle());
    // The cheap way is the one in use: the L1 property (what s3.Bucket renders) holds no rule.
    expect(stack.resolve((bucket.node.defaultChild as s3.CfnBucket).lifecycleConfiguration)).toBeUndefined();
  });

  test('with rules from props, it follows them as one of the bucket\'s rules', () => {
    expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] });
  });

  test('with transitionDefaultMinimumObjectSize and no rule, the setting is kept', () => {
    expectSameAsS3Bucket({ transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.VARIES_BY_STORAGE_CLASS });
  });

  test('with rules from a property injector, it follows them too', () => {
    const { stack } = testStack();
    PropertyInjectors.of(stack).add(new LifecycleInjector());
    new EncryptedBucket(stack, 'Bucket');
    expect(lifecycleOf(stack)).toEqual(s3BucketLifecycle({ lifecycleRules: [USER_RULE] }));
  });

  test('addLifecycleRule after construction: the backstop first, then the new rules', () => {
    expectSameAsS3Bucket({}, (bucket) => {
      bucket.addLifecycleRule(USER_RULE);
      bucket.addLifecycleRule(LATER_RULE);
    });
  });

  test('overrides of paths inside LifecycleConfiguration work as on s3.Bucket, whatever holds the rules', () => {
    const disableFirst: Setup = (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules.0.Status', 'Disabled');
    const deleteNoncurrent: Setup = (_bucket, cfn) => cfn.addPropertyDeletionOverride('LifecycleConfiguration.Rules.0.NoncurrentVersionExpiration');
    const sibling: Setup = (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.TransitionDefaultMinimumObjectSize', 'all_storage_classes_128K');
    for (const setup of [disableFirst, deleteNoncurrent, sibling]) {
      // The backstop alone (an override), with rules from props, and with a rule added later.
      expectSameAsS3Bucket({}, setup);
      expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] }, setup);
      expectSameAsS3Bucket({}, (bucket, cfn) => {
        bucket.addLifecycleRule(LATER_RULE);
        setup(bucket, cfn);
      });
      // An override written before the rule is added.
      expectSameAsS3Bucket({}, (bucket, cfn) => {
        setup(bucket, cfn);
        bucket.addLifecycleRule(LATER_RULE);
      });
    }
  });

  test('an override of LifecycleConfiguration as a whole wins, a deletion override deletes it', () => {
    const replace: Setup = (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration', { Rules: [{ Status: 'Enabled', ExpirationInDays: 9 }] });
    expect(encryptedLifecycle({}, replace)).toEqual({ Rules: [{ Status: 'Enabled', ExpirationInDays: 9 }] });
    expectSameAsS3Bucket({}, replace);
    expect(encryptedLifecycle({}, (_bucket, cfn) => cfn.addPropertyDeletionOverride('LifecycleConfiguration'))).toBeUndefined();
  });

  test('an escape hatch that replaces the L1 lifecycleConfiguration keeps its rules, and the backstop follows them', () => {
    const own = { id: 'Own', status: 'Enabled', expirationInDays: 7 };
    const rendered = { Id: 'Own', Status: 'Enabled', ExpirationInDays: 7 };
    const backstop = (s3BucketLifecycle() as { Rules: unknown[] }).Rules[0];
    expect(encryptedLifecycle({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: [own] };
    })).toEqual({ Rules: [rendered, backstop] });
    // Also when the rules are a token, and together with an override inside them.
    expect(encryptedLifecycle({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: Lazy.any({ produce: () => [own, own] }) };
      cfn.addPropertyOverride('LifecycleConfiguration.Rules.1.Status', 'Disabled');
    })).toEqual({ Rules: [rendered, { ...rendered, Status: 'Disabled' }, backstop] });
    // An L1 value without rules gets the backstop as its only rule.
    expect(encryptedLifecycle({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: [], transitionDefaultMinimumObjectSize: 'varies_by_storage_class' };
    })).toEqual({ Rules: [backstop], TransitionDefaultMinimumObjectSize: 'varies_by_storage_class' });
  });

  test('addOverride(\'Properties\') replaces the backstop\'s override too; with a rule added first, the backstop stays (as documented)', () => {
    const replaceProperties: Setup = (_bucket, cfn) => cfn.addOverride('Properties', { Tags: [{ Key: 'k', Value: 'v' }] });
    expect(encryptedLifecycle({}, replaceProperties)).toBeUndefined();
    expectSameAsS3Bucket({}, (bucket, cfn) => {
      bucket.addLifecycleRule(LATER_RULE);
      replaceProperties(bucket, cfn);
    });
  });

  test('without the check there is no backstop, and rules are added as on s3.Bucket', () => {
    expect(encryptedLifecycle({ verifyEncryption: false })).toBeUndefined();
    const { stack: reference } = testStack('Reference');
    new s3.Bucket(reference, 'Bucket', { lifecycleRules: [USER_RULE] });
    expect(encryptedLifecycle({ verifyEncryption: false }, (bucket) => bucket.addLifecycleRule(USER_RULE))).toEqual(lifecycleOf(reference));
  });

  describe('the check\'s fingerprint', () => {
    function fingerprint(props: EncryptedBucketProps, setup: Setup): string {
      const { stack } = testStack();
      const bucket = new EncryptedBucket(stack, 'Bucket', props);
      setup(bucket, bucket.node.defaultChild as s3.CfnBucket);
      const check = Object.values(Template.fromStack(stack).findResources('Custom::S3EncryptionCheck'))[0];
      return check.Properties.Buckets[0].Fingerprint;
    }
    const encryptionOverride: Setup = (_bucket, cfn) => cfn.addPropertyOverride('BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled', false);
    const otherOverride: Setup = (_bucket, cfn) => cfn.addOverride('UpdateReplacePolicy', 'Delete');

    test('does not depend on how the backstop is written, nor on the order of overrides', () => {
      const reference = fingerprint({}, () => undefined);
      // Lifecycle rules are no encryption setting: only the way the backstop is written changes.
      expect(fingerprint({}, (bucket) => bucket.addLifecycleRule(USER_RULE))).toEqual(reference);
      expect(fingerprint({ lifecycleRules: [USER_RULE] }, () => undefined)).toEqual(reference);

      const both = fingerprint({}, (bucket, cfn) => {
        otherOverride(bucket, cfn);
        encryptionOverride(bucket, cfn);
      });
      expect(both).not.toEqual(reference);
      expect(fingerprint({ lifecycleRules: [USER_RULE] }, (bucket, cfn) => {
        encryptionOverride(bucket, cfn);
        otherOverride(bucket, cfn);
      })).toEqual(both);
    });

    test('an override that is a token changes it by its value', () => {
      const withValue = (value: boolean) => fingerprint({}, (_bucket, cfn) =>
        cfn.addPropertyOverride('BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled', Lazy.any({ produce: () => value })));
      expect(withValue(true)).not.toEqual(withValue(false));
      expect(withValue(true)).toEqual(withValue(true));
    });
  });
});
