import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * The TypeScript code blocks of the README and docs/, extracted and type-checked against the
 * library's source, so that a docs change (or an API change) cannot break them silently.
 *
 * Every ```ts / ```typescript block is a complete program with its imports, importing the
 * library as `from 'cdk-s3-encryption'`. A block that deliberately continues an earlier one
 * says so on the line right before its fence, and the earlier block carries the name:
 *
 *   <!-- snippet: name=quick-start -->      (names the next block)
 *   <!-- snippet: continues=quick-start --> (the next block is compiled after quick-start's code)
 *
 * The marker convention is documented for contributors at the top of docs/README.md.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const LIBRARY_ENTRY = path.join(REPO_ROOT, 'src', 'index.ts');
const TS_INFO_STRING = /^\s*(ts|typescript)(\s|$)/i;
const MARKER = /^<!--\s*snippet:\s*(.*?)\s*-->\s*$/;

/** One line of a snippet's compiled text, traced back to the Markdown file it came from. */
interface SourceLine {
  readonly file: string;
  readonly line: number;
}

export interface Snippet {
  /** Repository-relative path of the Markdown file. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The block's own code. */
  readonly code: string;
  /** From a `name=` marker. */
  readonly name?: string;
  /** From a `continues=` marker: the name of the block this one is compiled after. */
  readonly continues?: string;
}

/** A problem with the docs themselves: an unclosed fence, an unknown marker, a missing name. */
export class SnippetMarkupError extends Error {}

/** Extracts the TypeScript blocks of one Markdown text. `file` is only used in messages. */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  let pendingMarker: { name?: string; continues?: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    const marker = MARKER.exec(text.trim());
    if (marker) {
      pendingMarker = { ...parseMarker(file, i + 1, marker[1]), line: i + 1 };
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(text);
    if (!fence) {
      if (pendingMarker && text.trim() !== '') {
        throw new SnippetMarkupError(`${file}:${pendingMarker.line}: a snippet marker must be followed by a \`\`\`ts block`);
      }
      continue;
    }
    // Any fenced block (ts or not) runs to its closing fence; skip over it.
    const close = lines.findIndex((l, j) => j > i && l.trim() === fence[2]);
    if (close < 0) {
      throw new SnippetMarkupError(`${file}:${i + 1}: code block is never closed`);
    }
    const isTs = TS_INFO_STRING.test(fence[3]);
    if (isTs) {
      const indent = fence[1].length;
      const code = lines.slice(i + 1, close).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n');
      snippets.push({ file, line: i + 1, code, name: pendingMarker?.name, continues: pendingMarker?.continues });
    } else if (pendingMarker) {
      throw new SnippetMarkupError(`${file}:${pendingMarker.line}: a snippet marker must be followed by a \`\`\`ts block, not \`${text.trim()}\``);
    }
    pendingMarker = undefined;
    i = close;
  }
  if (pendingMarker) {
    throw new SnippetMarkupError(`${file}:${pendingMarker.line}: a snippet marker must be followed by a \`\`\`ts block`);
  }
  return snippets;
}

function parseMarker(file: string, line: number, body: string): { name?: string; continues?: string } {
  const result: { name?: string; continues?: string } = {};
  for (const part of body.split(/\s+/).filter(Boolean)) {
    const kv = /^(name|continues)=([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(part);
    if (!kv) {
      throw new SnippetMarkupError(`${file}:${line}: unknown snippet marker '${part}': use name=<id> or continues=<id>`);
    }
    result[kv[1] as 'name' | 'continues'] = kv[2];
  }
  return result;
}

/** A type error, with the Markdown file and line where the offending code is written. */
export interface SnippetDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/**
 * Type-checks every snippet in one TypeScript program (the library's source is compiled once for
 * all of them). Returns the errors, each located in its Markdown file.
 */
export function checkSnippets(snippets: readonly Snippet[]): SnippetDiagnostic[] {
  const byName = new Map<string, Snippet>();
  for (const s of snippets) {
    if (!s.name) continue;
    const previous = byName.get(s.name);
    if (previous) {
      throw new SnippetMarkupError(`${s.file}:${s.line}: snippet name '${s.name}' is already used at ${previous.file}:${previous.line}`);
    }
    byName.set(s.name, s);
  }

  // Each snippet becomes a virtual module next to the repository root, so that `aws-cdk-lib`,
  // `constructs`, `cdk-nag` and the other devDependencies resolve from node_modules.
  const virtualFiles = new Map<string, { text: string; lines: SourceLine[] }>();
  snippets.forEach((snippet, index) => {
    const chain = continuationChain(snippet, byName);
    const text: string[] = [];
    const lines: SourceLine[] = [];
    for (const part of chain) {
      part.code.split('\n').forEach((codeLine, offset) => {
        text.push(codeLine);
        lines.push({ file: part.file, line: part.line + 1 + offset });
      });
    }
    const fileName = path.join(REPO_ROOT, `__snippet_${index}_${path.basename(snippet.file, '.md')}_L${snippet.line}.ts`);
    virtualFiles.set(fileName, { text: text.join('\n'), lines });
  });

  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const virtual = virtualFiles.get(path.resolve(fileName));
    return virtual
      ? ts.createSourceFile(fileName, virtual.text, languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  };
  host.fileExists = (fileName) => virtualFiles.has(path.resolve(fileName)) || fileExists(fileName);
  host.readFile = (fileName) => virtualFiles.get(path.resolve(fileName))?.text ?? readFile(fileName);

  const program = ts.createProgram({ rootNames: [...virtualFiles.keys()], options, host });
  const diagnostics: SnippetDiagnostic[] = [];
  for (const diagnostic of program.getOptionsDiagnostics()) {
    diagnostics.push({ file: '(compiler options)', line: 0, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n') });
  }
  for (const [fileName, virtual] of virtualFiles) {
    const sourceFile = program.getSourceFile(fileName)!;
    for (const diagnostic of [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const origin = virtual.lines[line];
      diagnostics.push({
        file: origin.file,
        line: origin.line,
        message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
      });
    }
  }
  return diagnostics;
}

/** The snippet preceded by every block it continues, oldest first. */
function continuationChain(snippet: Snippet, byName: Map<string, Snippet>): Snippet[] {
  const chain = [snippet];
  let current = snippet;
  while (current.continues) {
    const previous = byName.get(current.continues);
    if (!previous) {
      throw new SnippetMarkupError(`${current.file}:${current.line}: continues '${current.continues}', but no block is named so`);
    }
    if (chain.includes(previous)) {
      throw new SnippetMarkupError(`${current.file}:${current.line}: continuation cycle through '${current.continues}'`);
    }
    chain.unshift(previous);
    current = previous;
  }
  return chain;
}

/**
 * test/tsconfig.json's options (what the tests and the example app compile with), with the
 * library's package name mapped to its source. Unused names are allowed (a snippet may create a
 * bucket only to show it), and every block is a module of its own even without imports.
 */
function compilerOptions(): ts.CompilerOptions {
  const configPath = path.join(REPO_ROOT, 'test', 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) {
    throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  }
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, path.dirname(configPath));
  return {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    isolatedModules: false,
    moduleDetection: ts.ModuleDetectionKind.Force,
    // Node's types for `node:crypto` and the like; not jest's or Lambda's, which no reader has.
    types: ['node'],
    paths: { 'cdk-s3-encryption': [LIBRARY_ENTRY] },
  };
}

/** README.md and every Markdown file under docs/, repository-relative. */
export function documentationFiles(): string[] {
  const docsDir = path.join(REPO_ROOT, 'docs');
  const docs = fs.existsSync(docsDir)
    ? fs.readdirSync(docsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))
    : [];
  return ['README.md', ...docs.sort()];
}

export function readDocumentation(file: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

export { REPO_ROOT };
