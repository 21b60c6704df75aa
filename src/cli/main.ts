// The command line: its options and subcommands, dispatched to the run and map commands.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { MapCommandOptions } from './map-command.js';
import { Output } from './output.js';
import { addRunOptions, numberOption, runOptionsOf, type RunCommandLine } from './run-args.js';
import type { ServeCommandLine } from './serve-args.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const RUN_DESCRIPTION =
  'Load a clang-built eBPF object and attach its programs until interrupted: the legacy layout (tc-style "maps" section, program in section "prog") to the kernel function given, libbpf-style sections (kprobe/, kretprobe/, ksyscall/, tracepoint/, uprobe/) and bcc-named functions (kprobe__<fn>) to the targets they name. Shows what the programs print and send while attached. Pinned maps stay afterwards; everything else is removed.';

const SERVE_DESCRIPTION =
  'Load several objects, each with the run options after its path, and serve all their maps from one Prometheus endpoint until interrupted: load-kp-bpf serve --metrics 9435 a.o --max-entries counts=1024 b.o sys_bpf. Objects can also come from a --config file. Metric names begin with each object\'s file name (or the prefix of its --metrics-config).';

export async function main(argv: string[]): Promise<number> {
  let serveTail: string[] = [];
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

  const run = program
    .command('run', { isDefault: true })
    .summary('load an object and attach it until interrupted (the default command)')
    .description(RUN_DESCRIPTION)
    .argument('<object>', 'BPF ELF object, e.g. test_prog.o')
    .argument('[function]', "kernel function for the object's 'prog' program, e.g. sys_bpf (resolved to the machine's entry point: __x64_sys_bpf, __arm64_sys_bpf)");
  addRunOptions(run).action(async (objectPath: string, functionName: string | undefined, options: RunCommandLine) => {
    const output = runOptionsOf(options);
    // Each command loads its own modules: a map dump does not pay for the loader's, and the reverse.
    const [{ runObjects }, { RunOutput }] = await Promise.all([import('./run.js'), import('./run-output.js')]);
    const out = new RunOutput(output);
    const object = { path: objectPath, ...(functionName === undefined ? {} : { functionName }), options, out };
    exitCode = await runObjects([object], { ...(options.metrics === undefined ? {} : { metrics: options.metrics }), duration: options.duration }, out);
  });

  const serve = program
    .command('serve')
    .summary('load several objects and serve all their maps for Prometheus until interrupted')
    .description(SERVE_DESCRIPTION)
    .argument('[objects...]', 'OBJECT [FUNCTION] [its run options], for each object')
    .option('--metrics <[address:]port>', 'serve the maps at http://ADDRESS:PORT/metrics (address 127.0.0.1 unless named)')
    .option('--config <file>', 'YAML or JSON naming the objects, their arguments and where to listen (README)')
    .option('--duration <seconds>', 'detach by itself after so many seconds', numberOption('--duration'), 0)
    .option('--metrics-max-series <n>', 'series one map may export, for every object that does not say', numberOption('--metrics-max-series', { integer: true }))
    .option('--json', 'print results as JSON lines on stdout, each with its "object"', false)
    .option('-q, --quiet', 'print nothing on stdout; errors and warnings still go to stderr', false)
    .option('-v, --verbose', 'explain each step on stderr', false)
    .action(async (_objects: string[], options: ServeCommandLine) => {
      const { serveCommand } = await import('./serve-args.js');
      exitCode = await serveCommand(serveTail, options);
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
    let words = argv.map((a) => (a.startsWith('--retprobe=') ? ['--retprobe-program', a.slice('--retprobe='.length)] : [a])).flat();
    // serve's objects each take run's options: commander reads serve's own, serve-args the objects'.
    // words: node's path, the script's, then the command line.
    if (words[2] === 'serve') {
      const { firstPositional } = await import('./serve-args.js');
      const at = firstPositional(words, serve.options, 3);
      serveTail = words.slice(at);
      words = words.slice(0, at);
    }
    await program.parseAsync(words);
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
