#!/usr/bin/env bash
# The main job, shown: load examples/test_prog.o, attach it to sys_bpf, make 200 bpf() map
# lookups, stop it with SIGINT and show what it counted. Runs on this kernel when it has kprobes;
# otherwise inside Debian's kernel under qemu (test/vm), and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: loading BPF programs needs root: sudo npm run demo" >&2
  exit 1
fi

has_kprobes() {
  [ -e /sys/bus/event_source/devices/kprobe/type ] || [ -e /sys/kernel/tracing/kprobe_events ] ||
    [ -e /sys/kernel/debug/tracing/kprobe_events ]
}

if ! has_kprobes; then
  if [ "${LKB_IN_VM:-}" = 1 ]; then
    echo "demo: no kprobes in this kernel either" >&2
    exit 1
  fi
  echo "demo: this kernel ($(uname -r)) has no kprobes, so the demo runs inside Debian's kernel under qemu" >&2
  echo "demo: (the first run downloads the kernel package; later runs boot in a few seconds)" >&2
  exec test/vm/run.sh --kernel "${LKB_DEMO_KERNEL:-6.1}" -- examples/demo.sh
fi

[ -e dist/cli/main.js ] || npx tsc -p tsconfig.build.json
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "\$ load-kp-bpf examples/test_prog.o sys_bpf"
node bin/load-kp-bpf.js examples/test_prog.o sys_bpf >"$log" 2>&1 &
loader=$!
for _ in $(seq 1 300); do
  grep -q 'press Ctrl-C' "$log" && break
  kill -0 "$loader" 2>/dev/null || break
  sleep 0.1
done
cat "$log"
if ! grep -q 'press Ctrl-C' "$log"; then
  wait "$loader" || true
  exit 1
fi

echo
echo "(demo: making 200 bpf(BPF_MAP_LOOKUP_ELEM) calls on the pinned map, then pressing Ctrl-C)"
node --input-type=module -e "
  import { BpfMap } from './dist/index.js';
  const map = BpfMap.fromPin('/sys/fs/bpf/kp_bpf_cmds');
  for (let i = 0; i < 200; i++) map.lookup(Buffer.alloc(4));
  map.close();
"
lines=$(wc -l <"$log")
kill -INT "$loader"
wait "$loader"
tail -n +"$((lines + 1))" "$log"
echo
echo "(demo: the keys are bpf() commands: 1 is BPF_MAP_LOOKUP_ELEM, with at least the 200"
echo " lookups above; 4 BPF_MAP_GET_NEXT_KEY, 7 BPF_OBJ_GET, 15 BPF_OBJ_GET_INFO_BY_FD. The maps"
echo " stay pinned in /sys/fs/bpf for other tools: bpftool map dump pinned /sys/fs/bpf/kp_bpf_cmds)"
