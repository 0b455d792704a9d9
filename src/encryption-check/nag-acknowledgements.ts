import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';
import { PROBE_PREFIX } from './types';
import { S3EncryptionChecks } from '../nag/s3-encryption-checks';

/**
 * The cdk-nag findings this library acknowledges on the resources it creates for
 * `EncryptionCheck`, each with the reason, one rule id per call (cdk-nag 3), in the prefixed form
 * (`<pack>::<rule>`) so that every one is listed with its reason among the suppressed violations
 * of `cdk.out/validation-report.json`. Nothing here applies to a user's bucket or to any
 * resource the library does not create.
 */
const NO_RESERVED_CONCURRENCY = 'Invoked by CloudFormation once per stack per deployment (and, with ContinuousEncryptionCheck, by its EventBridge rules, a few times a day). Reserved concurrency takes capacity from every other function in the account, and an account with the common new-account quota of 10 cannot reserve any: setting it would fail the deployment.';
const NO_DLQ = 'CloudFormation invokes it asynchronously, and the function answers CloudFormation itself: every error becomes a FAILED answer naming it, so no invocation fails and a dead-letter queue would stay empty. Lambda retries are off (retryAttempts 0) and stale events expire (maxEventAge), so CloudFormation never waits on a queue.';
const NO_VPC = 'Talks only to the S3 API over TLS, and CloudFormation\'s pre-signed response URL; a VPC would need NAT or endpoints the library cannot choose for the user, and adds nothing for a function that reads no data.';

const FUNCTION_FINDINGS: Record<string, string> = {
  'HIPAA.Security-LambdaConcurrency': NO_RESERVED_CONCURRENCY,
  'NIST.800.53.R5-LambdaConcurrency': NO_RESERVED_CONCURRENCY,
  'HIPAA.Security-LambdaDLQ': NO_DLQ,
  'NIST.800.53.R5-LambdaDLQ': NO_DLQ,
  'HIPAA.Security-LambdaInsideVPC': NO_VPC,
  'NIST.800.53.R5-LambdaInsideVPC': NO_VPC,
  'PCI.DSS.321-LambdaInsideVPC': NO_VPC,
};

const INLINE_ROLE_POLICY = 'The policy is part of the handler role\'s own definition (AWS::IAM::Role Policies): it is created and deleted with the role, attached to nothing else, and holds only log writes to the handler\'s log group and DescribeStacks on this stack. A managed policy would add a resource per stack and grant nothing less.';
const ROLE_FINDINGS: Record<string, string> = {
  'HIPAA.Security-IAMNoInlinePolicy': INLINE_ROLE_POLICY,
  'NIST.800.53.R5-IAMNoInlinePolicy': INLINE_ROLE_POLICY,
  'PCI.DSS.321-IAMNoInlinePolicy': INLINE_ROLE_POLICY,
};

const LOG_GROUP_FINDINGS: Record<string, string> = {
  'HIPAA.Security-CloudWatchLogGroupEncrypted': 'Holds only check reports (bucket names, S3 status codes); the SSE-C probe key is never logged. CloudWatch Logs encrypts it at rest; a KMS key per stack would add cost for no protected data.',
  'NIST.800.53.R5-CloudWatchLogGroupEncrypted': 'Holds only check reports (bucket names, S3 status codes); the SSE-C probe key is never logged. CloudWatch Logs encrypts it at rest; a KMS key per stack would add cost for no protected data.',
  'PCI.DSS.321-CloudWatchLogGroupEncrypted': 'Holds only check reports (bucket names, S3 status codes); the SSE-C probe key is never logged. CloudWatch Logs encrypts it at rest; a KMS key per stack would add cost for no protected data.',
};

/**
 * With `vpc`, the check's role gets the AWS managed policy Lambda documents for functions in a
 * VPC (aws-cdk-lib attaches it only to roles it creates itself). Its Describe actions support no
 * resource-level restriction, and Lambda checks the role for the network-interface actions when
 * it creates the function, so a hand-written copy would grant much the same on `*`, untested
 * against Lambda's check and drifting from AWS's. Acknowledged for exactly this policy, on the
 * check's role only, and only when the user asked for a VPC.
 */
const VPC_ACCESS_POLICY = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';
const VPC_ACCESS_REASON = 'Placed in a VPC at the user\'s request (EncryptionCheck.configureStack vpc): Lambda needs ec2 network-interface permissions to attach the function to the subnets, and AWSLambdaVPCAccessExecutionRole is the policy AWS maintains for exactly that (ENI create/describe/delete, log writes); aws-cdk-lib attaches it to every function with a vpc. It grants no data access.';

const ACCOUNT_OBJECTS_REASON = 'Only objects under the reserved probe prefix .cdk-s3-encryption-check/ (the * before it is the bucket, the one after it the random probe name), only in buckets owned by this stack\'s account (aws:ResourceAccount). Naming each bucket instead costs about 2 KB of template per bucket and cut a stack to 165 buckets; user data outside the prefix stays out of reach.';
const ACCOUNT_BUCKETS_REASON = 'Bucket-level statements on buckets owned by this stack\'s account (aws:ResourceAccount) only: ListBucketVersions limited to the probe prefix (s3:prefix), and the three reads the check makes (GetEncryptionConfiguration, GetBucketPolicy, GetBucketObjectLockConfiguration). Naming each bucket instead costs about 2 KB of template per bucket; no object data is readable through these.';

