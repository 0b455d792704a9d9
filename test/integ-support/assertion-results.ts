/**
 * Reads integ-tests-alpha's verdicts from a deployed suite's stack outputs (what integ-runner
 * does): every `AssertionResults*` output the assertion stack's template declares must be
 * present and `{"status":"success"}`.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * `undefined` when every assertion of the suite in `assemblyDir` passed, else one line per failed
 * or missing assertion. `stackOutputs` is what `cdk deploy --outputs-file` writes.
 */
export function failedAssertions(assemblyDir: string, stackOutputs: Record<string, Record<string, string>>): string | undefined {
  const integ = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'integ.json'), 'utf-8'));
  const failures: string[] = [];
  for (const testCase of Object.values<{ assertionStackName: string }>(integ.testCases)) {
    const stackName = testCase.assertionStackName;
    const template = JSON.parse(fs.readFileSync(path.join(assemblyDir, `${stackName}.template.json`), 'utf-8'));
    const expected = Object.keys(template.Outputs ?? {}).filter((name) => name.startsWith('AssertionResults'));
    const outputs = stackOutputs[stackName] ?? {};
    if (expected.length === 0) {
      failures.push(`${stackName}: no assertions`);
    }
    for (const name of expected) {
      const value = outputs[name];
      if (value === undefined) {
        failures.push(`${name}: no result`);
        continue;
      }
      const result = JSON.parse(value) as { status: string; message?: string };
      if (result.status !== 'success') {
        failures.push(`${name}: ${result.message ?? value}`);
      }
    }
  }
  return failures.length > 0 ? failures.join('\n') : undefined;
}
