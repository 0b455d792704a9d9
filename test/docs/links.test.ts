import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentationFiles, readDocumentation, REPO_ROOT } from './snippets';

/**
 * The README is what npm and Construct Hub show, where docs/, examples/ and test/ are not in the
 * package: its links to repository files are absolute (this repository, branch main). Pages
 * under docs/ are read on GitHub, so their relative links must resolve there.
 */
const REPOSITORY_BLOB = 'https://github.com/cdk-s3-encryption/cdk-s3-encryption/blob/main/';

interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

function linksOf(file: string): Link[] {
  const links: Link[] = [];
  let inFence: string | undefined;
  readDocumentation(file).split('\n').forEach((text, index) => {
    const fence = /^\s*(`{3,}|~{3,})/.exec(text);
    if (fence && (!inFence || fence[1] === inFence)) {
      inFence = inFence ? undefined : fence[1];
      return;
    }
    if (inFence) return;
    for (const match of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      links.push({ file, line: index + 1, target: match[1] });
    }
  });
  return links;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const text of readDocumentation(file).split('\n')) {
    if (/^\s*(```|~~~)/.test(text)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) {
      anchors.add(heading[1].trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-'));
    }
  }
  return anchors;
}

/** The problem with one link, or undefined when it resolves. */
function brokenLink(link: Link): string | undefined {
  const where = `${link.file}:${link.line}: ${link.target}`;
  if (/^https?:/.test(link.target) && !link.target.startsWith(REPOSITORY_BLOB)) {
    return undefined; // outside this repository
  }
  let repoPath: string;
  let anchor: string | undefined;
  if (link.target.startsWith(REPOSITORY_BLOB)) {
    [repoPath, anchor] = link.target.slice(REPOSITORY_BLOB.length).split('#');
  } else if (link.target.startsWith('#')) {
    [repoPath, anchor] = [link.file, link.target.slice(1)];
  } else if (link.file === 'README.md') {
    return `${where}: the README links to repository files absolutely (${REPOSITORY_BLOB}...), because npm and Construct Hub do not have them`;
  } else {
    const [relative, fragment] = link.target.split('#');
    repoPath = path.posix.normalize(path.posix.join(path.posix.dirname(link.file), relative));
    anchor = fragment;
  }
  if (!fs.existsSync(path.join(REPO_ROOT, repoPath))) {
    return `${where}: ${repoPath} does not exist`;
  }
  if (anchor && repoPath.endsWith('.md') && !anchorsOf(repoPath).has(anchor)) {
    return `${where}: ${repoPath} has no heading #${anchor}`;
  }
  return undefined;
}

test('links in README.md and docs/ resolve', () => {
  const links = documentationFiles().flatMap(linksOf);
  expect(links.length).toBeGreaterThan(20);
  expect(links.map(brokenLink).filter(Boolean)).toEqual([]);
});

test('the checker finds a relative README link, a missing file and a missing heading', () => {
  const file = 'README.md';
  expect(brokenLink({ file, line: 1, target: 'examples/app.ts' })).toMatch(/links to repository files absolutely/);
  expect(brokenLink({ file, line: 2, target: `${REPOSITORY_BLOB}docs/nowhere.md` })).toMatch(/docs\/nowhere.md does not exist/);
  expect(brokenLink({ file, line: 3, target: '#no-such-heading' })).toMatch(/README.md has no heading #no-such-heading/);
  expect(brokenLink({ file: 'docs/primer.md', line: 4, target: '../README.md#security-notes' })).toBeUndefined();
  expect(brokenLink({ file: 'docs/primer.md', line: 5, target: '../test/nowhere.ts' })).toMatch(/test\/nowhere.ts does not exist/);
});
