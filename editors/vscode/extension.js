// The rulec extension: starts `rulec lsp` for .rulec files and the CSV catalogs beside them.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("rulec").get("server.path") || "rulec";
  const serverOptions = { command, args: ["lsp"] };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "rulec" },
      // CSV catalogs: a bad cell is shown in the CSV file.
      { scheme: "file", pattern: "**/*.csv" },
    ],
  };
  client = new LanguageClient("rulec", "rulec language server", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
