import { createHash } from 'crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { answerOf, CallOptions, DeadlineExceeded, describeAttempts, isFault, outcomeUnknown, S3Answer, S3Caller } from './s3-call';

/** The upload probes, by what they send. */
export type UploadProbe =
  | 'sse-c-upload'
  | 'upload-without-headers'
  | 'upload-with-declared-headers'
  | 'upload-with-mismatched-algorithm'
  | 'upload-with-foreign-kms-key';

/** What one upload probe observed. */
export interface UploadResult {
  readonly probe: UploadProbe;
  /** The key whose answer this result reports (a fresh key when the first one was re-probed). */
  readonly key: string;
  /** S3 answered 2xx. */
  readonly accepted: boolean;
  /** What S3 answered (status 200 on success). */
  readonly answer: S3Answer;
  /** An object may exist under `key`: accepted, or the outcome is unknown. */
  readonly mayExist: boolean;
  readonly versionId?: string;
  /** The encryption S3 says it applied (PutObject response headers). */
  readonly applied?: { readonly algorithm?: string; readonly kmsKeyArn?: string; readonly bucketKeyEnabled?: boolean };
  /** The deadline passed while the upload was in flight. */
  readonly timedOut?: boolean;
  /**
   * Set when the answer is no verdict of the bucket: the request failed on S3's or the
   * network's side (5xx, throttling, no answer, the deadline). Names the failed attempts.
   */
  readonly fault?: string;
  /**
   * Other keys this probe may have written (an earlier attempt whose answer was lost), with no
   * known version id: cleanup deletes them and lists the prefix for versions it did not know.
   */
  readonly alsoWritten?: string[];
  /**
   * The key of every attempt sent without any answer (reset, timeout, deadline), once per
   * attempt: each may have written a version no answer names, possibly after cleanup, so cleanup
   * looks for them once more at the end of its window.
   */
  readonly abandoned?: string[];
  /** What happened that the report should say (a 412 after a lost answer, say). */
  readonly notes?: string[];
}

/** A customer-provided key, held only in memory for one check. Never logged or returned. */
export interface CustomerKey {
  /** base64 of the 256-bit key. */
  readonly key: string;
  /** base64 MD5 of the key, as S3 echoes it. */
  readonly md5: string;
}

export function customerKeyOf(raw: Buffer): CustomerKey {
  return { key: raw.toString('base64'), md5: createHash('md5').update(raw).digest('base64') };
}

/** How many fresh keys an upload probe tries after a 412 that shows an earlier attempt landed. */
const FRESH_KEYS = 2;

/**
 * One conditional upload (`If-None-Match: *`, so an existing object is never overwritten) of
 * `body` under `key` with the given encryption headers. Never throws: every answer is a result.
 *
 * A retried attempt after a lost answer may meet its own earlier write: AWS then answers
 * `412 PreconditionFailed` (the key exists). That says the earlier attempt landed, not that the
 * bucket refused anything, so the probe is made again under a fresh key to get a complete
 * answer (the encryption applied, the version id); both keys are cleaned up.
 */
export async function upload(
  s3: S3Client, caller: S3Caller, bucket: string, probe: UploadProbe, key: string, body: Uint8Array,
  headers: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'SSECustomerAlgorithm' | 'SSECustomerKey'>,
  callOptions: CallOptions = {},
): Promise<UploadResult> {
  const alsoWritten: string[] = [];
  const abandoned: string[] = [];
  const notes: string[] = [];
  const faults: S3Answer[] = [];
  // One entry per attempt sent without any answer: each may have written a version, now or later.
  const abandon = (attemptKey: string, attempts: S3Answer[]) => attempts.filter(outcomeUnknown).forEach(() => abandoned.push(attemptKey));
  for (let fresh = 0; ; fresh++) {
    const attemptKey = fresh === 0 ? key : `${key}.${fresh + 1}`;
    const attempts: S3Answer[] = [];
    const extra = () => ({
      ...(alsoWritten.length ? { alsoWritten } : {}),
      ...(abandoned.length ? { abandoned } : {}),
      ...(notes.length ? { notes } : {}),
    });
    try {
      const response = await caller.call(probe, (abortSignal) => s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: attemptKey,
        Body: body,
        IfNoneMatch: '*',
        ContentType: 'application/octet-stream',
        ...headers,
      }), { abortSignal }), { ...callOptions, attempts });
      abandon(attemptKey, attempts);
      if (attempts.some(outcomeUnknown)) {
        // An earlier attempt's answer was lost; where S3 does not refuse the retry (radosgw
        // ignores If-None-Match), it may have written a second version that no answer names.
        notes.push(`${probe}: ${describeAttempts(attempts)} before it was accepted; an earlier attempt may have written a version whose id is unknown (cleanup lists the prefix for it)`);
      }
      return {
        probe,
        key: attemptKey,
        accepted: true,
        mayExist: true,
        answer: { status: response.$metadata?.httpStatusCode ?? 200 },
        versionId: response.VersionId,
        applied: {
          algorithm: response.ServerSideEncryption,
          kmsKeyArn: response.SSEKMSKeyId,
          bucketKeyEnabled: response.BucketKeyEnabled,
        },
        ...extra(),
      };
    } catch (error) {
      const answer = answerOf(error);
      const lastFailed = attempts.length > 0 ? attempts.length - 1 : 0;
      const earlier = attempts.slice(0, lastFailed);
      if (answer.status === 412 && earlier.length > 0) {
        // Our own earlier attempt landed (the key is random and only this probe writes it): a
        // lost answer, or a 5xx that S3 sent although the write completed. Not a refusal.
        notes.push(`${probe}: ${describeAttempts(earlier)}, then 412 PreconditionFailed on the retry: the earlier attempt had landed (the bucket accepted it); probed again under a fresh key`);
        alsoWritten.push(attemptKey);
        // The 412 proves one unanswered attempt landed already: it cannot land after cleanup.
        abandon(attemptKey, earlier.filter(outcomeUnknown).slice(1));
        faults.push(...earlier);
        if (fresh < FRESH_KEYS) {
          continue;
        }
        const fault = `${describeAttempts(faults)} on every fresh key (each earlier attempt landed but its answer was lost)`;
        return { probe, key: attemptKey, accepted: false, mayExist: true, answer, fault, ...extra() };
      }
      const timedOut = error instanceof DeadlineExceeded;
      abandon(attemptKey, attempts);
      const failedAttempts = attempts.length > 0 ? attempts : [answer];
      // A 412 on a first attempt means the random key already existed: no verdict either.
      const fault = isFault(answer) || answer.status === 412
        ? describeAttempts([...faults, ...failedAttempts])
        : undefined;
      // A 4xx means S3 refused the request: nothing was written. Anything else (a 5xx after the
      // last retry, a network error, the deadline) may have left an object behind, unless no
      // attempt went unanswered and the last one was a definite refusal.
      const refused = answer.status !== undefined && answer.status >= 400 && answer.status < 500 && answer.status !== 412
        && !attempts.some(outcomeUnknown);
      return { probe, key: attemptKey, accepted: false, mayExist: !refused, answer, timedOut, ...(fault ? { fault } : {}), ...extra() };
    }
  }
}

