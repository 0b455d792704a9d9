import { createHash } from 'crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { answerOf, CallOptions, DeadlineExceeded, S3Answer, S3Caller } from './s3-call';

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

/**
 * One conditional upload (`If-None-Match: *`, so an existing object is never overwritten) of
 * `body` under `key` with the given encryption headers. Never throws: every answer is a result.
 */
export async function upload(
  s3: S3Client, caller: S3Caller, bucket: string, probe: UploadProbe, key: string, body: Uint8Array,
  headers: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'SSECustomerAlgorithm' | 'SSECustomerKey'>,
  callOptions: CallOptions = {},
): Promise<UploadResult> {
  try {
    const response = await caller.call(probe, (abortSignal) => s3.send(new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      IfNoneMatch: '*',
      ContentType: 'application/octet-stream',
      ...headers,
    }), { abortSignal }), callOptions);
    return {
      probe,
      key,
      accepted: true,
      mayExist: true,
      answer: { status: response.$metadata?.httpStatusCode ?? 200 },
      versionId: response.VersionId,
      applied: {
        algorithm: response.ServerSideEncryption,
        kmsKeyArn: response.SSEKMSKeyId,
        bucketKeyEnabled: response.BucketKeyEnabled,
      },
    };
  } catch (error) {
    const answer = answerOf(error);
    const timedOut = error instanceof DeadlineExceeded;
    // A 4xx means S3 refused the request: nothing was written. Anything else (a 5xx after the
    // last retry, a network error, the deadline, a 412 after a retried write) may have left an
    // object behind, so cleanup looks for it.
    const refused = answer.status !== undefined && answer.status >= 400 && answer.status < 500 && answer.status !== 412;
    return { probe, key, accepted: false, mayExist: !refused, answer, timedOut };
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
}

/** Reads an SSE-C probe object back without and with its key, concurrently. */
export async function readBackSseC(
  s3: S3Client, caller: S3Caller, bucket: string, key: string, customerKey: CustomerKey, body: Uint8Array,
): Promise<SseCReadBack> {
  const [headWithoutKey, get] = await Promise.all([
    caller.call('sse-c-head-without-key', (abortSignal) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }))
      .then((r) => ({ status: r.$metadata?.httpStatusCode ?? 200 }) as S3Answer, (error) => rethrowDeadline(error)),
    caller.call('sse-c-get-with-key', async (abortSignal) => {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseCHeaders(customerKey) }), { abortSignal });
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      return { response, bytes };
    }).then((r) => ({
      answer: { status: r.response.$metadata?.httpStatusCode ?? 200 } as S3Answer,
      bodyMatches: Buffer.from(r.bytes).equals(Buffer.from(body)),
      algorithm: r.response.SSECustomerAlgorithm,
      keyMd5Matches: r.response.SSECustomerKeyMD5 === customerKey.md5,
    }), (error) => ({ answer: rethrowDeadline(error) })),
  ]);
  return {
    headWithoutKey,
    getWithKey: get.answer,
    ...('bodyMatches' in get ? { bodyMatches: get.bodyMatches, algorithm: get.algorithm, keyMd5Matches: get.keyMd5Matches } : {}),
  };
}

/** What HeadObject says is stored for an object uploaded without SSE-C. */
export interface StoredEncryption {
  readonly probe: UploadProbe;
  readonly answer: S3Answer;
  readonly applied?: UploadResult['applied'];
}

/** HeadObject of an accepted probe: the encryption S3 stored, as any reader sees it. */
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
    return { probe: uploaded.probe, answer: rethrowDeadline(error) };
  }
}

function rethrowDeadline(error: unknown): S3Answer {
  if (error instanceof DeadlineExceeded) {
    throw error;
  }
  return answerOf(error);
}
