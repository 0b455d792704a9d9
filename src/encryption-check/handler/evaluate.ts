import { BucketConfiguration } from './configuration';
import { SseCReadBack, StoredEncryption, UploadProbe, UploadResult } from './probes';
import { describeAnswer } from './s3-call';
import { CheckAttributes, CheckProperties, Observation } from '../types';

/** Everything the check observed, before it is compared with the expectations. */
export interface Observations {
  readonly configuration: BucketConfiguration;
  /** Upload probes by name; a probe that was not run is absent. */
  readonly uploads: Partial<Record<UploadProbe, UploadResult>>;
  readonly sseCReadBack?: SseCReadBack;
  /** HeadObject of the accepted upload without SSE-C. */
  readonly stored?: StoredEncryption;
  /** Why uploads were not made, if they were not. */
  readonly uploadsSkipped?: string;
}

/** The outcome: attributes, violations (each names bucket, probe and answer) and what could not be verified. */
export interface Evaluation {
  readonly attributes: Omit<CheckAttributes, 'Report' | 'Violations'>;
  readonly violations: string[];
  readonly unverified: string[];
}

/** What S3 answered, for a message. */
export const describe = describeAnswer;

// S3 refuses on policy (and BlockedEncryptionTypes) grounds with 403 AccessDenied. Another 403
// (KMS refusing the foreign key, radosgw's InvalidAccessKeyId for an unknown key) means the
// request got past the bucket policy.
const refused = (result: UploadResult | undefined): boolean | undefined =>
  result === undefined || result.timedOut ? undefined : result.answer.status === 403 && result.answer.code === 'AccessDenied';

const observation = (value: boolean | undefined): Observation => value === undefined ? 'UNVERIFIED' : value ? 'true' : 'false';

/** Whether two KMS key references name the same key (ARN or bare key id). */
export function sameKey(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) {
    return a === b;
  }
  const id = (k: string) => k.replace(/^arn:[^:]+:kms:[^:]*:[^:]*:key\//, '');
  return a === b || id(a) === id(b);
}

