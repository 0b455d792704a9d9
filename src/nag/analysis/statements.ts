import { UnresolvableValue } from './bucket-errors';
import { flattenAll, globMatches, isIntrinsic, isObject } from './intrinsics';

/**
 * A policy statement with every field in one shape: lists of flattened strings, condition keys
 * lower-cased (IAM compares them case-insensitively), values as flattened strings. A field
 * that could not be flattened is `undefined` in `unknown`.
 */
export interface NormalizedStatement {
  readonly sid?: string;
  readonly effect: string;
  /** `true` when the statement applies to every principal (`*` or `{"AWS": "*"}`), without NotPrincipal. */
  readonly everyPrincipal: boolean;
  /** `true` when the statement has a `NotPrincipal`: it applies to every principal but the ones named. */
  readonly notPrincipal: boolean;
  readonly actions?: string[];
  readonly notActions?: string[];
  readonly resources?: string[];
  readonly notResources?: string[];
  /** operator -> lower-cased key -> values (flattened; `undefined` if a value could not be). */
  readonly conditions: Record<string, Record<string, string[] | undefined>>;
}

/** Normalizes a resolved policy document. Throws `UnresolvableValue` on an unreadable document. */
export function normalizeStatements(document: unknown): NormalizedStatement[] {
  if (!isObject(document) || isIntrinsic(document)) {
    throw new UnresolvableValue('PolicyDocument');
  }
  const raw = document.Statement;
  if (raw !== undefined && !Array.isArray(raw) && !isObject(raw)) {
    throw new UnresolvableValue('PolicyDocument.Statement');
  }
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((statement) => {
    if (!isObject(statement) || typeof statement.Effect !== 'string') {
      throw new UnresolvableValue('PolicyDocument.Statement');
    }
    const conditions: Record<string, Record<string, string[] | undefined>> = {};
    if (statement.Condition !== undefined) {
      if (!isObject(statement.Condition)) {
        throw new UnresolvableValue('Statement.Condition');
      }
      for (const [operator, block] of Object.entries(statement.Condition)) {
        if (!isObject(block)) {
          throw new UnresolvableValue(`Statement.Condition.${operator}`);
        }
        conditions[operator] = {};
        for (const [key, value] of Object.entries(block)) {
          conditions[operator][key.toLowerCase()] = flattenAll(value);
        }
      }
    }
    return {
      sid: typeof statement.Sid === 'string' ? statement.Sid : undefined,
      effect: statement.Effect,
      everyPrincipal: statement.NotPrincipal === undefined && isEveryPrincipal(statement.Principal),
      notPrincipal: statement.NotPrincipal !== undefined,
      actions: optionalList(statement.Action),
      notActions: optionalList(statement.NotAction),
      resources: optionalList(statement.Resource),
      notResources: optionalList(statement.NotResource),
      conditions,
    };
  });
}

function optionalList(value: unknown): string[] | undefined {
  return value === undefined ? undefined : flattenAll(value);
}

function isEveryPrincipal(principal: unknown): boolean {
  if (principal === '*') {
    return true;
  }
  if (!isObject(principal)) {
    return false;
  }
  const aws = principal.AWS;
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
}

/**
 * Whether the statement's actions include `action` (a concrete action such as `s3:PutObject`,
 * or `s3:*` to ask for every S3 action). `undefined` when the actions cannot be read.
 */
export function coversAction(statement: NormalizedStatement, action: string): boolean | undefined {
  if (statement.notActions !== undefined) {
    // A NotAction statement covers "every S3 action" only if it excludes none, which no one writes.
    if (action.includes('*')) {
      return false;
    }
    return !statement.notActions.some((pattern) => globMatches(pattern, action, true));
  }
  if (statement.actions === undefined) {
    return undefined;
  }
  return statement.actions.some((pattern) => globMatches(pattern, action, true));
}

/**
 * Whether the statement's resources include `target` (a canonical ARN from `bucketArnPattern`).
 * `normalize` rewrites each resource to the canonical form. `undefined` when unreadable.
 */
export function coversResource(statement: NormalizedStatement, target: string, normalize: (r: string) => string): boolean | undefined {
  if (statement.notResources !== undefined) {
    return false;
  }
  if (statement.resources === undefined) {
    return undefined;
  }
  return statement.resources.some((resource) => resource === '*' || globMatches(normalize(resource), target));
}

/**
 * The condition keys of the statement, as `operator/key` pairs. A Deny statement is only as
 * broad as its narrowest condition, so rules require that a statement has no other
 * conditions than the ones they recognize.
 */
export function conditionKeys(statement: NormalizedStatement): string[] {
  return Object.entries(statement.conditions).flatMap(([operator, block]) => Object.keys(block).map((key) => `${operator}/${key}`));
}

/** The values of `operator` on `key` (lower-case), `null` when absent, `undefined` when unreadable. */
export function conditionValues(statement: NormalizedStatement, operator: string, key: string): string[] | null | undefined {
  const block = statement.conditions[operator];
  if (!block || !(key in block)) {
    return null;
  }
  return block[key];
}

/** A three-valued "any": `true` if any is true, else `undefined` if any is unknown, else `false`. */
export function anyOf<T>(items: T[], test: (item: T) => boolean | undefined): boolean | undefined {
  let unknown = false;
  for (const item of items) {
    const result = test(item);
    if (result === true) {
      return true;
    }
    if (result === undefined) {
      unknown = true;
    }
  }
  return unknown ? undefined : false;
}

/** A three-valued "all". */
export function allOf(results: Array<boolean | undefined>): boolean | undefined {
  if (results.some((r) => r === false)) {
    return false;
  }
  return results.some((r) => r === undefined) ? undefined : true;
}
