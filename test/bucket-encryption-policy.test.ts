import { Errors, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketEncryptionPolicy, CustomerProvidedKeys, EncryptionHeaders } from '../src';
import { testStack } from './util/template';

function render(stack: Stack, statements: iam.PolicyStatement[]): any[] {
  return statements.map((s) => stack.resolve(s.toStatementJson()));
}

describe('BucketEncryptionPolicy', () => {
  test('gives the same statements for an imported bucket, by its ARN', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'legacy-data');
    const statements = render(stack, BucketEncryptionPolicy.statements(bucket));
    expect(statements.map((s) => s.Sid)).toEqual(['DenyInsecureTransport', 'DenyOutdatedTls', 'DenySseCUploads', 'DenyMismatchedEncryptionHeader']);
    expect(statements[0].Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::legacy-data']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::legacy-data/*']] },
    ]);
  });

  test('the Sids it writes are all listed in ALL_SIDS', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'data-bucket');
    const key = kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/abc');
    const seen = new Set<string>();
    for (const customerProvidedKeys of Object.values(CustomerProvidedKeys)) {
      for (const encryptionHeaders of Object.values(EncryptionHeaders)) {
        if (customerProvidedKeys === CustomerProvidedKeys.REQUIRE && encryptionHeaders === EncryptionHeaders.REQUIRE) continue;
        for (const s of render(stack, BucketEncryptionPolicy.statements(bucket, { encryptionKey: key, customerProvidedKeys, encryptionHeaders }))) {
          seen.add(s.Sid);
        }
      }
    }
    expect([...seen].sort()).toEqual([...BucketEncryptionPolicy.ALL_SIDS].sort());
  });

  test('requires the key for KMS and DSSE', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'data-bucket');
    expect(() => BucketEncryptionPolicy.statements(bucket, { encryption: s3.BucketEncryption.KMS }))
      .toThrow(/encryptionKey is required with encryption KMS/);
    expect(() => BucketEncryptionPolicy.statements(bucket, { encryption: s3.BucketEncryption.DSSE }))
      .toThrow(/encryptionKey is required with encryption DSSE/);
  });

  test('validates like EncryptedBucket', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'data-bucket');
    expect(() => BucketEncryptionPolicy.statements(bucket, { minimumTLSVersion: 1.1 })).toThrow(/minimumTLSVersion: 1.1 is not supported/);
  });

  test('errors are ValidationErrors naming the bucket they were asked for', () => {
    const { stack } = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'data-bucket');
    for (const options of [{ minimumTLSVersion: 1.1 }, { encryption: s3.BucketEncryption.KMS }, { encryptionKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/data') }]) {
      let error: unknown;
      try {
        BucketEncryptionPolicy.statements(bucket, options);
      } catch (e) {
        error = e;
      }
      expect(Errors.isValidationError(error)).toBe(true);
      expect((error as { constructPath?: string }).constructPath).toBe('TestStack/Imported');
      expect((error as Error).message).toMatch(/^TestStack\/Imported: /);
    }
  });
});
