import { guardrailDocuments } from './fixtures';
import { describeGuardrails, expectedGuardrailOutcome, GUARDRAIL_CONFIGS, GUARDRAIL_RULES, type GuardrailConfig } from './guardrail-spec';
import { allRows, boundaryRows, exemptBucketRows, guardrailMismatches, settingsRows, transportRows, uploadRows } from './matrix-rows';
import type { OrgRequest } from './org-model';

/**
 * The guardrail request matrix: the synthesized RCP and SCP of each configuration, evaluated by
 * the IAM simulator together with identity policies and bucket policies that allow everything,
 * compared with the spec in guardrail-spec.ts.
 */

describe.each(GUARDRAIL_CONFIGS.map((c) => [describeGuardrails(c), c] as const))('guardrails %s', (_name, config) => {
  const documents = () => guardrailDocuments(config);

  test('uploads with and without each encryption header, and SSE-C, over every transport', async () => {
    expect(await guardrailMismatches(config, documents(), uploadRows())).toEqual([]);
  });

  test('reads and listings over plain HTTP and TLS 1.0-1.3', async () => {
    expect(await guardrailMismatches(config, documents(), transportRows())).toEqual([]);
  });

  test('the exempt bucket', async () => {
    expect(await guardrailMismatches(config, documents(), exemptBucketRows(config))).toEqual([]);
  });

  test('changes to default encryption and bucket policies: platform role and everyone else', async () => {
    expect(await guardrailMismatches(config, documents(), settingsRows(config))).toEqual([]);
  });

  test('requests across the organisation boundary, and what the guardrails do not reach', async () => {
    expect(await guardrailMismatches(config, documents(), boundaryRows(config))).toEqual([]);
  });
});

describe('the guardrail matrix itself', () => {
  const outcomes = GUARDRAIL_CONFIGS.flatMap((c) => allRows(c).map((r) => ({ c, r, e: expectedGuardrailOutcome(c, r) })));

  test('every rule of the spec refuses some request', () => {
    for (const rule of GUARDRAIL_RULES) {
      expect([rule.id, outcomes.some((o) => o.e.deniedBy.includes(rule.id))]).toEqual([rule.id, true]);
    }
  });

  test('the rows the issue names are there, with the outcome it asks for', () => {
    const find = (c: GuardrailConfig, match: Partial<OrgRequest>) => {
      const found = allRows(c).filter((r) => Object.entries(match).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v));
      expect(found.length).toBeGreaterThan(0);
      return found.map((r) => expectedGuardrailOutcome(c, r).outcome);
    };
    const [exempting, strict] = GUARDRAIL_CONFIGS;
    // SSE-C refused in a member account although the bucket policy allows it; the exempt bucket accepts it.
    expect(find(exempting, { principal: 'app', bucket: 'data', sseC: true, transport: 'TLS 1.2' })).toEqual(['ExplicitlyDenied']);
    expect(find(exempting, { principal: 'app', bucket: 'legacy', sseC: true, transport: 'TLS 1.2' })).toEqual(['Allowed']);
    expect(find(strict, { principal: 'app', bucket: 'legacy', sseC: true, transport: 'TLS 1.3' })).toEqual(['ExplicitlyDenied']);
    // TLS 1.1 and plain HTTP refused.
    expect(new Set(find(exempting, { bucket: 'data', transport: 'TLS 1.1' }))).toEqual(new Set(['ExplicitlyDenied']));
    expect(new Set(find(exempting, { bucket: 'data', transport: 'HTTP' }))).toEqual(new Set(['ExplicitlyDenied']));
    // The platform role may change encryption configuration, others may not.
    expect(find(exempting, { principal: 'deployer', action: 's3:PutEncryptionConfiguration' })).toEqual(['Allowed']);
    expect(find(exempting, { principal: 'admin', action: 's3:PutEncryptionConfiguration' })).toEqual(['ExplicitlyDenied']);
    // Ordinary uploads with and without headers succeed.
    expect(find(exempting, { principal: 'app', bucket: 'data', action: 's3:PutObject', transport: 'TLS 1.2', sse: undefined, sseC: undefined })).toEqual(['Allowed']);
    expect(find(exempting, { principal: 'app', bucket: 'data', action: 's3:PutObject', transport: 'TLS 1.2', sse: 'aws:kms' })).toEqual(['Allowed']);
  });

  test('requests are allowed as well as denied in every configuration', () => {
    for (const c of GUARDRAIL_CONFIGS) {
      const mine = outcomes.filter((o) => o.c === c);
      expect(mine.filter((o) => o.e.outcome === 'Allowed').length).toBeGreaterThan(5);
      expect(mine.filter((o) => o.e.outcome === 'ExplicitlyDenied').length).toBeGreaterThan(5);
    }
  });
});
