import { CfnTemplate, iamPolicySize, resolvedJsonBytes } from './resolve';

/**
 * The service limits a stack of buckets runs into, as AWS documents them.
 * 1 MB of template is taken as 1,000,000 bytes (CloudFormation's TemplateURL limit), the
 * template being the file `cdk deploy` uploads as it is in cdk.out.
 */
export const LIMITS = {
  resourcesPerStack: 500,
  templateBytes: 1_000_000,
  outputsPerStack: 200,
  parametersPerStack: 200,
  /** Inline policies of one role together, whitespace not counted. */
  roleInlinePolicyChars: 10_240,
  managedPolicyChars: 6_144,
  /** Managed policies attached to one role (default quota; can be raised to 20). */
  managedPoliciesPerRole: 10,
  /** Role trust policy (default quota; can be raised to 4,096). */
  trustPolicyChars: 2_048,
  bucketPolicyBytes: 20_480,
  kmsKeyPolicyBytes: 32_768,
} as const;

export interface RoleIamSize {
  readonly role: string;
  /** All inline policies of the role together (role `Policies` and `AWS::IAM::Policy`). */
  readonly inlineChars: number;
  readonly managedPolicies: number;
  readonly trustChars: number;
}

export interface TemplateMetrics {
  readonly templateBytes: number;
  readonly resources: number;
  readonly resourcesByType: Record<string, number>;
  readonly lambdaFunctions: number;
  readonly customResources: number;
  readonly outputs: number;
  readonly parameters: number;
  /** The largest bucket policy: deployed bytes, and bytes per statement Sid. */
  readonly bucketPolicyBytes: number;
  readonly bucketPolicyStatementBytes: Record<string, number>;
  readonly roles: RoleIamSize[];
  /** The role whose inline policies are largest together (undefined: no role). */
  readonly largestRoleInline?: RoleIamSize;
  readonly largestManagedPolicyChars: number;
  readonly largestKeyPolicyBytes: number;
}

function refsOf(list: unknown): string[] {
  return Array.isArray(list) ? list.flatMap(r => (r && typeof r === 'object' && 'Ref' in r ? [String((r as any).Ref)] : [])) : [];
}

/** Measures one synthesized stack template. `templateBytes` is the size of its cdk.out file. */
export function measureTemplate(template: CfnTemplate, templateBytes: number): TemplateMetrics {
  const resources = Object.entries(template.Resources ?? {});
  const resourcesByType: Record<string, number> = {};
  for (const [, r] of resources) {
    resourcesByType[r.Type] = (resourcesByType[r.Type] ?? 0) + 1;
  }

  let bucketPolicyBytes = 0;
  let bucketPolicyStatementBytes: Record<string, number> = {};
  for (const [, r] of resources.filter(([, candidate]) => candidate.Type === 'AWS::S3::BucketPolicy')) {
    const document = r.Properties?.PolicyDocument;
    const bytes = resolvedJsonBytes(document, template);
    if (bytes > bucketPolicyBytes) {
      bucketPolicyBytes = bytes;
      bucketPolicyStatementBytes = {};
      (document?.Statement ?? []).forEach((s: any, i: number) => {
        bucketPolicyStatementBytes[s.Sid ?? `#${i}`] = resolvedJsonBytes(s, template);
      });
    }
  }

  const roles: RoleIamSize[] = resources.filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id, r]) => {
    let inlineChars = 0;
    for (const p of r.Properties?.Policies ?? []) {
      inlineChars += iamPolicySize(p.PolicyDocument, template);
    }
    let managedPolicies = Array.isArray(r.Properties?.ManagedPolicyArns) ? r.Properties!.ManagedPolicyArns.length : 0;
    for (const [, other] of resources) {
      const attached = refsOf(other.Properties?.Roles).includes(id);
      if (attached && other.Type === 'AWS::IAM::Policy') {
        inlineChars += iamPolicySize(other.Properties?.PolicyDocument, template);
      } else if (attached && other.Type === 'AWS::IAM::ManagedPolicy') {
        managedPolicies += 1;
      }
    }
    const trustChars = iamPolicySize(r.Properties?.AssumeRolePolicyDocument ?? {}, template);
    return { role: id, inlineChars, managedPolicies, trustChars };
  });
  const largestRoleInline = roles.reduce<RoleIamSize | undefined>((a, b) => (a && a.inlineChars >= b.inlineChars ? a : b), undefined);

  const sizes = (type: string, measure: (r: any) => number) =>
    Math.max(0, ...resources.filter(([, r]) => r.Type === type).map(([, r]) => measure(r)));

  return {
    templateBytes,
    resources: resources.length,
    resourcesByType,
    lambdaFunctions: resourcesByType['AWS::Lambda::Function'] ?? 0,
    customResources: resources.filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource').length,
    outputs: Object.keys(template.Outputs ?? {}).length,
    parameters: Object.keys(template.Parameters ?? {}).length,
    bucketPolicyBytes,
    bucketPolicyStatementBytes,
    roles,
    largestRoleInline,
    largestManagedPolicyChars: sizes('AWS::IAM::ManagedPolicy', r => iamPolicySize(r.Properties?.PolicyDocument, template)),
    largestKeyPolicyBytes: sizes('AWS::KMS::Key', r => resolvedJsonBytes(r.Properties?.KeyPolicy, template)),
  };
}

/** Every limit the stack exceeds, worded for the report (empty: it deploys within all). */
export function limitViolations(m: TemplateMetrics): string[] {
  const v: string[] = [];
  const over = (what: string, value: number, limit: number) => {
    if (value > limit) v.push(`${what} ${value} > ${limit}`);
  };
  over('resources', m.resources, LIMITS.resourcesPerStack);
  over('template bytes', m.templateBytes, LIMITS.templateBytes);
  over('outputs', m.outputs, LIMITS.outputsPerStack);
  over('parameters', m.parameters, LIMITS.parametersPerStack);
  over('bucket policy bytes', m.bucketPolicyBytes, LIMITS.bucketPolicyBytes);
  over('KMS key policy bytes', m.largestKeyPolicyBytes, LIMITS.kmsKeyPolicyBytes);
  over('managed policy chars', m.largestManagedPolicyChars, LIMITS.managedPolicyChars);
  for (const r of m.roles) {
    over(`role ${r.role} inline policy chars`, r.inlineChars, LIMITS.roleInlinePolicyChars);
    over(`role ${r.role} managed policies`, r.managedPolicies, LIMITS.managedPoliciesPerRole);
    over(`role ${r.role} trust policy chars`, r.trustChars, LIMITS.trustPolicyChars);
  }
  return v;
}
