// Fails when the compiled library carries source maps: their sources (src/*.ts) are not in the
// npm package, so a stack trace through them would name files a user cannot open.
// Run after compile (projen post-compile); checks lib/ and what `npm pack` would include.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const problems = [];

function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      walk(full);
    } else if (entry.name.endsWith('.map')) {
      problems.push(`${path.relative(root, full)}: a source map file`);
    } else if (entry.name.endsWith('.js') && /\/\/# sourceMappingURL=/.test(fs.readFileSync(full, 'utf8'))) {
      problems.push(`${path.relative(root, full)}: has a sourceMappingURL comment`);
    }
  }
}

const lib = path.join(root, 'lib');
if (!fs.existsSync(lib)) {
  console.error('check-no-source-maps: lib/ does not exist; run the compile first');
  process.exit(1);
}
walk(lib);

const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }));
for (const file of packed[0].files) {
  if (file.path.endsWith('.map') || /^src\//.test(file.path)) {
    problems.push(`npm package: ${file.path}`);
  }
}

if (problems.length > 0) {
  console.error(`Source maps would point stack traces at files the package does not ship:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-no-source-maps: ${packed[0].files.length} packaged files, no source maps`);
