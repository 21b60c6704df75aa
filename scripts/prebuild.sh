#!/usr/bin/env bash
# Builds the addons the package ships, prebuilds/linux-{x64,arm64}/node.napi.glibc.node: Node-API
# (one binary for every Node >= 20), stripped, checked with readelf for their architecture and
# for needing no glibc newer than Debian 11's (2.31). npm pack and npm publish run it (prepack).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# npm's own node-gyp and npm's settings for it (nodedir: where Node's headers are), as npm run gives them.
command -v node-gyp >/dev/null || PATH="$(dirname "$(readlink -f "$(command -v npm)")")/node-gyp-bin:$PATH"
[ -n "${npm_config_nodedir:-}" ] || { nodedir=$(npm config get nodedir) && [ "$nodedir" = undefined ] || export npm_config_nodedir=$nodedir; }

scripts/install-build-deps.sh --check || { echo "prebuild: run scripts/install-build-deps.sh (as root) first" >&2; exit 1; }

# Debian 11's glibc and libstdc++ (gcc 10): the oldest the prebuilds promise to load on.
max_glibc=2.31
max_glibcxx=3.4.28

work=$(mktemp -d "${TMPDIR:-/tmp}/lkb-prebuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
# node-gyp builds in ./build: a copy of the sources keeps the developer's build/ untouched.
cp -r binding.gyp native "$work/"
ln -s "$root/node_modules" "$work/node_modules"

# newest <prefix> <versions...>: the highest version number after the prefix, or 0.
newest() {
  local prefix=$1
  shift
  printf '%s\n' "$@" | sed -n "s/^${prefix}_//p" | sort -V | tail -1 | grep . || echo 0
}

# build <node arch> <toolchain prefix> <readelf machine>
build() {
  local arch=$1 cross=$2 machine=$3 out="prebuilds/linux-$1/node.napi.glibc.node"
  (
    cd "$work"
    rm -rf build
    CC=${cross}gcc CXX=${cross}g++ LINK=${cross}g++ node-gyp rebuild --arch="$arch" --loglevel=error >/dev/null
  )
  mkdir -p "${out%/*}"
  "${cross}strip" --strip-unneeded -o "$out" "$work/build/Release/load_kp_bpf.node"

  local header versions glibc glibcxx
  header=$(readelf -h "$out")
  grep -q "Machine: *$machine" <<<"$header" || { echo "prebuild: $out is not for $machine" >&2; exit 1; }
  mapfile -t versions < <(readelf -V "$out" | grep -o 'GLIBC[A-Z]*_[0-9.]*' | sort -u)
  glibc=$(newest GLIBC "${versions[@]}")
  glibcxx=$(newest GLIBCXX "${versions[@]}")
  if [ "$(printf '%s\n' "$glibc" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]; then
    echo "prebuild: $out needs GLIBC_$glibc, newer than $max_glibc" >&2
    exit 1
  fi
  if [ "$glibcxx" != 0 ] && [ "$(printf '%s\n' "$glibcxx" "$max_glibcxx" | sort -V | tail -1)" != "$max_glibcxx" ]; then
    echo "prebuild: $out needs GLIBCXX_$glibcxx, newer than $max_glibcxx" >&2
    exit 1
  fi
  echo "prebuild: $out: $(stat -c %s "$out") bytes, $machine, needs GLIBC_$glibc and GLIBCXX_$glibcxx"
}

rm -rf prebuilds
build x64 '' 'Advanced Micro Devices X86-64'
build arm64 aarch64-linux-gnu- AArch64
