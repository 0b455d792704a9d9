/**
 * Integration suite: a bucket that allows SSE-C (`customerProvidedKeys: ALLOW`), and an
 * `EncryptionCheck` on a bucket this library did not create (a plain `s3.Bucket`, imported by
 * name the way an existing bucket would be).
 *
 * Deploys: the SSE-C bucket (with its EncryptionCheck), a plain s3.Bucket and a check on it, a
 * PutProbe function; asserts with S3's own APIs.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { Aws, CfnCondition, Fn, Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { CustomerProvidedKeys, EncryptedBucket, EncryptionCheck, EncryptionHeaders, S3EncryptionChecks, ViolationAction } from '../src';
import {
  accepted, allowAssertionReads, checkAttributesExpectation, checkOf, DISPOSABLE_BUCKET, encryptionRule, expectCheckAttributes,
  integApp, integTest, makeDisposable, PutProbe, REFUSED, REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C, TEST_SSE_C_KEY,
} from './integ-support/fixtures';

const app = integApp();
const stack = new Stack(app, 'CdkS3EncryptionIntegSseCAllowed');
const bucket = new EncryptedBucket(stack, 'Bucket', { customerProvidedKeys: CustomerProvidedKeys.ALLOW, ...DISPOSABLE_BUCKET });
S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, 'This suite proves that SSE-C is accepted when allowed.');

// A bucket created outside the library, with nothing but S3's defaults (SSE-S3; since April 2026
// new buckets block SSE-C, except in Middle East (Bahrain) and Middle East (UAE)), checked through
// an import by name as an existing bucket would be.
const plain = new s3.Bucket(stack, 'PlainBucket', { ...DISPOSABLE_BUCKET });
const imported = s3.Bucket.fromBucketName(stack, 'ImportedPlainBucket', plain.bucketName);
const plainCheck = new EncryptionCheck(stack, 'PlainBucketCheck', {
  bucket: imported,
  customerProvidedKeys: CustomerProvidedKeys.BLOCK,
  encryption: s3.BucketEncryption.S3_MANAGED,
  encryptionHeaders: EncryptionHeaders.NOT_ENFORCED,
  // The adoption mode: report, do not fail; the assertion below requires zero violations.
  onViolation: ViolationAction.WARN,
});

const probe = new PutProbe(stack, 'PutProbe');
probe.allowUploadsTo(bucket);
makeDisposable(stack);

const integ = integTest(app, 'SseCAllowed', stack);

const configuration = integ.assertions.awsApiCall('S3', 'getBucketEncryption', { Bucket: bucket.bucketName });
configuration.expect(encryptionRule({ algorithm: 'AES256', blocked: 'NONE' }));
allowAssertionReads(configuration, [bucket]);

// SSE-C is accepted and stored as SSE-C: HeadObject with the same key reports it.
const sseCPut = probe.upload(integ, { bucket, key: 'integ/sse-c.txt', sseCustomerKey: TEST_SSE_C_KEY });
sseCPut.expect(accepted({ sseCustomerAlgorithm: 'AES256' }));
const sseCHead = integ.assertions.awsApiCall('S3', 'headObject', {
  Bucket: bucket.bucketName,
  Key: 'integ/sse-c.txt',
  SSECustomerAlgorithm: 'AES256',
  SSECustomerKey: TEST_SSE_C_KEY,
});
sseCHead.expect(ExpectedResult.objectLike({ SSECustomerAlgorithm: 'AES256' }));
sseCPut.next(sseCHead);

// Allowing SSE-C does not loosen the header rules: another algorithm is still refused.
probe.upload(integ, { bucket, key: 'integ/mismatched.txt', serverSideEncryption: 'aws:kms' }).expect(REFUSED);

// An upload without headers gets the bucket default.
const plainPut = integ.assertions.awsApiCall('S3', 'putObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt', Body: 'no headers' });
plainPut.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'AES256' }));
const plainHead = integ.assertions.awsApiCall('S3', 'headObject', { Bucket: bucket.bucketName, Key: 'integ/no-headers.txt' });
plainHead.expect(ExpectedResult.objectLike({ ServerSideEncryption: 'AES256' }));
plainPut.next(plainHead);

expectCheckAttributes(integ, 'EncryptionCheckAttributes', checkOf(bucket), {
  SseC: 'ALLOWED',
  DefaultAlgorithm: 'AES256',
  KmsKeyArn: '',
  MismatchedHeaderRefused: 'true',
  AbsentHeaderRefused: 'false',
  Violations: '0',
});
// What S3's default does to SSE-C depends on the region the suite deploys to, which only
// CloudFormation knows (the suite is region-agnostic): a condition in the assertion stack decides.
// Where new buckets do not block SSE-C, the check (expecting BLOCK) reports one violation, as a
// warning (onViolation WARN).
// The attributes named here are the ones read back; their expected values are set just below,
// once the condition exists in the assertion stack.
const plainAttributes = expectCheckAttributes(integ, 'PlainBucketCheckAttributes', plainCheck, { SseC: '', DefaultAlgorithm: '', KmsKeyArn: '', Violations: '' });
const newBucketsBlockSseC = new CfnCondition(Stack.of(plainAttributes as unknown as IConstruct), 'NewBucketsBlockSseC', {
  expression: Fn.conditionNot(Fn.conditionOr(...REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C.map((region) => Fn.conditionEquals(Aws.REGION, region)))),
});
const byRegion = (blocking: string, accepting: string) => Token.asString(Fn.conditionIf(newBucketsBlockSseC.logicalId, blocking, accepting));
plainAttributes.expect(checkAttributesExpectation({
  SseC: byRegion('BLOCKED', 'ALLOWED'),
  DefaultAlgorithm: 'AES256',
  KmsKeyArn: '',
  Violations: byRegion('0', '1'),
}));

app.synth();
