/**
 * Resolves CloudFormation intrinsics to the longest realistic strings, so that policy sizes
 * are measured as AWS will count them after deployment, not as the template spells them
 * (`{"Fn::GetAtt":[...]}` is shorter than a bucket ARN with a 63-character generated name).
 */

/** A synthesized CloudFormation template, as far as the benchmark reads it. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
  readonly Parameters?: Record<string, unknown>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

// Worst cases: CloudFormation-generated bucket names are cut at 63 characters, role and
// function names at 64; 14 characters is the longest commercial region name.
const ACCOUNT = '123456789012';
const REGION = 'ap-southeast-2';
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'x'.repeat(128),
  'AWS::StackId': `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${'x'.repeat(128)}/${'0'.repeat(36)}`,
  'AWS::NoValue': '',
};
const NAME_LENGTH: Record<string, number> = {
  'AWS::S3::Bucket': 63,
  'AWS::KMS::Key': 36,
};

function physicalName(type: string | undefined): string {
  return 'n'.repeat(NAME_LENGTH[type ?? ''] ?? 64);
}

function arnOf(type: string | undefined): string {
  const name = physicalName(type);
  switch (type) {
    case 'AWS::S3::Bucket': return `arn:aws:s3:::${name}`;
    case 'AWS::KMS::Key': return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}`;
    case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role/${name}`;
    case 'AWS::Lambda::Function': return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
    default: return `arn:aws:service:${REGION}:${ACCOUNT}:resource/${name}`;
  }
}

function ref(template: CfnTemplate, name: string, attribute?: string): string {
  if (attribute === undefined && name in PSEUDO) {
    return PSEUDO[name];
  }
  const type = template.Resources?.[name]?.Type;
  if (attribute === undefined) {
    return physicalName(type);
  }
  return attribute === 'Arn' ? arnOf(type) : physicalName(undefined);
}

/** `value` with every intrinsic function replaced by the string it will deploy as. */
export function resolveIntrinsics(value: unknown, template: CfnTemplate): unknown {
  if (Array.isArray(value)) {
    return value.map(v => resolveIntrinsics(v, template));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [fn, arg] = entries[0] as [string, any];
    switch (fn) {
      case 'Ref':
        return ref(template, arg);
      case 'Fn::GetAtt': {
        const [name, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return ref(template, name, attribute);
      }
      case 'Fn::Join':
        return (resolveIntrinsics(arg[1], template) as unknown[]).join(arg[0]);
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        return String(text).replace(/\$\{([^}!]+)\}/g, (_m, expr: string) => {
          if (vars && expr in vars) {
            return String(resolveIntrinsics(vars[expr], template));
          }
          const [name, attribute] = expr.split('.');
          return ref(template, name, attribute);
        });
      }
      case 'Fn::Select':
        return (resolveIntrinsics(arg[1], template) as unknown[])[arg[0]];
      case 'Fn::Split':
        return String(resolveIntrinsics(arg[1], template)).split(arg[0]);
      case 'Fn::If':
        return resolveIntrinsics(arg[1], template);
      case 'Fn::ImportValue':
        return physicalName(undefined);
      default:
        break;
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, template)]));
}

/** Characters IAM counts for a policy document: minified JSON, whitespace not counted. */
export function iamPolicySize(document: unknown, template: CfnTemplate): number {
  return JSON.stringify(resolveIntrinsics(document, template)).replace(/\s/g, '').length;
}

/** Bytes of a resource policy as deployed: minified JSON after intrinsics are resolved. */
export function resolvedJsonBytes(value: unknown, template: CfnTemplate): number {
  return Buffer.byteLength(JSON.stringify(resolveIntrinsics(value, template)));
}
