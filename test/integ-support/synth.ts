/**
 * Synthesizes the integration suites the way integ-runner does, without integ-runner and
 * without AWS credentials.
 *
 * Why not integ-runner itself: @aws-cdk/integ-runner 2.197.10 (the newest on the registry in
 * Nov 2026) reads cloud assembly schema 53 at most, and aws-cdk-lib 2.276.0 writes schema 55, so
 * every integ-runner command (snapshot check, `--dry-run`, deploy) stops with
 * "AssemblyVersionMismatch: Maximum schema version supported is 53.x.x, but found 55.0.0".
 * Until it catches up, this module produces the same cloud assembly integ-runner would: the
 * same context (its recommended feature flags, version reporting off, no path or asset
 * metadata) and the same `CDK_INTEG_*` environment, in integ-runner's snapshot layout
 * (`test/<file>.snapshot/`), so integ-runner can take over the snapshots unchanged.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The directory the suites live in. */
export const INTEG_DIR = path.resolve(__dirname, '..');

/** The suite files: `test/integ.*.ts`, integ-runner's TypeScript pattern. */
export function integSuites(): string[] {
  return fs.readdirSync(INTEG_DIR)
    .filter((name) => /^integ\.(?!.*\.d\.ts$).*\.ts$/.test(name))
    .sort()
    .map((name) => path.join(INTEG_DIR, name));
}

/** Where integ-runner keeps the committed snapshot of `suite`. */
export function snapshotDirOf(suite: string): string {
  return `${suite}.snapshot`;
}

/** The context integ-runner synthesizes with (runner-base `getContext` plus toolkit settings). */
export function integRunnerContext(): Record<string, unknown> {
  const flagsFile = path.join(path.dirname(require.resolve('@aws-cdk/integ-runner/package.json')), 'lib', 'recommended-feature-flags.json');
  const flags = JSON.parse(fs.readFileSync(flagsFile, 'utf-8')) as Record<string, unknown>;
  const context: Record<string, unknown> = {
    ...flags,
    // integ-runner sets the target partitions to undefined, i.e. removes the key.
    '@aws-cdk/core:target-partitions': undefined,
    // integ-runner's toolkit settings: pathMetadata, assetMetadata and versionReporting false.
    'aws:cdk:disable-version-reporting': true,
    'aws:cdk:bundling-stacks': ['**'],
  };
  delete context['@aws-cdk/core:target-partitions'];
  return context;
}

/** The environment integ-runner gives every synth (DEFAULT_SYNTH_OPTIONS.env). */
const INTEG_ENV: Record<string, string> = {
  CDK_INTEG_ACCOUNT: '12345678',
  CDK_INTEG_REGION: 'test-region',
  CDK_INTEG_HOSTED_ZONE_ID: 'Z23ABC4XYZL05B',
  CDK_INTEG_HOSTED_ZONE_NAME: 'example.com',
  CDK_INTEG_DOMAIN_NAME: '*.example.com',
  CDK_INTEG_CERT_ARN: 'arn:aws:acm:test-region:12345678:certificate/86468209-a272-595d-b831-0efb6421265z',
  CDK_INTEG_SUBNET_ID: 'subnet-0dff1a399d8f6f92c',
};

/**
 * Runs the suite's app in a process of its own, as integ-runner does (`node -r ts-node/register
 * <file>` in the suite's directory), with `outdir` as its cloud assembly directory. A process of
 * its own matters: integ-tests-alpha derives logical ids from unresolved token strings, whose
 * numbers depend on everything created earlier in the process.
 */
export async function synthSuite(suite: string, outdir: string): Promise<void> {
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  // A fixed environment: nothing from the parent (the machine's CDK_DEFAULT_ACCOUNT/REGION,
  // NODE_ENV, ts-node's own variables) may change what the app does.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...INTEG_ENV,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify(integRunnerContext()),
    // aws-cdk-lib's built-in template validator only writes validation-report.json (templates
    // are identical without it) and takes three quarters of a synth.
    CDK_VALIDATION: 'false',
    // Types are checked by `tsc -p test/tsconfig.json`; here the app only has to run.
    TS_NODE_PROJECT: path.join(INTEG_DIR, 'tsconfig.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
    TS_NODE_PREFER_TS_EXTS: 'true',
  };
  const child = spawn(process.execPath, ['-r', 'ts-node/register', path.basename(suite)], { cwd: path.dirname(suite), env });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`Synthesizing ${path.basename(suite)} failed (exit ${code}):\n${output}`);
  }
}

/**
 * What integ-runner removes from a snapshot of a suite without the update workflow: the staged
 * asset directories and files (`asset.*`, also in .gitignore) and the asset cache.
 */
export function pruneSnapshot(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('asset.') || name === '.cache') {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    } else if (name.endsWith('.metadata.json')) {
      stripTraces(path.join(dir, name));
    }
  }
}

/**
 * Removes the `trace` of every metadata entry, as integ-runner's `cleanManifest` does for the
 * assembly manifest. `stackTraces: false` does not cover every entry: aws-cdk-lib records
 * `Validations.acknowledge` (`aws:cdk:acknowledged-rules`) with a stack trace regardless, and a
 * trace holds absolute paths and line numbers.
 */
function stripTraces(file: string): void {
  const metadata = JSON.parse(fs.readFileSync(file, 'utf-8')) as Record<string, Array<Record<string, unknown>>>;
  for (const entries of Object.values(metadata)) {
    for (const entry of entries) {
      delete entry.trace;
    }
  }
  fs.writeFileSync(file, JSON.stringify(metadata, undefined, 2));
}

/**
 * The files of a cloud assembly that describe what gets deployed, by name, parsed: every stack
 * template (test and assertion stacks), every asset manifest (asset hashes and destinations),
 * the integ manifest (test cases and their options) and the assembly manifest (stacks,
 * dependencies, bootstrap requirements). Not compared: tree.json (construct metadata only).
 */
export function deployedFiles(dir: string): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    if (/\.(template|assets)\.json$/.test(name) || name === 'integ.json' || name === 'manifest.json') {
      files[name] = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf-8'));
    }
  }
  return files;
}
