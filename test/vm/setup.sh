#!/usr/bin/env bash
# Prepares a Debian kernel for the qemu test bench (test/vm/run.sh).
#
#   test/vm/setup.sh [--quiet] <kernel>
#
# <kernel> is one of
#   6.1, 6.12, X.Y      the current Debian kernel of that series: the one
#                       linux-image-amd64 depends on if it is of that series,
#                       else the newest standard-flavour linux-image-X.Y.* package
#   linux-image-NAME[=VERSION]   a package name (optionally pinned to a version)
#   6.1.0-56-amd64, 6.12.117+deb12-amd64   a kernel release (uname -r)
#   /path/to/linux-image-*.deb   a local package file
#
# Idempotent and safe to run concurrently. Installs the host tools it needs
# with apt-get, downloads the kernel package once into the cache
# (${LKB_VM_CACHE:-/var/cache/load-kp-bpf/vm}), unpacks it, and builds a small
# busybox initramfs whose /init is test/vm/guest-init.sh.
#
# Prints shell assignments on stdout (LKB_VM_VMLINUZ, LKB_VM_INITRD,
# LKB_VM_RELEASE, LKB_VM_PACKAGE, LKB_VM_VERSION, LKB_VM_MODDIR, LKB_VM_KDIR);
# progress and errors go to stderr. Exit status 0 on success, 2 on a usage
# error, 1 on any other failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bump when the layout of the cache or of the initramfs changes.
FORMAT=1
# Modules the initramfs needs, with their dependencies (computed with depmod).
# Names that are built in or missing in a given kernel are skipped.
TARGET_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay virtio_rng"

QUIET=0
usage() { echo "usage: $0 [--quiet] <kernel>   (e.g. 6.1, 6.12, linux-image-6.1.0-56-amd64)" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -q|--quiet) QUIET=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 0 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
REQ=$1

say() { [ "$QUIET" = 1 ] || echo "vm-setup: $*" >&2; }
die() { echo "vm-setup: error: $*" >&2; exit 1; }

default_cache() {
  if [ -n "${LKB_VM_CACHE:-}" ]; then echo "$LKB_VM_CACHE"
  elif [ "$(id -u)" = 0 ] || [ -w /var/cache/load-kp-bpf/vm ]; then echo /var/cache/load-kp-bpf/vm
  else echo "${XDG_CACHE_HOME:-$HOME/.cache}/load-kp-bpf/vm"; fi
}
CACHE=$(default_cache)
mkdir -p "$CACHE/debs" "$CACHE/kernels" "$CACHE/aliases" "$CACHE/locks" || die "cannot create cache $CACHE"
CACHE=$(cd "$CACHE" && pwd -P)

# Run "$@" while holding an exclusive lock on $CACHE/locks/$1.lock.
with_lock() {
  local name=$1; shift
  local fd
  exec {fd}>"$CACHE/locks/$name.lock"
  flock "$fd"
  local rc=0
  "$@" || rc=$?
  exec {fd}>&-
  return $rc
}

# ---------------------------------------------------------------- host tools
APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  say "apt-get update"
  with_lock apt apt-get -q -o DPkg::Lock::Timeout=600 update >&2 || true
  APT_UPDATED=1
}

missing_tools() {
  local m=""
  command -v qemu-system-x86_64 >/dev/null || m="$m qemu-system-x86"
  # busybox-static: a static busybox is what runs in the initramfs.
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' && [ -x /bin/busybox ] || m="$m busybox-static"
  command -v cpio >/dev/null || m="$m cpio"
  command -v xz >/dev/null || m="$m xz-utils"
  command -v zstd >/dev/null || m="$m zstd"
  { command -v depmod || [ -x /sbin/depmod ] || [ -x /usr/sbin/depmod ]; } >/dev/null || m="$m kmod"
  echo "$m"
}

install_tools() {
  local m
  m=$(missing_tools)
  [ -z "$m" ] && return 0
  [ "$(id -u)" = 0 ] || die "missing packages:$m (run as root or install them)"
  say "installing:$m"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! with_lock apt apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $m >&2; then
    apt_update
    # shellcheck disable=SC2086
    with_lock apt apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $m >&2 || die "apt-get install$m failed"
  fi
  m=$(missing_tools)
  [ -z "$m" ] || die "still missing after install:$m"
}

# --------------------------------------------------------- name resolution
# Sets PKG and VER (the candidate version), or returns 1.
is_standard_flavour() {
  case $1 in
    *-cloud-*|*-rt-*|*-dbg|*-dbg-*|*-template) return 1 ;;
  esac
  [[ $1 =~ ^linux-image-[0-9]+\.[0-9]+\.[0-9][^[:space:]]*-amd64(-unsigned)?$ ]]
}

candidate_version() {
  LC_ALL=C apt-cache policy "$1" 2>/dev/null | awk '/^  Candidate:/ { if ($2 != "(none)") print $2 }'
}

