import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BucketEncryptionPolicy, BucketEncryptionPolicyOptions } from '../bucket-encryption-policy';
import { CustomerProvidedKeys, EncryptionHeaders } from '../encryption-options';

/**
 * The statements of the organisation policies, taken from `BucketEncryptionPolicy.statements`
 * (the library's single source of the bucket-policy statements) wherever the meaning is the
 * same, so that a fix to a bucket-policy condition reaches the guardrails too and the Sids match.
 */

/** A policy statement as Organizations stores it. */
export interface OrganizationPolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Deny';
  /** RCPs only: Organizations accepts nothing but `"*"` there. */
  readonly Principal?: '*';
  readonly Action: string | string[];
  readonly Resource?: string;
  readonly NotResource?: string[];
  readonly Condition: Record<string, Record<string, unknown>>;
}

export interface OrganizationPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: OrganizationPolicyStatement[];
}

/** Denies changes to default encryption (`BlockedEncryptionTypes` included) and bucket policies. */
export const SID_PROTECT_ENCRYPTION_SETTINGS = 'DenyEncryptionSettingChanges';
/** Denies SSE-C uploads by the organisation's principals to buckets outside the organisation. */
export const SID_DENY_SSE_C_OUTSIDE_ORGANIZATION = 'DenySseCUploadsOutsideOrganization';

export interface ResourceControlOptions {
  readonly minimumTLSVersion: number;
  /** Object ARN patterns (`arn:...:s3:::bucket/*`) where SSE-C uploads stay allowed. */
  readonly sseCExemptObjects: readonly string[];
  readonly encryptionHeaders: EncryptionHeaders;
  /** The algorithm an upload may name; only read when `encryptionHeaders` is enforced. */
  readonly encryption?: s3.BucketEncryption;
}

export interface ServiceControlOptions {
  /** `aws:PrincipalArn` patterns exempt from the settings protection. */
  readonly platformRoleArns: readonly string[];
  readonly protectBucketPolicies: boolean;
  readonly denySseCOutsideOrganization: boolean;
}

interface ActionAndCondition {
  readonly Action: string | string[];
  readonly Condition: Record<string, Record<string, unknown>>;
}

/**
 * The library's bucket-policy statements for `options`, by Sid, in the form Organizations takes.
 *
 * `BucketEncryptionPolicy.statements` needs a bucket; the organisation statements replace its
 * resources with `*`, so an imported placeholder serves, and it is removed again at once so that
 * it never appears in the user's construct tree. (A placeholder in an app of its own would be
 * worse: an App registers itself for synthesis when the CDK CLI runs, and its stack would land
 * in the user's cloud assembly.)
 */
function bucketPolicyStatements(scope: Construct, options: BucketEncryptionPolicyOptions): Map<string, ActionAndCondition> {
  const id = 'BucketPolicyStatementSource';
  const bucket = s3.Bucket.fromBucketName(scope, id, 'any-bucket');
  try {
    const bySid = new Map<string, ActionAndCondition>();
    for (const statement of BucketEncryptionPolicy.statements(bucket, options)) {
      const json = statement.toStatementJson();
      bySid.set(json.Sid, { Action: json.Action, Condition: json.Condition });
    }
    return bySid;
  } finally {
    scope.node.tryRemoveChild(id);
  }
}

function take(statements: ReturnType<typeof bucketPolicyStatements>, sid: string) {
  const statement = statements.get(sid);
  if (!statement) {
    // A change to BucketEncryptionPolicy that drops a statement the guardrails rely on.
    throw new Error(`BucketEncryptionPolicy.statements wrote no ${sid} statement; the organisation policies cannot be built from it.`);
  }
  return statement;
}

/** `s3.BucketEncryption` values that name a key are reduced to their algorithm: an organisation has many keys. */
function algorithmOnly(encryption: s3.BucketEncryption): s3.BucketEncryption {
  if (encryption === s3.BucketEncryption.KMS) return s3.BucketEncryption.KMS_MANAGED;
  if (encryption === s3.BucketEncryption.DSSE) return s3.BucketEncryption.DSSE_MANAGED;
  return encryption;
}

