import * as s3 from 'aws-cdk-lib/aws-s3';
import { RULES, denyStatement, flags, newStack } from '../helpers';

const rule = RULES.MINIMUM_TLS_VERSION;

function l1(condition: Record<string, unknown>, action: string = 's3:*'): boolean {
  const stack = newStack();
  const raw = new s3.CfnBucket(stack, 'Raw');
  new s3.CfnBucketPolicy(stack, 'RawPolicy', {
    bucket: raw.ref,
    policyDocument: { Statement: [denyStatement({ action, resource: [raw.attrArn, `${raw.attrArn}/*`], condition })] },
  });
  return flags(stack, rule, 'Stack/Raw');
}

describe('S3Encryption-MinimumTlsVersion', () => {
  test.each([1.2, 1.3])('an s3.Bucket with minimumTLSVersion %s complies', (minimumTLSVersion) => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { enforceSSL: true, minimumTLSVersion });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(false);
  });

  test('an s3.Bucket with enforceSSL only is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test.each([
    ['NumericLessThan 1.2 (string)', { NumericLessThan: { 's3:TlsVersion': '1.2' } }, false],
    ['NumericLessThan 1.3 (number)', { NumericLessThan: { 's3:TlsVersion': 1.3 } }, false],
    ['NumericLessThanEquals 1.1', { NumericLessThanEquals: { 's3:tlsversion': '1.1' } }, false],
    ['NumericLessThan 1.1: TLS 1.1 still accepted', { NumericLessThan: { 's3:TlsVersion': '1.1' } }, true],
    ['NumericLessThan 1.4: every client locked out', { NumericLessThan: { 's3:TlsVersion': 1.4 } }, true],
    ['NumericGreaterThan: the wrong way round', { NumericGreaterThan: { 's3:TlsVersion': 1.2 } }, true],
    ['a non-numeric value', { NumericLessThan: { 's3:TlsVersion': 'latest' } }, false],
  ])('an L1 deny with %s', (_name, condition, flagged) => {
    expect(l1(condition)).toBe(flagged);
  });

  test('a TLS deny limited to s3:GetObject is flagged', () => {
    expect(l1({ NumericLessThan: { 's3:TlsVersion': '1.2' } }, 's3:GetObject')).toBe(true);
  });
});
