/**
 * The committed integration snapshots (`test/integ.*.ts.snapshot/`) are what the suites deploy.
 * This test synthesizes every suite as integ-runner would (see integ-support/synth.ts) and fails
 * when any template, asset manifest, integ manifest or assembly manifest differs from the
 * committed snapshot. It never writes a snapshot and needs no AWS credentials; accept a change
 * deliberately with `npx projen integ:snapshot` and review the diff.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deployedFiles, INTEG_DIR, integSuites, snapshotDirOf, synthSuite } from './integ-support/synth';

const REPO_ROOT = path.resolve(INTEG_DIR, '..');
const suites = integSuites();

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-snapshots-'));
const actualDirOf = (suite: string) => path.join(workDir, path.basename(snapshotDirOf(suite)));
/** Every suite synthesized in parallel, each in a process of its own; a failure is kept per suite. */
const synthesized = new Map<string, Promise<void>>();
beforeAll(() => {
  for (const suite of suites) {
    const result = synthSuite(suite, actualDirOf(suite));
    result.catch(() => undefined); // reported by the suite's own test
    synthesized.set(suite, result);
  }
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('there are integration suites, each with a committed snapshot, and no orphan snapshot', () => {
  expect(suites.map((s) => path.basename(s))).toEqual(expect.arrayContaining(['integ.sse-s3.ts', 'integ.sse-kms.ts', 'integ.sse-c-allowed.ts']));
  for (const suite of suites) {
    expect(fs.existsSync(path.join(snapshotDirOf(suite), 'manifest.json'))).toBe(true);
  }
  const snapshotDirs = fs.readdirSync(INTEG_DIR).filter((name) => name.endsWith('.snapshot'));
  expect(snapshotDirs.sort()).toEqual(suites.map((s) => path.basename(snapshotDirOf(s))).sort());
});

describe.each(suites.map((suite) => [path.basename(suite), suite]))('%s', (_name, suite) => {
  const committed = snapshotDirOf(suite);

  test('synthesizes exactly the committed snapshot', async () => {
    const actualDir = actualDirOf(suite);
    await synthesized.get(suite);

    const expected = deployedFiles(committed);
    const actual = deployedFiles(actualDir);
    // Same files first (a stack added or removed), then every file in full.
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
    // Templates first: an asset manifest only repeats a changed template's hash.
    const names = Object.keys(expected).sort((a, b) => Number(!a.endsWith('.template.json')) - Number(!b.endsWith('.template.json')));
    for (const name of names) {
      // A failure here means the suite, the library or a dependency changed what the suite
      // deploys. If that is intended: `npx projen integ:snapshot`, review, commit.
      expect({ [name]: actual[name] }).toEqual({ [name]: expected[name] });
    }
  }, 120_000);

  test('the committed snapshot is machine-independent: no local paths, no stack traces, no staged assets', () => {
    for (const name of fs.readdirSync(committed)) {
      expect(name).not.toMatch(/^asset\./);
      const file = path.join(committed, name);
      if (!fs.statSync(file).isFile()) {
        continue;
      }
      const text = fs.readFileSync(file, 'utf-8');
      expect({ [name]: text.includes(REPO_ROOT) }).toEqual({ [name]: false });
      expect({ [name]: text.includes(os.homedir()) && os.homedir() !== '/' }).toEqual({ [name]: false });
      expect({ [name]: /"trace"\s*:/.test(text) }).toEqual({ [name]: false });
    }
  });
});
