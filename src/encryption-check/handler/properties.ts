import { ATTRIBUTE_NAMES, CheckAttributes, CheckEntry, EXPECTATION_FIELDS, StackCheckProperties } from '../types';

/**
 * Validation of everything the handler reads from a CloudFormation event. CloudFormation sends
 * every scalar property as a string and lists as lists; anything else (a hand-edited template,
 * an event from another tool) is refused with a message that names the property and the value,
 * never coerced: an unknown expectation must fail closed, not check less.
 */

export type RequestType = 'Create' | 'Update' | 'Delete';

/** The fields of the event the response needs; checked before anything else. */
export interface ResponseTarget {
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
}

/** Thrown with every problem found in the event. */
export class InvalidEvent extends Error {}

const REQUEST_TYPES: readonly RequestType[] = ['Create', 'Update', 'Delete'];
const SSE_C = ['BLOCKED', 'ALLOWED', 'REQUIRED'] as const;
const ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const;
const HEADERS = ['DENY_MISMATCH', 'REQUIRE', 'NOT_ENFORCED'] as const;
const ON_VIOLATION = ['FAIL', 'WARN'] as const;
const BOOLEANS = ['true', 'false'] as const;
const ENTRY_FIELDS = new Set([
  'Key', 'BucketName', 'ExpectSseC', 'ExpectAlgorithm', 'ExpectKmsKeyArn', 'ExpectBucketKey', 'ExpectHeaders', 'ExpectPolicySids',
  'OnViolation', 'Fingerprint',
]);
const KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** S3 bucket naming rules (general purpose buckets), loose enough for S3-compatible servers. */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_ARN_PATTERN = /^arn:[a-z0-9-]+:kms:[a-z0-9-]*:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

/** `value` quoted for a message, cut to a readable length. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? `'${value}'` : value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf(allowed: readonly string[]): string {
  return allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`;
}

/** The request type, exactly as CloudFormation spells it; anything else is refused. */
export function requestTypeOf(event: unknown): RequestType {
  const type = isRecord(event) ? event.RequestType : undefined;
  if (typeof type !== 'string' || !(REQUEST_TYPES as readonly string[]).includes(type)) {
    throw new InvalidEvent(`RequestType must be ${oneOf(REQUEST_TYPES)}, got ${show(type)}`);
  }
  return type as RequestType;
}

/** The fields needed to answer CloudFormation. Without them no answer can be sent. */
export function responseTargetOf(event: unknown): ResponseTarget {
  const problems: string[] = [];
  const record = isRecord(event) ? event : {};
  for (const field of ['ResponseURL', 'StackId', 'RequestId', 'LogicalResourceId'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      problems.push(`${field} must be a non-empty string, got ${show(record[field])}`);
    }
  }
  if (typeof record.ResponseURL === 'string' && !/^https?:\/\//.test(record.ResponseURL)) {
    problems.push('ResponseURL must be an http(s) URL');
  }
  if (problems.length > 0) {
    throw new InvalidEvent(problems.join('; '));
  }
  return record as unknown as ResponseTarget;
}

/**
 * The stack check's properties, every field validated. Throws `InvalidEvent` naming every
 * problem (property, value, what is allowed).
 */
export function stackPropertiesOf(raw: unknown): StackCheckProperties {
  if (!isRecord(raw)) {
    throw new InvalidEvent(`ResourceProperties must be an object, got ${show(raw)}`);
  }
  const problems: string[] = [];
  const defaults = defaultsOf(raw.Defaults, problems);
  const buckets = raw.Buckets;
  const entries: CheckEntry[] = [];
  if (!Array.isArray(buckets)) {
    problems.push(`Buckets must be a list of bucket entries, got ${show(buckets)}`);
  } else {
    const keys = new Set<string>();
    buckets.forEach((entry, index) => {
      const parsed = entryOf(isRecord(entry) ? { ...defaults, ...entry } : entry, `Buckets[${index}]`, problems, defaults);
      if (parsed) {
        if (keys.has(parsed.Key)) {
          problems.push(`Buckets[${index}].Key ${show(parsed.Key)} appears more than once`);
        }
        keys.add(parsed.Key);
        entries.push(parsed);
      }
    });
  }

  let attributes: string[] | undefined;
  if (raw.Attributes !== undefined) {
    if (!Array.isArray(raw.Attributes)) {
      problems.push(`Attributes must be a list of '<Key>.<Attribute>' names, got ${show(raw.Attributes)}`);
    } else {
      const keys = new Set(entries.map((e) => e.Key));
      attributes = [];
      raw.Attributes.forEach((name, index) => {
        const [key, attribute, ...rest] = typeof name === 'string' ? name.split('.') : [];
        if (typeof name !== 'string' || rest.length > 0 || !keys.has(key) || !(attribute in ATTRIBUTE_NAMES)) {
          problems.push(`Attributes[${index}] must be '<Key>.<Attribute>' with the Key of a bucket entry and one of ${oneOf(Object.keys(ATTRIBUTE_NAMES))}, got ${show(name)}`);
        } else {
          attributes!.push(name);
        }
      });
    }
  }
  for (const field of Object.keys(raw)) {
    if (!['ServiceToken', 'ServiceTimeout', 'Defaults', 'Buckets', 'Attributes'].includes(field)) {
      problems.push(`unknown property ${field}`);
    }
  }
  if (problems.length > 0) {
    throw new InvalidEvent(`invalid ResourceProperties: ${problems.join('; ')}`);
  }
  return { Buckets: entries, Attributes: attributes };
}

