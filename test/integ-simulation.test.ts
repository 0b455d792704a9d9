/**
 * A dry run of every assertion the committed snapshots deploy: each `Custom::DeployAssert@SdkCall*`
 * resource of each assertion stack, with its properties resolved as CloudFormation would, goes
 * through integ-tests-alpha's own bundled Lambda handler, whose AWS calls reach an in-memory
 * model of the test stack (the buckets' encryption, blocked types and policy Sids read from the
 * test stack's template; the PutProbe code; the checks' attributes). Every assertion must pass
 * when AWS behaves as the templates declare, and the right ones must fail when it does not.
 *
 * It cannot prove AWS behaves as declared (only a deploy can); it proves that the synthesized
 * assertions are well-formed, reach the right resources with the right parameters, and decide
 * correctly.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  GetBucketEncryptionCommand, HeadObjectCommand, HeadObjectCommandInput, PutObjectCommand, PutObjectCommandInput,
  S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PUT_PROBE_CODE } from './integ-support/fixtures';
import { integSuites, snapshotDirOf } from './integ-support/synth';

// The Lambda runtime provides these clients; this project does not install them. The fakes
// route calls to the model below (jest.mock factories may only reach `mock`-prefixed globals).
jest.mock('@aws-sdk/client-lambda', () => ({
  LambdaClient: class { public send(command: { input: unknown }) { return (globalThis as any).mockAws.invoke(command.input); } },
  InvokeCommand: class { constructor(public readonly input: unknown) {} },
}), { virtual: true });
jest.mock('@aws-sdk/client-ssm', () => ({
  SSMClient: class { public send(command: { input: unknown }) { return (globalThis as any).mockAws.getParameter(command.input); } },
  GetParameterCommand: class { constructor(public readonly input: unknown) {} },
}), { virtual: true });
jest.mock('@aws-sdk/client-sfn', () => ({ SFN: class {}, SFNClient: class {} }), { virtual: true });

// The module object itself (not an import namespace), so its `request` can be replaced.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const https: typeof import('https') = require('https');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const assertionHandler: (event: unknown, context: unknown) => Promise<void> = require('@aws-cdk/integ-tests-alpha/lib/assertions/providers/lambda-handler.bundle/index.js').handler;

const REGION = 'eu-west-1';
const ACCOUNT = '111111111111';
/** Regions where S3 does not block SSE-C on new buckets by default. */
const REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C = ['me-south-1', 'me-central-1'];
interface Template {
  Resources: Record<string, { Type: string; Properties?: any; DependsOn?: string[] }>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

/** What an S3 bucket of the test stack does, as its template declares. */
interface BucketModel {
  algorithm: string;
  kmsKeyArn?: string;
  bucketKey?: boolean;
  blocked: string[];
  sids: string[];
  objects: Map<string, { sse?: string; kmsKeyId?: string; bucketKey?: boolean; sseC?: string }>;
}

/** Declared behaviour that a test may break, to show the assertions notice. */
interface Faults {
  sseCAccepted?: boolean;
  mismatchAccepted?: boolean;
  defaultAlgorithm?: string;
  /** The region the suite deploys to (default eu-west-1). */
  region?: string;
}

class SuiteModel {
  public readonly template: Template;
  public readonly buckets = new Map<string, BucketModel>();
  /** The assertion stack's conditions, for its `Fn::If`s. */
  public conditions: Record<string, unknown> = {};
  private readonly region: string;

