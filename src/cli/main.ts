// The command line: its options and subcommands, dispatched to the run and map commands.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ATTACH_MODES } from '../attach/probe.js';
import { DEFAULT_PIN_ROOT } from '../kernel/pins.js';
import { Output } from './output.js';
import { runLoader, type RunOptions } from './run.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('load-kp-bpf')
    .description(
      'Load a clang-built eBPF object and attach its programs until interrupted: the legacy layout (tc-style "maps" section, program in section "prog") to the kernel function given, libbpf-style sections (kprobe/, kretprobe/, ksyscall/, tracepoint/, uprobe/) and bcc-named functions (kprobe__<fn>) to the targets they name. Pinned maps stay afterwards; everything else is removed.',
    )
    .version(packageVersion(), '-V, --version')
    .argument('<object>', 'BPF ELF object, e.g. test_prog.o')
    .argument('[function]', "kernel function for the object's 'prog' program, e.g. sys_bpf (resolved to __x64_sys_bpf where needed)")
    .option('--retprobe', 'attach to the function\'s return (a kretprobe) instead of its entry', false)
    .option('-p, --program <name>', 'load and attach only this program (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .addOption(
      new Option('--attach-mode <mode>', 'auto: kprobe/uprobe PMU and a BPF link where the kernel has them; pmu, tracefs or link to force one')
        .choices(ATTACH_MODES)
        .default('auto'),
    )
    .option('-v, --verbose', 'explain each step on stderr', false)
    .option('--json', 'print results as JSON lines on stdout (stable for scripts)', false)
    .addOption(new Option('--pin-root <dir>', 'BPF filesystem directory for pinned maps').default(DEFAULT_PIN_ROOT))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .action(async (objectPath: string, functionName: string | undefined, options: RunOptions) => {
      exitCode = await runLoader(objectPath, functionName, options, new Output(options));
    });
  try {
    await program.parseAsync(argv);
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