/**
 * The expectations stated once for every bucket (`Defaults`): an object of expectation fields
 * only. Their values are validated with each entry they apply to, where a problem names both.
 */
function defaultsOf(raw: unknown, problems: string[]): Record<string, unknown> {
  if (raw === undefined) {
    return {};
  }
  if (!isRecord(raw)) {
    problems.push(`Defaults must be an object of expectations (or absent), got ${show(raw)}`);
    return {};
  }
  for (const field of Object.keys(raw)) {
    if (!(EXPECTATION_FIELDS as readonly string[]).includes(field)) {
      problems.push(`Defaults.${field} is not an expectation that can be shared (allowed: ${EXPECTATION_FIELDS.join(', ')})`);
    }
  }
  return Object.fromEntries(Object.entries(raw).filter(([field]) => (EXPECTATION_FIELDS as readonly string[]).includes(field)));
}

function entryOf(raw: unknown, where: string, problems: string[], defaults: Record<string, unknown> = {}): CheckEntry | undefined {
  if (!isRecord(raw)) {
    problems.push(`${where} must be an object, got ${show(raw)}`);
    return undefined;
  }
  const before = problems.length;
  const name = typeof raw.BucketName === 'string' ? ` (${raw.BucketName})` : '';
  // A value that came from Defaults says so: the fix is there, not in the entry.
  const at = (field: string) => `${where}${name}.${field}${field in defaults && raw[field] === defaults[field] ? ' (from Defaults)' : ''}`;
  const required = (field: string, pattern: RegExp, what: string) => {
    const value = raw[field];
    if (typeof value !== 'string' || !pattern.test(value)) {
      problems.push(`${at(field)} must be ${what}, got ${show(value)}`);
    }
  };
  const choice = (field: string, allowed: readonly string[], optional: boolean) => {
    const value = raw[field];
    if (optional && value === undefined) {
      return;
    }
    if (typeof value !== 'string' || !allowed.includes(value)) {
      problems.push(`${at(field)} must be ${oneOf(allowed)}${optional ? ' (or absent)' : ''}, got ${show(value)}`);
    }
  };

  required('Key', KEY_PATTERN, '1-64 letters, digits, - or _');
  required('BucketName', BUCKET_PATTERN, 'an S3 bucket name');
  required('Fingerprint', /^[0-9a-f]{1,64}$/, 'a hex string');
  choice('ExpectSseC', SSE_C, false);
  choice('OnViolation', ON_VIOLATION, false);
  choice('ExpectAlgorithm', ALGORITHMS, true);
  choice('ExpectBucketKey', BOOLEANS, true);
  choice('ExpectHeaders', HEADERS, true);
  if (raw.ExpectKmsKeyArn !== undefined) {
    required('ExpectKmsKeyArn', KEY_ARN_PATTERN, 'a KMS key ARN (or absent)');
    if (typeof raw.ExpectAlgorithm !== 'string' || !raw.ExpectAlgorithm.startsWith('aws:kms')) {
      problems.push(`${at('ExpectKmsKeyArn')} needs ExpectAlgorithm aws:kms or aws:kms:dsse, got ExpectAlgorithm ${show(raw.ExpectAlgorithm)}`);
    }
  }
  if (raw.ExpectPolicySids !== undefined) {
    const sids = raw.ExpectPolicySids;
    if (!Array.isArray(sids) || sids.some((sid) => typeof sid !== 'string' || sid === '')) {
      problems.push(`${at('ExpectPolicySids')} must be a list of non-empty strings (or absent), got ${show(sids)}`);
    }
  }
  if (raw.ExpectSseC === 'REQUIRED' && raw.ExpectHeaders === 'REQUIRE') {
    problems.push(`${at('ExpectSseC')} REQUIRED cannot be combined with ExpectHeaders REQUIRE: no upload could succeed`);
  }
  for (const field of Object.keys(raw)) {
    if (!ENTRY_FIELDS.has(field)) {
      problems.push(`${at(field)} is not a known property (allowed: ${[...ENTRY_FIELDS].join(', ')})`);
    }
  }
  return problems.length === before ? (raw as unknown as CheckEntry) : undefined;
}

/**
 * What a Delete (or the diff of an Update) can still use from properties that may be absent,
 * null or invalid: the entries that name a key and a bucket. Never throws.
 */
export function knownBucketsOf(raw: unknown): { readonly key: string; readonly bucketName: string; readonly entry: Record<string, unknown> }[] {
  const buckets = isRecord(raw) && Array.isArray(raw.Buckets) ? raw.Buckets : [];
  // With Defaults applied, so that an Update compares full expectations, whichever way they were written.
  const defaults = isRecord(raw) && isRecord(raw.Defaults) ? raw.Defaults : {};
  return buckets
    .filter(isRecord)
    .map((entry) => ({ ...defaults, ...entry }))
    .filter((entry) => typeof entry.Key === 'string' && KEY_PATTERN.test(entry.Key) && typeof entry.BucketName === 'string' && BUCKET_PATTERN.test(entry.BucketName))
    .map((entry) => ({ key: entry.Key as string, bucketName: entry.BucketName as string, entry }));
}

/** The referenced attribute names of one bucket. */
export function referencedOf(props: StackCheckProperties, key: string): (keyof CheckAttributes)[] {
  return (props.Attributes ?? []).filter((name) => name.startsWith(`${key}.`)).map((name) => name.slice(key.length + 1) as keyof CheckAttributes);
}
