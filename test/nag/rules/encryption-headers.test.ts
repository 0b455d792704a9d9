import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RULES, denyStatement, flags, newStack } from '../helpers';

const rule = RULES.ENCRYPTION_HEADERS;
const SSE = 's3:x-amz-server-side-encryption';
const KEY_ID = 's3:x-amz-server-side-encryption-aws-kms-key-id';

/** An L1 bucket with one Deny s3:PutObject statement per condition; `KEY_ARN` stands for the key's ARN. */
function l1(algorithm: string, conditions: Array<Record<string, unknown>>, withKey = false): boolean {
  const stack = newStack();
  const key = withKey ? new kms.CfnKey(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const raw = new s3.CfnBucket(stack, 'Raw', {
    bucketEncryption: {
      serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: algorithm, kmsMasterKeyId: key?.attrArn } }],
    },
  });
  const withKeyArn = (condition: Record<string, unknown>) => JSON.parse(JSON.stringify(condition), (_k, v) => (v === 'KEY_ARN' ? key!.attrArn : v));
  new s3.CfnBucketPolicy(stack, 'RawPolicy', {
    bucket: raw.ref,
    policyDocument: {
      Statement: conditions.map((condition) => denyStatement({ action: 's3:PutObject', resource: `${raw.attrArn}/*`, condition: withKeyArn(condition) })),
    },
  });
  return flags(stack, rule, 'Stack/Raw');
}

describe('S3Encryption-EncryptionHeaders', () => {
  test('a plain s3.Bucket is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.S3_MANAGED });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test.each([
    ['StringNotEquals + Null false (the library pattern)', { StringNotEquals: { [SSE]: 'AES256' }, Null: { [SSE]: 'false' } }, false],
    ['a lone StringNotEquals (also denies absent headers)', { StringNotEquals: { [SSE]: 'AES256' } }, false],
    ['a lone Null false (denies every header)', { Null: { [SSE]: 'false' } }, false],
    ['StringNotEquals listing another algorithm too', { StringNotEquals: { [SSE]: ['AES256', 'aws:kms'] } }, true],
    ['StringNotEquals naming the wrong algorithm', { StringNotEquals: { [SSE]: 'aws:kms' }, Null: { [SSE]: 'false' } }, true],
    ['Null true (denies only absent headers)', { Null: { [SSE]: 'true' } }, true],
  ])('SSE-S3 with %s', (_name, condition, flagged) => {
    expect(l1('AES256', [condition])).toBe(flagged);
  });

  test('SSE-KMS needs the key-id deny too', () => {
    const algorithm = { StringNotEquals: { [SSE]: 'aws:kms' }, Null: { [SSE]: 'false' } };
    expect(l1('aws:kms', [algorithm], true)).toBe(true);
    expect(l1('aws:kms', [algorithm, { StringNotEquals: { [KEY_ID]: 'KEY_ARN' }, Null: { [KEY_ID]: 'false' } }], true)).toBe(false);
    expect(l1('aws:kms', [algorithm, { Null: { [KEY_ID]: 'false' } }], true)).toBe(false);
    expect(l1('aws:kms', [algorithm, { StringNotEquals: { [KEY_ID]: 'arn:aws:kms:eu-west-1:222222222222:key/other' } }], false)).toBe(true);
  });

  test('DSSE-KMS counts as KMS: it needs the aws:kms:dsse algorithm and the key-id deny', () => {
    const dsse = { StringNotEquals: { [SSE]: 'aws:kms:dsse' }, Null: { [SSE]: 'false' } };
    expect(l1('aws:kms:dsse', [dsse, { Null: { [KEY_ID]: 'false' } }])).toBe(false);
    expect(l1('aws:kms:dsse', [{ StringNotEquals: { [SSE]: 'aws:kms' } }, { Null: { [KEY_ID]: 'false' } }])).toBe(true);
  });
});

describe('S3Encryption-EncryptionHeaders: which key the key-id deny lets through', () => {
  /** A KMS bucket on key `BucketKey` whose DenyForeignKmsKey-style statement names `named`: `BucketKey`, `OtherKey`, `OtherAlias` or a literal. */
  function withKeys(named: string, like = false): boolean {
    const stack = newStack();
    const keys: Record<string, kms.CfnKey> = {
      BucketKey: new kms.CfnKey(stack, 'BucketKey', { enableKeyRotation: true }),
      OtherKey: new kms.CfnKey(stack, 'OtherKey', { enableKeyRotation: true }),
    };
    const alias = new kms.CfnAlias(stack, 'OtherAlias', { aliasName: 'alias/bucket', targetKeyId: keys.BucketKey.ref });
    const value = named === 'OtherAlias' ? alias.ref : keys[named]?.attrArn ?? named;
    const raw = new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: keys.BucketKey.attrArn } }] },
    });
    new s3.CfnBucketPolicy(stack, 'RawPolicy', {
      bucket: raw.ref,
      policyDocument: {
        Statement: [
          denyStatement({ action: 's3:PutObject', resource: `${raw.attrArn}/*`, condition: { StringNotEquals: { [SSE]: 'aws:kms' }, Null: { [SSE]: 'false' } } }),
          denyStatement({ action: 's3:PutObject', resource: `${raw.attrArn}/*`, condition: { [like ? 'StringNotLike' : 'StringNotEquals']: { [KEY_ID]: value }, Null: { [KEY_ID]: 'false' } } }),
        ],
      },
    });
    return flags(stack, rule, 'Stack/Raw');
  }

  test('the bucket\'s own key complies', () => {
    expect(withKeys('BucketKey')).toBe(false);
  });

  test('a reference to another key of the stack is a foreign key: flagged', () => {
    expect(withKeys('OtherKey')).toBe(true);
  });

  test('a literal key ARN against a reference cannot be compared at synth time: not applicable', () => {
    expect(withKeys('arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab')).toBe(false);
  });

  test('an alias reference may name the bucket\'s key: not applicable', () => {
    expect(withKeys('OtherAlias')).toBe(false);
  });

  test('a StringNotLike glob lets other keys through: flagged', () => {
    expect(withKeys('arn:aws:kms:eu-west-1:111111111111:key/*', true)).toBe(true);
  });
});
