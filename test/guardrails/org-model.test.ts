import { simulateInOrganization, type GuardrailDocuments } from './org-model';

/**
 * The organisation model must never let a guardrail test pass by accident: a misspelt operator
 * or condition key, a context key the simulator drops, or a policy applied where AWS would not
 * apply it.
 */

const EMPTY_RCP = { Version: '2012-10-17', Statement: [] };
const EMPTY_SCP = { Version: '2012-10-17', Statement: [] };

function denyAll(kind: 'rcp' | 'scp'): GuardrailDocuments {
  const statement = { Sid: 'DenyAll', Effect: 'Deny' as const, Action: 's3:*', Resource: '*', ...(kind === 'rcp' ? { Principal: '*' } : {}) };
  const document = { Version: '2012-10-17', Statement: [statement] };
  return kind === 'rcp' ? { rcp: document, scp: EMPTY_SCP } : { rcp: EMPTY_RCP, scp: document };
}

const get = { action: 's3:GetObject' as const, transport: 'TLS 1.2' as const };

test('a misspelt operator is an error, not a statement that never matches', async () => {
  const rcp = { Version: '2012-10-17', Statement: [{ Sid: 'X', Effect: 'Deny' as const, Principal: '*', Action: 's3:*', Resource: '*', Condition: { BoolIfExist: { 'aws:SecureTransport': 'false' } } }] };
  await expect(simulateInOrganization({ principal: 'app', bucket: 'data', ...get }, { rcp, scp: EMPTY_SCP })).rejects.toThrow(/unknown condition operator BoolIfExist/);
});

test('a misspelt condition key is an error', async () => {
  const scp = { Version: '2012-10-17', Statement: [{ Sid: 'X', Effect: 'Deny' as const, Action: 's3:*', Resource: '*', Condition: { ArnNotLike: { 'aws:PrincipleArn': 'arn:aws:iam::*:role/x' } } }] };
  await expect(simulateInOrganization({ principal: 'app', bucket: 'data', ...get }, { rcp: EMPTY_RCP, scp })).rejects.toThrow(/unknown condition key aws:PrincipleArn/);
});

test('a context key the action does not carry is an error', async () => {
  await expect(simulateInOrganization({ principal: 'app', bucket: 'data', ...get }, denyAll('scp'), { 's3:x-amz-server-side-encryption': 'AES256' }))
    .rejects.toThrow(/the simulator ignored context keys s3:x-amz-server-side-encryption/);
});

test('an RCP reaches the governed accounts\' buckets, whoever asks, and nothing else', async () => {
  const docs = denyAll('rcp');
  for (const principal of ['app', 'sibling', 'management', 'outsider'] as const) {
    expect(await simulateInOrganization({ principal, bucket: 'data', ...get }, docs)).toEqual({ result: 'ExplicitlyDenied', deniedBy: ['rcp:DenyAll'] });
  }
  for (const bucket of ['management', 'outside'] as const) {
    expect((await simulateInOrganization({ principal: 'app', bucket, ...get }, docs)).result).toBe('Allowed');
  }
});

test('an SCP reaches the governed accounts\' principals, on any bucket, and nobody else', async () => {
  const docs = denyAll('scp');
  for (const bucket of ['data', 'management', 'outside'] as const) {
    expect(await simulateInOrganization({ principal: 'app', bucket, ...get }, docs)).toEqual({ result: 'ExplicitlyDenied', deniedBy: ['scp:DenyAll'] });
  }
  for (const principal of ['management', 'outsider'] as const) {
    expect((await simulateInOrganization({ principal, bucket: 'data', ...get }, docs)).result).toBe('Allowed');
  }
});

test('with no guardrail statements everything the identity and bucket policies allow is allowed', async () => {
  expect(await simulateInOrganization({ principal: 'outsider', bucket: 'data', action: 's3:PutObject', transport: 'HTTP', sseC: true }, { rcp: EMPTY_RCP, scp: EMPTY_SCP }))
    .toEqual({ result: 'Allowed', deniedBy: [] });
});
