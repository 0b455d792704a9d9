import { BUCKETS, MEMBER_ACCOUNT, OrgRequest, PRINCIPALS, SIBLING_ACCOUNT, type SseAlgorithm, type Transport } from './org-model';
import type { Outcome } from '../policy-sim/expected-outcomes';

/**
 * THE SPEC: what the organisation guardrails must do with each request, written from the issue,
 * the construct's documented promises and how AWS applies SCPs and RCPs. It does not call the
 * code under test; only the Sid strings are shared, because they are public API.
 */

export interface GuardrailConfig {
  readonly minimumTLSVersion: 1.2 | 1.3;
  /** How the legacy bucket is exempted from the SSE-C deny, if at all. */
  readonly exemptLegacy: 'no' | 'by name pattern' | 'by ARN';
  readonly protectBucketPolicies: boolean;
  readonly denySseCOutsideOrganization: boolean;
  readonly encryptionHeaders: 'NOT_ENFORCED' | 'DENY_MISMATCH' | 'REQUIRE';
  /** The algorithm uploads may name while headers are enforced. */
  readonly algorithm?: SseAlgorithm;
}

export function describeGuardrails(c: GuardrailConfig): string {
  return `TLS >= ${c.minimumTLSVersion} / legacy exempt ${c.exemptLegacy} / bucket policies ${c.protectBucketPolicies ? 'protected' : 'open'} / ` +
    `SSE-C outside org ${c.denySseCOutsideOrganization ? 'denied' : 'not checked'} / headers ${c.encryptionHeaders}${c.algorithm ? ` ${c.algorithm}` : ''}`;
}

/** The configurations the matrix runs over: between them, every option in each of its values. */
export const GUARDRAIL_CONFIGS: readonly GuardrailConfig[] = [
  { minimumTLSVersion: 1.2, exemptLegacy: 'by name pattern', protectBucketPolicies: true, denySseCOutsideOrganization: false, encryptionHeaders: 'NOT_ENFORCED' },
  { minimumTLSVersion: 1.3, exemptLegacy: 'no', protectBucketPolicies: true, denySseCOutsideOrganization: true, encryptionHeaders: 'DENY_MISMATCH', algorithm: 'aws:kms' },
  { minimumTLSVersion: 1.2, exemptLegacy: 'by ARN', protectBucketPolicies: false, denySseCOutsideOrganization: true, encryptionHeaders: 'REQUIRE', algorithm: 'AES256' },
  { minimumTLSVersion: 1.2, exemptLegacy: 'by name pattern', protectBucketPolicies: true, denySseCOutsideOrganization: false, encryptionHeaders: 'DENY_MISMATCH', algorithm: 'aws:kms:dsse' },
];

const TLS: Record<string, number> = { 'TLS 1.0': 1.0, 'TLS 1.1': 1.1, 'TLS 1.2': 1.2, 'TLS 1.3': 1.3 };

/** Whether SCPs (principal) or RCPs (resource) reach an account: member accounts below the targets only. */
const governed = (account: string) => account === MEMBER_ACCOUNT || account === SIBLING_ACCOUNT;
const inOrganization = (account: string) => account !== '222222222222';

export interface GuardrailRule {
  readonly id: string;
  readonly says: string;
  readonly applies: (c: GuardrailConfig, r: OrgRequest) => boolean;
}

const upload = (r: OrgRequest) => r.action === 's3:PutObject';
const rcp = (r: OrgRequest) => governed(BUCKETS[r.bucket].account);
const scp = (r: OrgRequest) => governed(PRINCIPALS[r.principal].account);

export const GUARDRAIL_RULES: readonly GuardrailRule[] = [
  {
    id: 'rcp:DenyInsecureTransport',
    says: 'Every request over plain HTTP to a bucket of a governed account is refused, whoever asks.',
    applies: (_c, r) => rcp(r) && r.transport === 'HTTP',
  },
  {
    id: 'rcp:DenyOutdatedTls',
    says: 'Every request below the minimum TLS version to a bucket of a governed account is refused, whoever asks.',
    applies: (c, r) => rcp(r) && r.transport !== 'HTTP' && TLS[r.transport] < c.minimumTLSVersion,
  },
  {
    id: 'rcp:DenySseCUploads',
    says: 'An SSE-C upload to a bucket of a governed account is refused, whoever asks and whatever the bucket policy says, unless the bucket is exempt.',
    applies: (c, r) => rcp(r) && upload(r) && r.sseC === true && !(r.bucket === 'legacy' && c.exemptLegacy !== 'no'),
  },
  {
    id: 'rcp:DenyMismatchedEncryptionHeader',
    says: 'While headers are enforced, an upload naming another algorithm than the configured one is refused.',
    applies: (c, r) => rcp(r) && upload(r) && c.encryptionHeaders !== 'NOT_ENFORCED' && r.sse !== undefined && r.sse !== c.algorithm,
  },
  {
    id: 'rcp:DenyMissingEncryptionHeader',
    says: 'With headers required, an upload without x-amz-server-side-encryption is refused (SSE-C uploads aside: the SSE-C rule decides those).',
    applies: (c, r) => rcp(r) && upload(r) && c.encryptionHeaders === 'REQUIRE' && r.sse === undefined && !r.sseC,
  },
  {
    id: 'scp:DenyEncryptionSettingChanges',
    says: 'A principal of a governed account other than a platform role may not change default encryption, nor (when protected) put or delete bucket policies, on any bucket.',
    applies: (c, r) => scp(r) && r.principal !== 'deployer' && (r.action === 's3:PutEncryptionConfiguration' ||
      (c.protectBucketPolicies && (r.action === 's3:PutBucketPolicy' || r.action === 's3:DeleteBucketPolicy'))),
  },
  {
    id: 'scp:DenySseCUploadsOutsideOrganization',
    says: 'With the option on, a principal of a governed account may not send SSE-C uploads to buckets outside the organisation.',
    applies: (c, r) => scp(r) && c.denySseCOutsideOrganization && upload(r) && r.sseC === true && !inOrganization(BUCKETS[r.bucket].account),
  },
];

export interface GuardrailExpectation {
  readonly outcome: Outcome;
  readonly deniedBy: string[];
}

/** Every principal's identity policy allows s3:* and every bucket policy allows every principal: only the guardrails deny. */
export function expectedGuardrailOutcome(c: GuardrailConfig, r: OrgRequest): GuardrailExpectation {
  const deniedBy = GUARDRAIL_RULES.filter((rule) => rule.applies(c, r)).map((rule) => rule.id).sort();
  return { outcome: deniedBy.length > 0 ? 'ExplicitlyDenied' : 'Allowed', deniedBy };
}

/** The lowest transport the configuration accepts. */
export function goodTransport(c: GuardrailConfig): Transport {
  return c.minimumTLSVersion === 1.3 ? 'TLS 1.3' : 'TLS 1.2';
}
