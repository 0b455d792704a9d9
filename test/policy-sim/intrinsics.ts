/**
 * Resolves the CloudFormation intrinsics of a synthesized template to concrete values, so that
 * its policies can be evaluated by an IAM simulator (which knows nothing about CloudFormation).
 *
 * Only what the library's policies need is supported; anything else throws, because a value
 * passed through unresolved would make a condition silently never match.
 */

/** The deployment environment the template is resolved against. */
export interface ResolveEnvironment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly urlSuffix: string;
}

export const TEST_ENVIRONMENT: ResolveEnvironment = {
  account: '111111111111',
  region: 'eu-west-1',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
};

/** A CloudFormation template as `Template.toJSON()` returns it. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly [key: string]: unknown;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** Thrown for every intrinsic, pseudo parameter or reference the resolver does not support. */
export class UnresolvableIntrinsicError extends Error {}

/**
 * What `Ref` and `Fn::GetAtt` return for each resource type the library's policies reference.
 * Physical names are derived from the logical id (lower-cased for S3, whose names must be) unless
 * the template names the resource explicitly.
 */
const RESOURCE_TYPES: Record<string, {
  ref: (physicalId: string, env: ResolveEnvironment) => string;
  attributes: Record<string, (physicalId: string, env: ResolveEnvironment) => string>;
  physicalId: (logicalId: string, properties: Record<string, unknown>, resolve: (v: unknown) => unknown) => string;
}> = {
  'AWS::S3::Bucket': {
    ref: (name) => name,
    attributes: {
      Arn: (name, env) => `arn:${env.partition}:s3:::${name}`,
      DomainName: (name, env) => `${name}.s3.${env.urlSuffix}`,
      RegionalDomainName: (name, env) => `${name}.s3.${env.region}.${env.urlSuffix}`,
    },
    physicalId: (logicalId, props, resolve) => props.BucketName !== undefined ? asString(resolve(props.BucketName), 'BucketName') : logicalId.toLowerCase(),
  },
  'AWS::KMS::Key': {
    ref: (keyId) => keyId,
    attributes: {
      Arn: (keyId, env) => `arn:${env.partition}:kms:${env.region}:${env.account}:key/${keyId}`,
      KeyId: (keyId) => keyId,
    },
    // A key id is a UUID; a stable one per logical id keeps results deterministic.
    physicalId: (logicalId) => `${hex8(logicalId)}-0000-4000-8000-${hex8(logicalId + '#')}0000`,
  },
  'AWS::CloudTrail::Trail': {
    ref: (name) => name,
    attributes: { Arn: (name, env) => `arn:${env.partition}:cloudtrail:${env.region}:${env.account}:trail/${name}` },
    physicalId: (logicalId, props, resolve) => props.TrailName !== undefined ? asString(resolve(props.TrailName), 'TrailName') : logicalId,
  },
  'AWS::CloudFront::Distribution': {
    ref: (id) => id,
    attributes: {},
    // A distribution id: E followed by upper-case letters and digits.
    physicalId: (logicalId) => `E${hex8(logicalId).toUpperCase()}`,
  },
  'AWS::IAM::Role': {
    ref: (name) => name,
    attributes: {
      Arn: (name, env) => `arn:${env.partition}:iam::${env.account}:role/${name}`,
      RoleId: (name) => `AROA${hex8(name).toUpperCase()}`,
    },
    physicalId: (logicalId, props, resolve) => props.RoleName !== undefined ? asString(resolve(props.RoleName), 'RoleName') : logicalId,
  },
  'AWS::Logs::LogGroup': {
    ref: (name) => name,
    attributes: {
      Arn: (name, env) => `arn:${env.partition}:logs:${env.region}:${env.account}:log-group:${name}:*`,
    },
    physicalId: (logicalId, props, resolve) => props.LogGroupName !== undefined ? asString(resolve(props.LogGroupName), 'LogGroupName') : logicalId,
  },
  'AWS::Lambda::Function': {
    // Ref is the function name, which is also the session name of its role (`aws:userid`).
    ref: (name) => name,
    attributes: {
      Arn: (name, env) => `arn:${env.partition}:lambda:${env.region}:${env.account}:function:${name}`,
    },
    physicalId: (logicalId, props, resolve) => props.FunctionName !== undefined ? asString(resolve(props.FunctionName), 'FunctionName') : logicalId,
  },
};

function hex8(s: string): string {
  let h = 7;
  for (const c of s) {
    h = (h * 31 + c.charCodeAt(0)) % 0x100000000;
  }
  return h.toString(16).padStart(8, '0');
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw new UnresolvableIntrinsicError(`${where} resolved to ${JSON.stringify(value)}, expected a string`);
  }
  return value;
}

/** Resolves intrinsics in values taken from one template. */
export class TemplateResolver {
  private readonly resources: Record<string, CfnResource>;

  constructor(template: CfnTemplate, private readonly env: ResolveEnvironment = TEST_ENVIRONMENT) {
    this.resources = template.Resources ?? {};
  }

