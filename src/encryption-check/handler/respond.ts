import * as http from 'http';
import * as https from 'https';
import { RESPONSE_LIMIT } from '../types';

/** The answer to CloudFormation (the body PUT to the pre-signed ResponseURL). */
export interface CloudFormationResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, string>;
}

/** PUTs `body` to `url` and resolves with the HTTP status; rejects on network errors or timeout. */
export type PutRequest = (url: string, body: string, timeoutMs: number) => Promise<number>;

export interface SendOptions {
  /** Epoch milliseconds by which sending must be over (delivered or given up). */
  readonly deadline: number;
  readonly put?: PutRequest;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Attempts at most (first included). */
  readonly attempts?: number;
}

export interface SendResult {
  readonly delivered: boolean;
  readonly attempts: number;
  /** The last failure, when not delivered. */
  readonly error?: string;
  /** The body as sent (after fitting it into the size limit). */
  readonly body: string;
}

const TRUNCATED = ' ... (cut to fit the 4 KB response; the full text is in the check handler\'s log)';

/**
 * The response body, within CloudFormation's 4,096-byte limit. The reason is cut first (its
 * head names the failing buckets); if the attributes alone are too large (a hand-written
 * template referencing too many), the response becomes FAILED with a reason that says so.
 */
export function responseBody(response: CloudFormationResponse): string {
  const body = JSON.stringify(response);
  if (Buffer.byteLength(body) <= RESPONSE_LIMIT) {
    return body;
  }
  const withoutReason = JSON.stringify({ ...response, Reason: '' });
  const room = RESPONSE_LIMIT - Buffer.byteLength(withoutReason) - TRUNCATED.length - 16;
  if (room > 200 && response.Reason) {
    let reason = response.Reason.slice(0, room);
    // Escapes and multi-byte characters can make JSON longer than the string.
    while (Buffer.byteLength(JSON.stringify({ ...response, Reason: reason + TRUNCATED })) > RESPONSE_LIMIT) {
      reason = reason.slice(0, Math.floor(reason.length * 0.9));
    }
    return JSON.stringify({ ...response, Reason: reason + TRUNCATED });
  }
  const failed: CloudFormationResponse = {
    ...response,
    Status: 'FAILED',
    Data: undefined,
    Reason: `the check's attributes do not fit CloudFormation's 4 KB response (${Buffer.byteLength(body)} bytes): reference fewer EncryptionCheck attributes. ${response.Reason ?? ''}`.slice(0, 2_000),
  };
  return JSON.stringify(failed);
}

/**
 * Sends the response to CloudFormation with bounded retries (network errors, timeouts, 5xx and
 * 429 are retried; other 4xx, such as an expired URL, are not). Never throws: an answer that
 * cannot be delivered is logged, and CloudFormation's ServiceTimeout ends the wait.
 */
export async function sendResponse(url: string, response: CloudFormationResponse, options: SendOptions): Promise<SendResult> {
  const put = options.put ?? httpPut;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const maxAttempts = options.attempts ?? 5;
  let body: string;
  try {
    body = responseBody(response);
  } catch (error) {
    body = JSON.stringify({ ...response, Status: 'FAILED', Data: undefined, Reason: `the response could not be serialized: ${(error as Error).message}` });
  }
  let attempts = 0;
  let error = 'no attempt was made before the deadline';
  while (attempts < maxAttempts) {
    const left = options.deadline - now();
    if (left <= 0) {
      break;
    }
    attempts++;
    try {
      const status = await put(url, body, Math.min(left, 5_000));
      if (status >= 200 && status < 300) {
        return { delivered: true, attempts, body };
      }
      error = `HTTP ${status}`;
      if (status < 500 && status !== 429) {
        break;
      }
    } catch (cause) {
      error = (cause as Error).message;
    }
    const backoff = Math.min(4_000, 250 * 2 ** (attempts - 1));
    if (attempts >= maxAttempts || now() + backoff >= options.deadline) {
      break;
    }
    await sleep(backoff);
  }
  console.error(JSON.stringify({ event: 'ResponseNotDelivered', attempts, error, status: response.Status }));
  return { delivered: false, attempts, error, body };
}

/** A PUT with the headers CloudFormation's pre-signed URL expects (empty content type). */
export function httpPut(url: string, body: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const transport = target.protocol === 'http:' ? http : https;
    const request = transport.request(target, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      timeout: timeoutMs,
    }, (answer) => {
      answer.resume();
      answer.on('end', () => resolve(answer.statusCode ?? 0));
      answer.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
