import { BucketConfiguration } from './configuration';
import { SseCReadBack, StoredEncryption, UploadProbe, UploadResult } from './probes';
import { describeAnswer, S3Answer } from './s3-call';
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
  /**
   * `upload-with-declared-headers` was made because the upload without headers was refused
   * although headers are not declared REQUIRE (not because REQUIRE asks for it).
   */
  readonly declaredAfterRefusal?: boolean;
  /** The bucket does not exist: what S3 answered. Nothing else was observed. */
  readonly missingBucket?: S3Answer;
}

/** The outcome: attributes, violations (each names bucket, probe and answer) and what could not be verified. */
export interface Evaluation {
  readonly attributes: Omit<CheckAttributes, 'Report' | 'Violations'>;
  readonly violations: string[];
  readonly unverified: string[];
  /** Faults of S3 or the network that left an observation unverified, each named with its answers. */
  readonly faults: string[];
  /** What the bucket does that is stricter than declared, and how observations were made instead. */
  readonly notes: string[];
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
 * What one upload's answer says about the bucket:
 * - `accepted`: 2xx;
 * - `refused`: 403 AccessDenied, S3 refusing on policy (or BlockedEncryptionTypes) grounds;
 * - `rejected`: any other definite answer (KMS refusing the foreign key, a 400): the request got
 *   past the bucket policy;
 * - `fault`: no verdict at all (5xx, throttling, no answer, the deadline): see `UploadResult.fault`;
 * - `unattributable`: 403 AccessDenied while configuration reads were refused too, so it may just
 *   as well be the handler's own missing permission: it proves nothing;
 * - `absent`: the probe was not made.
 */
type Outcome = 'accepted' | 'refused' | 'rejected' | 'fault' | 'unattributable' | 'absent';

function outcomeOf(handlerDenied: boolean) {
  return (result: UploadResult | undefined): Outcome => {
    if (result === undefined) {
      return 'absent';
    }
    if (result.accepted) {
      return 'accepted';
    }
    if (result.fault !== undefined || result.timedOut) {
      return 'fault';
    }
    if (result.answer.status === 403 && result.answer.code === 'AccessDenied') {
      return handlerDenied ? 'unattributable' : 'refused';
    }
    return 'rejected';
  };
}

const FAULT = 'a fault of S3 or the network, not the bucket\'s verdict';

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
  const faults: string[] = [];
  const notes: string[] = [];
  const violation = (probe: string, expected: string, answer: string) =>
    violations.push(`bucket ${bucket}, probe ${probe}: expected ${expected}, but S3 answered ${answer}`);
  if (observed.missingBucket) {
    return {
      attributes: {
        SseC: 'UNVERIFIED', DefaultAlgorithm: '', KmsKeyArn: '', BucketKeyEnabled: 'UNVERIFIED', MismatchedHeaderRefused: 'UNVERIFIED', AbsentHeaderRefused: 'UNVERIFIED',
      },
      violations: [`bucket ${bucket} does not exist (S3 answered ${describe(observed.missingBucket)})`],
      unverified: ['everything: the bucket does not exist'],
      faults,
      notes,
    };
  }
  // Object Lock default retention is the one documented reason to leave a declared expectation
  // unverified (no undeletable probe is written). Any other reason makes it a violation: a check
  // that could not look must not pass. When the reason is a fault, the message names the fault.
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
    if (failure.fault) {
      faults.push(`${failure.request}: ${failure.fault}`);
      violations.push(`bucket ${bucket}: the check could not read ${read.what} (${failure.request}): ${failure.fault} (${FAULT}); deploy again later, or use onViolation WARN`);
      continue;
    }
    // 403: a missing grant. 405: S3 answers GetBucketPolicy only to the bucket owner's account.
    const remedy = failure.answer.status === 403 ? `grant the handler role ${read.action} on the bucket`
      : failure.answer.status === 405 ? 'S3 answers it only to identities of the bucket owner\'s account' : 'deploy again later';
    violations.push(`bucket ${bucket}: the check could not read ${read.what} (${failure.request}): S3 answered ${describe(failure.answer)}; ${remedy}, or use onViolation WARN`);
  }
  const handlerDenied = config.failures.some((f) => f.answer.status === 403);
  const outcome = outcomeOf(handlerDenied);
  for (const upload of [sseC, plain, declared, mismatched, foreign]) {
    if (upload?.fault) {
      faults.push(`${upload.probe}: ${upload.fault}`);
    }
    notes.push(...upload?.notes ?? []);
  }
  const why = (result: UploadResult | undefined): string => {
    if (result === undefined) {
      return observed.uploadsSkipped ? `no upload was made: ${observed.uploadsSkipped}` : 'the probe was not run';
    }
    if (outcome(result) === 'fault') {
      return `${result.fault ?? describe(result.answer)} (${FAULT})`;
    }
    return `S3 answered ${describe(result.answer)}, and configuration reads were refused too, so the refusal may be the handler's own missing access`;
  };

  const sseCOutcome = outcome(sseC);
  const plainOutcome = outcome(plain);
  const absentExpectedRefused = props.ExpectSseC === 'REQUIRED' || props.ExpectHeaders === 'REQUIRE';
  // An upload without headers refused although nothing declared asks for it: something outside
  // the bucket (typically an SCP requiring x-amz-server-side-encryption; it sees the request
  // before S3 applies the bucket default) is stricter than declared. That is reported, not failed.
  const stricterOutside = plainOutcome === 'refused' && !absentExpectedRefused;
  if (stricterOutside) {
    notes.push(`bucket ${bucket}: S3 refused an upload without encryption headers (${describe(plain!.answer)}) although encryptionHeaders is not REQUIRE: `
      + 'probably an SCP or a policy outside the bucket; stricter than declared');
  }

  // SSE-C
  let sseCObserved: CheckAttributes['SseC'] = 'UNVERIFIED';
  if (sseCOutcome === 'accepted') {
    sseCObserved = plainOutcome === 'refused' && !declared?.accepted ? 'REQUIRED' : 'ALLOWED';
  } else if (sseCOutcome === 'refused') {
    sseCObserved = 'BLOCKED';
  }
  const blockedByConfiguration = config.blockedEncryptionTypes?.includes('SSE-C') === true;
  if (props.ExpectSseC === 'BLOCKED') {
    if (sseCOutcome === 'accepted' || sseCOutcome === 'rejected') {
      violation('sse-c-upload', 'SSE-C uploads to be refused with 403', describe(sseC!.answer));
    } else if (sseCOutcome !== 'refused') {
      unverifiedDeclared('that SSE-C uploads are refused', why(sseC));
    } else if (stricterOutside) {
      notes.push(`bucket ${bucket}: the SSE-C refusal may come from the same policy outside the bucket (an SSE-C upload carries no x-amz-server-side-encryption header); `
        + (blockedByConfiguration ? 'the bucket blocks SSE-C itself too (BlockedEncryptionTypes SSE-C)' : 'GetBucketEncryption shows no BlockedEncryptionTypes SSE-C'));
    }
  } else if (sseCOutcome === 'refused' && stricterOutside && declared?.accepted && !blockedByConfiguration) {
    // Only once an upload WITH headers was accepted: else the handler may not be able to upload at all.
    sseCObserved = 'UNVERIFIED';
    unverified.push(`that SSE-C uploads are accepted (${props.ExpectSseC}): refused with ${describe(sseC!.answer)} like the upload without encryption headers, `
      + 'by the same policy outside the bucket (an SSE-C upload carries no x-amz-server-side-encryption header)');
    notes.push(`bucket ${bucket}: SSE-C uploads are refused although declared ${props.ExpectSseC}: stricter than declared`);
  } else if (sseCOutcome === 'refused' || sseCOutcome === 'rejected') {
    violation('sse-c-upload', 'SSE-C uploads to be accepted', describe(sseC!.answer));
  } else if (sseCOutcome !== 'accepted') {
    unverifiedDeclared(`that SSE-C uploads are accepted (${props.ExpectSseC})`, why(sseC));
  }
  const readBack = observed.sseCReadBack;
  if (readBack) {
    const status = readBack.headWithoutKey.status;
    if (readBack.headFault) {
      faults.push(`sse-c-head-without-key: ${readBack.headFault}`);
      unverifiedDeclared('that an SSE-C object cannot be read without its key', `${readBack.headFault} (${FAULT})`);
    } else if (status === undefined || status < 400 || status >= 500) {
      violation('sse-c-head-without-key', 'HeadObject without the customer key to be refused (400 or 403)', describe(readBack.headWithoutKey));
    }
    if (readBack.getFault) {
      faults.push(`sse-c-get-with-key: ${readBack.getFault}`);
      unverifiedDeclared('that an SSE-C object reads back with its key', `${readBack.getFault} (${FAULT})`);
    } else if (readBack.bodyMatches === undefined) {
      violation('sse-c-get-with-key', 'GetObject with the customer key to return the object', describe(readBack.getWithKey));
    } else if (!readBack.bodyMatches || readBack.algorithm !== 'AES256' || !readBack.keyMd5Matches) {
      violation('sse-c-get-with-key', 'the same bytes, SSECustomerAlgorithm AES256 and the key\'s MD5',
        `${describe(readBack.getWithKey)} with ${readBack.bodyMatches ? 'the same' : 'different'} bytes, algorithm ${readBack.algorithm ?? 'none'}, key MD5 ${readBack.keyMd5Matches ? 'matching' : 'not matching'}`);
    }
  }

  // Uploads without headers
  if (absentExpectedRefused) {
    if (plainOutcome === 'accepted' || plainOutcome === 'rejected') {
      violation('upload-without-headers', 'uploads without encryption headers to be refused with 403', describe(plain!.answer));
    } else if (plainOutcome !== 'refused') {
      unverifiedDeclared('that uploads without encryption headers are refused', why(plain));
    }
  } else if (plainOutcome === 'rejected' || plainOutcome === 'unattributable') {
    violation('upload-without-headers', 'uploads without encryption headers to be accepted', describe(plain!.answer));
  } else if (plainOutcome === 'fault') {
    unverified.push(`that uploads without encryption headers are accepted (${why(plain)})`);
  }
  const declaredOutcome = outcome(declared);
  if (declaredOutcome === 'fault') {
    unverified.push(`that uploads naming the declared encryption are accepted (${why(declared)})`);
  } else if (declared && !declared.accepted) {
    violation('upload-with-declared-headers', 'uploads that name the declared encryption to be accepted', describe(declared.answer));
  }
  if (observed.declaredAfterRefusal && declared?.accepted) {
    notes.push(`bucket ${bucket}: the encryption S3 applies was observed on an upload WITH the declared headers (${declared.probe}) and in GetBucketEncryption, `
      + 'because uploads without headers are refused');
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

  const configFailure = config.failures.find((f) => f.request === 'GetBucketEncryption');
  const configWhy = configFailure ? `GetBucketEncryption could not be read${configFailure.fault ? ` (${configFailure.fault})` : ''}` : 'GetBucketEncryption showed no rule';
  const uploadFaults = [plain, declared].filter((u) => outcome(u) === 'fault').map((u) => `${u!.probe}: ${u!.fault}`);
  const unknownWhy = observed.uploadsSkipped
    ? `no upload was made (${observed.uploadsSkipped}) and ${configWhy}`
    : source ? `S3 reported no algorithm for the accepted ${source.probe} and ${configWhy}`
      : uploadFaults.length ? `no upload was accepted (${uploadFaults.join('; ')}: ${FAULT}) and ${configWhy}`
        : `no upload was accepted and ${configWhy}`;
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
  const mismatchOutcomes = [mismatched, foreign].filter((r) => r !== undefined).map(outcome);
  const mismatchRefused = mismatchOutcomes.length === 0 ? undefined
    : mismatchOutcomes.every((o) => o === 'refused') ? true
      : mismatchOutcomes.some((o) => o === 'accepted' || o === 'rejected') ? false : undefined;
  if (props.ExpectHeaders === 'DENY_MISMATCH' || props.ExpectHeaders === 'REQUIRE') {
    for (const probe of [mismatched, foreign]) {
      const result = outcome(probe);
      if (result === 'accepted' || result === 'rejected') {
        violation(probe!.probe, 'a 403 refusal', describe(probe!.answer));
      } else if (result === 'fault' || result === 'unattributable') {
        unverifiedDeclared(`that ${probe!.probe} is refused`, why(probe));
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

  const refusal = (o: Outcome): boolean | undefined => o === 'refused' ? true : o === 'accepted' || o === 'rejected' ? false : undefined;
  return {
    attributes: {
      SseC: sseCObserved,
      DefaultAlgorithm: algorithm ?? '',
      KmsKeyArn: kmsKeyArn ?? '',
      BucketKeyEnabled: observation(bucketKey),
      MismatchedHeaderRefused: observation(mismatchRefused),
      AbsentHeaderRefused: observation(refusal(plainOutcome)),
    },
    violations,
    unverified,
    faults,
    notes,
  };
}
