/**
 * Synth benchmark: what choosing EncryptedBucket over the nearest plain s3.Bucket costs in
 * synth time, resources, template bytes and policy bytes, and how many buckets fit one stack.
 *
 *   npx projen bench                 # or: npx ts-node -P test/tsconfig.json bench/synth.ts
 *   npx projen bench -- --quick      # fewer rounds, for a smoke run
 *
 * Prints a markdown report and writes every number to .bench/synth.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Scenario, SCENARIOS, Side, SIDES } from './synth/configurations';
import { LIMITS, limitViolations, TemplateMetrics } from './synth/template-metrics';
import { median, pairedRounds, PairedTiming, synthesize } from './synth/timing';

const QUICK = process.argv.includes('--quick');
const SIZES = [1, 10, 100, 300];
// Small stacks synthesize in milliseconds, so they get more rounds to settle the median.
const ROUNDS: Record<number, number> = QUICK ? { 1: 5, 10: 5, 100: 3, 300: 3 } : { 1: 15, 10: 11, 100: 9, 300: 5 };
const VALIDATION_N = 100;
const VALIDATION_ROUNDS = QUICK ? 1 : 3;
const SCENARIO_LIST = Object.keys(SCENARIOS) as Scenario[];

const TIMED_SIDES: Side[] = ['plain', 'library', 'unchecked'];

interface SideSummary {
  /** Median wall time, in milliseconds. */
  readonly ms: number;
  /** Median CPU time, in milliseconds. */
  readonly cpuMs: number;
  /** Median of this side / plain wall time per round, with its range. */
  readonly ratio: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** Median of this side / plain CPU time per round. */
  readonly cpuRatio: number;
}

interface TimingRow {
  readonly scenario: Scenario;
  readonly buckets: number;
  readonly rounds: number;
  readonly validation: boolean;
  readonly sides: Partial<Record<Side, SideSummary>>;
  readonly raw: PairedTiming;
}

function timingRow(scenario: Scenario, buckets: number, rounds: number, sides: Side[], validation: boolean): TimingRow {
  const raw = pairedRounds(scenario, buckets, rounds, sides, validation);
  const summaries: Partial<Record<Side, SideSummary>> = {};
  for (const side of sides) {
    const t = raw[side]!;
    summaries[side] = {
      ms: median(t.ms),
      cpuMs: median(t.cpuMs),
      ratio: median(t.ratios),
      ratioMin: Math.min(...t.ratios),
      ratioMax: Math.max(...t.ratios),
      cpuRatio: median(t.cpuRatios),
    };
  }
  return { scenario, buckets, rounds, validation, sides: summaries, raw };
}

/** `value(n) = constant + perBucket * n`, fitted through the two largest stacks. */
interface Linear { readonly constant: number; readonly perBucket: number }

function fit(metrics: Map<number, TemplateMetrics>, value: (m: TemplateMetrics) => number): Linear {
  const [a, b] = [100, 300];
  const perBucket = (value(metrics.get(b)!) - value(metrics.get(a)!)) / (b - a);
  return { constant: value(metrics.get(a)!) - perBucket * a, perBucket };
}

function largestFitting(line: Linear, limit: number): number {
  return line.perBucket <= 0 ? Infinity : Math.floor((limit - line.constant) / line.perBucket);
}

interface ScaleRow {
  readonly scenario: Scenario;
  readonly side: Side;
  readonly metrics: Record<number, TemplateMetrics>;
  readonly resources: Linear;
  readonly templateBytes: Linear;
  readonly roleInlineChars: Linear;
  readonly managedPoliciesPerRole: Linear;
  /** The largest N each limit allows, from the fitted costs. */
  readonly predictedMax: Record<string, number>;
  /** The largest N that synthesizes within every limit, found by synthesizing. */
  readonly verifiedMax: number;
  readonly violationsAboveMax: string[];
  /** Violations of 300 buckets over two stacks, per stack (empty lists: all limits held). */
  readonly twoStacks300: string[][];
}

/** Steps from the prediction to the largest N whose single stack is within every limit. */
function verifyMax(side: Side, scenario: Scenario, predicted: number): { max: number; violationsAbove: string[] } {
  const violations = (n: number) => limitViolations(synthesize(side, scenario, n, { measure: true }).stacks![0]);
  let n = predicted;
  while (n > 1 && violations(n).length > 0) n--;
  let above = violations(n + 1);
  while (above.length === 0) {
    n++;
    above = violations(n + 1);
  }
  return { max: n, violationsAbove: above };
}

