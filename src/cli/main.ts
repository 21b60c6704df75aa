// The command line: its options and subcommands, dispatched to the run and map commands.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BPFFS_ROOT } from '../abi.js';
import { ATTACH_MODES } from '../attach/modes.js';
import { UsageError } from '../errors.js';
import type { MapCommandOptions } from './map-command.js';
import { Output } from './output.js';
import { parseUpdate } from './updates.js';
import type { RunOptions } from './run.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A number option: positive (or zero when allowed), finite; commander reports the message. */
function numberOption(what: string, options: { integer?: boolean; zero?: boolean; powerOfTwo?: boolean } = {}) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (value === 0 && !options.zero) || (options.integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${what} must be a ${options.integer ? 'whole ' : ''}number${options.zero ? '' : ' above 0'}`);
    }
    if (options.powerOfTwo && (value & (value - 1)) !== 0) throw new InvalidArgumentError(`${what} must be a power of two (1, 2, 4, 8, ...)`);
    return value;
  };
}

interface CommandLine extends RunOptions {
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

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const RUN_DESCRIPTION =
  'Load a clang-built eBPF object and attach its programs until interrupted: the legacy layout (tc-style "maps" section, program in section "prog") to the kernel function given, libbpf-style sections (kprobe/, kretprobe/, ksyscall/, tracepoint/, uprobe/) and bcc-named functions (kprobe__<fn>) to the targets they name. Shows what the programs print and send while attached. Pinned maps stay afterwards; everything else is removed.';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('load-kp-bpf')
    .description(`${RUN_DESCRIPTION}\n\nload-kp-bpf <object> [function] is load-kp-bpf run <object> [function]; load-kp-bpf map ... works on maps.`)
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    // Usage errors are one line, like every other error.
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (text, write) => write(`load-kp-bpf: ${text.trim().replace(/^error: /, '')} (run with --help for usage)\n`),
    });

  program
    .command('run', { isDefault: true })
    .summary('load an object and attach it until interrupted (the default command)')
    .description(RUN_DESCRIPTION)
    .argument('<object>', 'BPF ELF object, e.g. test_prog.o')
    .argument('[function]', "kernel function for the object's 'prog' program, e.g. sys_bpf (resolved to the machine's entry point: __x64_sys_bpf, __arm64_sys_bpf)")
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
    .action(async (objectPath: string, functionName: string | undefined, options: CommandLine) => {
      const { retprobeProgram, attach, set } = options;
      const maxEntries = new Map(
        [...pairs('--max-entries', options.maxEntries, 'stack_traces=16384')].map(([map, text]) => {
          if (!/^\d+$/.test(text)) throw new UsageError(`--max-entries ${map}=${text}: a map's max entries are a whole number from 1 to 4294967295`);
          return [map, Number(text)];
        }),
      );
      Object.assign(options, {
        targets: pairs('--attach', attach, 'handler=vfs_read'),
        globals: pairs('--set', set, 'target_pid=1234'),
        retprobePrograms: retprobeProgram,
        mapSizes: maxEntries,
        updates: options.update.map(parseUpdate),
      });
      const recordTypes = new Map<string, string>();
      for (const pair of options.recordType) {
        const match = /^([^=]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(pair);
        if (!match) throw new UsageError(`--record-type ${pair}: expected MAP=STRUCT, e.g. events=event`);
        recordTypes.set(match[1]!, match[2]!);
      }
      // Each command loads its own modules: a map dump does not pay for the loader's, and the reverse.
      const [{ runLoader }, { RunOutput }] = await Promise.all([import('./run.js'), import('./run-output.js')]);
      exitCode = await runLoader(objectPath, functionName, options, new RunOutput({ verbose: options.verbose, json: options.json, hist: options.hist, recordTypes, raw: options.raw }));
    });

  const maps = program
    .command('map')
    .description('work on BPF maps in the kernel; MAP is a pin path, "id N" or "name NAME"')
    // Each subcommand takes its words as one list (MAP may be "id N"): show them as the usage says.
    .configureHelp({ subcommandTerm: (c) => `${c.name()} ${c.usage()}` })
    .exitOverride();
  const mapSub = (name: string, args: string, description: string): Command =>
    maps
      .command(name)
      .description(description)
      .argument(args === '' ? '[none...]' : `<${args}...>`)
      .usage(`[options]${args === '' ? '' : ` ${args}`}`)
      .option('--json', 'JSON on stdout', false)
      .option('-v, --verbose', 'explain each step on stderr', false)
      .exitOverride()
      .action(async (rest: string[], options: MapCommandOptions & Record<string, unknown>) => {
        const out = new Output({ json: options.json, verbose: options.verbose });
        try {
          const { mapCommand } = await import('./map-command.js');
          exitCode = await mapCommand(name, rest ?? [], options, out);
        } catch (error) {
          out.failed(error);
          exitCode = 1;
        }
        await out.finish();
      });
  mapSub('list', '', 'every map in the kernel: id, type, name, sizes, entries, pins');
  mapSub('show', 'MAP', 'one map: its definition, types, pins and the programs that use it');
  mapSub('dump', 'MAP', 'all entries (per-CPU maps: each CPU and the sum); a histogram map as a histogram')
    .option('--raw', 'entries even of a histogram map', false)
    .option('--hist', 'print the map as a log2 histogram', false);
  mapSub('lookup', 'MAP KEY', 'the value under a key');
  mapSub('update', 'MAP KEY VALUE', 'set a value (KEY and VALUE: a number, text, "hex 01 02 ...", or JSON with BTF)')
    .option('--any', 'create or replace (BPF_ANY, the default)', false)
    .option('--noexist', 'only create (BPF_NOEXIST)', false)
    .option('--exist', 'only replace (BPF_EXIST)', false)
    .option('--batch <file>', 'read the entries from a file (- for stdin): a map dump --json, or one "KEY VALUE" per line');
  // update --batch takes no KEY VALUE: let the arguments be optional there.
  maps.commands.find((c) => c.name() === 'update')!.registeredArguments[0]!.required = false;
  mapSub('delete', 'MAP KEY', 'remove a key');
  mapSub('create', 'PATH', 'create a map and pin it at PATH')
    .requiredOption('--type <type>', 'hash, array, percpu_hash, percpu_array, lru_hash, ...')
    .option('--key <bytes>', 'key size')
    .option('--value <bytes>', 'value size')
    .requiredOption('--entries <n>', 'max entries')
    .option('--flags <n>', 'map flags (BPF_F_*)')
    .option('--name <name>', 'the name in the kernel (default: the last part of PATH)');
  mapSub('pin', 'MAP PATH', 'pin a map at another path');
  mapSub('watch', 'MAP', 'a live view sorted by value, redrawn in place (like top); Ctrl-C stops it')
    .option('--interval <seconds>', 'seconds between updates', '1')
    .option('--top <n>', 'how many entries to show', '20');

  try {
    // --retprobe=PROG (one program's target) beside the plain --retprobe flag: commander has no optional value that does not take the next word.
    await program.parseAsync(argv.map((a) => (a.startsWith('--retprobe=') ? ['--retprobe-program', a.slice('--retprobe='.length)] : [a])).flat());
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    // Nothing may reach the user as a stack trace: one line, as for every other failure.
    const out = new Output({ verbose: argv.includes('--verbose') || argv.includes('-v'), json: false });
    out.failed(error, []);
    await out.finish();
    return 1;
  }
  return exitCode;
}
