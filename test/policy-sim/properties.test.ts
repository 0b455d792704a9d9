import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import fc from 'fast-check';
import type { BucketConfig } from './expected-outcomes';
import { documentedAlgorithm, expectedOutcome, hasCustomerKey, isRejected, usesKms } from './expected-outcomes';
import {
  CUSTOMER_PROVIDED_KEYS_CHOICES, ENCRYPTION_CHOICES, ENCRYPTION_HEADERS_CHOICES, ExtraProps, libraryStatements, MINIMUM_TLS_CHOICES,
  newStack, optionsFor, fastEncryptedBucketFixture, singleEncryptedBucketFixture,
} from './fixtures';
import { TemplateResolver } from './intrinsics';
import { policyProblems, type PolicyDocument } from './policy-check';
import type { PrincipalName, S3Request } from './s3-requests';
import { identityPoliciesOf, OWNER_ACCOUNT, S3_ACTIONS, SSE_ALGORITHMS, toSimulatedRequest, TRANSPORTS } from './s3-requests';
import { simulate } from './simulator';
import { BucketEncryptionPolicy } from '../../src';

/**
 * Invariants over random valid props and random requests. Each property draws a bucket
 * (the matrix's four choices plus props the matrix does not vary) and a batch of requests, and
 * evaluates them against the synthesized, resolved policy of a full EncryptedBucket.
 */

const NUM_RUNS = 60;
const REQUESTS_PER_RUN = 8;

const TLS_OF: Record<string, number> = { 'TLS 1.0': 1.0, 'TLS 1.1': 1.1, 'TLS 1.2': 1.2, 'TLS 1.3': 1.3 };

const configArb: fc.Arbitrary<BucketConfig> = fc.record({
  encryption: fc.constantFrom(...ENCRYPTION_CHOICES),
  customerProvidedKeys: fc.constantFrom(...CUSTOMER_PROVIDED_KEYS_CHOICES),
  encryptionHeaders: fc.constantFrom(...ENCRYPTION_HEADERS_CHOICES),
  minimumTLSVersion: fc.constantFrom(...MINIMUM_TLS_CHOICES),
}).filter((c) => !isRejected(c));

/** Valid props: a bucket name of any valid length, versioning, Bucket Keys where S3 supports them. */
function extraArb(config: BucketConfig): fc.Arbitrary<ExtraProps> {
  const bucketKeys = config.encryption.startsWith('KMS');
  return fc.record({
    bucketName: fc.option(fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/), { nil: undefined }),
    versioned: fc.option(fc.boolean(), { nil: undefined }),
    bucketKeyEnabled: bucketKeys ? fc.option(fc.boolean(), { nil: undefined }) : fc.constant(undefined),
    // The deploy-time check adds its own Allow for its handler role; the invariants hold either way.
    verifyEncryption: fc.option(fc.boolean(), { nil: undefined }),
  }, { requiredKeys: [] });
}

const bucketArb = configArb.chain((config) => extraArb(config).map((extra) => ({ config, extra })));

/** Any request a client could send to a bucket configured as `c` (SSE and SSE-C never together: S3 rejects that). */
function requestArb(c: BucketConfig, principals: readonly PrincipalName[] = ['owner', 'granted', 'foreign', 'partner']): fc.Arbitrary<S3Request> {
  const keyChoices: ('bucket key' | 'foreign key')[] = hasCustomerKey(c.encryption) ? ['bucket key', 'foreign key'] : ['foreign key'];
  type Headers = Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'>;
  const headers: fc.Arbitrary<Headers> = fc.oneof(
    fc.constant<Headers>({}),
    fc.constant<Headers>({ sseC: true }),
    fc.constantFrom(...SSE_ALGORITHMS).chain((sse): fc.Arbitrary<Headers> => sse === 'AES256'
      ? fc.constant({ sse })
      : fc.option(fc.constantFrom(...keyChoices), { nil: undefined }).map((kmsKey) => kmsKey ? { sse, kmsKey } : { sse })),
  );
  return fc.record({
    principal: fc.constantFrom(...principals),
    action: fc.constantFrom(...S3_ACTIONS),
    transport: fc.constantFrom(...TRANSPORTS),
  }).chain((r): fc.Arbitrary<S3Request> => r.action === 's3:PutObject' ? headers.map((h) => ({ ...r, ...h })) : fc.constant(r));
}

const AUTHORIZED: PrincipalName[] = ['owner', 'granted', 'partner'];

/** Transports at or above the bucket's minimum. */
function goodTransports(c: BucketConfig) {
  return TRANSPORTS.filter((t) => t !== 'HTTP' && TLS_OF[t] >= c.minimumTLSVersion);
}

