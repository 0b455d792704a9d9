import { guardrailDocuments } from './fixtures';
import { describeGuardrails, GUARDRAIL_CONFIGS } from './guardrail-spec';
import { allRows, guardrailMismatches } from './matrix-rows';
import type { GuardrailDocuments } from './org-model';
import type { PolicyDocument, PolicyStatementJson } from '../policy-sim/policy-check';

/**
 * Mutation tests of the guardrail builder: every small change to a statement it writes (drop the
 * statement, an action, a resource, a condition key; negate an operator; change a value; widen
 * an exemption) must make at least one row of the request matrix fail in some configuration.
 * A surviving mutant is a part of a statement that no request proves necessary.
 */

interface Mutant {
  readonly name: string;
  readonly apply: (statement: PolicyStatementJson) => PolicyStatementJson | undefined;
}

const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringEquals: 'StringNotEquals',
  ArnNotLike: 'ArnLike',
  ArnLike: 'ArnNotLike',
  NumericLessThan: 'NumericGreaterThanEquals',
};

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** A different value of the same type: true/false flipped, numbers raised by 0.1, strings replaced. */
function otherValue(value: unknown): unknown {
  if (value === 'true') return 'false';
  if (value === 'false') return 'true';
  if (typeof value === 'number') return Math.round((value + 0.1) * 10) / 10;
  return 'mutated-value';
}

/** Every mutant of one statement. */
function mutantsOf(statement: PolicyStatementJson): Mutant[] {
  const mutants: Mutant[] = [{ name: 'drop the statement', apply: () => undefined }];
  if (statement.Principal === undefined) {
    // SCP statements only: Organizations (and the simulator) refuse an Allow in an RCP.
    mutants.push({ name: 'Effect Allow', apply: (s) => ({ ...s, Effect: 'Allow' }) });
  }
  const actions = [statement.Action ?? []].flat();
  if (actions.length === 1) {
    mutants.push({ name: `Action ${actions[0]} -> s3:GetObjectTagging`, apply: (s) => ({ ...s, Action: 's3:GetObjectTagging' }) });
  } else {
    for (const action of actions) {
      mutants.push({ name: `drop action ${action}`, apply: (s) => ({ ...s, Action: actions.filter((a) => a !== action) }) });
    }
  }
  if (statement.Resource !== undefined) {
    mutants.push({ name: 'Resource -> one unrelated bucket', apply: (s) => ({ ...s, Resource: 'arn:aws:s3:::unrelated-bucket/*' }) });
  }
  if (statement.NotResource !== undefined) {
    mutants.push({ name: 'NotResource -> Resource *', apply: ({ NotResource: _dropped, ...s }) => ({ ...s, Resource: '*' }) });
    mutants.push({ name: 'NotResource -> every object', apply: (s) => ({ ...s, NotResource: ['arn:*:s3:::*/*'] }) });
  }
  for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
    if (NEGATED[operator]) {
      mutants.push({
        name: `${operator} -> ${NEGATED[operator]}`,
        apply: (s) => {
          const { [operator]: moved, ...rest } = clone(s.Condition)!;
          return { ...s, Condition: { ...rest, [NEGATED[operator]]: moved } };
        },
      });
    }
    for (const [key, value] of Object.entries(block)) {
      mutants.push({
        name: `drop ${operator} ${key}`,
        apply: (s) => {
          const condition = clone(s.Condition)!;
          delete condition[operator][key];
          if (Object.keys(condition[operator]).length === 0) {
            delete condition[operator];
          }
          return Object.keys(condition).length === 0 ? (({ Condition: _c, ...rest }) => rest)(s) : { ...s, Condition: condition };
        },
      });
      const values = [value].flat();
      values.forEach((v, i) => mutants.push({
        name: `${operator} ${key} value ${JSON.stringify(v)} -> ${JSON.stringify(otherValue(v))}`,
        apply: (s) => {
          const condition = clone(s.Condition)!;
          const changed = [...values];
          changed[i] = otherValue(v);
          condition[operator][key] = Array.isArray(value) ? changed : changed[0];
          return { ...s, Condition: condition };
        },
      }));
    }
  }
  return mutants;
}

function mutateDocument(document: PolicyDocument, index: number, mutant: Mutant): PolicyDocument {
  const statements = document.Statement.flatMap((s, i) => {
    if (i !== index) return [s];
    const mutated = mutant.apply(clone(s));
    return mutated ? [mutated] : [];
  });
  return { ...document, Statement: statements };
}

interface NamedMutation {
  readonly name: string;
  readonly documents: (original: GuardrailDocuments) => GuardrailDocuments | undefined;
}

/**
 * Every mutation of every statement of every configuration, keyed by policy, Sid and mutant
 * name. A mutation applies to a configuration only where the same statement has the same mutant
 * (an exemption's NotResource exists only where buckets are exempt).
 */
function mutations(): Map<string, NamedMutation> {
  const all = new Map<string, NamedMutation>();
  for (const config of GUARDRAIL_CONFIGS) {
    const original = guardrailDocuments(config);
    for (const kind of ['rcp', 'scp'] as const) {
      for (const statement of original[kind].Statement) {
        for (const mutant of mutantsOf(statement)) {
          const name = `${kind} ${statement.Sid}: ${mutant.name}`;
          all.set(name, {
            name,
            documents: (docs) => {
              const index = docs[kind].Statement.findIndex((s) => s.Sid === statement.Sid);
              const same = index < 0 ? undefined : mutantsOf(docs[kind].Statement[index]).find((m) => m.name === mutant.name);
              return same ? { ...docs, [kind]: mutateDocument(docs[kind], index, same) } : undefined;
            },
          });
        }
      }
    }
  }
  return all;
}

/** Whether some configuration's matrix tells the mutant from the original. */
async function killed(mutation: NamedMutation): Promise<boolean> {
  for (const config of GUARDRAIL_CONFIGS) {
    const mutated = mutation.documents(guardrailDocuments(config));
    if (mutated && (await guardrailMismatches(config, mutated, allRows(config), true)).length > 0) {
      return true;
    }
  }
  return false;
}

describe('mutations of the guardrail statements', () => {
  test('every mutant makes some row of the request matrix fail', async () => {
    const all = [...mutations().values()];
    const survivors: string[] = [];
    for (const mutation of all) {
      if (!(await killed(mutation))) {
        survivors.push(mutation.name);
      }
    }
    expect(survivors).toEqual([]);
    // Printed so that a reviewer sees how many mutants the matrix tells apart.
    console.log(`${all.length} mutants of the guardrail statements, all killed`);
  });

  test('the mutants cover every statement of every configuration', () => {
    const names = [...mutations().keys()];
    for (const config of GUARDRAIL_CONFIGS) {
      const documents = guardrailDocuments(config);
      for (const kind of ['rcp', 'scp'] as const) {
        for (const statement of documents[kind].Statement) {
          expect([describeGuardrails(config), names.some((n) => n.startsWith(`${kind} ${statement.Sid}: drop the statement`))])
            .toEqual([describeGuardrails(config), true]);
        }
      }
    }
  });

  test('the unmutated guardrails pass the whole matrix (so a killed mutant is the mutation\'s doing)', async () => {
    for (const config of GUARDRAIL_CONFIGS) {
      expect(await guardrailMismatches(config, guardrailDocuments(config), allRows(config))).toEqual([]);
    }
  });
});
