import { expectedGuardrailOutcome, goodTransport, type GuardrailConfig } from './guardrail-spec';
import { describeRequest, simulateInOrganization } from './org-model';
import type { GuardrailDocuments, OrgRequest, PrincipalName, SseAlgorithm, Transport } from './org-model';

/** The rows of the guardrail request matrix for one configuration, grouped as the issue lists them. */

const ALL_TRANSPORTS: readonly Transport[] = ['HTTP', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'];
const ALGORITHMS: readonly SseAlgorithm[] = ['AES256', 'aws:kms', 'aws:kms:dsse'];
const HEADER_VARIANTS: readonly Pick<OrgRequest, 'sse' | 'sseC'>[] = [{}, ...ALGORITHMS.map((sse) => ({ sse })), { sseC: true }];

/** Uploads by the application role to the ordinary bucket: every header variant over every transport. */
export function uploadRows(): OrgRequest[] {
  return ALL_TRANSPORTS.flatMap((transport) => HEADER_VARIANTS.map((h) => ({ principal: 'app' as const, action: 's3:PutObject' as const, bucket: 'data' as const, transport, ...h })));
}

/** Reads and listings over every transport. */
export function transportRows(): OrgRequest[] {
  return ALL_TRANSPORTS.flatMap((transport) => (['s3:GetObject', 's3:ListBucket'] as const).map((action) => ({ principal: 'app' as const, action, bucket: 'data' as const, transport })));
}

/** SSE-C and ordinary uploads to the exempt bucket. */
export function exemptBucketRows(c: GuardrailConfig): OrgRequest[] {
  return (['HTTP', goodTransport(c)] as Transport[]).flatMap((transport) => [{}, { sseC: true }, { sse: 'aws:kms' as const }]
    .map((h) => ({ principal: 'app' as const, action: 's3:PutObject' as const, bucket: 'legacy' as const, transport, ...h })));
}

/** Changes to default encryption and bucket policies by each principal of the organisation. */
export function settingsRows(c: GuardrailConfig): OrgRequest[] {
  const principals: PrincipalName[] = ['app', 'admin', 'deployer', 'sibling'];
  return principals.flatMap((principal) => (['s3:PutEncryptionConfiguration', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'] as const)
    .map((action) => ({ principal, action, bucket: 'data' as const, transport: goodTransport(c) })));
}

/** Requests that cross the organisation's boundary, and requests the guardrails cannot reach. */
export function boundaryRows(c: GuardrailConfig): OrgRequest[] {
  const good = goodTransport(c);
  return [
    // An outsider on a member bucket: the RCP holds, whatever the bucket policy grants.
    { principal: 'outsider', action: 's3:PutObject', bucket: 'data', transport: good, sseC: true },
    { principal: 'outsider', action: 's3:PutObject', bucket: 'data', transport: good, sse: 'aws:kms' },
    { principal: 'outsider', action: 's3:PutObject', bucket: 'data', transport: 'HTTP' },
    { principal: 'outsider', action: 's3:GetObject', bucket: 'data', transport: 'TLS 1.1' },
    { principal: 'outsider', action: 's3:GetObject', bucket: 'data', transport: good },
    { principal: 'outsider', action: 's3:PutEncryptionConfiguration', bucket: 'data', transport: good },
    // A member principal on a bucket outside the organisation: only the SCP reaches it.
    { principal: 'app', action: 's3:PutObject', bucket: 'outside', transport: good, sseC: true },
    { principal: 'app', action: 's3:PutObject', bucket: 'outside', transport: good },
    { principal: 'app', action: 's3:PutObject', bucket: 'outside', transport: 'HTTP' },
    { principal: 'app', action: 's3:PutEncryptionConfiguration', bucket: 'outside', transport: good },
    // Another member account.
    { principal: 'sibling', action: 's3:PutObject', bucket: 'data', transport: good, sseC: true },
    { principal: 'sibling', action: 's3:PutObject', bucket: 'data', transport: good },
    // The management account: its principals meet the RCP on member buckets, and neither policy
    // restricts its own buckets.
    { principal: 'management', action: 's3:PutObject', bucket: 'data', transport: good, sseC: true },
    { principal: 'management', action: 's3:PutEncryptionConfiguration', bucket: 'data', transport: good },
    { principal: 'management', action: 's3:PutObject', bucket: 'management', transport: 'HTTP', sseC: true },
    { principal: 'app', action: 's3:PutObject', bucket: 'management', transport: good, sseC: true },
  ];
}

export function allRows(c: GuardrailConfig): OrgRequest[] {
  return [...uploadRows(), ...transportRows(), ...exemptBucketRows(c), ...settingsRows(c), ...boundaryRows(c)];
}

/** Runs `rows` against `documents`; one line per row whose outcome or denying statements differ from the spec. */
export async function guardrailMismatches(
  c: GuardrailConfig, documents: GuardrailDocuments, rows: OrgRequest[], stopAtFirst = false,
): Promise<string[]> {
  const problems: string[] = [];
  for (const row of rows) {
    const expected = expectedGuardrailOutcome(c, row);
    const actual = await simulateInOrganization(row, documents);
    if (actual.result !== expected.outcome || actual.deniedBy.join() !== expected.deniedBy.join()) {
      problems.push(`${describeRequest(row)}: expected ${expected.outcome} [${expected.deniedBy.join(', ')}], got ${actual.result} [${actual.deniedBy.join(', ')}]`);
      if (stopAtFirst) {
        break;
      }
    }
  }
  return problems;
}
