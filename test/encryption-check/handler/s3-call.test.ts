import { S3ServiceException } from '@aws-sdk/client-s3';
import { answerOf, describeAttempts, isFault, outcomeUnknown, S3Answer, S3Caller } from '../../../src/encryption-check/handler/s3-call';

const error = (status: number | undefined, code: string) =>
  new S3ServiceException({ name: code, $fault: 'server', $metadata: { httpStatusCode: status }, message: code });

describe('faults', () => {
  test.each([
    [{ status: 503, code: 'SlowDown' }, true],
    [{ status: 500, code: 'InternalError' }, true],
    [{ status: 429, code: 'TooManyRequestsException' }, true],
    [{ status: 400, code: 'RequestTimeout' }, true],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, true],
    [{ code: 'DeadlineExceeded', message: 'deadline reached before x completed' }, true],
    [{ status: 403, code: 'AccessDenied' }, false],
    [{ status: 400, code: 'KMS.NotFoundException' }, false],
    [{ status: 412, code: 'PreconditionFailed' }, false],
  ] as [S3Answer, boolean][])('%j is a fault: %s', (answer, fault) => {
    expect(isFault(answer)).toBe(fault);
  });

  test('only a request without any HTTP answer leaves a write\'s outcome unknown', () => {
    expect(outcomeUnknown({ code: 'ECONNRESET' })).toBe(true);
    expect(outcomeUnknown({ status: 503, code: 'SlowDown' })).toBe(false);
  });

  test('a Node network error is named by its code, not as a plain Error', () => {
    expect(answerOf(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toEqual({ status: undefined, code: 'ECONNRESET', message: 'socket hang up' });
  });

  test('the failed attempts of one request are named in order, repeats counted', () => {
    expect(describeAttempts([{ status: 503, code: 'SlowDown' }, { status: 503, code: 'SlowDown' }, { status: 503, code: 'SlowDown' }]))
      .toBe('S3 answered 503 SlowDown 3 times');
    expect(describeAttempts([{ code: 'ECONNRESET', message: 'socket hang up' }, { status: 500, code: 'InternalError', message: 'long text' }]))
      .toBe('no answer (socket hang up), then 500 InternalError');
  });
});

describe('the attempt timeout', () => {
  test('an attempt without an answer is abandoned and retried; every failed attempt is recorded for the caller', async () => {
    const caller = new S3Caller({ deadline: Date.now() + 60_000, attemptTimeoutMs: 10, sleep: async () => undefined });
    const attempts: S3Answer[] = [];
    let signal: AbortSignal | undefined;
    const request = jest.fn()
      .mockImplementationOnce((s: AbortSignal) => { signal = s; return new Promise(() => undefined); })
      .mockRejectedValueOnce(error(503, 'SlowDown'))
      .mockResolvedValue('ok');
    await expect(caller.call('put', request, { attempts })).resolves.toBe('ok');
    expect(signal?.aborted).toBe(true);
    expect(attempts).toEqual([
      { status: undefined, code: 'TimeoutError', message: 'put timed out after 10 ms' },
      { status: 503, code: 'SlowDown', message: 'SlowDown' },
    ]);
  });

  test('the deadline is recorded as the last attempt', async () => {
    const caller = new S3Caller({ deadline: Date.now() + 20, sleep: async () => undefined });
    const attempts: S3Answer[] = [];
    await expect(caller.call('put', () => new Promise(() => undefined), { attempts })).rejects.toThrow('deadline reached before put completed');
    expect(attempts).toEqual([{ status: undefined, code: 'DeadlineExceeded', message: 'deadline reached before put completed' }]);
  });
});