/** Every header combination that correctly encrypts an upload to a bucket configured as `c`. */
function correctUploads(c: BucketConfig): Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'>[] {
  const uploads: Pick<S3Request, 'sse' | 'kmsKey' | 'sseC'>[] = [];
  if (c.customerProvidedKeys !== 'BLOCK') {
    uploads.push({ sseC: true });
  }
  if (c.customerProvidedKeys !== 'REQUIRE') {
    uploads.push({ sse: documentedAlgorithm(c.encryption) });
    if (hasCustomerKey(c.encryption)) {
      uploads.push({ sse: documentedAlgorithm(c.encryption), kmsKey: 'bucket key' });
    }
    if (c.encryptionHeaders !== 'REQUIRE') {
      uploads.push({}); // the bucket default
    }
  }
  return uploads;
}

async function outcome(config: BucketConfig, extra: ExtraProps, request: S3Request) {
  const fixture = fastEncryptedBucketFixture(config, extra);
  return simulate(toSimulatedRequest(request, fixture), {
    resourcePolicy: fixture.policy,
    identityPolicies: identityPoliciesOf(request.principal, fixture.bucketArn),
  });
}

async function check(property: fc.IAsyncProperty<any>) {
  await fc.assert(property, { numRuns: NUM_RUNS });
}

describe('properties of EncryptedBucket policies, over random valid props', () => {
  test('nothing is ever allowed over plain HTTP or below the minimum TLS version', async () => {
    await check(fc.asyncProperty(bucketArb.chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      requests: fc.array(requestArb(config).filter((r) => r.transport === 'HTTP' || TLS_OF[r.transport] < config.minimumTLSVersion),
        { minLength: 1, maxLength: REQUESTS_PER_RUN }),
    })), async ({ config, extra, requests }) => {
      for (const request of requests) {
        expect((await outcome(config, extra, request)).result).toBe('ExplicitlyDenied');
      }
    }));
  });

  test('a mismatched algorithm or a foreign key is never allowed while headers are enforced', async () => {
    await check(fc.asyncProperty(bucketArb.filter(({ config }) => config.encryptionHeaders !== 'NOT_ENFORCED').chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      requests: fc.array(requestArb(config).filter((r) => r.action === 's3:PutObject' &&
        ((r.sse !== undefined && r.sse !== documentedAlgorithm(config.encryption)) || r.kmsKey === 'foreign key')),
      { minLength: 1, maxLength: REQUESTS_PER_RUN }),
    })), async ({ config, extra, requests }) => {
      for (const request of requests) {
        const result = await outcome(config, extra, request);
        expect(result.result).toBe('ExplicitlyDenied');
        const expectedSid = request.sse !== documentedAlgorithm(config.encryption)
          ? BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION
          : BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY;
        expect(result.deniedBy).toContain(expectedSid);
      }
    }));
  });

  test('an SSE-C upload is allowed exactly when customerProvidedKeys is not BLOCK', async () => {
    await check(fc.asyncProperty(bucketArb.chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      principal: fc.constantFrom(...AUTHORIZED),
      transport: fc.constantFrom(...goodTransports(config)),
    })), async ({ config, extra, principal, transport }) => {
      const result = await outcome(config, extra, { principal, action: 's3:PutObject', transport, sseC: true });
      expect(result.result).toBe(config.customerProvidedKeys === 'BLOCK' ? 'ExplicitlyDenied' : 'Allowed');
    }));
  });

  test('a correctly encrypted upload, and every read, list and delete, over good TLS by an authorized principal is allowed', async () => {
    await check(fc.asyncProperty(bucketArb.chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      principal: fc.constantFrom(...AUTHORIZED),
      transport: fc.constantFrom(...goodTransports(config)),
      upload: fc.constantFrom(...correctUploads(config)),
      other: fc.constantFrom<S3Request['action']>('s3:GetObject', 's3:ListBucket', 's3:DeleteObject'),
    })), async ({ config, extra, principal, transport, upload, other }) => {
      expect(await outcome(config, extra, { principal, action: 's3:PutObject', transport, ...upload })).toEqual({ result: 'Allowed', deniedBy: [] });
      expect(await outcome(config, extra, { principal, action: other, transport })).toEqual({ result: 'Allowed', deniedBy: [] });
    }));
  });

  test('every random request gets exactly the outcome the spec gives it', async () => {
    await check(fc.asyncProperty(bucketArb.chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      requests: fc.array(requestArb(config), { minLength: 1, maxLength: REQUESTS_PER_RUN }),
    })), async ({ config, extra, requests }) => {
      for (const request of requests) {
        const expected = expectedOutcome(config, request, true);
        expect(await outcome(config, extra, request)).toEqual({ result: expected.outcome, deniedBy: expected.deniedBy });
      }
    }));
  });

  test('the library\'s statements never grant anything: on their own they allow no request, for anyone', async () => {
    await check(fc.asyncProperty(bucketArb.chain(({ config, extra }) => fc.record({
      config: fc.constant(config),
      extra: fc.constant(extra),
      requests: fc.array(requestArb(config, ['granted', 'foreign']), { minLength: 1, maxLength: REQUESTS_PER_RUN }),
    })), async ({ config, extra, requests }) => {
      const fixture = fastEncryptedBucketFixture(config, extra);
      const own = libraryStatements(fixture.policy);
      expect(own.length).toBeGreaterThanOrEqual(2);
      for (const statement of own) {
        expect(statement.Effect).toBe('Deny');
        expect(statement.Principal).toEqual({ AWS: '*' });
      }
      const libraryOnly: PolicyDocument = { Version: '2012-10-17', Statement: own };
      for (const request of requests) {
        const result = await simulate(toSimulatedRequest(request, fixture), {
          resourcePolicy: libraryOnly,
          identityPolicies: identityPoliciesOf(request.principal, fixture.bucketArn),
        });
        expect(result.result).not.toBe('Allowed');
      }
    }));
  });
});

