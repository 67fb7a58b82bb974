#!/usr/bin/env bash
# The test command: lint and format, types, generated files, the API
# contract, the direction of dependencies, then the unit and integration
# suites (the integration suite's global setup installs and starts slapd,
# Samba and Redis, and stops them).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step 'lint and format (biome)'
biome check .

step 'typed operations (graphql-codegen)'
graphql-codegen --config codegen.yml --silent

step 'types (tsc)'
tsc --noEmit -p .

step 'generated schema is current'
tsx scripts/emit-schema.ts --check

step 'API contract'
if [ -f ../shared/tools/contract-check.mjs ]; then
  node ../shared/tools/contract-check.mjs
else
  echo 'skipped: ../shared/tools/contract-check.mjs is not beside this clone (a user clone has no ../shared)'
fi

step 'dependencies (dependency-cruiser)'
# The layers import downwards only, model/ imports nothing, only store/ talks Keyv and Redis, no
# cycles (.dependency-cruiser.cjs); the environment is read in src/config/ only and never written.
depcruise src --config .dependency-cruiser.cjs --output-type err
tsx scripts/check-environment.ts

step 'tests (vitest)'
report=$(mktemp)
status=0
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line, whatever the runner printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
rm -f "$report"
exit "$status"
