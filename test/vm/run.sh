#!/usr/bin/env bash
# Runs one command as root inside a qemu VM booted on a Debian kernel.
#
#   test/vm/run.sh [--kernel K] [--timeout S] [--env NAME[=VALUE]]... [--] COMMAND...
#
# The guest sees the host's root filesystem (read-only underneath, writes go
# to a throw-away tmpfs overlay), the project checkout read-write at the same
# path as on the host, fresh tmpfs on /tmp and /run, and proc, sysfs,
# devtmpfs, tracefs, debugfs, bpffs and cgroup2 mounted. The command runs
# with `sh -c` in the same directory as here (if inside the checkout, else in
# the checkout's root): a single argument is a shell script, several
# arguments are one command line, each argument passed as is.
#
# Its stdout and stderr arrive on this script's stdout and stderr, live; the
# kernel's console goes to a log, shown on failure or with LKB_VM_VERBOSE=1.
#
# Options
#   --kernel K     6.1, 6.12, a package name or a release (see setup.sh);
#                  default: $LKB_VM_KERNEL, else the first of $LKB_VM_KERNELS
#                  ("6.1 6.12")
#   --timeout S    seconds before the VM is killed (default $LKB_VM_TIMEOUT or 1200)
#   --env N[=V]    pass a variable into the command's environment
#                  (every LKB_* variable is passed anyway)
#   --keep         keep the run directory (console log) and print its path
#
# Environment
#   LKB_VM_CACHE        kernel cache (default /var/cache/load-kp-bpf/vm)
#   LKB_VM_KERNEL(S), LKB_VM_TIMEOUT   defaults of --kernel and --timeout
#   LKB_VM_MEM, LKB_VM_SMP, LKB_VM_CPU   guest MiB (2048), vCPUs (2), qemu -cpu (max)
#   LKB_VM_TCG_THREAD   single (default) or multi: see "TCG threads" in README.md
#   LKB_VM_VERBOSE=1    show the guest console on stderr, prefixed [console]
#   LKB_VM_QUIET=1      no "vm: booting ..." line
#   LKB_VM_KEEP=1       same as --keep
#   LKB_VM_REPO_CACHE   9p cache mode of the checkout (loose; mmap = no caching,
#                       sees host-side changes made while the VM runs, ~3x slower)
#   LKB_VM_ROOT_CACHE   9p cache mode of the host root (loose)
#
# Exit status: the command's, or 124 when the timeout expired, 125 when the
# VM failed (setup, boot, kernel panic: no status came back), 2 on bad usage.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}
die() { echo "vm: error: $*" >&2; exit 125; }

KERNEL=${LKB_VM_KERNEL:-}
[ -n "$KERNEL" ] || read -r KERNEL _ <<<"${LKB_VM_KERNELS:-6.1 6.12}"
TIMEOUT=${LKB_VM_TIMEOUT:-1200}
KEEP=${LKB_VM_KEEP:-0}
declare -a PASSENV=()
while [ $# -gt 0 ]; do
  case $1 in
    -k|--kernel) [ $# -ge 2 ] || usage; KERNEL=$2; shift 2 ;;
    --kernel=*) KERNEL=${1#*=}; shift ;;
    -t|--timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    -e|--env) [ $# -ge 2 ] || usage; PASSENV+=("$2"); shift 2 ;;
    --env=*) PASSENV+=("${1#*=}"); shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    -*) echo "vm: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "vm: no command given" >&2; usage; }
