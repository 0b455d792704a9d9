/**
 * The probe backstop: appended to the bucket resource's rendered lifecycle rules (cheaper at synth
 * than an s3.Bucket rule). Whatever the user does with rules, overrides and escape hatches, the
 * template must be what an s3.Bucket gets when the backstop is its last rule.
 */
import { Aws, Duration, Fn, IPropertyInjector, InjectionContext, Lazy, PropertyInjectors, Stack } from 'aws-cdk-lib';
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

/** The LifecycleConfiguration of an s3.Bucket with `props`, after `setup`, with the backstop as its last rule. */
function s3BucketLifecycle(props: s3.BucketProps = {}, setup: Setup = () => undefined): unknown {
  const { stack } = testStack('Reference');
  const bucket = new s3.Bucket(stack, 'Bucket', props);
  setup(bucket, bucket.node.defaultChild as s3.CfnBucket);
  bucket.addLifecycleRule(PROBE_BACKSTOP_RULE);
  return lifecycleOf(stack);
}

function expectSameAsS3Bucket(props: EncryptedBucketProps & s3.BucketProps, setup?: Setup): void {
  expect(encryptedLifecycle(props, setup)).toEqual(s3BucketLifecycle(props, setup));
}

class LifecycleInjector implements IPropertyInjector {
  public readonly constructUniqueId = s3.Bucket.PROPERTY_INJECTION_ID;
  public inject(originalProps: s3.BucketProps, _context: InjectionContext): s3.BucketProps {
    return { lifecycleRules: [USER_RULE], ...originalProps };
  }
}

