import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { buildApp, Scenario, Side } from './configurations';
import { CfnTemplate } from './resolve';
import { measureTemplate, TemplateMetrics } from './template-metrics';

// A full collection before every timed synth, so one side does not pay for the other's garbage.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

export interface SynthRun {
  /** Construction of the app and its buckets plus `app.synth()`, in milliseconds. */
  readonly ms: number;
  /** The construction part of `ms`. */
  readonly constructMs: number;
  /**
   * CPU time of the process over the same span (user + system, all threads), in milliseconds:
   * less disturbed than `ms` when other processes share the machine.
   */
  readonly cpuMs: number;
  /** One entry per stack, only when asked for (measuring is not timed). */
  readonly stacks?: TemplateMetrics[];
}

export interface SynthOptions {
  /** Spread the buckets over this many stacks. @default 1 */
  readonly stacks?: number;
  /** Measure the templates (after the timed part). @default false */
  readonly measure?: boolean;
  /** Run aws-cdk-lib's built-in template validator. @default false */
  readonly validation?: boolean;
}

/**
 * Builds and synthesizes one app into a fresh directory, as `cdk synth` would, and times it.
 * `validation` turns aws-cdk-lib's built-in template validator on for this synth only.
 */
export function synthesize(side: Side, scenario: Scenario, buckets: number, options: SynthOptions = {}): SynthRun {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = options.validation ? 'true' : 'false';
  try {
    collectGarbage();
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    const app = buildApp(outdir, side, scenario, buckets, options.stacks);
    const constructed = process.hrtime.bigint();
    const assembly = app.synth();
    const end = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpuStart);

    const stacks = options.measure
      ? assembly.stacks.map(s => measureTemplate(s.template as CfnTemplate, fs.statSync(path.join(assembly.directory, s.templateFile)).size))
      : undefined;
    return { ms: Number(end - start) / 1e6, constructMs: Number(constructed - start) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000, stacks };
  } finally {
    if (previous === undefined) {
      delete process.env.CDK_VALIDATION;
    } else {
      process.env.CDK_VALIDATION = previous;
    }
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One side's times over the rounds, and its ratios to the plain side of the same round. */
export interface SideTiming {
  /** Wall time per round, in milliseconds. */
  readonly ms: number[];
  /** CPU time per round, in milliseconds. */
  readonly cpuMs: number[];
  /** This side / plain, wall time, per round. */
  readonly ratios: number[];
  /** This side / plain, CPU time, per round. */
  readonly cpuRatios: number[];
}

export type PairedTiming = Partial<Record<Side, SideTiming>>;

/**
 * Times every side in `sides` (which must include `plain`) `rounds` times, rotating which goes
 * first each round, so that drift in the machine (frequency, other load, heap growth) falls on
 * every side equally. Ratios compare each side with the plain run of the same round.
 */
export function pairedRounds(scenario: Scenario, buckets: number, rounds: number, sides: Side[], validation = false): PairedTiming {
  const result: PairedTiming = {};
  for (const side of sides) {
    result[side] = { ms: [], cpuMs: [], ratios: [], cpuRatios: [] };
  }
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => sides[(i + r) % sides.length]);
    const runs: Partial<Record<Side, SynthRun>> = {};
    for (const side of order) {
      runs[side] = synthesize(side, scenario, buckets, { validation });
    }
    const plain = runs.plain!;
    for (const side of sides) {
      const run = runs[side]!;
      result[side]!.ms.push(run.ms);
      result[side]!.cpuMs.push(run.cpuMs);
      result[side]!.ratios.push(run.ms / plain.ms);
      result[side]!.cpuRatios.push(run.cpuMs / plain.cpuMs);
    }
  }
  return result;
}