/** The RCP: what no principal, of any account, may do to the organisation's buckets. */
export function resourceControlPolicy(scope: Construct, options: ResourceControlOptions): OrganizationPolicyDocument {
  const blocking = bucketPolicyStatements(scope, {
    minimumTLSVersion: options.minimumTLSVersion,
    customerProvidedKeys: CustomerProvidedKeys.BLOCK,
    encryptionHeaders: EncryptionHeaders.NOT_ENFORCED,
  });
  const everywhere = (sid: string) => everywhereFrom(blocking, sid);

  const statements: OrganizationPolicyStatement[] = [
    everywhere(BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT),
    everywhere(BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS),
  ];

  const sseC = take(blocking, BucketEncryptionPolicy.SID_DENY_SSE_C);
  statements.push(options.sseCExemptObjects.length === 0
    ? everywhere(BucketEncryptionPolicy.SID_DENY_SSE_C)
    // NotResource: every object except those of the exempt buckets. (There is no global
    // condition key for the resource ARN, so a condition cannot express the exemption.)
    : { Sid: BucketEncryptionPolicy.SID_DENY_SSE_C, Effect: 'Deny', Principal: '*', Action: sseC.Action, NotResource: [...options.sseCExemptObjects], Condition: sseC.Condition });

  if (options.encryptionHeaders !== EncryptionHeaders.NOT_ENFORCED) {
    if (!options.encryption) {
      throw new Error('encryption is required when encryptionHeaders is enforced');
    }
    // customerProvidedKeys ALLOW: an SSE-C upload to an exempt bucket sends no
    // x-amz-server-side-encryption header, and must not be refused for that.
    const headers = bucketPolicyStatements(scope, {
      encryption: algorithmOnly(options.encryption),
      customerProvidedKeys: CustomerProvidedKeys.ALLOW,
      encryptionHeaders: options.encryptionHeaders,
      minimumTLSVersion: options.minimumTLSVersion,
    });
    // The key-id statement is left out on purpose: buckets of an organisation use many keys.
    statements.push(everywhereFrom(headers, BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION));
    if (options.encryptionHeaders === EncryptionHeaders.REQUIRE) {
      statements.push(everywhereFrom(headers, BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION));
    }
  }
  return { Version: '2012-10-17', Statement: statements };

  function everywhereFrom(source: ReturnType<typeof bucketPolicyStatements>, sid: string): OrganizationPolicyStatement {
    const { Action, Condition } = take(source, sid);
    return { Sid: sid, Effect: 'Deny', Principal: '*', Action, Resource: '*', Condition };
  }
}

/** The SCP: what the organisation's own principals may not do, whatever their IAM policies allow. */
export function serviceControlPolicy(scope: Construct, options: ServiceControlOptions): OrganizationPolicyDocument {
  // PutEncryptionConfiguration authorizes PutBucketEncryption and DeleteBucketEncryption, and so
  // every change to BlockedEncryptionTypes. Protecting only DeleteBucketPolicy would be
  // theatre: PutBucketPolicy can replace a policy with one that lacks the Deny statements.
  const actions = ['s3:PutEncryptionConfiguration'];
  if (options.protectBucketPolicies) {
    actions.push('s3:PutBucketPolicy', 's3:DeleteBucketPolicy');
  }
  const statements: OrganizationPolicyStatement[] = [{
    Sid: SID_PROTECT_ENCRYPTION_SETTINGS,
    Effect: 'Deny',
    Action: actions,
    Resource: '*',
    Condition: { ArnNotLike: { 'aws:PrincipalArn': [...options.platformRoleArns] } },
  }];

  if (options.denySseCOutsideOrganization) {
    const blocking = bucketPolicyStatements(scope, {
      customerProvidedKeys: CustomerProvidedKeys.BLOCK,
      encryptionHeaders: EncryptionHeaders.NOT_ENFORCED,
    });
    const sseC = take(blocking, BucketEncryptionPolicy.SID_DENY_SSE_C);
    statements.push({
      Sid: SID_DENY_SSE_C_OUTSIDE_ORGANIZATION,
      Effect: 'Deny',
      Action: sseC.Action,
      Resource: '*',
      // A bucket of an account outside any organisation has no aws:ResourceOrgID; the negated
      // operator is true for a missing key, so such buckets are covered too.
      Condition: { ...sseC.Condition, StringNotEquals: { 'aws:ResourceOrgID': '${aws:PrincipalOrgID}' } },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
