import { S3ServiceException } from '@aws-sdk/client-s3';
import { answerOf, DeadlineExceeded, isAccessDenied, S3Caller } from '../../src/encryption-check/handler/s3-call';

const error = (status: number | undefined, code: string) =>
  new S3ServiceException({ name: code, $fault: 'server', $metadata: { httpStatusCode: status }, message: code });

function caller(overrides: Partial<ConstructorParameters<typeof S3Caller>[0]> = {}) {
  const sleeps: number[] = [];
  const instance = new S3Caller({ deadline: Date.now() + 60_000, sleep: async (ms) => { sleeps.push(ms); }, ...overrides });
  return { instance, sleeps };
}

test.each([
  [503, 'SlowDown'], [500, 'InternalError'], [400, 'RequestTimeout'], [undefined, 'ECONNRESET'], [429, 'TooManyRequestsException'],
])('%s %s is retried up to 5 attempts with capped, jittered exponential backoff', async (status, code) => {
  const { instance, sleeps } = caller();
  const request = jest.fn().mockRejectedValue(error(status, code));
  await expect(instance.call('x', request)).rejects.toThrow(code);
  expect(request).toHaveBeenCalledTimes(5);
  expect(instance.requests).toBe(5);
  sleeps.forEach((ms, i) => expect(ms).toBeLessThanOrEqual(200 * 2 ** i));
});

test.each([[403, 'AccessDenied'], [404, 'NoSuchKey'], [400, 'InvalidRequest'], [412, 'PreconditionFailed']])('%s %s is not retried', async (status, code) => {
  const { instance } = caller();
  const request = jest.fn().mockRejectedValue(error(status, code));
  await expect(instance.call('x', request)).rejects.toThrow(code);
  expect(request).toHaveBeenCalledTimes(1);
});

test('AccessDenied is retried only when asked, and only within the propagation wait', async () => {
  const { instance } = caller({ accessDeniedWaitMs: 50 });
  const request = jest.fn().mockRejectedValueOnce(error(403, 'AccessDenied')).mockResolvedValue('ok');
  await expect(instance.call('x', request, { retryAccessDenied: true })).resolves.toBe('ok');
  const late = caller({ accessDeniedWaitMs: 0 }).instance;
  await expect(late.call('x', jest.fn().mockRejectedValue(error(403, 'AccessDenied')), { retryAccessDenied: true })).rejects.toThrow('AccessDenied');
});

test('the deadline aborts a request that never answers, and no request starts after it', async () => {
  const { instance } = caller({ deadline: Date.now() + 50 });
  let signal: AbortSignal | undefined;
  await expect(instance.call('slow', (s) => { signal = s; return new Promise(() => undefined); })).rejects.toBeInstanceOf(DeadlineExceeded);
  expect(signal?.aborted).toBe(true);
  const request = jest.fn();
  await expect(instance.call('late', request)).rejects.toThrow('deadline reached before late completed');
  expect(request).not.toHaveBeenCalled();
});

test('no backoff sleeps past the deadline', async () => {
  let now = 0;
  const { instance, sleeps } = caller({ deadline: 100, now: () => now, baseDelayMs: 1_000 });
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
  const request = jest.fn().mockImplementation(async () => { now += 10; throw error(503, 'SlowDown'); });
  await expect(instance.call('x', request)).rejects.toThrow('SlowDown');
  expect(sleeps).toEqual([]);
  jest.restoreAllMocks();
});

test('answers: HEAD errors carry only a status', () => {
  expect(answerOf(error(400, '400'))).toEqual({ status: 400, code: '400', message: '400' });
  expect(isAccessDenied(error(403, 'AccessDenied'))).toBe(true);
  expect(isAccessDenied(error(403, 'InvalidAccessKeyId'))).toBe(false);
});
