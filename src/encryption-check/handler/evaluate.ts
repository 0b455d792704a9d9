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

/** What a refused configuration read needs, for the violation message. */
const READ_OF: Record<string, { readonly what: string; readonly action: string }> = {
  GetBucketEncryption: { what: 'its encryption configuration', action: 's3:GetEncryptionConfiguration' },
  GetBucketPolicy: { what: 'its bucket policy', action: 's3:GetBucketPolicy' },
  GetObjectLockConfiguration: { what: 'its Object Lock configuration', action: 's3:GetBucketObjectLockConfiguration' },
};

/**
 * Whether S3 refused an upload on policy (or BlockedEncryptionTypes) grounds: 403 AccessDenied.
 * Another 403 (KMS refusing the foreign key, radosgw's InvalidAccessKeyId for an unknown key)
 * means the request got past the bucket policy. `undefined`: not known.
 *
 * The rule for a handler that lacks access: when any configuration read was answered 403 too,
 * a 403 AccessDenied on an upload may just as well be the handler's own missing permission, so it
 * proves nothing and is `undefined` (unverified), never "refused".
 */
function refusalOf(handlerDenied: boolean) {
  return (result: UploadResult | undefined): boolean | undefined => {
    if (result === undefined || result.timedOut) {
      return undefined;
    }
    const accessDenied = result.answer.status === 403 && result.answer.code === 'AccessDenied';
    return accessDenied && handlerDenied ? undefined : accessDenied;
  };
}

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
  // Object Lock default retention is the one documented reason to leave a declared expectation
  // unverified (no undeletable probe is written). Any other reason makes it a violation: a check
  // that could not look must not pass.
  const lockedSafely = observed.configuration.objectLock === 'DEFAULT_RETENTION';
  const unverifiedDeclared = (expected: string, why: string) => {
    unverified.push(`${expected} (${why})`);
    if (!lockedSafely) {
      violations.push(`bucket ${bucket}: the check could not verify ${expected}: ${why}`);
    }
  };

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
    const read = READ_OF[failure.request] ?? { what: failure.request, action: `the permission for ${failure.request}` };
    // 403: a missing grant. 405: S3 answers GetBucketPolicy only to the bucket owner's account.
    // Anything else (5xx after the retries, no answer) may pass on a later deployment.
    const remedy = failure.answer.status === 403 ? `grant the handler role ${read.action} on the bucket`
      : failure.answer.status === 405 ? 'S3 answers it only to identities of the bucket owner\'s account' : 'deploy again later';
    violations.push(`bucket ${bucket}: the check could not read ${read.what} (${failure.request}): S3 answered ${describe(failure.answer)}; ${remedy}, or use onViolation WARN`);
  }
  const handlerDenied = config.failures.some((f) => f.answer.status === 403);
  const refused = refusalOf(handlerDenied);
  const why = (result: UploadResult | undefined): string => result === undefined
    ? observed.uploadsSkipped ? `no upload was made: ${observed.uploadsSkipped}` : 'the probe was not run'
    : `S3 answered ${describe(result.answer)}, and configuration reads were refused too, so the refusal may be the handler's own missing access`;

  // SSE-C
  let sseCObserved: CheckAttributes['SseC'] = 'UNVERIFIED';
  if (sseC && !sseC.timedOut) {
    if (sseC.accepted) {
      sseCObserved = refused(plain) && !declared?.accepted ? 'REQUIRED' : 'ALLOWED';
    } else if (refused(sseC)) {
      sseCObserved = 'BLOCKED';
    }
  }
  if (props.ExpectSseC === 'BLOCKED') {
    if (sseC === undefined || (!sseC.accepted && refused(sseC) === undefined)) {
      unverifiedDeclared('that SSE-C uploads are refused', why(sseC));
    } else if (!refused(sseC)) {
      violation('sse-c-upload', 'SSE-C uploads to be refused with 403', describe(sseC.answer));
    }
  } else if (sseC === undefined) {
    unverifiedDeclared(`that SSE-C uploads are accepted (${props.ExpectSseC})`, why(sseC));
  } else if (!sseC.accepted) {
    violation('sse-c-upload', 'SSE-C uploads to be accepted', describe(sseC.answer));
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
  if (absentExpectedRefused && (plain === undefined || (!plain.accepted && refused(plain) === undefined))) {
    unverifiedDeclared('that uploads without encryption headers are refused', why(plain));
  } else if (plain && !plain.timedOut) {
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

  const configWhy = config.failures.some((f) => f.request === 'GetBucketEncryption') ? 'GetBucketEncryption could not be read' : 'GetBucketEncryption showed no rule';
  const unknownWhy = observed.uploadsSkipped
    ? `no upload was made (${observed.uploadsSkipped}) and ${configWhy}`
    : source ? `S3 reported no algorithm for the accepted ${source.probe} and ${configWhy}` : `no upload was accepted and ${configWhy}`;
  if (props.ExpectAlgorithm !== undefined) {
    if (algorithm === undefined) {
      unverifiedDeclared(`the default algorithm ${props.ExpectAlgorithm}`, unknownWhy);
    } else if (algorithm !== props.ExpectAlgorithm) {
      violation(where, `algorithm ${props.ExpectAlgorithm}`, `${what} algorithm ${algorithm}`);
    }
  }
  if (props.ExpectKmsKeyArn !== undefined) {
    if (algorithm === undefined) {
      unverifiedDeclared(`the KMS key ${props.ExpectKmsKeyArn}`, unknownWhy);
    } else if (!sameKey(kmsKeyArn, props.ExpectKmsKeyArn)) {
      violation(where, `KMS key ${props.ExpectKmsKeyArn}`, `${what} KMS key ${kmsKeyArn ?? 'none'}`);
    }
  }
  if (props.ExpectBucketKey !== undefined) {
    if (bucketKey === undefined) {
      unverifiedDeclared(`BucketKeyEnabled ${props.ExpectBucketKey}`, unknownWhy);
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
      if (probe && !probe.timedOut && !probe.accepted && refused(probe) === undefined) {
        unverifiedDeclared(`that ${probe.probe} is refused`, why(probe));
      } else if (probe && !probe.timedOut && !refused(probe)) {
        violation(probe.probe, 'a 403 refusal', describe(probe.answer));
      }
    }
    if (!mismatched) {
      unverifiedDeclared('that a mismatched encryption header is refused',
        observed.uploadsSkipped ? `no upload was made: ${observed.uploadsSkipped}` : 'the bucket\'s algorithm is unknown, so no mismatch could be sent');
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
