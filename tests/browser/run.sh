#!/bin/sh
# Runs the browser tests: installs the pinned playwright-core from package-lock.json into
# tests/browser/node_modules when it is missing or another version, then runs `node --test`.
# ctest calls this as browser.checkout and browser.privacy (with the test file as argument) with
# COMPTOIR_BINARY set (see tests/CMakeLists.txt).
set -eu
cd "$(dirname "$0")"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "browser test: '$tool' not found; run COMPTOIR_WITH_BROWSER=1 scripts/install-deps.sh" >&2
    exit 1
  fi
done

installed_ok() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages["node_modules/playwright-core"].version;
    const have = JSON.parse(fs.readFileSync("node_modules/playwright-core/package.json", "utf8")).version;
    process.exit(want === have ? 0 : 1);
  ' 2>/dev/null
}

if ! installed_ok; then
  # Several build dirs may run this at once: install under a lock.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/comptoir-browser-npm.lock"
    flock 9
  fi
  if ! installed_ok; then
    npm ci --no-audit --no-fund
  fi
fi

# The test files to run: the arguments, or the checkout test.
if [ "$#" -eq 0 ]; then set -- checkout.test.mjs; fi
exec node --test "$@"
