/**
 * Integration suite: an EncryptedBucket with its defaults (SSE-S3, SSE-C blocked, mismatched
 * encryption headers denied) behaves as declared in a real account.
 *
 * Deploys: the bucket (plus its EncryptionCheck), a PutProbe function; asserts with S3's own APIs.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { Stack } from 'aws-cdk-lib';
import { EncryptedBucket } from '../src';
import {
  accepted, allowAssertionReads, checkOf, DISPOSABLE_BUCKET, encryptionRule, expectCheckAttributes,
  integApp, integTest, makeDisposable, PutProbe, REFUSED, TEST_SSE_C_KEY,
} from './integ-support/fixtures';

const app = integApp();
const stack = new Stack(app, 'CdkS3EncryptionIntegSseS3');
const bucket = new EncryptedBucket(stack, 'Bucket', { ...DISPOSABLE_BUCKET });
const probe = new PutProbe(stack, 'PutProbe');
probe.allowUploadsTo(bucket);
makeDisposable(stack);

const integ = integTest(app, 'SseS3', stack);

// The bucket's configuration as S3 reports it.
const configuration = integ.assertions.awsApiCall('S3', 'getBucketEncryption', { Bucket: bucket.bucketName });
configuration.expect(encryptionRule({ algorithm: 'AES256', blocked: 'SSE-C' }));
allowAssertionReads(configuration, [bucket]);

// SSE-C is refused (BlockedEncryptionTypes and DenySseCUploads).
probe.upload(integ, { bucket, key: 'integ/sse-c.txt', sseCustomerKey: TEST_SSE_C_KEY }).expect(REFUSED);

// A header naming another algorithm is refused (DenyMismatchedEncryptionHeader); without the
// deny it would be accepted and encrypted with the AWS managed key aws/s3.
probe.upload(integ, { bucket, key: 'integ/mismatched.txt', serverSideEncryption: 'aws:kms' }).expect(REFUSED);

// The matching header is accepted.
probe.upload(integ, { bucket, key: 'integ/declared.txt', serverSideEncryption: 'AES256' })
  .expect(accepted({ serverSideEncryption: 'AES256' }));

// An upload without headers gets the bucket default, and the stored object reports it.
const plainPut = integ.assertions.awsApiCall('S3', 'putObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt', Body: 'no headers' });
plainPut.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'AES256' }));
const plainHead = integ.assertions.awsApiCall('S3', 'headObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt' });
plainHead.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'AES256' }));
plainPut.next(plainHead);

// The deploy-time check observed the same.
expectCheckAttributes(integ, 'EncryptionCheckAttributes', checkOf(bucket), {
  SseC: 'BLOCKED',
  DefaultAlgorithm: 'AES256',
  KmsKeyArn: '',
  BucketKeyEnabled: 'false',
  MismatchedHeaderRefused: 'true',
  AbsentHeaderRefused: 'false',
  Violations: '0',
});

app.synth();
