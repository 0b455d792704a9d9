/**
 * The integration suites' assertions, checked offline: the PutProbe function's code against a
 * mocked S3, and the suites' expected results against answers shaped like AWS's, with
 * integ-tests-alpha's own assertion handler (the code that decides pass or fail after a deploy).
 * A deploy is the real test; this catches a wrongly encoded expectation before one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { AssertionHandler } from '@aws-cdk/integ-tests-alpha/lib/assertions/providers/lambda-handler/assertion';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { failedAssertions } from './integ-support/assertion-results';
import { accepted, checkAttributesExpectation, encryptionRule, PUT_PROBE_CODE, REFUSED, TEST_SSE_C_KEY } from './integ-support/fixtures';

// The handler's base class imports the Step Functions client for its waiter, which the Lambda
// runtime provides and this project does not install; the assertions here never wait.
jest.mock('@aws-sdk/client-sfn', () => ({ SFN: class {} }), { virtual: true });

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());
// The assertion handler logs every comparison, as it does in CloudWatch.
beforeAll(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
afterAll(() => jest.restoreAllMocks());

/** The probe's handler, loaded from the inline code the suites deploy. */
function probeHandler(): (event: Record<string, unknown>) => Promise<unknown> {
  const module = { exports: {} as { handler?: (event: Record<string, unknown>) => Promise<unknown> } };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'exports', 'module', PUT_PROBE_CODE)(require, module.exports, module);
  return module.exports.handler!;
}

/** The Lambda Invoke answer integ-tests-alpha compares (Payload decoded to a string). */
async function invoke(event: Record<string, unknown>): Promise<Record<string, unknown>> {
  try {
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: JSON.stringify(await probeHandler()(event)) };
  } catch (e) {
    const error = e as Error;
    return { StatusCode: 200, FunctionError: 'Unhandled', Payload: JSON.stringify({ errorType: error.name, errorMessage: error.message }) };
  }
}

/** What integ-tests-alpha's assertion handler says about `actual` against `expected`. */
async function verdict(expected: ExpectedResult, actual: unknown): Promise<'success' | 'fail'> {
  const handler = new AssertionHandler({
    RequestType: 'Create',
    ResourceProperties: { actual, expected: expected.result },
  } as never, { getRemainingTimeInMillis: () => 60_000, logStreamName: 'test' } as never);
  const result = await handler.handle() as { assertion: string };
  return JSON.parse(result.assertion).status;
}

const s3Error = (status: number, name: string) => new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