  constructor(dir: string, testStackName: string, private readonly faults: Faults = {}) {
    this.template = JSON.parse(fs.readFileSync(path.join(dir, `${testStackName}.template.json`), 'utf-8'));
    this.region = faults.region ?? REGION;
    const newBucketsBlockSseC = !REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C.includes(this.region);
    for (const [id, resource] of Object.entries(this.template.Resources)) {
      if (resource.Type !== 'AWS::S3::Bucket') {
        continue;
      }
      const rule = resource.Properties?.BucketEncryption?.ServerSideEncryptionConfiguration?.[0];
      const byDefault = rule?.ServerSideEncryptionByDefault;
      const policy = Object.values(this.template.Resources)
        .find((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket?.Ref === id);
      this.buckets.set(this.physical(id), {
        // No configuration: S3's defaults, SSE-S3 and (since April 2026, in most regions) SSE-C blocked.
        algorithm: byDefault?.SSEAlgorithm ?? 'AES256',
        kmsKeyArn: byDefault?.KMSMasterKeyID ? this.resolve(byDefault.KMSMasterKeyID) : undefined,
        bucketKey: rule?.BucketKeyEnabled,
        blocked: rule?.BlockedEncryptionTypes?.EncryptionType ?? (newBucketsBlockSseC ? ['SSE-C'] : []),
        sids: (policy?.Properties.PolicyDocument.Statement ?? []).map((s: { Sid?: string }) => s.Sid).filter(Boolean),
        objects: new Map(),
      });
    }
  }

  /** Physical name or id of a resource of the test stack. */
  public physical(id: string): string {
    return `${id.toLowerCase()}-physical`;
  }

  /** Resolves the intrinsics CloudFormation would, in the test stack or (with exports) the assertion stack. */
  public resolve(value: any): any {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v));
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    if ('Fn::If' in value) {
      const [condition, whenTrue, whenFalse] = value['Fn::If'];
      return this.resolve(this.condition({ Condition: condition }) ? whenTrue : whenFalse);
    }
    if ('Ref' in value) {
      const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': this.region, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
      return pseudo[value.Ref] ?? this.physical(value.Ref);
    }
    if ('Fn::GetAtt' in value) {
      const [id, attribute] = value['Fn::GetAtt'];
      return this.attribute(id, attribute);
    }
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'];
      return this.resolve(parts).join(separator);
    }
    if ('Fn::ImportValue' in value) {
      const output = Object.values(this.template.Outputs ?? {}).find((o) => o.Export?.Name === value['Fn::ImportValue']);
      if (!output) {
        throw new Error(`No export ${value['Fn::ImportValue']} in the test stack`);
      }
      return this.resolve(output.Value);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** Evaluates a CloudFormation condition expression. */
  private condition(expression: any): boolean {
    if ('Condition' in expression) {
      const name = expression.Condition;
      if (!(name in this.conditions)) {
        throw new Error(`No condition ${name}`);
      }
      return this.condition(this.conditions[name]);
    }
    if ('Fn::Not' in expression) {
      return !this.condition(expression['Fn::Not'][0]);
    }
    if ('Fn::Or' in expression) {
      return expression['Fn::Or'].some((e: unknown) => this.condition(e));
    }
    if ('Fn::And' in expression) {
      return expression['Fn::And'].every((e: unknown) => this.condition(e));
    }
    if ('Fn::Equals' in expression) {
      const [a, b] = this.resolve(expression['Fn::Equals']);
      return a === b;
    }
    throw new Error(`No model for condition ${JSON.stringify(expression)}`);
  }

  private attribute(id: string, attribute: string): string {
    const resource = this.template.Resources[id];
    if (!resource) {
      // A resource of the assertion stack (the handler's own ARN as ServiceToken).
      return `${id}.${attribute}`;
    }
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${this.physical(id)}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${this.physical(id)}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${this.physical(id)}`;
      case 'Custom::S3EncryptionCheck': {
        // The stack's one check: attributes are `<bucket key>.<Attribute>`.
        const [key, name] = attribute.split('.');
        const entry = (resource.Properties.Buckets as { Key: string; BucketName: unknown; ExpectSseC?: string }[]).find((b) => b.Key === key);
        if (!entry) {
          throw new Error(`No bucket with key ${key} in the stack's check`);
        }
        return this.checkAttributes(this.resolve(entry.BucketName), entry)[name];
      }
      default:
        throw new Error(`No model for Fn::GetAtt ${id}.${attribute} (${resource.Type})`);
    }
  }

  /** What the EncryptionCheck reports for a bucket that behaves as modelled. */
  private checkAttributes(bucketName: string, expectations: { ExpectSseC?: string } = {}): Record<string, string> {
    const bucket = this.bucket(bucketName);
    const sseCBlocked = bucket.blocked.includes('SSE-C') && !this.faults.sseCAccepted;
    const algorithm = this.faults.defaultAlgorithm ?? bucket.algorithm;
    return {
      SseC: sseCBlocked ? 'BLOCKED' : 'ALLOWED',
      DefaultAlgorithm: algorithm,
      KmsKeyArn: algorithm.startsWith('aws:kms') ? bucket.kmsKeyArn ?? '' : '',
      BucketKeyEnabled: String(algorithm === 'aws:kms' && bucket.bucketKey === true),
      MismatchedHeaderRefused: String(bucket.sids.includes('DenyMismatchedEncryptionHeader') && !this.faults.mismatchAccepted),
      AbsentHeaderRefused: String(bucket.sids.includes('DenyMissingEncryptionHeader')),
      // Only the SSE-C expectation is modelled: the suites' other expectations hold as declared.
      Violations: String(expectations.ExpectSseC !== undefined && expectations.ExpectSseC !== (sseCBlocked ? 'BLOCKED' : 'ALLOWED') ? 1 : 0),
    };
  }

  public bucket(name: string): BucketModel {
    const bucket = this.buckets.get(name);
    if (!bucket) {
      throw new Error(`No bucket ${name} in the test stack`);
    }
    return bucket;
  }

  public putObject(input: PutObjectCommandInput) {
    const bucket = this.bucket(input.Bucket!);
    const denied = () => new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' });
    if (input.SSECustomerAlgorithm) {
      if ((bucket.blocked.includes('SSE-C') || bucket.sids.includes('DenySseCUploads')) && !this.faults.sseCAccepted) {
        throw denied();
      }
      bucket.objects.set(input.Key!, { sseC: input.SSECustomerAlgorithm });
      return { SSECustomerAlgorithm: input.SSECustomerAlgorithm };
    }
    if (input.ServerSideEncryption) {
      if (bucket.sids.includes('DenyMismatchedEncryptionHeader') && input.ServerSideEncryption !== bucket.algorithm && !this.faults.mismatchAccepted) {
        throw denied();
      }
      if (input.SSEKMSKeyId && bucket.sids.includes('DenyForeignKmsKey') && input.SSEKMSKeyId !== bucket.kmsKeyArn && !this.faults.mismatchAccepted) {
        throw denied();
      }
    } else if (bucket.sids.includes('DenyMissingEncryptionHeader')) {
      throw denied();
    }
    const sse = input.ServerSideEncryption ?? this.faults.defaultAlgorithm ?? bucket.algorithm;
    const kms = sse.startsWith('aws:kms');
    const stored = {
      sse,
      kmsKeyId: kms ? input.SSEKMSKeyId ?? bucket.kmsKeyArn : undefined,
      bucketKey: kms && bucket.bucketKey === true ? true : undefined,
    };
    bucket.objects.set(input.Key!, stored);
    return { ServerSideEncryption: stored.sse, SSEKMSKeyId: stored.kmsKeyId, BucketKeyEnabled: stored.bucketKey };
  }

  public headObject(input: HeadObjectCommandInput) {
    const object = this.bucket(input.Bucket!).objects.get(input.Key!);
    if (!object || (object.sseC && !input.SSECustomerKey)) {
      throw new S3ServiceException({ name: object ? 'BadRequest' : 'NotFound', $fault: 'client', $metadata: { httpStatusCode: object ? 400 : 404 }, message: '' });
    }
    return object.sseC
      ? { SSECustomerAlgorithm: object.sseC }
      : { ServerSideEncryption: object.sse, SSEKMSKeyId: object.kmsKeyId, BucketKeyEnabled: object.bucketKey };
  }

  public getBucketEncryption(name: string) {
    const bucket = this.bucket(name);
    const algorithm = this.faults.defaultAlgorithm ?? bucket.algorithm;
    return {
      ServerSideEncryptionConfiguration: {
        Rules: [{
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm, KMSMasterKeyID: algorithm.startsWith('aws:kms') ? bucket.kmsKeyArn : undefined },
          BucketKeyEnabled: bucket.bucketKey ?? false,
          BlockedEncryptionTypes: { EncryptionType: this.faults.sseCAccepted ? ['NONE'] : bucket.blocked },
        }],
      },
    };
  }

  public getParameter(name: string) {
    const id = Object.keys(this.template.Resources).find((key) => this.physical(key) === name);
    const resource = id ? this.template.Resources[id] : undefined;
    if (!resource || resource.Type !== 'AWS::SSM::Parameter') {
      throw new Error(`No parameter ${name}`);
    }
    return { Parameter: { Name: name, Type: 'String', Value: this.resolve(resource.Properties.Value), Version: 1 } };
  }
}

