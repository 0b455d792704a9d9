/**
 * Deploys the integration suites to a real account, reads their assertion results and destroys
 * them again (`npx projen integ:deploy --profile <profile> --region <region> [suite...]`).
 *
 * This does what `integ-runner --force` does for our suites, with the AWS CDK CLI, because
 * integ-runner 2.197.10 cannot read aws-cdk-lib 2.276.0's cloud assembly (see synth.ts):
 *   1. synthesize the suite exactly as the committed snapshot was synthesized;
 *   2. `cdk deploy --all` (the test stack, then the assertion stack) with `--outputs-file`;
 *   3. read every `AssertionResults*` output of the assertion stack: each must say
 *      `{"status":"success"}`; integ-tests-alpha reports failed assertions there, not as a failed
 *      deployment (an EncryptionCheck violation, on the other hand, fails the deployment);
 *   4. `cdk destroy --all` whatever happened (unless `--no-clean`).
 * It never writes a snapshot; `npx projen integ:snapshot` does that.
 *
 * Needs: credentials for the profile (or the default chain), a CDK-bootstrapped account and
 * region (`cdk bootstrap aws://<account>/<region>`).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { failedAssertions } from './assertion-results';
import { integSuites, synthSuite } from './synth';

interface Options {
  readonly profile?: string;
  readonly region?: string;
  readonly clean: boolean;
  readonly suites: string[];
}

function parseArgs(args: string[]): Options {
  let profile: string | undefined;
  let region: string | undefined;
  let clean = true;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      continue;
    } else if (arg === '--profile') {
      profile = args[++i];
    } else if (arg === '--region') {
      region = args[++i];
    } else if (arg === '--no-clean') {
      clean = false;
    } else if (arg.startsWith('-')) {
      throw new Error(`Unknown option ${arg}; use --profile <name>, --region <region>, --no-clean and suite file names.`);
    } else {
      names.push(path.basename(arg));
    }
  }
  const all = integSuites();
  const suites = names.length === 0 ? all : all.filter((suite) => names.includes(path.basename(suite)));
  if (suites.length !== (names.length || all.length)) {
    throw new Error(`Unknown suite in ${names.join(', ')}; suites: ${all.map((s) => path.basename(s)).join(', ')}`);
  }
  return { profile, region, clean, suites };
}

function cdk(args: string[], options: Options): number {
  const cli = require.resolve('aws-cdk/bin/cdk');
  const env = { ...process.env };
  if (options.region) {
    env.AWS_REGION = options.region;
    env.AWS_DEFAULT_REGION = options.region;
  }
  const profileArgs = options.profile ? ['--profile', options.profile] : [];
  process.stderr.write(`$ cdk ${[...args, ...profileArgs].join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args, ...profileArgs], { stdio: 'inherit', env });
  return result.status ?? 1;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const outRoot = path.resolve(__dirname, '..', '..', 'cdk.out', 'integ');
  const results: string[] = [];
  let failed = false;

  for (const suite of options.suites) {
    const name = path.basename(suite);
    const assemblyDir = path.join(outRoot, name);
    const outputsFile = path.join(assemblyDir, 'outputs.json');
    await synthSuite(suite, assemblyDir);

    let outcome: string;
    const deployed = cdk(['deploy', '--app', assemblyDir, '--all', '--require-approval', 'never', '--outputs-file', outputsFile], options);
    if (deployed !== 0) {
      outcome = 'FAILED: deployment failed (an EncryptionCheck violation or a resource error; see the events above)';
    } else {
      const failures = failedAssertions(assemblyDir, JSON.parse(fs.readFileSync(outputsFile, 'utf-8')));
      outcome = failures ? `FAILED:\n${failures}` : 'passed';
    }
    if (options.clean) {
      if (cdk(['destroy', '--app', assemblyDir, '--all', '--force'], options) !== 0) {
        outcome += `\n  and DESTROY FAILED: delete the stacks of ${name} by hand`;
      }
    }
    failed ||= outcome !== 'passed';
    results.push(`${name}: ${outcome}`);
  }

  process.stderr.write(`\n${results.join('\n')}\n`);
  if (failed) {
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
});