/** Headers of an SSE-C upload with `customerKey`. */
export function sseCHeaders(customerKey: CustomerKey): Pick<PutObjectCommandInput, 'SSECustomerAlgorithm' | 'SSECustomerKey'> {
  return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.key };
}

/** Headers that name `algorithm` (and a KMS key). */
export function encryptionHeaders(algorithm: string, kmsKeyArn?: string): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
  return {
    ServerSideEncryption: algorithm as ServerSideEncryption,
    ...(kmsKeyArn && algorithm.startsWith('aws:kms') ? { SSEKMSKeyId: kmsKeyArn } : {}),
  };
}

/** What reading back an SSE-C probe object showed. */
export interface SseCReadBack {
  /** HeadObject without the key: must be refused (AWS 400, radosgw 400; 403 also counts). */
  readonly headWithoutKey: S3Answer;
  /** GetObject with the key. */
  readonly getWithKey: S3Answer;
  readonly bodyMatches?: boolean;
  readonly algorithm?: string;
  readonly keyMd5Matches?: boolean;
  /** The failed attempts of HeadObject, when its answer is a fault rather than a verdict. */
  readonly headFault?: string;
  /** The failed attempts of GetObject, when its answer is a fault rather than a verdict. */
  readonly getFault?: string;
}

/** Reads an SSE-C probe object back without and with its key, concurrently. Never throws. */
export async function readBackSseC(
  s3: S3Client, caller: S3Caller, bucket: string, key: string, customerKey: CustomerKey, body: Uint8Array,
): Promise<SseCReadBack> {
  const headAttempts: S3Answer[] = [];
  const getAttempts: S3Answer[] = [];
  const [headWithoutKey, get] = await Promise.all([
    caller.call('sse-c-head-without-key', (abortSignal) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
      { attempts: headAttempts })
      .then((r) => ({ status: r.$metadata?.httpStatusCode ?? 200 }) as S3Answer, answerOf),
    caller.call('sse-c-get-with-key', async (abortSignal) => {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseCHeaders(customerKey) }), { abortSignal });
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      return { response, bytes };
    }, { attempts: getAttempts }).then((r) => ({
      answer: { status: r.response.$metadata?.httpStatusCode ?? 200 } as S3Answer,
      bodyMatches: Buffer.from(r.bytes).equals(Buffer.from(body)),
      algorithm: r.response.SSECustomerAlgorithm,
      keyMd5Matches: r.response.SSECustomerKeyMD5 === customerKey.md5,
    }), (error) => ({ answer: answerOf(error) })),
  ]);
  return {
    headWithoutKey,
    getWithKey: get.answer,
    ...('bodyMatches' in get ? { bodyMatches: get.bodyMatches, algorithm: get.algorithm, keyMd5Matches: get.keyMd5Matches } : {}),
    ...(isFault(headWithoutKey) ? { headFault: describeAttempts(headAttempts.length ? headAttempts : [headWithoutKey]) } : {}),
    ...(!('bodyMatches' in get) && isFault(get.answer) ? { getFault: describeAttempts(getAttempts.length ? getAttempts : [get.answer]) } : {}),
  };
}

/** What HeadObject says is stored for an object uploaded without SSE-C. */
export interface StoredEncryption {
  readonly probe: UploadProbe;
  readonly answer: S3Answer;
  readonly applied?: UploadResult['applied'];
}

/** HeadObject of an accepted probe: the encryption S3 stored, as any reader sees it. Never throws. */
export async function readStoredEncryption(s3: S3Client, caller: S3Caller, bucket: string, uploaded: UploadResult): Promise<StoredEncryption> {
  try {
    const response = await caller.call('head-object', (abortSignal) => s3.send(new HeadObjectCommand({
      Bucket: bucket, Key: uploaded.key, VersionId: uploaded.versionId,
    }), { abortSignal }));
    return {
      probe: uploaded.probe,
      answer: { status: response.$metadata?.httpStatusCode ?? 200 },
      applied: { algorithm: response.ServerSideEncryption, kmsKeyArn: response.SSEKMSKeyId, bucketKeyEnabled: response.BucketKeyEnabled },
    };
  } catch (error) {
    return { probe: uploaded.probe, answer: answerOf(error) };
  }
}
