// Tokenizes text with the extension's TextMate grammar through vscode-textmate and the
// Oniguruma WebAssembly build, as VS Code does.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const root = path.join(__dirname, "..");

let registryPromise;

function registry() {
  if (!registryPromise) {
    const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
    const onigLib = oniguruma.loadWASM(wasm).then(() => ({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }));
    registryPromise = Promise.resolve(
      new vsctm.Registry({
        onigLib,
        loadGrammar: async (scopeName) => {
          if (scopeName !== "source.rulec") return null;
          const file = path.join(root, "syntaxes", "rulec.tmLanguage.json");
          return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
        },
      })
    );
  }
  return registryPromise.then((r) => r.loadGrammar("source.rulec"));
}

/** Lines of tokens: [{ text, scopes }] per line. */
async function tokenize(text) {
  const grammar = await registry();
  let state = vsctm.INITIAL;
  const out = [];
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    out.push(
      r.tokens.map((t) => ({
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes.filter((s) => s !== "source.rulec"),
      }))
    );
    state = r.ruleStack;
  }
  return out;
}

/** A readable snapshot: one line per token that has a scope. */
function snapshot(lines) {
  const out = [];
  lines.forEach((tokens, i) => {
    for (const t of tokens) {
      if (t.scopes.length === 0 || t.text.trim() === "") continue;
      out.push(`${i + 1}: ${JSON.stringify(t.text)} ${t.scopes.join(" ")}`);
    }
  });
  return out.join("\n") + "\n";
}

module.exports = { tokenize, snapshot, root };
