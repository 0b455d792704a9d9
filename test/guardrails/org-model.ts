import { runSimulation, type EvaluationResult, type SimulationIdentityPolicy, type SimulationOrgPolicies } from '@cloud-copilot/iam-simulate';
import { policyProblems, type PolicyDocument } from '../policy-sim/policy-check';

/**
 * A small organisation for the guardrail simulations, and how AWS decides which organisation
 * policies apply to a request (the simulator applies whatever it is given, so the model decides):
 * - SCPs apply to principals of member accounts below the targets, never to the management
 *   account nor to principals outside the organisation;
 * - RCPs apply to resources of member accounts below the targets, never to the management
 *   account's resources nor to resources outside the organisation.
 */

export const ORG_ID = 'o-exampleorg1';
export const ROOT_ID = 'r-ab12';
export const TARGET_OU = 'ou-ab12-guardrl1';
/** A member account in the target OU: owns the buckets and the application roles. */
export const MEMBER_ACCOUNT = '111111111111';
/** A member account in the target OU, calling into MEMBER_ACCOUNT's buckets. */
export const SIBLING_ACCOUNT = '333333333333';
/** The management account: neither SCPs nor RCPs restrict it. */
export const MANAGEMENT_ACCOUNT = '999999999999';
/** An account of another organisation (or none). */
export const OUTSIDE_ACCOUNT = '222222222222';

type Account = typeof MEMBER_ACCOUNT | typeof SIBLING_ACCOUNT | typeof MANAGEMENT_ACCOUNT | typeof OUTSIDE_ACCOUNT;

function inTargets(account: Account): boolean {
  return account === MEMBER_ACCOUNT || account === SIBLING_ACCOUNT;
}

function inOrganization(account: Account): boolean {
  return account !== OUTSIDE_ACCOUNT;
}

/**
 * Who sends the request. Every principal's identity policy allows `s3:*` on every resource.
 * - `app`: an application role of the member account that owns the buckets.
 * - `admin`: an administrator role of the same account, not a platform role.
 * - `deployer`: the CDK CloudFormation execution role of the member account (a platform role).
 * - `sibling`: a role of another member account, named in the buckets' policies.
 * - `management`: a role of the management account, named in the buckets' policies.
 * - `outsider`: a role of an account outside the organisation, named in the buckets' policies.
 */
export type PrincipalName = 'app' | 'admin' | 'deployer' | 'sibling' | 'management' | 'outsider';

