#!/bin/busybox sh
# /init of the test VM's initramfs (copied there by test/vm/setup.sh).
#
# Loads the virtio/9p modules, builds the guest's root from the host's root
# (9p "hostroot", read-only, with a tmpfs overlay so it looks writable) and
# the project checkout (9p "lkbrepo", writable, at the same path as on the
# host), runs /run/lkb-vm/start (written by run.sh) chrooted, with stdout on
# ttyS1 and stderr on ttyS2, writes its exit status to the results share
# (9p "lkbresults", not visible to the command) and powers off.
# Its own messages go to the console (ttyS0), which run.sh keeps in a log.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

log() { echo "lkb-vm-init: $*"; }
halt() { sync; poweroff -f; sleep 5; }
RESULTS_OK=0
fail() {
  log "error: $*"
  if [ "$RESULTS_OK" = 1 ]; then echo "$*" >/results/error; fi
  halt
}

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || log "insmod $m failed"
done

P9="trans=virtio,version=9p2000.L"
mount -t 9p -o "$P9,msize=512000" lkbresults /results || fail "cannot mount the results share"
RESULTS_OK=1
[ -f /results/config ] || fail "no /results/config"
# REPO WORKDIR RELEASE MODDIR KCONFIG MSIZE ROOT_CACHE REPO_CACHE NOFILE COLS ROWS OVERLAY
. /results/config

mount -t 9p -o "$P9,msize=$MSIZE,ro,cache=$ROOT_CACHE" hostroot /lower || fail "cannot mount the host root share"
OVERLAY_OK=0
if [ "$OVERLAY" = 1 ]; then
  mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir -p /rw/upper /rw/work &&
    mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot &&
    OVERLAY_OK=1
  [ "$OVERLAY_OK" = 1 ] || log "overlay root failed; the root will be read-only"
fi
if [ "$OVERLAY_OK" = 0 ]; then
  mount --move /lower /newroot || fail "cannot move the root"
fi
R=/newroot

mount -t proc proc $R/proc || fail "mount proc"
mount -t sysfs sysfs $R/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "mount devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tracefs tracefs $R/sys/kernel/tracing || log "cannot mount tracefs"
mount -t debugfs debugfs $R/sys/kernel/debug || log "cannot mount debugfs"
mount -t bpf -o mode=0700 bpf $R/sys/fs/bpf || log "cannot mount bpffs"
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null || log "cannot mount cgroup2"

# The guest kernel's modules, so that modprobe works inside (before /tmp is
# covered, in case the cache lives there).
# The guest kernel's configuration where tools look for it (/boot/config-<release>: __kconfig externs).
if [ "$OVERLAY_OK" = 1 ] && [ -n "$KCONFIG" ] && [ -f "$R$KCONFIG" ]; then
  mkdir -p "$R/boot" && cp "$R$KCONFIG" "$R/boot/config-$RELEASE" || log "cannot copy the kernel config"
fi
if [ "$OVERLAY_OK" = 1 ] && [ -n "$MODDIR" ] && [ -d "$R$MODDIR" ]; then
  chroot $R mkdir -p "/lib/modules/$RELEASE" && mount --bind "$R$MODDIR" "$(chroot $R readlink -f "/lib/modules/$RELEASE" | sed "s|^|$R|")" ||
    log "cannot bind the kernel modules"
fi

mount -t tmpfs -o mode=1777 tmpfs $R/tmp || fail "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs $R/run || fail "mount /run"
mkdir -p $R/run/lock && chmod 1777 $R/run/lock
mkdir -p $R/run/lkb-vm

mkdir -p "$R$REPO" 2>/dev/null
mount -t 9p -o "$P9,msize=$MSIZE,cache=$REPO_CACHE" lkbrepo "$R$REPO" || fail "cannot mount the checkout at $REPO"

cp /results/start $R/run/lkb-vm/start || fail "no start script"
ip link set lo up 2>/dev/null
hostname lkb-vm

# stdout and stderr of the command: raw ttys (no \r added), kept open here so
# that their settings stick.
exec 5>/dev/ttyS1 6>/dev/ttyS2
for t in /dev/ttyS1 /dev/ttyS2; do
  stty -F $t raw -echo cols "$COLS" rows "$ROWS" || log "stty $t failed"
done
ulimit -n "$NOFILE" 2>/dev/null || log "cannot set ulimit -n $NOFILE"
ulimit -l unlimited 2>/dev/null

log "running the command"
chroot $R /bin/sh /run/lkb-vm/start </dev/null >&5 2>&6 5>&- 6>&-
rc=$?
# tcsetattr(TCSADRAIN): wait until everything written has left the ports.
stty -F /dev/ttyS1 raw
stty -F /dev/ttyS2 raw
exec 5>&- 6>&-
echo "$rc" >/results/status.tmp && mv /results/status.tmp /results/status
log "command exited with $rc"
halt