test('the fast property fixtures resolve to the same policies as a synthesized template', () => {
  const samples = fc.sample(bucketArb, { numRuns: 8, seed: 42 });
  samples.push({
    config: { encryption: 'KMS (library key)', customerProvidedKeys: 'ALLOW', encryptionHeaders: 'REQUIRE', minimumTLSVersion: 1.3 },
    extra: {},
  });
  for (const { config, extra } of samples) {
    const fast = fastEncryptedBucketFixture(config, extra);
    const synthesized = singleEncryptedBucketFixture(config, extra);
    // Logical ids differ between the two stacks; the policies must match once names are aligned.
    const align = (f: typeof fast) => JSON.parse(JSON.stringify(f)
      .split(f.bucketArn).join('<bucket>')
      .split(f.keyArn ?? '<no key>').join('<key>')
      .split(f.principals.granted).join('<granted>')
      .replace(/arn:aws:iam::111111111111:role\/[A-Za-z0-9]+HandlerRole[A-Za-z0-9]*/g, '<handler>'));
    expect(align(fast)).toEqual(align(synthesized));
  }
});

describe('properties of BucketEncryptionPolicy.statements, over imported buckets and keys', () => {
  const stack = newStack();
  let n = 0;

  test('every statement is a Deny for every principal, with a Sid from ALL_SIDS, and the policy checks pass', async () => {
    await check(fc.asyncProperty(configArb, fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/), async (config, bucketName) => {
      n += 1;
      const bucket = s3.Bucket.fromBucketName(stack, `Imported${n}`, bucketName);
      const key = kms.Key.fromKeyArn(stack, `ImportedKey${n}`, `arn:aws:kms:eu-west-1:${OWNER_ACCOUNT}:key/11111111-2222-4333-8444-555555555555`);
      const options = optionsFor(config, key);
      const statements = BucketEncryptionPolicy.statements(bucket, {
        ...options,
        encryptionKey: config.encryption.endsWith('(library key)') ? key : options.encryptionKey,
      });
      const resolved = new TemplateResolver({ Resources: {} }).resolve(stack.resolve(statements.map((s) => s.toStatementJson()))) as PolicyDocument['Statement'];
      expect(await policyProblems({ Version: '2012-10-17', Statement: resolved }, 'resource')).toEqual([]);
      const sids = resolved.map((s) => s.Sid);
      expect(new Set(sids).size).toBe(sids.length);
      for (const statement of resolved) {
        expect(statement.Effect).toBe('Deny');
        expect(statement.Principal).toEqual({ AWS: '*' });
        expect(BucketEncryptionPolicy.ALL_SIDS).toContain(statement.Sid);
        expect(JSON.stringify(statement.Resource)).toContain(`arn:aws:s3:::${bucketName}`);
      }
      // A KMS bucket's key-id statement names its key; an aws/s3 bucket's refuses any key.
      const foreignKey = resolved.find((s) => s.Sid === BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY);
      expect(foreignKey !== undefined).toBe(config.encryptionHeaders !== 'NOT_ENFORCED' && usesKms(config.encryption));
    }));
  });
});