function scaleRow(scenario: Scenario, side: Side): ScaleRow {
  const metrics = new Map<number, TemplateMetrics>();
  for (const n of SIZES) {
    metrics.set(n, synthesize(side, scenario, n, { measure: true }).stacks![0]);
  }
  const resources = fit(metrics, m => m.resources);
  const templateBytes = fit(metrics, m => m.templateBytes);
  const roleInlineChars = fit(metrics, m => m.largestRoleInline?.inlineChars ?? 0);
  const managedPoliciesPerRole = fit(metrics, m => Math.max(0, ...m.roles.map(r => r.managedPolicies)));
  const predictedMax = {
    resources: largestFitting(resources, LIMITS.resourcesPerStack),
    templateBytes: largestFitting(templateBytes, LIMITS.templateBytes),
    roleInlinePolicy: largestFitting(roleInlineChars, LIMITS.roleInlinePolicyChars),
    managedPoliciesPerRole: largestFitting(managedPoliciesPerRole, LIMITS.managedPoliciesPerRole),
  };
  const predicted = Math.min(...Object.values(predictedMax));
  const { max, violationsAbove } = verifyMax(side, scenario, Number.isFinite(predicted) ? predicted : 1000);
  const twoStacks = synthesize(side, scenario, 300, { stacks: 2, measure: true }).stacks!.map(limitViolations);
  return {
    scenario,
    side,
    metrics: Object.fromEntries(metrics),
    resources,
    templateBytes,
    roleInlineChars,
    managedPoliciesPerRole,
    predictedMax,
    verifiedMax: max,
    violationsAboveMax: violationsAbove,
    twoStacks300: twoStacks,
  };
}

function machine(): Record<string, string> {
  const cdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  return {
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    awsCdkLib: JSON.parse(fs.readFileSync(path.join(cdkLib, 'package.json'), 'utf8')).version,
    load: os.loadavg().map(l => l.toFixed(1)).join(' '),
  };
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'no limit');

