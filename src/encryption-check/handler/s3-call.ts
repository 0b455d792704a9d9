/**
 * Calls S3 with retries on throttling and 5xx answers, exponential backoff with full jitter,
 * and a hard deadline enforced through an AbortSignal on every request. The SDK's own retries
 * are turned off (`maxAttempts: 1`) so that this is the only retry loop, and so that unit
 * tests with a mocked `send` exercise it.
 */

/** What S3 answered to one request: an HTTP status, an error code and message. */
export interface S3Answer {
  readonly status?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Raised when the check's deadline passes before a request completes. */
export class DeadlineExceeded extends Error {
  constructor(what: string) {
    super(`deadline reached before ${what} completed`);
    this.name = 'DeadlineExceeded';
  }
}

const RETRYABLE_CODES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestTimeout',
  'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError',
  'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'EAI_AGAIN',
]);

/** Raised when one attempt got no answer within `attemptTimeoutMs`: a fault, retried. */
export class AttemptTimedOut extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The status, code and message of an SDK error (HEAD errors carry no body, only a status). */
export function answerOf(error: unknown): S3Answer {
  const e = error as { name?: string; code?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return {
    status: e?.$metadata?.httpStatusCode,
    // A Node network error is named plain `Error`; its code (ECONNRESET) says more.
    code: e?.Code ?? (e?.name && e.name !== 'Error' ? e.name : e?.code ?? e?.name),
    message: e?.message,
  };
}

/** `403 AccessDenied "Access Denied"`, or `200` for a success. */
export function describeAnswer(answer: S3Answer | undefined): string {
  if (!answer) {
    return 'nothing (not sent)';
  }
  return [answer.status ?? 'no HTTP answer', answer.code, answer.message && answer.message !== answer.code ? `"${answer.message}"` : undefined]
    .filter((part) => part !== undefined && part !== '').join(' ');
}

/**
 * Whether an answer is a fault of S3 or of the network rather than S3's verdict on the request:
 * a 5xx (503 SlowDown included), throttling, no answer at all (a reset connection, a timeout),
 * or the check's own deadline. A fault says nothing about the bucket's configuration.
 */
export function isFault(answer: S3Answer | undefined): boolean {
  if (answer === undefined) {
    return false;
  }
  if (answer.status === undefined) {
    return true;
  }
  return answer.status >= 500 || answer.status === 429 || (answer.code !== undefined && RETRYABLE_CODES.has(answer.code));
}

/** Whether an answer leaves the outcome of a write unknown: the request may have reached S3 and landed. */
export function outcomeUnknown(answer: S3Answer | undefined): boolean {
  return answer !== undefined && answer.status === undefined;
}

/** `503 SlowDown` or, without an HTTP answer, `no answer (ECONNRESET)`: one failed attempt, without the message. */
function shortAnswer(answer: S3Answer): string {
  if (answer.status === undefined) {
    return `no answer (${answer.message ?? answer.code ?? 'unknown error'})`;
  }
  return [answer.status, answer.code].filter((x) => x !== undefined && x !== '').join(' ');
}

/**
 * The failed attempts of one request, as a fault is named in the report:
 * `S3 answered 503 SlowDown 3 times`, `no answer (socket hang up) 2 times, then 500 InternalError`.
 */
export function describeAttempts(attempts: readonly S3Answer[]): string {
  const groups: { what: string; count: number }[] = [];
  for (const answer of attempts) {
    const what = shortAnswer(answer);
    const last = groups[groups.length - 1];
    if (last?.what === what) {
      last.count++;
    } else {
      groups.push({ what, count: 1 });
    }
  }
  const parts = groups.map((g) => `${g.what}${g.count > 1 ? ` ${g.count} times` : ''}`);
  const text = parts.join(', then ');
  return attempts[0]?.status !== undefined ? `S3 answered ${text}` : text;
}

/** Whether an error is S3 refusing the request on authorization grounds (a policy or a block). */
export function isAccessDenied(error: unknown): boolean {
  const answer = answerOf(error);
  return answer.status === 403 && (answer.code === 'AccessDenied' || answer.code === '403' || answer.code === 'Forbidden');
}

function isRetryable(error: unknown): boolean {
  const answer = answerOf(error);
  if (error instanceof DeadlineExceeded) {
    return false;
  }
  if (answer.status !== undefined && answer.status >= 500) {
    return true;
  }
  if (answer.code !== undefined && RETRYABLE_CODES.has(answer.code)) {
    return true;
  }
  // No HTTP status at all: the request never got an answer (network error).
  return answer.status === undefined && (error as { name?: string })?.name !== 'AbortError';
}

/** Options of an `S3Caller`. */
export interface S3CallerOptions {
  /** Epoch milliseconds after which no request is started or awaited. */
  readonly deadline: number;
  /** Attempts per request, the first included. */
  readonly maxAttempts?: number;
  /** First backoff in milliseconds; doubles per attempt, full jitter. */
  readonly baseDelayMs?: number;
  /** Longest backoff in milliseconds. */
  readonly maxDelayMs?: number;
  /** How long AccessDenied is retried for calls that ask for it (IAM propagation). */
  readonly accessDeniedWaitMs?: number;
  /**
   * Longest wait for one attempt's answer before it is abandoned (a fault, retried like a 5xx),
   * so that one hung connection cannot use up the whole deadline.
   * @default 10_000
   */
  readonly attemptTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** Per-call options. */
export interface CallOptions {
  /**
   * Retry AccessDenied for up to `accessDeniedWaitMs`: only for requests the handler must be
   * allowed to make, whose refusal right after deployment means the new role or bucket policy
   * has not propagated yet.
   */
  readonly retryAccessDenied?: boolean;
  /** Receives what S3 answered to every failed attempt, in order (the caller's own list). */
  readonly attempts?: S3Answer[];
}

/** Counts and retries S3 requests within a deadline. */
export class S3Caller {
  /** Requests sent, retries included. */
  public requests = 0;
  private readonly started: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: S3CallerOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  /** Runs `request` (one S3 call), retrying what may succeed on a later attempt. */
  public async call<T>(what: string, request: (abortSignal: AbortSignal) => Promise<T>, callOptions: CallOptions = {}): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const base = this.options.baseDelayMs ?? 200;
    const cap = this.options.maxDelayMs ?? 5_000;
    const accessDeniedUntil = this.started + (this.options.accessDeniedWaitMs ?? 20_000);
    const attemptTimeout = this.options.attemptTimeoutMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      const remaining = this.options.deadline - this.now();
      if (remaining <= 0) {
        throw new DeadlineExceeded(what);
      }
      this.requests++;
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let attemptTimer: ReturnType<typeof setTimeout> | undefined;
      let abandoned = false;
      // The race makes the deadline hard even if a request ignores its abort signal.
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new DeadlineExceeded(what));
        }, remaining);
        if (attemptTimeout < remaining) {
          attemptTimer = setTimeout(() => {
            abandoned = true;
            controller.abort();
            reject(new AttemptTimedOut(what, attemptTimeout));
          }, attemptTimeout);
        }
      });
      try {
        return await Promise.race([request(controller.signal), expired]);
      } catch (caught) {
        let error = caught;
        if (controller.signal.aborted) {
          if (!abandoned) {
            callOptions.attempts?.push(answerOf(new DeadlineExceeded(what)));
            throw new DeadlineExceeded(what);
          }
          error = new AttemptTimedOut(what, attemptTimeout);
        }
        callOptions.attempts?.push(answerOf(error));
        const waitForPermissions = callOptions.retryAccessDenied && isAccessDenied(error) && this.now() < accessDeniedUntil;
        const retry = waitForPermissions || (isRetryable(error) && attempt < maxAttempts);
        if (!retry) {
          throw error;
        }
        const delay = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
        if (this.now() + delay >= this.options.deadline) {
          throw error;
        }
        await this.sleep(delay);
      } finally {
        clearTimeout(timer);
        clearTimeout(attemptTimer);
      }
    }
  }
}
