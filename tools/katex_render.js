// Renders TeX to HTML and MathML with KaTeX for tools/katex_prerender.py.
// One JSON request per line on stdin: {"tex": "...", "options": {...}};
// one JSON answer per line on stdout: {"html": "..."} or {"error": "..."}.
"use strict";
const katex = require("katex");
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let answer;
  try {
    const request = JSON.parse(line);
    answer = { html: katex.renderToString(request.tex, request.options) };
  } catch (error) {
    answer = { error: String(error && error.message ? error.message : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
