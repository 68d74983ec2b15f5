// Renders TeX to MathML with Temml for tools/mathml_prerender.py.
// One JSON request per line on stdin: {"tex": "...", "options": {...}};
// one JSON answer per line on stdout: {"mathml": "..."} or {"error": "..."}.
"use strict";
const temml = require("temml");
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let answer;
  try {
    const request = JSON.parse(line);
    answer = { mathml: temml.renderToString(request.tex, request.options) };
  } catch (error) {
    answer = { error: String(error && error.message ? error.message : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