const s3 = mockClient(S3Client);
let responses: string[] = [];
beforeAll(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  // The handler answers CloudFormation with an HTTPS PUT to the pre-signed response URL.
  jest.spyOn(https, 'request').mockImplementation(((_options: unknown, callback?: (res: unknown) => void) => {
    let body = '';
    const request = {
      on: () => request,
      write: (chunk: string) => { body += chunk; },
      end: () => { responses.push(body); callback?.({}); },
    };
    return request;
  }) as never);
});
afterAll(() => jest.restoreAllMocks());

/** Runs every SDK-call assertion of a suite against `model`; returns each one's status by logical id. */
async function runAssertions(suite: string, faults?: Faults): Promise<Record<string, string>> {
  const dir = snapshotDirOf(suite);
  const integ = JSON.parse(fs.readFileSync(path.join(dir, 'integ.json'), 'utf-8'));
  const testCase = Object.values<{ stacks: string[]; assertionStackName: string }>(integ.testCases)[0];
  const model = new SuiteModel(dir, testCase.stacks[0], faults);
  const probe = new Function('require', 'exports', 'module', `${PUT_PROBE_CODE}; return module.exports.handler || exports.handler;`);
  const probeModule = { exports: {} as Record<string, unknown> };
  const probeHandler = probe(require, probeModule.exports, probeModule) as (event: unknown) => Promise<unknown>;

  s3.reset();
  s3.on(PutObjectCommand).callsFake((input) => model.putObject(input));
  s3.on(HeadObjectCommand).callsFake((input) => model.headObject(input));
  s3.on(GetBucketEncryptionCommand).callsFake((input) => model.getBucketEncryption(input.Bucket));
  (globalThis as any).mockAws = {
    invoke: async (input: { FunctionName: string; Payload: Uint8Array }) => {
      const event = JSON.parse(Buffer.from(input.Payload).toString('utf-8'));
      try {
        return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(await probeHandler(event))) };
      } catch (e) {
        return { StatusCode: 200, FunctionError: 'Unhandled', Payload: Buffer.from(JSON.stringify({ errorType: (e as Error).name })) };
      }
    },
    getParameter: async (input: { Name: string }) => model.getParameter(input.Name),
  };

  const assertionTemplate: Template = JSON.parse(fs.readFileSync(path.join(dir, `${testCase.assertionStackName}.template.json`), 'utf-8'));
  model.conditions = assertionTemplate.Conditions ?? {};
  // Deploy order: CloudFormation creates each call after the ones it depends on (`next`).
  const pending = Object.entries(assertionTemplate.Resources).filter(([, r]) => r.Type.startsWith('Custom::DeployAssert@SdkCall'));
  const done = new Set<string>();
  const statuses: Record<string, string> = {};
  while (pending.length > 0) {
    const ready = (r: Template['Resources'][string]) => (r.DependsOn ?? []).every((d) => done.has(d) || !pending.some(([id]) => id === d));
    const index = pending.findIndex(([, r]) => ready(r));
    const [id, resource] = pending.splice(index, 1)[0];
    responses = [];
    await assertionHandler({
      RequestType: 'Create',
      ResourceType: resource.Type,
      LogicalResourceId: id,
      RequestId: id,
      StackId: 'stack',
      ResponseURL: 'https://cloudformation-custom-resource-response.invalid/response',
      ResourceProperties: model.resolve(resource.Properties),
    }, { getRemainingTimeInMillis: () => 60_000, logStreamName: 'test' });
    const response = JSON.parse(responses[0]);
    statuses[id] = response.Status === 'SUCCESS' ? JSON.parse(response.Data.assertion).status : `FAILED: ${response.Reason}`;
    done.add(id);
  }
  return statuses;
}

