// Validates every document of the Kubernetes manifests given on the command
// line against the Kubernetes OpenAPI schemas bundled in the npm package
// `kubernetes-models` (installed by scripts/install-deps.sh; nothing is
// downloaded here). Also writes each ConfigMap key ending in ".yml" to
// OUT_DIR (first argument) so that the caller can run promtool on it.
// Usage: node validate_k8s.js OUT_DIR FILE.yaml...
// Exit 0 when every document is valid; 1 with one line per problem.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error("usage: node validate_k8s.js OUT_DIR FILE.yaml...");
  process.exit(2);
}
let problems = 0;
let checked = 0;
for (const file of files) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  docs.forEach((doc, i) => {
    const where = `${path.basename(file)} document ${i + 1}`;
    if (doc.errors.length > 0) {
      console.log(`${where}: YAML: ${doc.errors[0].message}`);
      problems++;
      return;
    }
    const obj = doc.toJS();
    if (obj === null) return;  // empty document
    const { apiVersion, kind } = obj;
    if (!apiVersion || !kind) {
      console.log(`${where}: apiVersion and kind are required`);
      problems++;
      return;
    }
    // core/v1 models live under "v1", the others under "GROUP/VERSION".
    let Model;
    try {
      Model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
    } catch (e) {
      console.log(`${where}: no schema for ${apiVersion} ${kind}`);
      problems++;
      return;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      console.log(`${where} (${kind} ${obj.metadata && obj.metadata.name}): ` +
                  String(e.message).split("\n").join("; "));
      problems++;
      return;
    }
    if (kind === "ConfigMap" && obj.data) {
      for (const [key, value] of Object.entries(obj.data)) {
        if (key.endsWith(".yml") || key.endsWith(".yaml")) {
          fs.writeFileSync(path.join(outDir, `${obj.metadata.name}-${key}`),
                           value);
        }
      }
    }
  });
}
console.log(`${checked} object(s) valid, ${problems} problem(s)`);
process.exit(problems === 0 && checked > 0 ? 0 : 1);