describe('the probe backstop', () => {
  test('alone, it is the bucket\'s one rule, exactly as s3.Bucket writes it, and costs no s3.Bucket rule', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Bucket');
    expect(lifecycleOf(stack)).toEqual(s3BucketLifecycle());
    expect((lifecycleOf(stack) as { Rules: unknown[] }).Rules).toHaveLength(1);
    // The cheap way is the one in use: the L1 property (what s3.Bucket renders) holds no rule.
    expect(stack.resolve((bucket.node.defaultChild as s3.CfnBucket).lifecycleConfiguration)).toBeUndefined();
  });

  test('it follows the rules of props, of a property injector and of addLifecycleRule, and transitionDefaultMinimumObjectSize', () => {
    expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] });
    expectSameAsS3Bucket({ transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.VARIES_BY_STORAGE_CLASS });
    expectSameAsS3Bucket({ transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K },
      (bucket) => bucket.addLifecycleRule(LATER_RULE));
    expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] }, (bucket) => bucket.addLifecycleRule(LATER_RULE));

    const { stack } = testStack();
    PropertyInjectors.of(stack).add(new LifecycleInjector());
    new EncryptedBucket(stack, 'Bucket');
    expect(lifecycleOf(stack)).toEqual(s3BucketLifecycle({ lifecycleRules: [USER_RULE] }));
  });

  test('overrides of paths inside LifecycleConfiguration act on it as on an s3.Bucket rule', () => {
    const setups: Setup[] = [
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules.0.Status', 'Disabled'),
      (_bucket, cfn) => cfn.addPropertyDeletionOverride('LifecycleConfiguration.Rules.0.NoncurrentVersionExpiration'),
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.TransitionDefaultMinimumObjectSize', 'all_storage_classes_128K'),
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules.0.NoncurrentVersionExpiration', Fn.conditionIf('Keep', { NoncurrentDays: 90 }, Aws.NO_VALUE)),
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules.0.NoncurrentVersionExpiration', Lazy.any({ produce: () => ({ NewerNoncurrentVersions: 3 }) })),
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules', Fn.conditionIf('Keep', [{ Status: 'Enabled', ExpirationInDays: 3 }], Aws.NO_VALUE)),
    ];
    for (const setup of setups) {
      expectSameAsS3Bucket({}, setup);
      expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] }, setup);
      expectSameAsS3Bucket({}, (bucket, cfn) => {
        setup(bucket, cfn);
        bucket.addLifecycleRule(LATER_RULE);
      });
    }
  });

  test('overrides of LifecycleConfiguration or Properties as a whole act as on s3.Bucket', () => {
    const setups: Setup[] = [
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration', { Rules: [{ Status: 'Enabled', ExpirationInDays: 9 }] }),
      (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration', { TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K' }),
      (_bucket, cfn) => cfn.addOverride('Properties', { Tags: [{ Key: 'k', Value: 'v' }] }),
    ];
    for (const setup of setups) {
      expectSameAsS3Bucket({}, setup);
      expectSameAsS3Bucket({ lifecycleRules: [USER_RULE] }, setup);
    }
    expect(encryptedLifecycle({}, (_bucket, cfn) => cfn.addPropertyDeletionOverride('LifecycleConfiguration'))).toBeUndefined();
  });

  test('an escape hatch that sets the L1 lifecycleConfiguration keeps its rules, and the backstop follows them', () => {
    const own = { id: 'Own', status: 'Enabled', expirationInDays: 7 };
    const rendered = { Id: 'Own', Status: 'Enabled', ExpirationInDays: 7 };
    const backstop = (s3BucketLifecycle() as { Rules: unknown[] }).Rules[0];
    for (const props of [{}, { lifecycleRules: [USER_RULE] }]) {
      expect(encryptedLifecycle(props, (_bucket, cfn) => {
        cfn.lifecycleConfiguration = { rules: [own] };
      })).toEqual({ Rules: [rendered, backstop] });
    }
    // Also when the rules are a token, and together with an override inside them.
    expect(encryptedLifecycle({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: Lazy.any({ produce: () => [own, own] }) };
      cfn.addPropertyOverride('LifecycleConfiguration.Rules.1.Status', 'Disabled');
    })).toEqual({ Rules: [rendered, { ...rendered, Status: 'Disabled' }, backstop] });
    // An L1 value without rules gets the backstop as its only rule.
    expect(encryptedLifecycle({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: [], transitionDefaultMinimumObjectSize: 'varies_by_storage_class' };
    })).toEqual({ Rules: [backstop], TransitionDefaultMinimumObjectSize: 'varies_by_storage_class' });
    // An intrinsic decides by itself, as on s3.Bucket.
    const conditional: Setup = (_bucket, cfn) => {
      cfn.lifecycleConfiguration = Fn.conditionIf('Keep', { Rules: [rendered] }, Aws.NO_VALUE);
    };
    expectSameAsS3Bucket({}, conditional);
    expect(encryptedLifecycle({}, conditional)).toEqual({ 'Fn::If': ['Keep', { Rules: [rendered] }, { Ref: 'AWS::NoValue' }] });
    // So does an intrinsic in place of the rules.
    expectSameAsS3Bucket({}, (_bucket, cfn) => {
      cfn.lifecycleConfiguration = { rules: Fn.conditionIf('Keep', [own], Aws.NO_VALUE) };
    });
  });

  test('next to an identical rule of the bucket\'s own, it is written too, as s3.Bucket would write both', () => {
    expectSameAsS3Bucket({ lifecycleRules: [PROBE_BACKSTOP_RULE] });
    // An override may disable the bucket's own copy; the backstop stays enabled.
    expectSameAsS3Bucket({ lifecycleRules: [PROBE_BACKSTOP_RULE] }, (_bucket, cfn) => cfn.addPropertyOverride('LifecycleConfiguration.Rules.0.Status', 'Disabled'));
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

    test('does not depend on lifecycle rules, nor on the order of overrides', () => {
      const reference = fingerprint({}, () => undefined);
      expect(fingerprint({}, (bucket) => bucket.addLifecycleRule(USER_RULE))).toEqual(reference);
      expect(fingerprint({ lifecycleRules: [USER_RULE] }, () => undefined)).toEqual(reference);

      const both = fingerprint({}, (bucket, cfn) => {
        otherOverride(bucket, cfn);
        encryptionOverride(bucket, cfn);
      });
      expect(both).not.toEqual(reference);
      expect(fingerprint({}, (bucket, cfn) => {
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