describe.each(integSuites().map((suite) => [path.basename(suite), suite]))('%s', (_name, suite) => {
  test('every assertion passes when AWS behaves as the templates declare', async () => {
    const statuses = await runAssertions(suite);
    expect(Object.keys(statuses).length).toBeGreaterThanOrEqual(6);
    expect(Object.entries(statuses).filter(([, status]) => status !== 'success')).toEqual([]);
  });

  test.each(REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C)('every assertion passes in %s, where new buckets accept SSE-C', async (region) => {
    const statuses = await runAssertions(suite, { region });
    expect(Object.entries(statuses).filter(([, status]) => status !== 'success')).toEqual([]);
  });

  test('the SSE-C, header and algorithm assertions fail when S3 does not behave as declared', async () => {
    const failing = async (faults: Faults) => Object.entries(await runAssertions(suite, faults))
      .filter(([, status]) => status !== 'success').map(([id]) => id);
    const sseC = await failing({ sseCAccepted: true });
    const mismatch = await failing({ mismatchAccepted: true });
    const algorithm = await failing({ defaultAlgorithm: 'aws:kms:dsse' });
    if (path.basename(suite) !== 'integ.sse-c-allowed.ts') {
      // The bucket configuration, the probe and the check all notice.
      expect(sseC).toEqual(expect.arrayContaining([expect.stringMatching(/getBucketEncryption/), expect.stringMatching(/^LambdaInvoke/), expect.stringMatching(/SSMgetParameter/)]));
    } else {
      // Only the plain bucket blocks SSE-C here; its check notices.
      expect(sseC).toEqual(expect.arrayContaining([expect.stringMatching(/SSMgetParameter/)]));
    }
    expect(mismatch).toEqual(expect.arrayContaining([expect.stringMatching(/^LambdaInvoke/), expect.stringMatching(/SSMgetParameter/)]));
    expect(algorithm).toEqual(expect.arrayContaining([expect.stringMatching(/getBucketEncryption/), expect.stringMatching(/putObject/), expect.stringMatching(/headObject/), expect.stringMatching(/SSMgetParameter/)]));
  });
});