resolve_series() { # X.Y
  local series=$1 dep cands best
  local re_series=${series//./\\.}
  dep=$(LC_ALL=C apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
  if [ -n "$dep" ] && [[ $dep =~ ^linux-image-${re_series}[.-] ]]; then
    PKG=$dep
  else
    # Newest standard-flavour package of the series; prefer the signed name.
    cands=$(apt-cache pkgnames "linux-image-$series." 2>/dev/null | while read -r p; do
      if is_standard_flavour "$p" && [[ $p =~ ^linux-image-${re_series}\. ]]; then echo "${p%-unsigned}"; fi
    done | sort -uV)
    best=$(echo "$cands" | tail -n 1)
    [ -n "$best" ] || return 1
    if [ -n "$(candidate_version "$best")" ]; then PKG=$best
    elif [ -n "$(candidate_version "$best-unsigned")" ]; then PKG=$best-unsigned
    else return 1; fi
  fi
  VER=$(candidate_version "$PKG")
  [ -n "$VER" ]
}

resolve_pkg() { # linux-image-NAME[=VERSION]
  PKG=${1%%=*}
  if [[ $1 == *=* ]]; then VER=${1#*=}; return 0; fi
  VER=$(candidate_version "$PKG")
  if [ -z "$VER" ] && [[ $PKG != *-unsigned ]]; then
    VER=$(candidate_version "$PKG-unsigned")
    [ -n "$VER" ] && PKG=$PKG-unsigned
  fi
  [ -n "$VER" ]
}

resolve() {
  local r=$1
  case $r in
    *.deb)
      [ -f "$r" ] || die "no such file: $r"
      DEBFILE=$(cd "$(dirname "$r")" && pwd -P)/$(basename "$r")
      PKG=$(dpkg-deb -f "$DEBFILE" Package) && VER=$(dpkg-deb -f "$DEBFILE" Version) || die "not a package: $r"
      return 0 ;;
    linux-image-*) resolve_pkg "$r" ;;
    [0-9]*.[0-9]*-*) resolve_pkg "linux-image-$r" ;;   # a release, e.g. 6.1.0-56-amd64
    [0-9]*.[0-9]*) [[ $r =~ ^[0-9]+\.[0-9]+$ ]] || return 1; resolve_series "$r" ;;
    *) die "unrecognised kernel name: $r" ;;
  esac
}

alias_name() { printf '%s' "$1" | tr -c 'A-Za-z0-9._+=~-' '_'; }

# What a name resolved to last time still holds while apt's package lists are
# unchanged: saves the apt-cache calls (about a second) on every run.
alias_is_fresh() {
  local al=$1
  [ -f "$al" ] && [ -d /var/lib/apt/lists ] || return 1
  [ -z "$(find /var/lib/apt/lists /etc/apt -maxdepth 2 -newer "$al" -print -quit 2>/dev/null)" ]
}

DEBFILE=""
PKG="" VER=""
ALIAS_FILE="$CACHE/aliases/$(alias_name "$REQ")"
if [[ $REQ != *.deb ]] && alias_is_fresh "$ALIAS_FILE"; then
  PKG=$(sed -n 1p "$ALIAS_FILE"); VER=$(sed -n 2p "$ALIAS_FILE")
elif ! resolve "$REQ"; then
  apt_update
  if ! resolve "$REQ"; then
    # Offline or no package lists: fall back to what this name meant last time.
    if [ -f "$ALIAS_FILE" ]; then
      say "cannot resolve '$REQ' with apt; using the cached $(tr '\n' ' ' <"$ALIAS_FILE")"
      PKG=$(sed -n 1p "$ALIAS_FILE"); VER=$(sed -n 2p "$ALIAS_FILE")
    else
      die "cannot find a kernel package for '$REQ' (try: apt-cache search --names-only '^linux-image-')"
    fi
  fi
fi

KEY=$(printf '%s_%s' "$PKG" "$VER" | tr -c 'A-Za-z0-9._+~-' '_')
KDIR=$CACHE/kernels/$KEY
STAMP=$( { echo "format=$FORMAT modules=$TARGET_MODULES"; cat "$HERE/guest-init.sh"; } | sha256sum | cut -c1-16)

emit() {
  local vmlinuz release
  release=$(cat "$KDIR/release")
  q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
  echo "LKB_VM_KDIR=$(q "$KDIR")"
  echo "LKB_VM_VMLINUZ=$(q "$KDIR/vmlinuz")"
  echo "LKB_VM_INITRD=$(q "$KDIR/initramfs-$STAMP.gz")"
  echo "LKB_VM_RELEASE=$(q "$release")"
  echo "LKB_VM_MODDIR=$(q "$(cat "$KDIR/moddir")")"
  echo "LKB_VM_PACKAGE=$(q "$PKG")"
  echo "LKB_VM_VERSION=$(q "$VER")"
}

ready() { [ -f "$KDIR/release" ] && [ -f "$KDIR/vmlinuz" ] && [ -f "$KDIR/initramfs-$STAMP.gz" ] && [ -z "$(missing_tools)" ]; }

record_alias() {
  case $REQ in *.deb) return 0 ;; esac
  alias_is_fresh "$ALIAS_FILE" && [ "$(cat "$ALIAS_FILE")" = "$(printf '%s\n%s' "$PKG" "$VER")" ] && return 0
  printf '%s\n%s\n' "$PKG" "$VER" >"$ALIAS_FILE.$$" && mv -f "$ALIAS_FILE.$$" "$ALIAS_FILE"
}