function report(timings: TimingRow[], scale: ScaleRow[], env: Record<string, string>, seconds: number): string {
  const lines: string[] = [];
  lines.push(`Machine: ${env.cpu}, ${env.memory}, ${env.os}, Node ${env.node}, aws-cdk-lib ${env.awsCdkLib}; load average ${env.load} at the start. ` +
    'CDK_VALIDATION=false on every side unless marked; stack traces off; ' +
    `${QUICK ? 'QUICK run (few rounds)' : 'full run'} in ${fmt(seconds)} s.`);
  lines.push('');
  lines.push('### Synth time: EncryptedBucket vs the nearest plain s3.Bucket');
  lines.push('');
  lines.push('Construction plus `app.synth()` in one process; each round runs every side once, in rotating order. Ratios are medians of per-round ratios to the plain side.');
  lines.push('');
  lines.push('| buckets | configuration | rounds | s3.Bucket (ms) | EncryptedBucket (ms) | **ratio** | ratio range | CPU-time ratio | without the check: ratio (CPU) | EncryptedBucket ms/bucket |');
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
  for (const t of timings) {
    const config = SCENARIOS[t.scenario] + (t.validation ? ', **validator on**' : '');
    const lib = t.sides.library!;
    const unchecked = t.sides.unchecked;
    const uncheckedCell = unchecked ? `${fmt(unchecked.ratio, 2)} (${fmt(unchecked.cpuRatio, 2)})` : '-';
    lines.push(`| ${t.buckets} | ${config} | ${t.rounds} | ${fmt(t.sides.plain!.ms, 1)} | ${fmt(lib.ms, 1)} | **${fmt(lib.ratio, 2)}** | ` +
      `${fmt(lib.ratioMin, 2)}-${fmt(lib.ratioMax, 2)} | ${fmt(lib.cpuRatio, 2)} | ${uncheckedCell} | ${fmt(lib.ms / t.buckets, 2)} |`);
  }
  lines.push('');
  lines.push('Marginal CPU time per added bucket (median CPU ms, between stack sizes); flat across sizes means synth time grows linearly:');
  lines.push('');
  lines.push(`| configuration | side | ${SIZES.slice(1).map((n, i) => `${SIZES[i]} → ${n}`).join(' | ')} |`);
  lines.push(`| --- | --- | ${SIZES.slice(1).map(() => '---:').join(' | ')} |`);
  for (const scenario of SCENARIO_LIST) {
    for (const side of TIMED_SIDES) {
      const cpu = (n: number) => timings.find(t => t.scenario === scenario && t.buckets === n && !t.validation)!.sides[side]!.cpuMs;
      const cells = SIZES.slice(1).map((n, i) => fmt((cpu(n) - cpu(SIZES[i])) / (n - SIZES[i]), 2));
      lines.push(`| ${SCENARIOS[scenario]} | ${SIDES[side]} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push('### Resources, bytes and limits per stack');
  lines.push('');
  const columns = SCENARIO_LIST.flatMap(scenario => SCALE_SIDES.map(side => scale.find(r => r.scenario === scenario && r.side === side)!));
  lines.push(`| | ${columns.map(c => `${SCENARIOS[c.scenario]}: ${SIDES[c.side]}`).join(' | ')} |`);
  lines.push(`| --- | ${columns.map(() => '---:').join(' | ')} |`);
  const row = (label: string, value: (r: ScaleRow) => string) => lines.push(`| ${label} | ${columns.map(value).join(' | ')} |`);
  row('CloudFormation resources per bucket', r => fmt(r.resources.perBucket, 2));
  row('resources per stack, constant', r => fmt(r.resources.constant, 1));
  row('resources at N=300 in one stack', r => fmt(r.metrics[300].resources));
  row('template bytes per bucket (cdk.out file, as uploaded)', r => fmt(r.templateBytes.perBucket));
  row('template bytes per stack, constant', r => fmt(r.templateBytes.constant));
  row('bucket policy bytes (resolved, minified; worst-case names)', r => fmt(r.metrics[1].bucketPolicyBytes));
  row('Lambda functions per stack (N=1 / N=300)', r => `${r.metrics[1].lambdaFunctions} / ${r.metrics[300].lambdaFunctions}`);
  row('custom resources per stack (N=1 / N=300)', r => `${r.metrics[1].customResources} / ${r.metrics[300].customResources}`);
  row('largest IAM role: inline chars, N=1 / N=300 (limit 10,240)', r => `${fmt(r.metrics[1].largestRoleInline?.inlineChars ?? 0)} / ${fmt(r.metrics[300].largestRoleInline?.inlineChars ?? 0)}`);
  row('largest managed policy chars at N=300 (limit 6,144)', r => fmt(r.metrics[300].largestManagedPolicyChars));
  row('KMS key policy bytes at N=300 (limit 32,768)', r => fmt(r.metrics[300].largestKeyPolicyBytes));
  row('max buckets by 500 resources', r => fmt(r.predictedMax.resources));
  row('max buckets by 1 MB template', r => fmt(r.predictedMax.templateBytes));
  row('max buckets by IAM (inline chars / managed policies per role)', r => `${fmt(r.predictedMax.roleInlinePolicy)} / ${fmt(r.predictedMax.managedPoliciesPerRole)}`);
  row('**max buckets in one stack, verified by synth**', r => `**${r.verifiedMax}**`);
  row('one more bucket breaks', r => r.violationsAboveMax.join('; '));
  row('300 buckets over two stacks', r => (r.twoStacks300.every(v => v.length === 0) ? 'within every limit' : r.twoStacks300.map(v => v.join('; ') || 'ok').join(' / ')));
  lines.push('');
  lines.push('Bucket policy bytes by statement (EncryptedBucket, N=1):');
  lines.push('');
  for (const scenario of SCENARIO_LIST) {
    const lib = scale.find(r => r.scenario === scenario && r.side === 'library')!;
    const parts = Object.entries(lib.metrics[1].bucketPolicyStatementBytes).map(([sid, b]) => `${sid} ${b}`);
    lines.push(`- ${SCENARIOS[scenario]}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

const SCALE_SIDES: Side[] = ['library', 'unchecked', 'plain'];

function main(): void {
  const started = Date.now();
  const env = machine();
  const progress = (what: string) => process.stderr.write(`${what} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  progress(QUICK ? 'quick run' : 'full run');

  // Warm-up: module loading and JIT compilation would otherwise land on whichever side runs first.
  for (const scenario of SCENARIO_LIST) {
    pairedRounds(scenario, 10, 3, TIMED_SIDES);
    pairedRounds(scenario, 100, 1, TIMED_SIDES);
  }

  const timings: TimingRow[] = [];
  for (const scenario of SCENARIO_LIST) {
    for (const n of SIZES) {
      timings.push(timingRow(scenario, n, ROUNDS[n], TIMED_SIDES, false));
      progress(`timed ${scenario} N=${n}`);
    }
  }
  // The validator loads its schema on first use; that one-off cost is not per-synth.
  pairedRounds('default', VALIDATION_N, 1, ['plain', 'library'], true);
  timings.push(timingRow('default', VALIDATION_N, VALIDATION_ROUNDS, ['plain', 'library'], true));
  progress('timed with the validator');

  const scale: ScaleRow[] = [];
  for (const scenario of SCENARIO_LIST) {
    for (const side of SCALE_SIDES) {
      scale.push(scaleRow(scenario, side));
      progress(`measured ${scenario} ${side}`);
    }
  }

  const seconds = (Date.now() - started) / 1000;
  const markdown = report(timings, scale, env, seconds);
  console.log(markdown);

  const outDir = path.join(__dirname, '..', '.bench');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'synth.json'), JSON.stringify({ machine: env, quick: QUICK, seconds, limits: LIMITS, timings, scale }, undefined, 2));
  fs.writeFileSync(path.join(outDir, 'synth.md'), markdown + '\n');
  progress(`wrote ${path.join(outDir, 'synth.json')} and synth.md`);
}

main();
