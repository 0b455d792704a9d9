/**
 * AWS-shaped S3 answers for the handler's unit tests: a mocked S3Client whose catch-all records
 * and rejects every request no test declared, so an unexpected call fails the test (see
 * `expectNoUnexpectedCalls`) even where the handler turns an error into a probe answer.
 */
import { createHash } from 'crypto';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { AnyEvent, KEY } from './events';
import { checkPrefix, HandlerEnvironment } from '../../src/encryption-check/handler/on-event';

export const s3Mock = mockClient(S3Client);
export const unexpected: { command: string; input: unknown }[] = [];

export function resetS3Mock(): void {
  s3Mock.reset();
  unexpected.length = 0;
  s3Mock.onAnyCommand().callsFake((input: unknown) => {
    unexpected.push({ command: 'unexpected', input });
    throw new Error(`unexpected S3 request: ${JSON.stringify(input)}`);
  });
}

export function expectNoUnexpectedCalls(): void {
  expect(unexpected).toEqual([]);
}

/**
 * Every test of the file starts with a fresh S3 mock that rejects any request it was not told
 * about, with the handler's console output silenced, and ends by failing on any unexpected request.
 */
export function useStrictS3Mock(): void {
  beforeEach(() => {
    resetS3Mock();
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    expectNoUnexpectedCalls();
    jest.restoreAllMocks();
  });
}

/** An error as the SDK raises it for an S3 error answer. */
export function awsError(status: number, code: string, message = code): S3ServiceException {
  return new S3ServiceException({ name: code, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

export const accessDenied = () => awsError(403, 'AccessDenied', 'Access Denied');
export const BUCKET = 'my-bucket';

/** Deterministic "random" bytes: the run id, the SSE-C key and the probe body are all 0x07. */
export const fixedRandomBytes = (size: number) => Buffer.alloc(size, 7);
export const CUSTOMER_KEY = Buffer.alloc(32, 7).toString('base64');
export const CUSTOMER_KEY_MD5 = createHash('md5').update(Buffer.alloc(32, 7)).digest('base64');
export const BODY = Buffer.alloc(32, 7);
export const RUN = '0707070707070707';

/** The key a probe writes for `event`. */
export function probeKey(event: AnyEvent, probe: string): string {
  return `${checkPrefix(event, KEY)}${RUN}/${probe}`;
}

/** A handler environment with no waiting: sleeps resolve at once and are recorded. */
export function testEnv(overrides: Partial<HandlerEnvironment> = {}): HandlerEnvironment & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    s3: new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }),
    remainingMs: () => 120_000,
    sleep: async (ms: number) => { sleeps.push(ms); },
    randomBytes: fixedRandomBytes,
    accessDeniedWaitMs: 0,
    ...overrides,
    sleeps,
  };
}
