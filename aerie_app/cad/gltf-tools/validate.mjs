// Validates one GLB with the Khronos glTF validator; prints one JSON line:
// {"errors": N, "warnings": N, "first": "CODE: message (pointer)" | null}
import { readFileSync } from "node:fs";
import { validateBytes } from "gltf-validator";

const path = process.argv[2];
if (!path) {
  console.error("usage: validate.mjs FILE.glb");
  process.exit(2);
}
const report = await validateBytes(new Uint8Array(readFileSync(path)), {
  maxIssues: 50,
  // A GLB is self-contained: an external reference is itself an error worth reporting.
  externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
});
const errors = report.issues.messages.filter((m) => m.severity === 0);
const first = errors[0];
console.log(
  JSON.stringify({
    errors: report.issues.numErrors,
    warnings: report.issues.numWarnings,
    first: first ? `${first.code}: ${first.message}${first.pointer ? ` (${first.pointer})` : ""}` : null,
  }),
);