const IMPORTED_GRANTS_REASON = 'The wildcard is the random probe object name under the reserved prefix: `<imported bucket ARN>/.cdk-s3-encryption-check/*`. Nothing else in the bucket is granted.';

/**
 * Acknowledges AwsSolutions-IAM5 for exactly the probe-prefix resources of `policy`, one finding
 * id per resource, as cdk-nag names them (`Resource::<flattened ARN>`). Computed in a validation
 * hook, i.e. after cross-stack references have been resolved, so the names match what cdk-nag sees.
 */
function acknowledgeProbePrefixWildcards(policy: iam.ManagedPolicy): void {
  policy.node.addValidation({
    validate: () => {
      const document = Stack.of(policy).resolve(policy.document) as { Statement?: { Effect: string; Resource?: unknown }[] };
      for (const statement of document.Statement ?? []) {
        const resources = ([] as unknown[]).concat(statement.Resource ?? []).map(flatten);
        for (const resource of resources.filter((r) => r.includes('*'))) {
          if (!resource.endsWith(`/${PROBE_PREFIX}*`)) {
            return [`unexpected wildcard resource ${resource} in ${policy.node.path}`];
          }
          acknowledgeOne(policy, `AwsSolutions-IAM5[Resource::${resource}]`, IMPORTED_GRANTS_REASON);
        }
      }
      return [];
    },
  });
}

/** A CloudFormation value as one string, the way cdk-nag names findings (`<Logical.Attr>`, `<Ref>`). */
function flatten(node: unknown): string {
  if (node === undefined) {
    return '';
  }
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  }
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (value['Fn::Sub']) {
    return flatten(value['Fn::Sub']);
  }
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (value['Fn::ImportValue']) {
    return flatten(value['Fn::ImportValue']);
  }
  if (value.Ref) {
    return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}

function acknowledge(construct: IConstruct, findings: Record<string, string>): void {
  for (const [id, reason] of Object.entries(findings)) {
    acknowledgeOne(construct, id, reason);
  }
}

/**
 * One of the library's own acknowledgements, recorded with stack traces off. aws-cdk-lib
 * records a stack trace with every acknowledgement, even when the app turns stack traces off;
 * for the library's own it would only point into the library, and capturing it (through
 * ts-node's source maps, under `cdk synth`) was a third of the check's fixed synth cost per
 * stack. The reason and the id are recorded as ever. aws-cdk-lib lowers `Error.stackTraceLimit`
 * the same way in its own `captureStackTrace`.
 */
function acknowledgeOne(construct: IConstruct, id: string, reason: string): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    S3EncryptionChecks.acknowledge(construct, id, reason);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function acknowledgeFindings(what: {
  readonly logGroups?: logs.LogGroup[];
  readonly functions?: lambda.Function[];
  readonly importedGrants?: iam.ManagedPolicy;
  readonly role?: iam.Role;
  /** The role whose inline policy holds the account-wide probe grants, and their two wildcard resources. */
  readonly accountGrants?: { readonly role: iam.Role; readonly objects: string; readonly buckets: string };
  /** The functions run in a VPC: the outside-VPC findings do not arise, the managed VPC policy does. */
  readonly inVpc?: boolean;
  /** The log groups are encrypted with a KMS key: their encryption findings do not arise. */
  readonly logGroupEncrypted?: boolean;
}): void {
  if (what.role) {
    acknowledge(what.role, what.inVpc ? { ...ROLE_FINDINGS, [VPC_ACCESS_POLICY]: VPC_ACCESS_REASON } : ROLE_FINDINGS);
  }
  for (const logGroup of what.logGroupEncrypted ? [] : what.logGroups ?? []) {
    acknowledge(logGroup, LOG_GROUP_FINDINGS);
  }
  const functionFindings = Object.fromEntries(Object.entries(FUNCTION_FINDINGS).filter(([id]) => !(what.inVpc && id.endsWith('-LambdaInsideVPC'))));
  for (const fn of what.functions ?? []) {
    acknowledge(fn, functionFindings);
  }
  if (what.importedGrants) {
    acknowledgeProbePrefixWildcards(what.importedGrants);
  }
  if (what.accountGrants) {
    // Exactly the two wildcard resources of the account-wide grants, as cdk-nag names them
    // (`arn:<AWS::Partition>:...`, or `arn:aws:...` where the partition is a literal).
    const { role, objects, buckets } = what.accountGrants;
    const named = (arn: string) => `AwsSolutions-IAM5[Resource::${flatten(Stack.of(role).resolve(arn))}]`;
    acknowledgeOne(role, named(objects), ACCOUNT_OBJECTS_REASON);
    acknowledgeOne(role, named(buckets), ACCOUNT_BUCKETS_REASON);
  }
}