[[ $TIMEOUT =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -gt 0 ] || { echo "vm: bad timeout: $TIMEOUT" >&2; exit 2; }

# POSIX-sh single quoting.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

if [ $# -eq 1 ]; then
  CMD=$1
else
  CMD=""
  for a in "$@"; do CMD="$CMD${CMD:+ }$(q "$a")"; done
fi

# ------------------------------------------------------------------ kernel
SETUP_OUT=$("$HERE/setup.sh" "$KERNEL") || die "setup.sh $KERNEL failed"
LKB_VM_VMLINUZ="" LKB_VM_INITRD="" LKB_VM_RELEASE="" LKB_VM_MODDIR="" LKB_VM_PACKAGE="" LKB_VM_VERSION=""
eval "$SETUP_OUT"
[ -f "$LKB_VM_VMLINUZ" ] && [ -f "$LKB_VM_INITRD" ] || die "setup.sh gave no kernel"

# -------------------------------------------------------------- run directory
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/lkb-vm.XXXXXX") || die "mktemp failed"
SHARE=$RUNDIR/share
mkdir -p "$SHARE"
QPID="" OUTCAT="" ERRCAT="" WOUT="" WERR="" TAILPID=""
# shellcheck disable=SC2317  # invoked by the traps
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null
  [ -n "$WOUT" ] && exec {WOUT}>&-
  [ -n "$WERR" ] && exec {WERR}>&-
  [ -n "$OUTCAT" ] && kill "$OUTCAT" 2>/dev/null
  [ -n "$ERRCAT" ] && kill "$ERRCAT" 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "vm: run directory kept: $RUNDIR" >&2
  else rm -rf "$RUNDIR"; fi
}
trap cleanup EXIT
trap 'echo "vm: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM HUP

# Working directory: the same as here when inside the checkout.
WORKDIR=$REPO
case $(pwd -P) in "$REPO"|"$REPO"/*) WORKDIR=$(pwd -P) ;; esac

# Environment of the command.
GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
NODE_BIN=$(command -v node 2>/dev/null || true)
if [ -n "$NODE_BIN" ]; then
  case ${NODE_BIN%/node} in
    /usr/local/sbin|/usr/local/bin|/usr/sbin|/usr/bin|/sbin|/bin) ;;
    *) GUEST_PATH=${NODE_BIN%/node}:$GUEST_PATH ;;
  esac
fi
ENV_ARGS="PATH=$(q "$GUEST_PATH") HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=dumb LANG=C.UTF-8"
ENV_ARGS="$ENV_ARGS LKB_IN_VM=1 LKB_VM_KERNEL_RELEASE=$(q "$LKB_VM_RELEASE")"
while IFS= read -r name; do
  case $name in LKB_IN_VM|LKB_VM_KERNEL_RELEASE) continue ;; esac
  ENV_ARGS="$ENV_ARGS $name=$(q "${!name}")"
done < <(compgen -e | grep '^LKB_' || true)
for e in "${PASSENV[@]}"; do
  name=${e%%=*}
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "vm: bad --env $e" >&2; exit 2; }
  if [[ $e == *=* ]]; then ENV_ARGS="$ENV_ARGS $name=$(q "${e#*=}")"
  elif [ -n "${!name+x}" ]; then ENV_ARGS="$ENV_ARGS $name=$(q "${!name}")"; fi
done

cat >"$SHARE/start" <<EOF
cd $(q "$WORKDIR") || exit 125
umask 022
exec /usr/bin/env -i $ENV_ARGS /bin/sh -c $(q "$CMD")
EOF

COLS=200 ROWS=50
if [ -t 1 ]; then
  read -r ROWS COLS < <(stty size 2>/dev/null </dev/tty || echo "50 200")
fi
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
cat >"$SHARE/config" <<EOF
REPO=$(q "$REPO")
RELEASE=$(q "$LKB_VM_RELEASE")
MODDIR=$(q "$LKB_VM_MODDIR")
KCONFIG=$(q "$LKB_VM_KDIR/tree/boot/config-$LKB_VM_RELEASE")
MSIZE=512000
ROOT_CACHE=${LKB_VM_ROOT_CACHE:-loose}
REPO_CACHE=${LKB_VM_REPO_CACHE:-loose}
OVERLAY=1
NOFILE=$NOFILE
COLS=$COLS
ROWS=$ROWS
EOF

# ------------------------------------------------------------------- boot
# Serial ports: ttyS0 = kernel console -> log file; ttyS1 = stdout and
# ttyS2 = stderr of the command -> FIFOs read by cat. Holding a write end
# ourselves lets each cat open its FIFO at once and see EOF only after
# qemu and we have closed it.
for p in out err; do mkfifo "$RUNDIR/$p.in" "$RUNDIR/$p.out"; done
exec {WOUT}<>"$RUNDIR/out.out" {WERR}<>"$RUNDIR/err.out"
cat "$RUNDIR/out.out" {WOUT}>&- {WERR}>&- &
OUTCAT=$!
cat "$RUNDIR/err.out" >&2 {WOUT}>&- {WERR}>&- &
ERRCAT=$!
: >"$RUNDIR/console.log"

[ "${LKB_VM_QUIET:-0}" = 1 ] ||
  echo "vm: booting Linux $LKB_VM_RELEASE ($LKB_VM_PACKAGE $LKB_VM_VERSION) under qemu/TCG, timeout ${TIMEOUT}s" >&2

# qemu option values: a comma is written as two.
qarg() { printf '%s' "${1//,/,,}"; }

START=$(date +%s)
timeout --kill-after=10 "$TIMEOUT" \
  qemu-system-x86_64 \
    -name lkb-vm -accel tcg,thread="${LKB_VM_TCG_THREAD:-single}" -cpu "${LKB_VM_CPU:-max}" -m "${LKB_VM_MEM:-2048}" -smp "${LKB_VM_SMP:-2}" \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$(qarg "$LKB_VM_VMLINUZ")" -initrd "$(qarg "$LKB_VM_INITRD")" \
    -append "console=ttyS0 quiet panic=-1" \
    -chardev file,id=con,path="$(qarg "$RUNDIR/console.log")" -serial chardev:con \
    -chardev pipe,id=out,path="$(qarg "$RUNDIR/out")" -serial chardev:out \
    -chardev pipe,id=err,path="$(qarg "$RUNDIR/err")" -serial chardev:err \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$(qarg "$REPO")",mount_tag=lkbrepo,security_model=none,multidevs=remap \
    -virtfs local,path="$(qarg "$SHARE")",mount_tag=lkbresults,security_model=none \
    -device virtio-rng-pci \
    </dev/null >"$RUNDIR/qemu.log" 2>&1 {WOUT}>&- {WERR}>&- &
QPID=$!
if [ "${LKB_VM_VERBOSE:-0}" = 1 ]; then
  # Ends by itself once qemu is gone.
  ( exec {WOUT}>&- {WERR}>&-
    tail -n +1 -s 0.2 --pid="$QPID" -f "$RUNDIR/console.log" 2>/dev/null | tr -d '\r' | sed -u 's/^/[console] /' >&2 ) &
  TAILPID=$!
fi
wait "$QPID"
QRC=$?
QPID=""
ELAPSED=$(( $(date +%s) - START ))

exec {WOUT}>&- {WERR}>&-
WOUT="" WERR=""
wait "$OUTCAT" "$ERRCAT" 2>/dev/null
OUTCAT="" ERRCAT=""
if [ -n "$TAILPID" ]; then wait "$TAILPID" 2>/dev/null; TAILPID=""; fi

console_tail() {
  echo "vm: last console lines:" >&2
  tr -d '\r' <"$RUNDIR/console.log" | tail -n "${1:-40}" | sed 's/^/  | /' >&2
  if [ -s "$RUNDIR/qemu.log" ]; then
    echo "vm: qemu said:" >&2
    sed 's/^/  | /' "$RUNDIR/qemu.log" >&2
  fi
}

if [ -f "$SHARE/status" ]; then
  exit "$(cat "$SHARE/status")"
fi
if [ "$QRC" = 124 ] || { [ "$QRC" = 137 ] && [ "$ELAPSED" -ge "$TIMEOUT" ]; }; then
  echo "vm: timeout: the command did not finish within ${TIMEOUT}s; the VM was killed" >&2
  console_tail 20
  exit 124
fi
if [ -f "$SHARE/error" ]; then
  echo "vm: error: guest setup failed: $(cat "$SHARE/error")" >&2
else
  echo "vm: error: the guest never reported an exit status (qemu exit $QRC after ${ELAPSED}s; kernel panic?)" >&2
fi
console_tail 40
exit 125
