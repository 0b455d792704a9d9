/**
 * Regenerates the committed integration snapshots (`npx projen integ:snapshot`): synthesizes
 * every suite, or the suites named on the command line, into `test/<file>.snapshot/`. Review the
 * diff before committing: it is what the suites deploy.
 *
 * Needs the bundled Lambda handlers in `assets/` (the projen task runs `bundle` first).
 */
import * as path from 'path';
import { integSuites, pruneSnapshot, snapshotDirOf, synthSuite } from './synth';

const requested = process.argv.slice(2).map((arg) => path.basename(arg));
const suites = integSuites().filter((suite) => requested.length === 0 || requested.includes(path.basename(suite)));
if (suites.length === 0) {
  throw new Error(`No suite matches ${requested.join(', ')}; suites: ${integSuites().map((s) => path.basename(s)).join(', ')}`);
}
void Promise.all(suites.map(async (suite) => {
  const dir = snapshotDirOf(suite);
  await synthSuite(suite, dir);
  pruneSnapshot(dir);
  process.stderr.write(`wrote ${path.relative(process.cwd(), dir)}\n`);
})).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
});
