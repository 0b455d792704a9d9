/**
 * One process of the instruction-count benchmark (bench/synth-instructions.ts), run under
 * valgrind: two warm-up synths of 20 buckets, then `runs` synths of `buckets` buckets of one side.
 * The benchmark runs it twice per side, with `runs` 0 and N, and takes the difference: what N
 * synths cost, without Node's start, module loading or the warm-up.
 *
 *   node runner.js <side> <scenario> <buckets> <runs>
 */
import { Scenario, SCENARIOS, Side, SIDES } from './configurations';
import { synthesize } from './timing';

const [side, scenario, buckets, runs] = process.argv.slice(2);
if (!(side in SIDES) || !(scenario in SCENARIOS) || !/^\d+$/.test(buckets ?? '') || !/^\d+$/.test(runs ?? '')) {
  throw new Error(`usage: runner.js <${Object.keys(SIDES).join('|')}> <${Object.keys(SCENARIOS).join('|')}> <buckets> <runs>, got ${process.argv.slice(2).join(' ')}`);
}
for (let i = 0; i < 2; i++) {
  synthesize(side as Side, scenario as Scenario, 20);
}
for (let i = 0; i < Number(runs); i++) {
  synthesize(side as Side, scenario as Scenario, Number(buckets));
}
