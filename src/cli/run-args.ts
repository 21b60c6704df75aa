// The run command's options: their definitions (shared by run and each object of serve) and their reading into RunOptions.
import { Command, InvalidArgumentError, Option } from 'commander';
import { BPFFS_ROOT } from '../abi.js';
import { ATTACH_MODES } from '../attach/modes.js';
import { UsageError } from '../errors.js';
import type { RunOutputOptions } from './run-output.js';
import type { RunOptions } from './run.js';
import { parseUpdate } from './updates.js';

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A number option: positive (or zero when allowed), finite; commander reports the message. */
export function numberOption(what: string, options: { integer?: boolean; zero?: boolean; powerOfTwo?: boolean } = {}) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (value === 0 && !options.zero) || (options.integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${what} must be a ${options.integer ? 'whole ' : ''}number${options.zero ? '' : ' above 0'}`);
    }
    if (options.powerOfTwo && (value & (value - 1)) !== 0) throw new InvalidArgumentError(`${what} must be a power of two (1, 2, 4, 8, ...)`);
    return value;
  };
}

/** The run command's options as commander gives them, before runOptionsOf reads the NAME=VALUE lists. */
export interface RunCommandLine extends RunOptions {
  recordType: string[];
  hist: string[];
  attach: string[];
  set: string[];
  retprobeProgram: string[];
  maxEntries: string[];
  update: string[];
  raw: boolean;
}

/** NAME=VALUE pairs of a repeatable option, split at the first '='. */
function pairs(option: string, values: readonly string[], example: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const pair of values) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${option} ${pair}: expected NAME=VALUE, e.g. ${option} ${example}`);
    result.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return result;
}

/** Adds the run command's options to a command: run itself, and each object of serve. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--retprobe', "attach to the function's return (a kretprobe) instead of its entry; --retprobe=PROG for one program's target (repeatable)", false)
    .addOption(new Option('--retprobe-program <name>').hideHelp().argParser(collect).default([] as string[]))
    .option('--attach <prog=target>', "a program's target: a kernel function, binary:function, category/event or tracepoint name, filling in or replacing its section's (repeatable)", collect, [] as string[])
    .option('--usdt <[prog=]binary:provider:name>', "attach a program to a USDT probe of a binary (every site of it); PROG= may be left out when the object has one usdt program (repeatable)", collect, [] as string[])
    .option('--skip-missing', 'attach what this kernel has and say what was skipped and why, instead of refusing the object', false)
    .option('--set <name=value>', 'set a global variable (.rodata, .data, .bss) before load, typed by BTF (repeatable)', collect, [] as string[])
    .option('--btf <file>', "the kernel's BTF, for kernels without /sys/kernel/btf/vmlinux (CO-RE, fentry, tp_btf)")
    .option('-p, --program <name>', 'load and attach only this program (repeatable)', collect, [] as string[])
    .option('-x, --exclude <name>', 'leave this program out, as a tool switches programs off (repeatable; globs)', collect, [] as string[])
    .option('--all-programs', 'attach programs that are alternatives of each other too (fentry and kprobe on one function); by default one mechanism per event', false)
    .option('--max-entries <map=n>', "a map's max entries, as a tool's options set them (repeatable)", collect, [] as string[])
    .option('--update <map:key=value>', 'write an entry into a map after load, before attach: a filter, a cgroup directory for a cgroup array (repeatable)', collect, [] as string[])
    .option('--kconfig <file>', "the kernel's configuration, for __kconfig CONFIG_* values where /proc/config.gz and /boot/config-<release> are missing")
    .addOption(
      new Option('--attach-mode <mode>', 'auto: kprobe/uprobe PMU and a BPF link where the kernel has them; pmu, tracefs or link to force one')
        .choices(ATTACH_MODES)
        .default('auto'),
    )
    .option('-v, --verbose', 'explain each step on stderr', false)
    .option('--json', 'print results as JSON lines on stdout (stable for scripts)', false)
    .addOption(new Option('--pin-root <dir>', 'BPF filesystem directory for pinned maps').default(BPFFS_ROOT))
    .option('--no-trace-pipe', 'do not show trace_pipe when the programs call bpf_trace_printk')
    .option('--pid <pid>', "one process: uprobes, USDT probes and sampling fire in it only, binaries are found as it sees them, and the object's targ_tgid or targ_pid global is set to it", numberOption('--pid', { integer: true }))
    .option('--perf-pages <n>', "data pages of each CPU's perf buffer ring (a power of two)", numberOption('--perf-pages', { integer: true, powerOfTwo: true }), 64)
    .option('--types <file>', "the records' types: a tool's C header (opensnoop.h) or an ELF with BTF or DWARF (repeatable)", collect, [] as string[])
    .option('--record-type <map=struct>', 'decode the records of an output map as this struct of the known types (repeatable; default: the struct of the record\'s size)', collect, [] as string[])
    .option('--raw', 'show untyped records as all their bytes in hex, not a one-line summary', false)
    .option('--interval <seconds>', 'print the maps every so many seconds while attached', numberOption('--interval'), 0)
    .option('--map <name>', 'the maps --interval prints (repeatable; default all)', collect, [] as string[])
    .option('--hist <map>', 'print this map as a log2 histogram (repeatable)', collect, [] as string[])
    .option('--folded <file>', "write the maps' stacks at detach in the folded format flame graph tools read (comm;frame;...;frame count)")
    .option('--flamegraph <file>', "write the maps' stacks at detach as an interactive SVG flame graph")
    .option('--metrics <[address:]port>', 'serve the maps at http://ADDRESS:PORT/metrics for Prometheus while attached (address 127.0.0.1 unless named)')
    .option('--metrics-max-series <n>', 'series one map may export; the rest are counted in <object>_series_dropped_total', numberOption('--metrics-max-series', { integer: true }))
    .option('--metrics-config <file>', 'YAML or JSON choosing the maps --metrics serves, their names, help and labels (README)')
    .option('--duration <seconds>', 'detach by itself after so many seconds, with the same report as Ctrl-C', numberOption('--duration'), 0)
    .option('-q, --quiet', 'print nothing on stdout (records are still read, and counted for --metrics); errors and warnings still go to stderr', false);
}

/** Reads the NAME=VALUE lists into the RunOptions fields (in place) and returns the output's options. */
export function runOptionsOf(options: RunCommandLine): RunOutputOptions {
  const maxEntries = new Map(
    [...pairs('--max-entries', options.maxEntries, 'stack_traces=16384')].map(([map, text]) => {
      if (!/^\d+$/.test(text)) throw new UsageError(`--max-entries ${map}=${text}: a map's max entries are a whole number from 1 to 4294967295`);
      return [map, Number(text)];
    }),
  );
  Object.assign(options, {
    targets: pairs('--attach', options.attach, 'handler=vfs_read'),
    globals: pairs('--set', options.set, 'target_pid=1234'),
    retprobePrograms: options.retprobeProgram,
    mapSizes: maxEntries,
    updates: options.update.map(parseUpdate),
  });
  const recordTypes = new Map<string, string>();
  for (const pair of options.recordType) {
    const match = /^([^=]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(pair);
    if (!match) throw new UsageError(`--record-type ${pair}: expected MAP=STRUCT, e.g. events=event`);
    recordTypes.set(match[1]!, match[2]!);
  }
  return { verbose: options.verbose, json: options.json, quiet: options.quiet, hist: options.hist, recordTypes, raw: options.raw };
}
