// Validates GLBs with the Khronos glTF validator; for each, one JSON line:
// {"errors": N, "warnings": N, "first": "CODE: message (pointer)" | null}, or {"error": "..."}.
//   bun validate.mjs FILE.glb   one file, then exit
//   bun validate.mjs --serve    one absolute path per stdin line, answers in order, until stdin ends
//                               (Aerie keeps one such process: starting bun and loading the
//                               validator costs ~0.1 s, checking a model a few ms)
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { validateBytes } from "gltf-validator";

async function check(path) {
  const report = await validateBytes(new Uint8Array(readFileSync(path)), {
    maxIssues: 50,
    // A GLB is self-contained: an external reference is itself an error worth reporting.
    externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
  });
  const first = report.issues.messages.filter((m) => m.severity === 0)[0];
  return {
    errors: report.issues.numErrors,
    warnings: report.issues.numWarnings,
    first: first ? `${first.code}: ${first.message}${first.pointer ? ` (${first.pointer})` : ""}` : null,
  };
}

const arg = process.argv[2];
if (arg === "--serve") {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const path = line.trim();
    if (!path) continue;
    let answer;
    try {
      answer = await check(path);
    } catch (err) {
      answer = { error: String((err && err.message) || err) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
} else if (arg) {
  console.log(JSON.stringify(await check(arg)));
} else {
  console.error("usage: validate.mjs FILE.glb | --serve");
  process.exit(2);
}
