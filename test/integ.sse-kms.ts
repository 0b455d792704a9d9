/**
 * Integration suite: SSE-KMS with the KMS key the library creates and manages, and encryption
 * headers enforced: mismatched headers denied on one bucket, headers required on a second
 * bucket that shares the key.
 *
 * Deploys: two buckets (each with its EncryptionCheck), the S3EncryptionKey, a PutProbe
 * function; asserts with S3's own APIs.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, EncryptionHeaders } from '../src';
import {
  accepted, allowAssertionReads, checkOf, DISPOSABLE_BUCKET, encryptionRule, expectCheckAttributes,
  integApp, integTest, makeDisposable, PutProbe, REFUSED, TEST_SSE_C_KEY,
} from './integ-support/fixtures';

const app = integApp();
const stack = new Stack(app, 'CdkS3EncryptionIntegSseKms');
// Creates its S3EncryptionKey as the child `Bucket/Key`.
const bucket = new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS, ...DISPOSABLE_BUCKET });
const key = bucket.encryptionKey!;
const strict = new EncryptedBucket(stack, 'HeadersRequiredBucket', {
  encryptionKey: key,
  encryptionHeaders: EncryptionHeaders.REQUIRE,
  ...DISPOSABLE_BUCKET,
});
const probe = new PutProbe(stack, 'PutProbe');
probe.allowUploadsTo(bucket);
probe.allowUploadsTo(strict);
makeDisposable(stack);

const integ = integTest(app, 'SseKms', stack);

const configuration = integ.assertions.awsApiCall('S3', 'getBucketEncryption', { Bucket: bucket.bucketName });
configuration.expect(encryptionRule({ algorithm: 'aws:kms', kmsKeyArn: key.keyArn, bucketKeyEnabled: true, blocked: 'SSE-C' }));
allowAssertionReads(configuration, [bucket, strict], key);

// SSE-C is refused.
probe.upload(integ, { bucket, key: 'integ/sse-c.txt', sseCustomerKey: TEST_SSE_C_KEY }).expect(REFUSED);

// Another algorithm, or another key, is refused (DenyMismatchedEncryptionHeader, DenyForeignKmsKey).
// The foreign key does not exist: the bucket policy refuses before KMS is asked.
probe.upload(integ, { bucket, key: 'integ/mismatched.txt', serverSideEncryption: 'AES256' }).expect(REFUSED);
probe.upload(integ, {
  bucket,
  key: 'integ/foreign-key.txt',
  serverSideEncryption: 'aws:kms',
  kmsKeyId: stack.formatArn({ service: 'kms', resource: 'key', resourceName: '00000000-0000-0000-0000-000000000000' }),
}).expect(REFUSED);

// An upload without headers gets the bucket's key and a Bucket Key, and the object reports them.
const plainPut = integ.assertions.awsApiCall('S3', 'putObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt', Body: 'no headers' });
plainPut.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.keyArn, BucketKeyEnabled: true }));
const plainHead = integ.assertions.awsApiCall('S3', 'headObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt' });
plainHead.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.keyArn, BucketKeyEnabled: true }));
plainPut.next(plainHead);

// With headers required, an upload without them is refused and one that names the bucket's
// algorithm and key is accepted.
probe.upload(integ, { bucket: strict, key: 'integ/no-headers.txt' }).expect(REFUSED);
probe.upload(integ, { bucket: strict, key: 'integ/declared.txt', serverSideEncryption: 'aws:kms', kmsKeyId: key.keyArn })
  .expect(accepted({ serverSideEncryption: 'aws:kms', kmsKeyId: key.keyArn }));

expectCheckAttributes(integ, 'EncryptionCheckAttributes', checkOf(bucket), {
  SseC: 'BLOCKED',
  DefaultAlgorithm: 'aws:kms',
  KmsKeyArn: key.keyArn,
  BucketKeyEnabled: 'true',
  MismatchedHeaderRefused: 'true',
  AbsentHeaderRefused: 'false',
  Violations: '0',
});
expectCheckAttributes(integ, 'HeadersRequiredCheckAttributes', checkOf(strict), {
  SseC: 'BLOCKED',
  DefaultAlgorithm: 'aws:kms',
  KmsKeyArn: key.keyArn,
  BucketKeyEnabled: 'true',
  MismatchedHeaderRefused: 'true',
  AbsentHeaderRefused: 'true',
  Violations: '0',
});

app.synth();
