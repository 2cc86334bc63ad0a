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

# The dashboard's build (Vite 7) needs Node.js 20.19 or later; Debian 12's own nodejs is 18.
node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "setup: Node.js $node_version is too old for the web dashboard's build (Vite 7 needs" \
       "20.19 or later; Debian 12 ships 18): install Node.js 20 or 22, then run this again" >&2
  exit 1
fi

# npm modules, pinned by package-lock.json. web/'s are the dashboard's (Vite, Preact, ECharts,
# playwright-core for the browser tests); the CMake build below runs its Vite build.
for dir in tools/fhir-validate tools/duckdb web; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done

echo "setup: building in $build_dir"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir"