export const PRINCIPALS: Readonly<Record<PrincipalName, { arn: string; account: Account }>> = {
  app: { arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/App`, account: MEMBER_ACCOUNT },
  admin: { arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/Administrator`, account: MEMBER_ACCOUNT },
  deployer: { arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${MEMBER_ACCOUNT}-eu-west-1`, account: MEMBER_ACCOUNT },
  sibling: { arn: `arn:aws:iam::${SIBLING_ACCOUNT}:role/Reporting`, account: SIBLING_ACCOUNT },
  management: { arn: `arn:aws:iam::${MANAGEMENT_ACCOUNT}:role/OrgAdmin`, account: MANAGEMENT_ACCOUNT },
  outsider: { arn: `arn:aws:iam::${OUTSIDE_ACCOUNT}:role/Partner`, account: OUTSIDE_ACCOUNT },
};

/**
 * The buckets.
 * - `data`: an ordinary bucket of the member account. Its bucket policy allows every principal
 *   above everything, and denies nothing: only the guardrails stand between it and SSE-C or HTTP.
 * - `legacy`: a bucket of the member account named `legacy-sse-c-data`, exempt from the SSE-C deny.
 * - `management`: a bucket of the management account.
 * - `outside`: a bucket of an account outside the organisation.
 */
export type BucketName = 'data' | 'legacy' | 'management' | 'outside';

export const BUCKETS: Readonly<Record<BucketName, { name: string; account: Account }>> = {
  data: { name: 'member-data', account: MEMBER_ACCOUNT },
  legacy: { name: 'legacy-sse-c-data', account: MEMBER_ACCOUNT },
  management: { name: 'org-admin-data', account: MANAGEMENT_ACCOUNT },
  outside: { name: 'partner-inbox', account: OUTSIDE_ACCOUNT },
};

export type S3Action = 's3:GetObject' | 's3:PutObject' | 's3:ListBucket' | 's3:PutEncryptionConfiguration' | 's3:PutBucketPolicy' | 's3:DeleteBucketPolicy';
export const BUCKET_ACTIONS: readonly S3Action[] = ['s3:ListBucket', 's3:PutEncryptionConfiguration', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'];

export type Transport = 'HTTP' | 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2' | 'TLS 1.3';
export type SseAlgorithm = 'AES256' | 'aws:kms' | 'aws:kms:dsse';

export interface OrgRequest {
  readonly principal: PrincipalName;
  readonly action: S3Action;
  readonly bucket: BucketName;
  readonly transport: Transport;
  /** `x-amz-server-side-encryption` (uploads only). */
  readonly sse?: SseAlgorithm;
  /** The SSE-C headers (uploads only). */
  readonly sseC?: boolean;
}

export function describeRequest(r: OrgRequest): string {
  const headers = [r.sse && `sse=${r.sse}`, r.sseC && 'SSE-C'].filter(Boolean);
  const upload = r.action === 's3:PutObject' ? ` [${headers.length ? headers.join(', ') : 'no encryption headers'}]` : '';
  return `${r.principal} ${r.action}${upload} on ${r.bucket} over ${r.transport}`;
}

/** The organisation policies under test. */
export interface GuardrailDocuments {
  readonly rcp: PolicyDocument;
  readonly scp: PolicyDocument;
}

export interface OrgOutcome {
  readonly result: EvaluationResult;
  /** `scp:<Sid>`, `rcp:<Sid>`, `bucket:<Sid>`, sorted. */
  readonly deniedBy: string[];
}

const FULL_AWS_ACCESS = { name: 'FullAWSAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } };

const ALLOW_S3: SimulationIdentityPolicy = {
  name: 'AllowS3',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
};

function bucketArn(bucket: BucketName): string {
  return `arn:aws:s3:::${BUCKETS[bucket].name}`;
}

/** Every bucket's policy: an Allow for every principal of the model, and no Deny. */
function bucketPolicy(bucket: BucketName): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{
      Sid: 'AllowEveryModelPrincipal',
      Effect: 'Allow',
      Principal: { AWS: Object.values(PRINCIPALS).map((p) => p.arn) },
      Action: 's3:*',
      Resource: [bucketArn(bucket), `${bucketArn(bucket)}/*`],
    }],
  };
}

/** The request context S3 and IAM would build. */
export function contextOf(r: OrgRequest): Record<string, string> {
  const context: Record<string, string> = {};
  if (r.transport === 'HTTP') {
    context['aws:SecureTransport'] = 'false';
  } else {
    context['aws:SecureTransport'] = 'true';
    context['s3:TlsVersion'] = r.transport.slice('TLS '.length);
  }
  if ((r.sse !== undefined || r.sseC) && r.action !== 's3:PutObject') {
    throw new Error(`${describeRequest(r)}: encryption headers are only meaningful on uploads`);
  }
  if (r.sse) {
    context['s3:x-amz-server-side-encryption'] = r.sse;
  }
  if (r.sseC) {
    context['s3:x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
  }
  // IAM fills in aws:PrincipalArn for every IAM principal (for a role session: the role's ARN);
  // the simulator does not derive it from the principal, so the model sends it.
  context['aws:PrincipalArn'] = PRINCIPALS[r.principal].arn;
  // Organisation membership: absent keys for accounts outside the organisation.
  if (inOrganization(PRINCIPALS[r.principal].account)) {
    context['aws:PrincipalOrgID'] = ORG_ID;
  }
  if (inOrganization(BUCKETS[r.bucket].account)) {
    context['aws:ResourceOrgID'] = ORG_ID;
  }
  return context;
}

/** The org hierarchy's policies of one kind for an account: root, target OU, account. */
function hierarchy(account: Account, guardrail: PolicyDocument, kind: 'scp' | 'rcp'): SimulationOrgPolicies[] {
  if (!inTargets(account)) {
    return [];
  }
  // SCPs need an Allow at every level (FullAWSAccess, attached by default); the simulator adds
  // RCPFullAWSAccess itself.
  const base = kind === 'scp' ? [FULL_AWS_ACCESS] : [];
  return [
    { orgIdentifier: ROOT_ID, policies: [...base] },
    { orgIdentifier: TARGET_OU, policies: [...base, { name: `guardrail-${kind}`, policy: guardrail }] },
    { orgIdentifier: account, policies: [...base] },
  ];
}

/** Thrown whenever a simulation cannot be trusted. */
export class OrgSimulationError extends Error {}

const checked = new WeakMap<object, Promise<string[]>>();
function problemsOf(policy: PolicyDocument, kind: 'resource' | 'identity'): Promise<string[]> {
  let problems = checked.get(policy);
  if (!problems) {
    problems = policyProblems(policy, kind);
    checked.set(policy, problems);
  }
  return problems;
}

/**
 * Evaluates `r` with identity, bucket, SCP and RCP policies, as AWS would apply them.
 * `extraContext` exists for the helper's own tests.
 */
export async function simulateInOrganization(
  r: OrgRequest, guardrails: GuardrailDocuments, extraContext: Readonly<Record<string, string>> = {},
): Promise<OrgOutcome> {
  const problems = [
    ...(await problemsOf(guardrails.rcp, 'resource')).map((p) => `RCP: ${p}`),
    ...(await problemsOf(guardrails.scp, 'identity')).map((p) => `SCP: ${p}`),
  ];
  if (problems.length > 0) {
    throw new OrgSimulationError(`guardrails cannot be simulated faithfully:\n  ${problems.join('\n  ')}`);
  }
  const principal = PRINCIPALS[r.principal];
  const bucket = BUCKETS[r.bucket];
  const resource = BUCKET_ACTIONS.includes(r.action) ? bucketArn(r.bucket) : `${bucketArn(r.bucket)}/reports/2026.csv`;
  const response = await runSimulation({
    request: {
      principal: principal.arn,
      action: r.action,
      resource: { resource, accountId: bucket.account },
      contextVariables: { ...contextOf(r), ...extraContext },
    },
    identityPolicies: [ALLOW_S3],
    serviceControlPolicies: hierarchy(principal.account, guardrails.scp, 'scp'),
    resourceControlPolicies: hierarchy(bucket.account, guardrails.rcp, 'rcp'),
    resourcePolicy: bucketPolicy(r.bucket),
  }, { simulationMode: 'Strict' });

  if (response.resultType !== 'single') {
    throw new OrgSimulationError(`expected one simulation for ${describeRequest(r)}, got ${response.resultType}: ${JSON.stringify((response as { errors?: unknown }).errors)}`);
  }
  const ignored = response.result.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new OrgSimulationError(`the simulator ignored context keys ${ignored.join(', ')} for ${describeRequest(r)}`);
  }
  const analysis = response.result.analysis;
  const sids = (prefix: string, statements: { statement: { sid(): string | undefined; index(): number } }[]) =>
    statements.map((s) => `${prefix}:${s.statement.sid() ?? `#${s.statement.index()}`}`);
  const deniedBy = [
    ...(analysis.scpAnalysis?.ouAnalysis ?? []).flatMap((ou) => sids('scp', ou.denyStatements)),
    ...(analysis.rcpAnalysis?.ouAnalysis ?? []).flatMap((ou) => sids('rcp', ou.denyStatements)),
    ...sids('bucket', analysis.resourceAnalysis?.denyStatements ?? []),
  ].sort();
  return { result: response.overallResult, deniedBy };
}
