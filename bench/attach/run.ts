// npm run bench -- attach [--kernel K] [--runs R]: attaching one counting program to 50 and to 500
// kernel functions, and detaching it, ours (one kprobe.multi link; a PMU event each) against
// bpftrace's probe list, in one guest run of a Debian kernel (the host has no kprobes).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const REPO = new URL('../..', import.meta.url).pathname;
const { values } = parseArgs({ options: { kernel: { type: 'string', default: '6.12' }, runs: { type: 'string', default: '5' } } });

// bpftrace compiles a 500-probe list with LLVM under TCG: minutes per run, past run.sh's default timeout.
const result = spawnSync(`${REPO}test/vm/run.sh`, ['--kernel', values.kernel!, '--timeout', '3600', '--', 'node', '--import', 'tsx', 'bench/attach/guest.ts', values.runs!], {
  cwd: REPO,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
