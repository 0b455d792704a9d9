/**
 * Shared pieces of the integration suites (`test/integ.*.ts`). This folder's files do not match
 * integ-runner's test pattern (`integ.*.ts`) nor jest's (`*.test.ts`): they are helpers only.
 */
import { ExpectedResult, IApiCall, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aspects, CfnResource, Duration, IAspect, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { EncryptedBucket, EncryptionCheck } from '../../src';

/**
 * An app whose output is deterministic: no construct-creation or metadata stack traces (they
 * embed absolute paths and line numbers), so the committed snapshots are the same on every machine.
 */
export function integApp(): App {
  const app = new App({
    stackTraces: false,
    context: {
      'aws:cdk:disable-creation-stack-traces': true,
      '@aws-cdk/core:stackTraces': false,
      // What `cdk init` writes and the README asks for; keeps log-delivery grants policy-based.
      '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
      // The assertion stack imports the test stack's outputs (Fn::ImportValue); say so rather than
      // get aws-cdk-lib's warning about the unset default.
      '@aws-cdk/core:defaultCrossStackReferences': 'strong',
    },
  });
  Aspects.of(app).add(new FixedAssertionSalt());
  return app;
}

/**
 * integ-tests-alpha writes `salt: Date.now()` into every assertion resource so that a stack
 * *update* re-runs it; that makes every synth differ. The suites never update a deployed stack
 * (`stackUpdateWorkflow: false`, and integ-runner destroys the stacks after each run), so every
 * assertion runs on create and a fixed salt loses nothing. After a `--no-clean` run, destroy the
 * stacks before the next one.
 */
class FixedAssertionSalt implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof CfnResource && node.cfnResourceType.startsWith('Custom::DeployAssert@')) {
      node.addPropertyOverride('salt', 'fixed');
    }
  }
}

/**
 * The suites' buckets are test fixtures: unlike the library's defaults (retain the bucket, the
 * key and the logs), everything here is deleted with the stack, so a run leaves nothing behind.
 */
export const DISPOSABLE_BUCKET = { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true } as const;

/**
 * Makes every resource of `stack` go with the stack: DESTROY on everything (keys and log groups
 * included) and the shortest KMS deletion window, 7 days, after which the key is gone.
 */
/**
 * The suite's IntegTest, with the settings every suite shares: Lambda bundles are part of what
 * users deploy, so a changed handler is a changed snapshot (`diffAssets`); and no update workflow,
 * because it would first deploy the committed snapshot, whose bundled assets are not committed
 * (.gitignore): every run deploys the current code from scratch instead.
 */
export function integTest(app: App, id: string, stack: Stack): IntegTest {
  return new IntegTest(app, id, { testCases: [stack], diffAssets: true, stackUpdateWorkflow: false });
}

export function makeDisposable(stack: Stack): void {
  RemovalPolicies.of(stack).destroy();
  Aspects.of(stack).add(new ShortestKeyDeletionWindow());
}

class ShortestKeyDeletionWindow implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof kms.CfnKey) {
      node.pendingWindowInDays = 7;
    }
  }
}

/** A 256-bit SSE-C key the suites use for every SSE-C request (a test fixture, not a secret). */
export const TEST_SSE_C_KEY = 'cdk-s3-encryption-integ-ssec-key';

/**
 * The upload a `PutProbe` makes. `sseCustomerKey` is sent as-is to the SDK, which base64-encodes
 * it and adds the key MD5: a 32-character ASCII string is 256 bits.
 */
export interface ProbeUpload {
  readonly bucket: s3.IBucket;
  readonly key: string;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  readonly sseCustomerKey?: string;
}

