/**
 * The CloudFormation response: bounded retries, never a throw, never more than 4 KB; and the
 * Lambda entry point, which always answers (against a local HTTP server standing in for the
 * pre-signed ResponseURL).
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import type { Context } from 'aws-lambda';
import { stackDeleteEvent } from './events';
import { handler, respondTo } from '../../src/encryption-check/check.lambda';
import { CloudFormationResponse, httpPut, responseBody, sendResponse } from '../../src/encryption-check/handler/respond';

const RESPONSE: CloudFormationResponse = {
  Status: 'SUCCESS',
  PhysicalResourceId: 's3-encryption-check:Check',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Test/00000000-0000-0000-0000-000000000000',
  RequestId: 'request-1',
  LogicalResourceId: 'Check',
};

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

function scripted(answers: (number | Error)[]) {
  const bodies: string[] = [];
  const put = jest.fn(async (_url: string, body: string) => {
    bodies.push(body);
    const next = answers.shift() ?? 200;
    if (next instanceof Error) {
      throw next;
    }
    return next;
  });
  return { put, bodies };
}

const noSleep = { sleep: async () => undefined };

describe('sendResponse', () => {
  test('retries network errors, 5xx and 429, then delivers', async () => {
    const { put } = scripted([new Error('ECONNRESET'), 503, 429, 200]);
    const result = await sendResponse('https://example.com/r', RESPONSE, { deadline: Date.now() + 60_000, put, ...noSleep });
    expect(result).toMatchObject({ delivered: true, attempts: 4 });
  });

  test('does not retry a 403 (an expired or foreign URL), and does not throw', async () => {
    const { put } = scripted([403]);
    const result = await sendResponse('https://example.com/r', RESPONSE, { deadline: Date.now() + 60_000, put, ...noSleep });
    expect(result).toMatchObject({ delivered: false, attempts: 1, error: 'HTTP 403' });
  });

  test('gives up after the bounded number of attempts, and never throws', async () => {
    const { put } = scripted([500, 500, 500, 500, 500, 500, 500]);
    const result = await sendResponse('https://example.com/r', RESPONSE, { deadline: Date.now() + 60_000, put, ...noSleep });
    expect(result).toMatchObject({ delivered: false, attempts: 5, error: 'HTTP 500' });
  });

  test('stops at its deadline', async () => {
    let clock = 0;
    const put = jest.fn(async () => {
      clock += 3_000;
      return 500;
    });
    const result = await sendResponse('https://example.com/r', RESPONSE, { deadline: 5_000, put, now: () => clock, ...noSleep });
    expect(result.delivered).toBe(false);
    expect(put.mock.calls.length).toBeLessThanOrEqual(2);
  });

  test('a put that throws synchronously is still caught', async () => {
    const put = jest.fn(() => {
      throw new Error('boom');
    }) as never;
    const result = await sendResponse('https://example.com/r', RESPONSE, { deadline: Date.now() + 60_000, put, attempts: 2, ...noSleep });
    expect(result).toMatchObject({ delivered: false, attempts: 2, error: 'boom' });
  });
});

describe('responseBody: at most 4,096 bytes', () => {
  test('a long reason naming many buckets is cut, keeping its head', () => {
    const reason = `S3 encryption check failed for 200 of 200 bucket(s): ${Array.from({ length: 200 }, (_, i) => `bucket b-${i} found 1 violation(s): "é" ${'x'.repeat(40)}`).join(' | ')}`;
    const body = responseBody({ ...RESPONSE, Status: 'FAILED', Reason: reason });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4_096);
    const parsed = JSON.parse(body);
    expect(parsed.Status).toBe('FAILED');
    expect(parsed.Reason).toMatch(/^S3 encryption check failed for 200 of 200 bucket\(s\): bucket b-0 found/);
    expect(parsed.Reason).toMatch(/cut to fit the 4 KB response/);
  });

  test('attributes that do not fit turn the answer into FAILED, saying why', () => {
    const data = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}.Report`, 'r'.repeat(900)]));
    const body = responseBody({ ...RESPONSE, Data: data });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4_096);
    expect(JSON.parse(body)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/do not fit CloudFormation's 4 KB response/) });
    expect(JSON.parse(body).Data).toBeUndefined();
  });

  test('a response that fits is sent as is', () => {
    expect(responseBody(RESPONSE)).toBe(JSON.stringify(RESPONSE));
  });
});

describe('the Lambda entry point answers CloudFormation itself', () => {
  let server: http.Server;
  let received: { method?: string; contentType?: string; body: string }[];
  let url: string;
  beforeEach(async () => {
    received = [];
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        received.push({ method: request.method, contentType: request.headers['content-type'], body });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=abc`;
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  const context = { getRemainingTimeInMillis: () => 60_000, invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:check' } as Context;

  test('httpPut sends a PUT with an empty content type', async () => {
    expect(await httpPut(url, '{"a":1}', 2_000)).toBe(200);
    expect(received).toEqual([{ method: 'PUT', contentType: '', body: '{"a":1}' }]);
  });

  test('Delete with null properties: SUCCESS is delivered, and the invocation succeeds', async () => {
    await expect(handler({ ...stackDeleteEvent(null), ResponseURL: url }, context)).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 's3-encryption-check:CdkS3EncryptionCheck87C788ED', RequestId: 'request-1' });
  });

  test('an invalid event is answered FAILED with the property named; the invocation does not fail', async () => {
    await expect(handler({ ...stackDeleteEvent(null), RequestType: 'Create', ResourceProperties: { Buckets: 7 }, ResponseURL: url }, context)).resolves.toBeUndefined();
    expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/Buckets must be a list of bucket entries, got 7/) });
  });

  test('an event without a ResponseURL cannot be answered: logged, never thrown', async () => {
    await expect(handler({ RequestType: 'Create' }, context)).resolves.toBeUndefined();
    expect(console.error).toHaveBeenCalledWith(expect.stringMatching(/ResponseURL must be a non-empty string/));
    await expect(handler(null, context)).resolves.toBeUndefined();
  });

  test('the watchdog answers FAILED when the check does not finish before its response reserve', async () => {
    // 11.5 s left and a response reserve of 10 s: the watchdog fires after 2.5 s.
    const started = Date.now();
    const event = { ...stackDeleteEvent(null), RequestType: 'Create', ResponseURL: url };
    const left = { ...context, getRemainingTimeInMillis: () => started + 11_500 - Date.now() } as Context;
    await respondTo(event, left, () => new Promise(() => undefined));
    // Fired at 2.5 s, well before the 11.5 s the invocation had (loose bounds: a loaded CI machine).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/did not finish within its deadline/) });
  }, 15_000);

  test('the watchdog answers a hanging Delete with SUCCESS: Delete never fails', async () => {
    const started = Date.now();
    const left = { ...context, getRemainingTimeInMillis: () => started + 10_200 - Date.now() } as Context;
    await respondTo({ ...stackDeleteEvent(null), ResponseURL: url }, left, () => new Promise(() => undefined));
    expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'SUCCESS' });
  }, 15_000);

  test('a check that throws anyway is answered FAILED by the watchdog, never left unanswered', async () => {
    const started = Date.now();
    const event = { ...stackDeleteEvent(null), RequestType: 'Create', ResponseURL: url };
    const left = { ...context, getRemainingTimeInMillis: () => started + 10_200 - Date.now() } as Context;
    await respondTo(event, left, () => Promise.reject(new Error('boom')));
    expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/boom/) });
  }, 15_000);
});
