import { checkSnippets, documentationFiles, extractSnippets, readDocumentation, Snippet, SnippetMarkupError } from './snippets';

// Type-checking aws-cdk-lib's declarations for every block takes a few seconds on a slow machine.
jest.setTimeout(120_000);

describe('TypeScript snippets in README.md and docs/', () => {
  const snippets: Snippet[] = documentationFiles().flatMap((file) => extractSnippets(file, readDocumentation(file)));

  test('the README has a quick start to check', () => {
    expect(snippets.filter((s) => s.file === 'README.md').length).toBeGreaterThanOrEqual(5);
  });

  test('every block compiles against the library', () => {
    const errors = checkSnippets(snippets).map((d) => `${d.file}:${d.line}: ${d.message}`);
    expect(errors).toEqual([]);
  });
});

describe('the snippet checker', () => {
  test('names the Markdown file and line of a type error', () => {
    const markdown = [
      '# Title', //                      line 1
      '',
      '```ts', //                        line 3
      "const ok: string = 'fine';",
      'const broken: number = ok;', //   line 5
      '```',
    ].join('\n');
    const diagnostics = checkSnippets(extractSnippets('docs/broken.md', markdown));
    expect(diagnostics).toEqual([
      { file: 'docs/broken.md', line: 5, message: "Type 'string' is not assignable to type 'number'." },
    ]);
  });

  test('compiles a continued block after the block it names, and locates errors in either', () => {
    const markdown = [
      '<!-- snippet: name=setup -->', // line 1
      '```typescript', //                 line 2
      'const count = 3;', //              line 3
      '```',
      '',
      '<!-- snippet: continues=setup -->',
      '```ts', //                         line 7
      'const total: number = count * 2;',
      'const label: number = `${total}`;', // line 9
      '```',
    ].join('\n');
    const snippets = extractSnippets('README.md', markdown);
    expect(snippets.map((s) => [s.line, s.name, s.continues])).toEqual([[2, 'setup', undefined], [7, undefined, 'setup']]);
    expect(checkSnippets(snippets)).toEqual([
      { file: 'README.md', line: 9, message: "Type 'string' is not assignable to type 'number'." },
    ]);
  });

  test('a block without the marker does not see an earlier block', () => {
    const markdown = ['```ts', 'const count = 3;', '```', '```ts', 'console.log(count);', '```'].join('\n');
    expect(checkSnippets(extractSnippets('README.md', markdown))).toEqual([
      { file: 'README.md', line: 5, message: "Cannot find name 'count'." },
    ]);
  });

  test('ignores other languages and finds indented blocks', () => {
    const markdown = ['```json', '{ "not": ts }', '```', '- item', '', '  ```ts', '  const x = 1;', '  ```'].join('\n');
    expect(extractSnippets('README.md', markdown)).toEqual([{ file: 'README.md', line: 6, code: 'const x = 1;', name: undefined, continues: undefined }]);
  });

  test.each([
    ['an unknown marker', '<!-- snippet: fragment=x -->\n```ts\n```', /README.md:1: unknown snippet marker 'fragment=x'/],
    ['a marker before a non-ts block', '<!-- snippet: name=x -->\n```sh\nls\n```', /README.md:1: .* not ````sh`/],
    ['an unclosed fence', 'text\n```ts\nconst x = 1;', /README.md:2: code block is never closed/],
  ])('rejects %s', (_, markdown, message) => {
    expect(() => extractSnippets('README.md', markdown)).toThrow(SnippetMarkupError);
    expect(() => extractSnippets('README.md', markdown)).toThrow(message);
  });

  test('rejects a continuation of an unknown name', () => {
    const snippets = extractSnippets('README.md', '<!-- snippet: continues=nowhere -->\n```ts\nconst x = 1;\n```');
    expect(() => checkSnippets(snippets)).toThrow(/README.md:2: continues 'nowhere', but no block is named so/);
  });
});