// awsApiCall cannot expect a failure (an SDK error fails the assertion resource, and with it the
// deployment), so uploads that must be refused go through this function: it reports a 403 as
// {"outcome":"REFUSED"} and rethrows anything else, so an unexpected error still fails the
// assertion (a Lambda error payload matches no expected outcome).
export const PUT_PROBE_CODE = `
const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
const s3 = new S3Client({});
exports.handler = async (event) => {
  const input = { Bucket: event.bucket, Key: event.key, Body: 'cdk-s3-encryption integration probe' };
  if (event.serverSideEncryption) input.ServerSideEncryption = event.serverSideEncryption;
  if (event.kmsKeyId) input.SSEKMSKeyId = event.kmsKeyId;
  if (event.sseCustomerKey) {
    input.SSECustomerAlgorithm = 'AES256';
    input.SSECustomerKey = event.sseCustomerKey;
  }
  try {
    const out = await s3.send(new PutObjectCommand(input));
    return {
      outcome: 'ACCEPTED',
      serverSideEncryption: out.ServerSideEncryption || '',
      kmsKeyId: out.SSEKMSKeyId || '',
      sseCustomerAlgorithm: out.SSECustomerAlgorithm || '',
    };
  } catch (e) {
    const status = e.$metadata && e.$metadata.httpStatusCode;
    if (status === 403) {
      return { outcome: 'REFUSED', status, code: e.name };
    }
    throw e;
  }
};
`;

/**
 * A Lambda function in the test stack that makes one PutObject with the headers it is given and
 * reports whether S3 accepted or refused it.
 */
export class PutProbe extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(PUT_PROBE_CODE),
      timeout: Duration.seconds(30),
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_DAY, removalPolicy: RemovalPolicy.DESTROY }),
    });
  }

  /** Lets the probe upload to `bucket` (and use its KMS key). */
  public allowUploadsTo(bucket: s3.IBucket): void {
    bucket.grantPut(this.function);
  }

  /** An assertion-stack call that makes `upload` through the probe. */
  public upload(integ: IntegTest, upload: ProbeUpload): IApiCall {
    return integ.assertions.invokeFunction({
      functionName: this.function.functionName,
      payload: JSON.stringify({
        bucket: upload.bucket.bucketName,
        key: upload.key,
        serverSideEncryption: upload.serverSideEncryption,
        kmsKeyId: upload.kmsKeyId,
        sseCustomerKey: upload.sseCustomerKey,
      }),
    });
  }
}

/** The probe's answer to an upload the bucket must refuse: 403 AccessDenied. */
export const REFUSED = ExpectedResult.objectLike({
  Payload: Match.serializedJson({ outcome: 'REFUSED', status: 403, code: 'AccessDenied' }),
});

/** The probe's answer to an upload the bucket must accept, with what S3 reported applying. */
export function accepted(applied: { serverSideEncryption?: string; kmsKeyId?: string; sseCustomerAlgorithm?: string }): ExpectedResult {
  return ExpectedResult.objectLike({
    Payload: Match.serializedJson({
      outcome: 'ACCEPTED',
      serverSideEncryption: applied.serverSideEncryption ?? '',
      kmsKeyId: applied.kmsKeyId ?? '',
      sseCustomerAlgorithm: applied.sseCustomerAlgorithm ?? '',
    }),
  });
}

/**
 * Grants the assertion handler what integ-tests-alpha cannot derive from the SDK call names:
 * `GetBucketEncryption` is authorized as `s3:GetEncryptionConfiguration` and `HeadObject` as
 * `s3:GetObject`, and uploads to an SSE-KMS bucket need the key.
 */
export function allowAssertionReads(call: IApiCall, buckets: s3.IBucket[], key?: kms.IKey): void {
  call.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['s3:GetEncryptionConfiguration'],
    Resource: buckets.map((b) => b.bucketArn),
  });
  call.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['s3:GetObject'],
    Resource: buckets.map((b) => b.arnForObjects('*')),
  });
  if (key) {
    call.provider.addToRolePolicy({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: [key.keyArn],
    });
  }
}