describe('PutProbe', () => {
  test('a 403 AccessDenied is REFUSED, and passes the REFUSED expectation', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(403, 'AccessDenied'));
    const answer = await invoke({ bucket: 'b', key: 'k', sseCustomerKey: TEST_SSE_C_KEY });
    expect(JSON.parse(answer.Payload as string)).toEqual({ outcome: 'REFUSED', status: 403, code: 'AccessDenied' });
    expect(await verdict(REFUSED, answer)).toBe('success');
    expect(await verdict(accepted({ sseCustomerAlgorithm: 'AES256' }), answer)).toBe('fail');
  });

  test('sends the SSE-C algorithm and the key as given, and nothing else', async () => {
    s3.on(PutObjectCommand).resolves({ SSECustomerAlgorithm: 'AES256' });
    const answer = await invoke({ bucket: 'b', key: 'k', sseCustomerKey: TEST_SSE_C_KEY });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'b', Key: 'k', Body: expect.any(String), SSECustomerAlgorithm: 'AES256', SSECustomerKey: TEST_SSE_C_KEY,
    });
    // 32 ASCII characters: 256 bits once the SDK base64-encodes them.
    expect(Buffer.byteLength(TEST_SSE_C_KEY)).toBe(32);
    expect(await verdict(accepted({ sseCustomerAlgorithm: 'AES256' }), answer)).toBe('success');
    expect(await verdict(REFUSED, answer)).toBe('fail');
  });

  test('an accepted upload reports what S3 applied', async () => {
    s3.on(PutObjectCommand).resolves({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/k' });
    const answer = await invoke({ bucket: 'b', key: 'k', serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/k' });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/k' });
    expect(await verdict(accepted({ serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/k' }), answer)).toBe('success');
    expect(await verdict(accepted({ serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/other' }), answer)).toBe('fail');
  });

  test('any other error is an error, which matches no expectation', async () => {
    s3.on(PutObjectCommand).rejects(s3Error(400, 'InvalidArgument'));
    const answer = await invoke({ bucket: 'b', key: 'k', sseCustomerKey: TEST_SSE_C_KEY });
    expect(answer.FunctionError).toBe('Unhandled');
    expect(await verdict(REFUSED, answer)).toBe('fail');
    expect(await verdict(accepted({ sseCustomerAlgorithm: 'AES256' }), answer)).toBe('fail');
  });
});

describe('GetBucketEncryption expectation', () => {
  const answer = (blocked: string[], bucketKey = false) => ({
    ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: bucketKey, BlockedEncryptionTypes: { EncryptionType: blocked } }],
    },
  });

  test('passes on the declared rule and fails on another blocked type, algorithm or a second rule', async () => {
    const expected = encryptionRule({ algorithm: 'AES256', blocked: 'SSE-C' });
    expect(await verdict(expected, answer(['SSE-C']))).toBe('success');
    expect(await verdict(expected, answer(['NONE']))).toBe('fail');
    expect(await verdict(encryptionRule({ algorithm: 'aws:kms', blocked: 'SSE-C' }), answer(['SSE-C']))).toBe('fail');
    const twoRules = answer(['SSE-C']);
    twoRules.ServerSideEncryptionConfiguration.Rules.push(twoRules.ServerSideEncryptionConfiguration.Rules[0]);
    expect(await verdict(expected, twoRules)).toBe('fail');
    // An SDK too old to know BlockedEncryptionTypes drops it: that must fail, not pass.
    const { BlockedEncryptionTypes: _dropped, ...withoutBlocked } = answer(['SSE-C']).ServerSideEncryptionConfiguration.Rules[0];
    expect(await verdict(expected, { ServerSideEncryptionConfiguration: { Rules: [withoutBlocked] } })).toBe('fail');
  });
});

describe('EncryptionCheck attributes expectation', () => {
  // GetParameter's answer for the parameter the check's stack writes its attributes to.
  const attributes = { SseC: 'BLOCKED', DefaultAlgorithm: 'AES256', KmsKeyArn: '', Violations: '0' };
  const answer = (values: Record<string, string>) => ({
    Parameter: { Name: 'CFN-x', Type: 'String', Value: JSON.stringify(values), Version: 1, DataType: 'text' },
  });

  test('passes on the same attributes, fails on any other value', async () => {
    const expected = checkAttributesExpectation(attributes);
    expect(await verdict(expected, answer({ ...attributes, BucketKeyEnabled: 'false' }))).toBe('success');
    expect(await verdict(expected, answer({ ...attributes, SseC: 'ALLOWED' }))).toBe('fail');
    expect(await verdict(expected, answer({ ...attributes, Violations: '1' }))).toBe('fail');
    expect(await verdict(expected, answer({ ...attributes, KmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/k' }))).toBe('fail');
    const { SseC: _missing, ...withoutSseC } = attributes;
    expect(await verdict(expected, answer(withoutSseC))).toBe('fail');
  });
});

describe('integ:deploy verdict from the assertion stack outputs', () => {
  const assembly = path.join(__dirname, 'integ.sse-s3.ts.snapshot');
  const integ = JSON.parse(fs.readFileSync(path.join(assembly, 'integ.json'), 'utf-8'));
  const stackName: string = Object.values<{ assertionStackName: string }>(integ.testCases)[0].assertionStackName;
  const outputNames = Object.keys(JSON.parse(fs.readFileSync(path.join(assembly, `${stackName}.template.json`), 'utf-8')).Outputs)
    .filter((name) => name.startsWith('AssertionResults'));
  const allPassed = () => Object.fromEntries(outputNames.map((name) => [name, '{"status":"success"}']));

  test('passes when every assertion output says success', () => {
    expect(outputNames.length).toBeGreaterThan(5);
    expect(failedAssertions(assembly, { [stackName]: allPassed() })).toBeUndefined();
  });

  test('fails on a failed assertion, with its message, and on a missing one', () => {
    const outputs = allPassed();
    outputs[outputNames[0]] = JSON.stringify({ status: 'fail', message: 'Expected AES256 but received aws:kms' });
    delete outputs[outputNames[1]];
    const failures = failedAssertions(assembly, { [stackName]: outputs });
    expect(failures).toContain(`${outputNames[0]}: Expected AES256 but received aws:kms`);
    expect(failures).toContain(`${outputNames[1]}: no result`);
    expect(failedAssertions(assembly, {})).toContain('no result');
  });
});