  /** The logical ids of every resource of `type`. */
  public logicalIdsOfType(type: string): string[] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  }

  public resource(logicalId: string): CfnResource {
    const resource = this.resources[logicalId];
    if (!resource) {
      throw new UnresolvableIntrinsicError(`no resource ${logicalId} in the template`);
    }
    return resource;
  }

  /** The value of `Ref` on a resource or pseudo parameter. */
  public ref(name: string): string {
    switch (name) {
      case 'AWS::Partition': return this.env.partition;
      case 'AWS::Region': return this.env.region;
      case 'AWS::AccountId': return this.env.account;
      case 'AWS::URLSuffix': return this.env.urlSuffix;
      case 'AWS::StackId': return `arn:${this.env.partition}:cloudformation:${this.env.region}:${this.env.account}:stack/PolicySim/00000000-0000-4000-8000-000000000000`;
    }
    if (name.startsWith('AWS::')) {
      throw new UnresolvableIntrinsicError(`pseudo parameter ${name} is not supported`);
    }
    const resource = this.resources[name];
    if (!resource) {
      throw new UnresolvableIntrinsicError(`Ref ${name}: no such resource (template parameters are not supported)`);
    }
    const type = this.typeOf(name);
    return type.ref(this.physicalId(name), this.env);
  }

  /** The value of `Fn::GetAtt` on a resource. */
  public getAtt(logicalId: string, attribute: string): string {
    const type = this.typeOf(logicalId);
    const attr = type.attributes[attribute];
    if (!attr) {
      throw new UnresolvableIntrinsicError(`Fn::GetAtt ${logicalId}.${attribute}: attribute not supported for ${this.resource(logicalId).Type}`);
    }
    return attr(this.physicalId(logicalId), this.env);
  }

  /** Deeply resolves every intrinsic in `value`. */
  public resolve(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v));
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    const intrinsic = entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::'));
    if (!intrinsic) {
      return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
    }
    const [name, arg] = entries[0];
    switch (name) {
      case 'Ref':
        return this.ref(asString(arg, 'Ref'));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof arg === 'string' ? splitOnce(arg, '.') : this.list(arg, 'Fn::GetAtt', 2);
        return this.getAtt(asString(logicalId, 'Fn::GetAtt'), asString(attribute, 'Fn::GetAtt'));
      }
      case 'Fn::Join': {
        const [delimiter, items] = this.list(arg, 'Fn::Join', 2);
        const resolved = this.resolve(items);
        if (!Array.isArray(resolved)) {
          throw new UnresolvableIntrinsicError(`Fn::Join: ${JSON.stringify(items)} is not a list`);
        }
        return resolved.map((v) => asString(v, 'Fn::Join item')).join(asString(delimiter, 'Fn::Join delimiter'));
      }
      case 'Fn::Select': {
        const [index, items] = this.list(arg, 'Fn::Select', 2);
        const resolved = this.resolve(items);
        const i = Number(this.resolve(index));
        if (!Array.isArray(resolved) || !Number.isInteger(i) || i < 0 || i >= resolved.length) {
          throw new UnresolvableIntrinsicError(`Fn::Select: index ${JSON.stringify(index)} out of range of ${JSON.stringify(resolved)}`);
        }
        return resolved[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = this.list(arg, 'Fn::Split', 2);
        return asString(this.resolve(source), 'Fn::Split source').split(asString(delimiter, 'Fn::Split delimiter'));
      }
      case 'Fn::Sub':
        return this.sub(arg);
      default:
        throw new UnresolvableIntrinsicError(`intrinsic ${name} is not supported (${JSON.stringify(value)})`);
    }
  }

  private sub(arg: unknown): string {
    const [template, variables] = typeof arg === 'string' ? [arg, {}] : this.list(arg, 'Fn::Sub', 2);
    const vars = this.resolve(variables) as Record<string, unknown>;
    return asString(template, 'Fn::Sub').replace(/\$\{([^}]*)\}/g, (_match, expr: string) => {
      if (expr.startsWith('!')) {
        return '${' + expr.slice(1) + '}';
      }
      if (vars && Object.prototype.hasOwnProperty.call(vars, expr)) {
        return asString(vars[expr], `Fn::Sub variable ${expr}`);
      }
      if (expr.includes('.') && !expr.startsWith('AWS::')) {
        const [logicalId, attribute] = splitOnce(expr, '.');
        return this.getAtt(logicalId, attribute);
      }
      return this.ref(expr);
    });
  }

  private list(arg: unknown, where: string, length: number): unknown[] {
    if (!Array.isArray(arg) || arg.length !== length) {
      throw new UnresolvableIntrinsicError(`${where}: expected a list of ${length}, got ${JSON.stringify(arg)}`);
    }
    return arg;
  }

  private typeOf(logicalId: string) {
    const resource = this.resource(logicalId);
    const type = RESOURCE_TYPES[resource.Type];
    if (!type) {
      throw new UnresolvableIntrinsicError(`resource ${logicalId} of type ${resource.Type} cannot be referenced (supported: ${Object.keys(RESOURCE_TYPES).join(', ')})`);
    }
    return type;
  }

  private physicalId(logicalId: string): string {
    return this.typeOf(logicalId).physicalId(logicalId, this.resource(logicalId).Properties ?? {}, (v) => this.resolve(v));
  }
}

function splitOnce(s: string, separator: string): [string, string] {
  const i = s.indexOf(separator);
  if (i < 0) {
    throw new UnresolvableIntrinsicError(`${JSON.stringify(s)} has no ${JSON.stringify(separator)}`);
  }
  return [s.slice(0, i), s.slice(i + 1)];
}