/** The encryption rule GetBucketEncryption must report (one rule, exactly these blocked types). */
export function encryptionRule(rule: {
  algorithm: string;
  kmsKeyArn?: string;
  bucketKeyEnabled?: boolean;
  blocked: 'SSE-C' | 'NONE';
}): ExpectedResult {
  return ExpectedResult.objectLike({
    ServerSideEncryptionConfiguration: {
      Rules: [{
        ApplyServerSideEncryptionByDefault: rule.kmsKeyArn
          ? { SSEAlgorithm: rule.algorithm, KMSMasterKeyID: rule.kmsKeyArn }
          : { SSEAlgorithm: rule.algorithm },
        ...(rule.bucketKeyEnabled === undefined ? {} : { BucketKeyEnabled: rule.bucketKeyEnabled }),
        BlockedEncryptionTypes: { EncryptionType: [rule.blocked] },
      }],
    },
  });
}

/** The attributes of an `EncryptionCheck`, by their `Fn::GetAtt` names. */
/**
 * Regions where S3 does not block SSE-C on new buckets by default (the April 2026 change left
 * them out): Middle East (Bahrain) and Middle East (UAE).
 */
export const REGIONS_WHERE_NEW_BUCKETS_ACCEPT_SSE_C: readonly string[] = ['me-south-1', 'me-central-1'];

export interface CheckAttributeValues {
  readonly SseC?: string;
  readonly DefaultAlgorithm?: string;
  readonly KmsKeyArn?: string;
  readonly BucketKeyEnabled?: string;
  readonly MismatchedHeaderRefused?: string;
  readonly AbsentHeaderRefused?: string;
  readonly Violations?: string;
}

/**
 * What the SSM parameter holding a check's attributes (see `expectCheckAttributes`) must hold,
 * as `GetParameter` answers it.
 */
export function checkAttributesExpectation(expected: CheckAttributeValues): ExpectedResult {
  return ExpectedResult.objectLike({ Parameter: { Value: Match.serializedJson(Match.objectLike({ ...expected })) } });
}

/**
 * Asserts the attributes of `check` with one `awsApiCall(...).expect(...)`, so a failure shows
 * them all.
 *
 * The test stack writes the attributes (`Fn::GetAtt` on the check) as JSON into an SSM
 * parameter, and the assertion reads it back with `GetParameter`. Not an export per attribute:
 * CloudFormation refuses to export an empty value, and `KmsKeyArn` is empty for SSE-S3. Not
 * `integ.assertions.expect(...)`: its output reads an attribute named `data` that the
 * integ-tests-alpha 2.245 handler does not return for that resource type (its answer has
 * `assertion`), while `awsApiCall(...).expect(...)` is the path integ-runner users rely on.
 */
export function expectCheckAttributes(integ: IntegTest, id: string, check: EncryptionCheck, expected: CheckAttributeValues): IApiCall {
  const stack = Stack.of(check);
  // Through the public getters: each records its attribute as referenced, so the stack's one
  // check returns it (and only what is referenced fits CloudFormation's 4 KB response).
  const getters: Record<keyof CheckAttributeValues, () => string> = {
    SseC: () => check.observedSseC,
    DefaultAlgorithm: () => check.observedAlgorithm,
    KmsKeyArn: () => check.observedKmsKeyArn,
    BucketKeyEnabled: () => check.observedBucketKeyEnabled,
    MismatchedHeaderRefused: () => check.mismatchedHeaderRefused,
    AbsentHeaderRefused: () => check.absentHeaderRefused,
    Violations: () => check.violationCount,
  };
  const actual: Record<string, string> = {};
  for (const name of Object.keys(expected) as (keyof CheckAttributeValues)[]) {
    actual[name] = getters[name]();
  }
  const parameter = new ssm.StringParameter(stack, `${id}Parameter`, {
    description: `Attributes of ${check.node.path}, read back by the integration test`,
    stringValue: stack.toJsonString(actual),
  });
  const call = integ.assertions.awsApiCall('SSM', 'getParameter', { Name: parameter.parameterName });
  call.expect(checkAttributesExpectation(expected));
  return call;
}

/** The `EncryptionCheck` an `EncryptedBucket` creates for itself (`verifyEncryption`, on by default). */
export function checkOf(bucket: EncryptedBucket): EncryptionCheck {
  if (!bucket.encryptionCheck) {
    throw new Error(`${bucket.node.path} has no EncryptionCheck; the suites rely on verifyEncryption (default true).`);
  }
  return bucket.encryptionCheck;
}
