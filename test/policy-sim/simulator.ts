import { runSimulation, type EvaluationResult, type SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { policyProblems, type PolicyDocument } from './policy-check';

/**
 * A wrapper around `@cloud-copilot/iam-simulate` that turns every way a simulation can be
 * quietly wrong into a thrown error: a simulator error, a context key the simulator dropped as
 * not applicable (which would read as "header absent"), an unknown operator or condition key,
 * a statement without principal, or a value that is still a CloudFormation intrinsic.
 */

export interface SimulatedRequest {
  /** The ARN of the calling principal. */
  readonly principal: string;
  /** `service:Action`. */
  readonly action: string;
  /** The ARN the action is applied to. */
  readonly resource: string;
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  /** Request context keys, exactly as a policy names them. */
  readonly context: Readonly<Record<string, string>>;
}

export interface SimulatedPolicies {
  /** The resource's policy (bucket policy, key policy), intrinsics resolved. */
  readonly resourcePolicy?: PolicyDocument;
  /** The principal's identity policies. */
  readonly identityPolicies: readonly SimulationIdentityPolicy[];
}

export interface SimulationOutcome {
  readonly result: EvaluationResult;
  /** The Sids of the resource-policy statements that explicitly denied the request. */
  readonly deniedBy: string[];
}

/** Thrown whenever a simulation cannot be trusted. */
export class SimulationError extends Error {}

const checkedPolicies = new WeakMap<object, Promise<string[]>>();

/** Every problem in a policy, computed once per policy object. */
function problemsOf(policy: PolicyDocument, kind: 'resource' | 'identity'): Promise<string[]> {
  let problems = checkedPolicies.get(policy);
  if (!problems) {
    problems = policyProblems(policy, kind);
    checkedPolicies.set(policy, problems);
  }
  return problems;
}

export async function simulate(request: SimulatedRequest, policies: SimulatedPolicies): Promise<SimulationOutcome> {
  const problems: string[] = [];
  if (policies.resourcePolicy) {
    problems.push(...(await problemsOf(policies.resourcePolicy, 'resource')).map((p) => `resource policy: ${p}`));
  }
  for (const identity of policies.identityPolicies) {
    problems.push(...(await problemsOf(identity.policy, 'identity')).map((p) => `identity policy ${identity.name}: ${p}`));
  }
  if (problems.length > 0) {
    throw new SimulationError(`policies cannot be simulated faithfully:\n  ${problems.join('\n  ')}`);
  }

  const response = await runSimulation({
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: { ...request.context },
    },
    identityPolicies: [...policies.identityPolicies],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policies.resourcePolicy,
  }, { simulationMode: 'Strict' });

  if (response.resultType === 'error') {
    throw new SimulationError(`simulator error for ${describe(request)}: ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== 'single') {
    throw new SimulationError(`expected one simulation for ${describe(request)}, got a ${response.resultType} result (a wildcard in the resource?)`);
  }
  const ignored = response.result.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new SimulationError(`the simulator ignored context keys ${ignored.join(', ')} for ${describe(request)}: ` +
      'they do not apply to this action, so a policy condition on them would see them as absent. Send only keys the action carries.');
  }
  const deniedBy = (response.result.analysis.resourceAnalysis?.denyStatements ?? [])
    .map((s) => s.statement.sid() ?? `#${s.statement.index()}`)
    .sort();
  return { result: response.overallResult, deniedBy };
}

function describe(request: SimulatedRequest): string {
  return `${request.principal} ${request.action} ${request.resource} ${JSON.stringify(request.context)}`;
}