/** Compares the observations with the expectations in `props`. */
export function evaluate(props: CheckProperties, observed: Observations): Evaluation {
  const bucket = props.BucketName;
  const violations: string[] = [];
  const unverified: string[] = [];
  const violation = (probe: string, expected: string, answer: string) =>
    violations.push(`bucket ${bucket}, probe ${probe}: expected ${expected}, but S3 answered ${answer}`);

  const { configuration: config, uploads } = observed;
  const sseC = uploads['sse-c-upload'];
  const plain = uploads['upload-without-headers'];
  const declared = uploads['upload-with-declared-headers'];
  const mismatched = uploads['upload-with-mismatched-algorithm'];
  const foreign = uploads['upload-with-foreign-kms-key'];

  if (observed.uploadsSkipped) {
    unverified.push(`uploads (${observed.uploadsSkipped}): SSE-C behaviour, applied encryption and header enforcement were not probed`);
  }
  for (const failure of config.failures) {
    unverified.push(`${failure.request}: ${describe(failure.answer)}`);
  }

  // SSE-C
  let sseCObserved: CheckAttributes['SseC'] = 'UNVERIFIED';
  if (sseC && !sseC.timedOut) {
    if (sseC.accepted) {
      sseCObserved = refused(plain) && !declared?.accepted ? 'REQUIRED' : 'ALLOWED';
    } else if (refused(sseC)) {
      sseCObserved = 'BLOCKED';
    }
  }
  if (sseC) {
    if (props.ExpectSseC === 'BLOCKED' && !refused(sseC)) {
      violation('sse-c-upload', 'SSE-C uploads to be refused with 403', describe(sseC.answer));
    }
    if (props.ExpectSseC !== 'BLOCKED' && !sseC.accepted) {
      violation('sse-c-upload', 'SSE-C uploads to be accepted', describe(sseC.answer));
    }
  }
  const readBack = observed.sseCReadBack;
  if (readBack) {
    const status = readBack.headWithoutKey.status;
    if (status === undefined || status < 400 || status >= 500) {
      violation('sse-c-head-without-key', 'HeadObject without the customer key to be refused (400 or 403)', describe(readBack.headWithoutKey));
    }
    if (readBack.bodyMatches === undefined) {
      violation('sse-c-get-with-key', 'GetObject with the customer key to return the object', describe(readBack.getWithKey));
    } else if (!readBack.bodyMatches || readBack.algorithm !== 'AES256' || !readBack.keyMd5Matches) {
      violation('sse-c-get-with-key', 'the same bytes, SSECustomerAlgorithm AES256 and the key\'s MD5',
        `${describe(readBack.getWithKey)} with ${readBack.bodyMatches ? 'the same' : 'different'} bytes, algorithm ${readBack.algorithm ?? 'none'}, key MD5 ${readBack.keyMd5Matches ? 'matching' : 'not matching'}`);
    }
  }

  // Uploads without headers
  const absentExpectedRefused = props.ExpectSseC === 'REQUIRED' || props.ExpectHeaders === 'REQUIRE';
  if (plain && !plain.timedOut) {
    if (absentExpectedRefused && !refused(plain)) {
      violation('upload-without-headers', 'uploads without encryption headers to be refused with 403', describe(plain.answer));
    } else if (!absentExpectedRefused && !plain.accepted) {
      violation('upload-without-headers', 'uploads without encryption headers to be accepted', describe(plain.answer));
    }
  }
  if (declared && !declared.timedOut && !declared.accepted) {
    violation('upload-with-declared-headers', 'uploads that name the declared encryption to be accepted', describe(declared.answer));
  }

  // Applied encryption: what HeadObject reports for the accepted upload (falling back to the
  // PutObject answer if HeadObject failed), else the configuration read back.
  const source = plain?.accepted ? plain : declared?.accepted ? declared : undefined;
  const stored = observed.stored;
  if (stored && !stored.applied) {
    unverified.push(`HeadObject of ${stored.probe}: ${describe(stored.answer)} (the PutObject answer is used instead)`);
  }
  const applied = stored?.applied ?? source?.applied;
  const fromConfig = !applied && config.encryptionRules;
  const algorithm = applied ? applied.algorithm : fromConfig ? config.algorithm : undefined;
  const kmsKeyArn = applied ? applied.kmsKeyArn : fromConfig ? config.kmsKeyArn : undefined;
  const bucketKey = applied
    ? (applied.algorithm?.startsWith('aws:kms') ? applied.bucketKeyEnabled === true : false)
    : fromConfig ? config.bucketKeyEnabled === true : undefined;
  const where = source ? (stored?.applied ? `head-object (${source.probe})` : source.probe) : 'GetBucketEncryption';
  const what = source ? `${describe(source.answer)} with` : 'a configuration with';

  if (props.ExpectAlgorithm !== undefined) {
    if (algorithm === undefined) {
      unverified.push(`default algorithm (expected ${props.ExpectAlgorithm})`);
    } else if (algorithm !== props.ExpectAlgorithm) {
      violation(where, `algorithm ${props.ExpectAlgorithm}`, `${what} algorithm ${algorithm}`);
    }
  }
  if (props.ExpectKmsKeyArn !== undefined) {
    if (algorithm === undefined) {
      unverified.push(`KMS key (expected ${props.ExpectKmsKeyArn})`);
    } else if (!sameKey(kmsKeyArn, props.ExpectKmsKeyArn)) {
      violation(where, `KMS key ${props.ExpectKmsKeyArn}`, `${what} KMS key ${kmsKeyArn ?? 'none'}`);
    }
  }
  if (props.ExpectBucketKey !== undefined) {
    if (bucketKey === undefined) {
      unverified.push(`Bucket Key (expected ${props.ExpectBucketKey})`);
    } else if (String(bucketKey) !== props.ExpectBucketKey) {
      violation(where, `BucketKeyEnabled ${props.ExpectBucketKey}`, `${what} BucketKeyEnabled ${bucketKey}`);
    }
  }
  // The configuration must agree with the declaration even when an upload showed it.
  if (config.encryptionRules && source) {
    if (props.ExpectAlgorithm !== undefined && config.algorithm !== props.ExpectAlgorithm) {
      violation('GetBucketEncryption', `algorithm ${props.ExpectAlgorithm}`, `a configuration with algorithm ${config.algorithm}`);
    }
    if (props.ExpectKmsKeyArn !== undefined && !sameKey(config.kmsKeyArn, props.ExpectKmsKeyArn)) {
      violation('GetBucketEncryption', `KMS key ${props.ExpectKmsKeyArn}`, `a configuration with KMS key ${config.kmsKeyArn ?? 'none'}`);
    }
  }

  // Mismatched headers
  const mismatchRefused = mismatched === undefined && foreign === undefined
    ? undefined
    : [mismatched, foreign].filter((r) => r !== undefined).every((r) => refused(r) === true)
      ? true
      : [mismatched, foreign].some((r) => r !== undefined && !r.timedOut && refused(r) === false) ? false : undefined;
  if (props.ExpectHeaders === 'DENY_MISMATCH' || props.ExpectHeaders === 'REQUIRE') {
    for (const probe of [mismatched, foreign]) {
      if (probe && !probe.timedOut && !refused(probe)) {
        violation(probe.probe, 'a 403 refusal', describe(probe.answer));
      }
    }
    if (!mismatched && !observed.uploadsSkipped) {
      unverified.push('mismatched algorithm header (the bucket\'s algorithm is unknown)');
    }
  }

  // Bucket policy Sids
  const expectedSids = props.ExpectPolicySids ?? [];
  if (expectedSids.length > 0) {
    if (config.policySids === undefined) {
      unverified.push(`bucket policy Sids (expected ${expectedSids.join(', ')})`);
    } else {
      const missing = expectedSids.filter((sid) => !config.policySids!.includes(sid));
      if (missing.length > 0) {
        violation('GetBucketPolicy', `statements ${missing.join(', ')}`, `a policy with ${config.policySids.length ? config.policySids.join(', ') : 'no Sids'}`);
      }
    }
  }

  return {
    attributes: {
      SseC: sseCObserved,
      DefaultAlgorithm: algorithm ?? '',
      KmsKeyArn: kmsKeyArn ?? '',
      BucketKeyEnabled: observation(bucketKey),
      MismatchedHeaderRefused: observation(mismatchRefused),
      AbsentHeaderRefused: observation(refused(plain)),
    },
    violations,
    unverified,
  };
}