if ready; then record_alias; emit; exit 0; fi

install_tools
DEPMOD=$(command -v depmod || echo /sbin/depmod)

# ---------------------------------------------------- download and unpack
download() {
  local tmp deb
  tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  say "downloading $PKG $VER"
  if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$PKG=$VER" >&2); then
    apt_update
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$PKG=$VER" >&2) || die "apt-get download $PKG=$VER failed"
  fi
  deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
  [ -n "$deb" ] || die "apt-get download produced no file"
  mv -f "$deb" "$CACHE/debs/$KEY.deb"
}

decompress_module() { # file.ko[.xz|.zst|.gz] -> dest.ko
  case $1 in
    *.ko) cp "$1" "$2" ;;
    *.ko.xz) xz -dc "$1" >"$2" ;;
    *.ko.zst) zstd -qdc "$1" >"$2" ;;
    *.ko.gz) gzip -dc "$1" >"$2" ;;
    *) return 1 ;;
  esac
}

populate() {
  # Re-check under the lock: another run may have finished meanwhile.
  if ready; then return 0; fi

  if ! [ -f "$KDIR/release" ]; then
    local deb tmpk tree vmlinuz moddir release
    if [ -n "$DEBFILE" ]; then deb=$DEBFILE
    else
      [ -f "$CACHE/debs/$KEY.deb" ] || download
      deb=$CACHE/debs/$KEY.deb
    fi
    say "unpacking $(basename "$deb")"
    rm -rf "$KDIR" "$KDIR.tmp"
    tmpk=$KDIR.tmp
    tree=$tmpk/tree
    mkdir -p "$tree"
    dpkg-deb -x "$deb" "$tree" || die "cannot unpack $deb"
    vmlinuz=$(find "$tree/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1)
    [ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $deb"
    release=${vmlinuz##*/vmlinuz-}
    if [ -d "$tree/lib/modules/$release" ]; then moddir=lib/modules/$release
    elif [ -d "$tree/usr/lib/modules/$release" ]; then
      moddir=usr/lib/modules/$release
      # depmod -b looks in BASE/lib/modules.
      [ -e "$tree/lib" ] || ln -s usr/lib "$tree/lib"
    else die "no modules for $release in $deb"; fi
    "$DEPMOD" -b "$tree" "$release" || die "depmod failed"
    ln -s "tree/boot/vmlinuz-$release" "$tmpk/vmlinuz"
    echo "$KDIR/tree/$moddir" >"$tmpk/moddir"
    echo "$release" >"$tmpk/release"
    mv "$tmpk" "$KDIR"
    [ -n "$DEBFILE" ] || rm -f "$CACHE/debs/$KEY.deb"
  fi
  build_initramfs
}

# Prints the modules to load, dependencies first, as paths relative to the
# module directory.
module_load_order() {
  local moddir=$1
  awk -v targets="$TARGET_MODULES" '
    function norm(p,   n) { n = p; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n); return n }
    function visit(n,   i, k, d) {
      if (n in seen) return; seen[n] = 1
      k = split(deps[n], d, " ")
      for (i = k; i >= 1; i--) visit(norm(d[i]))   # modprobe loads the list back to front
      print path[n]
    }
    { p = $1; sub(/:$/, "", p); n = norm(p); path[n] = p; deps[n] = ""
      for (i = 2; i <= NF; i++) deps[n] = deps[n] " " $i }
    END { t = split(targets, tt, " "); for (i = 1; i <= t; i++) if (norm(tt[i]) in path) visit(norm(tt[i])) }
  ' "$moddir/modules.dep"
}

build_initramfs() {
  local release moddir stage m name out
  release=$(cat "$KDIR/release")
  moddir=$(cat "$KDIR/moddir")
  say "building initramfs for $release"
  stage=$(mktemp -d "$KDIR/.initramfs.XXXXXX")
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,modules,results,lower,rw,newroot}
  cp /bin/busybox "$stage/bin/busybox"
  install -m 0755 "$HERE/guest-init.sh" "$stage/init"
  : >"$stage/modules/order"
  for m in $(module_load_order "$moddir"); do
    name=${m##*/}; name=${name%%.ko*}
    decompress_module "$moddir/$m" "$stage/modules/$name.ko" || die "cannot unpack module $m"
    echo "$name" >>"$stage/modules/order"
  done
  say "initramfs modules: $(tr '\n' ' ' <"$stage/modules/order")"
  echo "$release" >"$stage/release"
  # The kernel opens /dev/console before running /init.
  mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
  out=$KDIR/initramfs-$STAMP.gz
  (cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet | gzip -1 >"$out.tmp")
  mv -f "$out.tmp" "$out"
  rm -rf "$stage"
  # Initramfs images built from other versions of guest-init.sh.
  find "$KDIR" -maxdepth 1 -name 'initramfs-*.gz' ! -name "initramfs-$STAMP.gz" -delete
}

with_lock "$KEY" populate
ready || die "setup of $PKG $VER did not complete"
record_alias
emit
