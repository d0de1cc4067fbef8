// Renders a rule file as HTML highlighted by the extension's TextMate grammar (through
// vscode-textmate, as VS Code does), with the colours of VS Code's Light+ theme.
// Usage: node tools/render.js FILE.rulec OUT.html [FIRST_LINE LAST_LINE]
"use strict";

const fs = require("fs");
const path = require("path");
const { tokenize } = require("../test/tokenize");

const theme = [
  ["comment", "#008000"],
  ["string", "#a31515"],
  ["constant.character.escape", "#ee0000"],
  ["constant.numeric.date", "#795e26"],
  ["constant.numeric.percent", "#098658"],
  ["constant.numeric", "#098658"],
  ["constant.language", "#0000ff"],
  ["storage.type", "#0000ff"],
  ["keyword.control", "#af00db"],
  ["keyword.operator.word", "#0000ff"],
  ["keyword.other", "#af00db"],
  ["keyword.operator", "#000000"],
  ["support.type", "#267f99"],
  ["entity.name.function", "#795e26"],
  ["entity.name", "#001080"],
  ["variable", "#001080"],
];

function colour(scopes) {
  for (const s of [...scopes].reverse()) {
    for (const [prefix, c] of theme) {
      if (s === prefix || s.startsWith(prefix + ".")) return c;
    }
  }
  return "#000000";
}

const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

async function main() {
  const [file, out, first, last] = process.argv.slice(2);
  if (!file || !out) {
    console.error("usage: node tools/render.js FILE.rulec OUT.html");
    process.exit(2);
  }
  const text = fs.readFileSync(file, "utf8").replace(/\n$/, "");
  const lines = await tokenize(text);
  const body = lines
    .map((tokens, i) => [tokens, i])
    .filter(([, i]) => !first || (i + 1 >= Number(first) && i + 1 <= Number(last)))
    .map(([tokens, i]) => {
      const code = tokens
        .map((t) => `<span style="color:${colour(t.scopes)}">${esc(t.text)}</span>`)
        .join("");
      return `<div class="l"><span class="n">${i + 1}</span>${code}</div>`;
    })
    .join("");
  fs.writeFileSync(
    out,
    `<!doctype html><meta charset="utf-8"><title>${esc(path.basename(file))}</title>
<style>
body { margin: 0; background: #ffffff; }
.tab { font: 13px sans-serif; background: #f3f3f3; padding: 6px 12px; border-bottom: 1px solid #e5e5e5; }
pre { margin: 0; padding: 8px 0; font: 14px/20px "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; }
.l { white-space: pre; }
.n { display: inline-block; width: 3.5em; padding-right: 1.5em; text-align: right; color: #237893; }
</style>
<div class="tab">${esc(file)}</div>
<pre>${body}</pre>
`
  );
}

main();
