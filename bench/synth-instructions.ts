/**
 * Synth cost as instructions executed, counted by valgrind: a steady companion to bench/synth.ts,
 * whose CPU-time ratios move by 0.1 or more from run to run on these shared 2-core machines.
 *
 *   npx projen bench:instructions              # 100 buckets, SSE-S3 (about 5 minutes)
 *   npx projen bench:instructions -- --kms     # the SSE-KMS scenario
 *
 * Each side (EncryptedBucket, EncryptedBucket without the check, the nearest plain s3.Bucket) is
 * run in two processes under `valgrind --tool=cachegrind`: one that only starts and warms up, one
 * that also synthesizes RUNS stacks of 100 buckets; the difference, divided by RUNS, is the
 * instructions one synth takes. Node runs with `--predictable` (no concurrent compilation or
 * garbage collection, fixed seeds), which makes the count repeat to within 0.01 % but differ from
 * a normal run's in absolute terms: read the ratios, not the counts. Needs valgrind (Debian
 * package `valgrind`). Writes .bench/instructions.json.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Scenario, SCENARIOS, Side, SIDES } from './synth/configurations';

const SCENARIO: Scenario = process.argv.includes('--kms') ? 'kms' : 'default';
const BUCKETS = 100;
const RUNS = 3;
const SIDE_ORDER: Side[] = ['plain', 'unchecked', 'library'];

const root = path.resolve(__dirname, '..');
// Inside the repository, two levels down, so that the bundle finds node_modules and the check
// handler's asset (`<bundle dir>/../../assets`) as the library's compiled code does.
const outDir = path.join(root, '.bench', 'instructions');
const runner = path.join(outDir, 'runner.js');

function bundleRunner(): void {
  fs.mkdirSync(outDir, { recursive: true });
  execFileSync(path.join(root, 'node_modules', '.bin', 'esbuild'), [
    path.join(__dirname, 'synth', 'instructions-runner.ts'),
    '--bundle', '--platform=node', `--outfile=${runner}`, '--external:aws-cdk-lib', '--external:constructs', '--log-level=warning',
  ], { stdio: 'inherit' });
}

/** Instructions executed by one runner process (valgrind's "I refs"). */
function countInstructions(side: Side, runs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', [
      '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
      process.execPath, '--predictable', '--random-seed=1', '--hash-seed=1', runner, side, SCENARIO, String(BUCKETS), String(runs),
    ], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code !== 0 || !match) {
        reject(new Error(`valgrind for ${side} (${runs} runs) exited ${code}:\n${stderr.slice(-2000)}`));
      } else {
        resolve(Number(match[1].replace(/,/g, '')));
      }
    });
  });
}

/** Runs `jobs` with at most `limit` at a time, results in order. */
async function bounded<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is not installed: apt-get install -y valgrind (Debian), then run again.');
  }
  bundleRunner();
  const started = Date.now();
  const jobs = SIDE_ORDER.flatMap((side) => [0, RUNS].map((runs) => () => countInstructions(side, runs)));
  const counts = await bounded(jobs, Math.max(1, Math.min(2, os.cpus().length)));
  const perSynth: Partial<Record<Side, number>> = {};
  SIDE_ORDER.forEach((side, i) => {
    perSynth[side] = (counts[2 * i + 1] - counts[2 * i]) / RUNS;
  });
  const plain = perSynth.plain!;
  const lines = [
    `Instructions per synth of one stack of ${BUCKETS} buckets, ${SCENARIOS[SCENARIO]} (valgrind cachegrind, node --predictable; ${RUNS} synths per side, ${((Date.now() - started) / 1000).toFixed(0)} s):`,
    '',
    '| side | instructions per synth | ratio to s3.Bucket |',
    '| --- | ---: | ---: |',
    ...SIDE_ORDER.map((side) => `| ${SIDES[side]} | ${(perSynth[side]! / 1e6).toFixed(0)} M | ${(perSynth[side]! / plain).toFixed(3)} |`),
  ];
  console.log(lines.join('\n'));
  fs.writeFileSync(path.join(root, '.bench', 'instructions.json'), JSON.stringify({ scenario: SCENARIO, buckets: BUCKETS, runs: RUNS, counts, perSynth }, undefined, 2));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
