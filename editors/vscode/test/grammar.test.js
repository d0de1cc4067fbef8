// The TextMate grammar: sample files tokenized and compared with snapshots
// (UPDATE_SNAPSHOTS=1 rewrites them), the scopes of each kind of token, and the keyword list
// against grammar/rulec.pest.
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const fs = require("fs");
const path = require("path");
const { tokenize, snapshot, root } = require("./tokenize");

const samples = path.join(__dirname, "samples");
const snapshots = path.join(__dirname, "snapshots");

for (const name of fs.readdirSync(samples).filter((f) => f.endsWith(".rulec")).sort()) {
  test(`tokens of ${name} match the snapshot`, async () => {
    const text = fs.readFileSync(path.join(samples, name), "utf8");
    const got = snapshot(await tokenize(text));
    const file = path.join(snapshots, name + ".snap");
    if (process.env.UPDATE_SNAPSHOTS) fs.writeFileSync(file, got);
    assert.strictEqual(got, fs.readFileSync(file, "utf8"));
  });
}

async function scopeOf(line, tokenText) {
  const [tokens] = await tokenize(line);
  const t = tokens.find((x) => x.text === tokenText);
  assert.ok(t, `no token ${JSON.stringify(tokenText)} in ${JSON.stringify(tokens)}`);
  return t.scopes.join(" ");
}

test("each kind of token has its scope", async () => {
  const line =
    'param 起付线: money = 1_200 cite 文件 "第三条" // note';
  assert.match(await scopeOf(line, "param"), /storage\.type/);
  assert.match(await scopeOf(line, "起付线"), /entity\.name/);
  assert.match(await scopeOf(line, "1_200"), /constant\.numeric\.rulec/);
  assert.match(await scopeOf(line, "cite"), /keyword\.control/);
  assert.match(await scopeOf(line, "文件"), /variable\.other/);
  assert.match(await scopeOf(line, '"'), /string\.quoted/);
  assert.match(await scopeOf(line, "// note"), /comment\.line/);
  const expr = "def x: rate = if 总额 > 0 then 80% else 12.5% from 2024-01-01";
  assert.match(await scopeOf(expr, "80%"), /constant\.numeric\.percent/);
  assert.match(await scopeOf(expr, "12.5%"), /constant\.numeric\.percent/);
  assert.match(await scopeOf(expr, "2024-01-01"), /constant\.numeric\.date/);
  assert.match(await scopeOf(expr, "总额"), /variable\.other/);
  assert.match(await scopeOf(expr, "if"), /keyword\.control/);
  // A keyword inside a longer name is no keyword.
  assert.match(await scopeOf("def paramx: int = ifx + in中", "ifx"), /variable\.other/);
  assert.match(await scopeOf("def paramx: int = ifx + in中", "in中"), /variable\.other/);
  assert.match(await scopeOf("x = round(a, 0.01, half_up)", "round"), /entity\.name\.function/);
  assert.match(await scopeOf("adjust(a by cpi base 2023 to 2024 round 1 half_up)", "round"), /keyword\.other/);
  assert.match(await scopeOf("/* a */ x", " a "), /comment\.block/);
});

// The pest grammar without its comments, and the words (`"word"`) a part of it spells out.
const pestCode = fs
  .readFileSync(path.join(root, "..", "..", "grammar", "rulec.pest"), "utf8")
  .split("\n")
  .filter((l) => !l.trim().startsWith("//"))
  .join("\n");
const quotedWords = (text) =>
  new Set([...text.matchAll(/"([a-z_]+)"/g)].map((x) => x[1]).filter((w) => w !== "_"));
const tmGrammar = JSON.parse(
  fs.readFileSync(path.join(root, "syntaxes", "rulec.tmLanguage.json"), "utf8")
);
// The words of the `(?:a|b|c)` alternations of a repository entry's patterns.
const tmWords = (entry) =>
  (entry.patterns || [entry])
    .map((p) => p.match && p.match.match(/\(\?:([^)]*)\)/))
    .filter(Boolean)
    .flatMap((m) => m[1].split("|"));

function pestReserved() {
  const m = pestCode.match(/^keyword\s*=\s*@\{([\s\S]*?)\}/m);
  assert.ok(m, "the pest grammar has a `keyword` rule");
  return quotedWords(m[1]);
}

test("the grammar's reserved words are exactly those of grammar/rulec.pest", () => {
  const tm = tmWords(tmGrammar.repository.keywords).sort();
  assert.deepStrictEqual(tm, [...pestReserved()].sort());
});

test("the grammar's contextual words are every other word of grammar/rulec.pest", () => {
  // Every word the pest grammar spells out besides the reserved ones (`per`, `by`, `year`,
  // `list`, …) is highlighted, as a contextual word or (`list`) a type; and the grammar has
  // no contextual word the pest grammar lacks.
  const reserved = pestReserved();
  const contextual = [...quotedWords(pestCode)].filter((w) => !reserved.has(w)).sort();
  const tmContextual = tmWords(tmGrammar.repository.contextual);
  const tmTypes = new Set(tmWords(tmGrammar.repository.types));
  const highlighted = [...new Set([...tmContextual, ...contextual.filter((w) => tmTypes.has(w))])].sort();
  assert.deepStrictEqual(highlighted, contextual);
});

test("`per` and the period after it are highlighted", async () => {
  const line = "accumulator x: money per year += y";
  assert.match(await scopeOf(line, "per"), /keyword\.other/);
  assert.match(await scopeOf(line, "year"), /keyword\.other/);
  const life = "accumulator x: money per lifetime += y";
  const [tokens] = await tokenize(life);
  const t = tokens.find((x) => x.text.includes("lifetime"));
  assert.ok(t && /keyword\.other/.test(t.scopes.join(" ")), JSON.stringify(tokens));
});
