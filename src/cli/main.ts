// The command line: parse arguments, load and attach, wait for a signal, detach and report.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { planAttachments } from '../attach/plan.js';
import { methodReason } from '../attach/prepared.js';
import { ATTACH_MODES, type AttachMode } from '../attach/probe.js';
import { LoaderError, kernelError } from '../errors.js';
import { DEFAULT_PIN_ROOT } from '../kernel/pins.js';
import type { Outcome } from '../kernel/scope.js';
import { LoadedObject } from '../loader.js';
import { parseBpfObject } from '../object/bpf-object.js';
import type { BpfObjectSpec } from '../object/spec.js';
import { Output } from './output.js';
import { SignalWatch } from './signals.js';

export interface CliOptions {
  verbose: boolean;
  json: boolean;
  pinRoot: string;
  retprobe: boolean;
  program: string[];
  attachMode: AttachMode;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function readObject(path: string): BpfObjectSpec {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw kernelError(`reading ${path}`, error);
  }
  try {
    return parseBpfObject(bytes);
  } catch (error) {
    if (error instanceof LoaderError) error.message = `${path}: ${error.message}`;
    throw error;
  }
}

/** Loads, attaches, waits for SIGINT/SIGTERM/SIGHUP, detaches. Returns the exit code. */
export async function runLoader(objectPath: string, functionName: string | undefined, options: CliOptions, out: Output): Promise<number> {
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  let loaded: LoadedObject | undefined;
  let outcome: Outcome = 'failure';
  // Last resort for exits that bypass the paths below (process.exit from elsewhere).
  const onExit = (): void => void loaded?.close(outcome);
  process.on('exit', onExit);
  try {
    const spec = readObject(objectPath);
    spec.notices.forEach((n) => out.note(n));
    const plan = planAttachments(spec, {
      programs: options.program,
      ...(functionName === undefined ? {} : { function: functionName }),
      retprobe: options.retprobe,
      mode: options.attachMode,
    });
    plan.forEach((p) => p.prepared.notes.forEach((n) => out.note(n)));
    loaded = LoadedObject.start(spec, {
      pinRoot: options.pinRoot,
      attach: plan,
      onAttach: (program, prepared) => out.verbose(`attaching program '${program.name}' (section '${program.section}'): ${methodReason(prepared)}`),
      onRetry: (reason) => out.note(reason),
    });
    outcome = 'success';
    out.loaded(objectPath, loaded);

    const signal = await signals.next();
    // From here a second signal has its default effect: the process ends at once.
    signals.stop();
    out.verbose(`received ${signal}: detaching`);
    const contents = out.mapContents(loaded);
    const changed = loaded.changedPins();
    const releases = loaded.pendingReleases('success');
    const failures = loaded.close('success');
    out.detached(signal, loaded, contents, releases, failures, changed);
    return failures.length === 0 && changed.length === 0 ? 0 : 1;
  } catch (error) {
    const failures = loaded?.close('failure') ?? [];
    out.failed(error, failures);
    return 1;
  } finally {
    signals.stop();
    process.removeListener('exit', onExit);
  }
}

export async function main(argv: string[]): Promise<number> {
  // A reader that went away (| head) must not turn into a crash that skips the cleanup.
  process.stdout.on('error', () => undefined);
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
    .action(async (objectPath: string, functionName: string | undefined, options: CliOptions) => {
      exitCode = await runLoader(objectPath, functionName, options, new Output(options));
    });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    // Nothing may reach the user as a stack trace: one line, as for every other failure.
    new Output({ verbose: argv.includes('--verbose') || argv.includes('-v'), json: false }).failed(error, []);
    return 1;
  }
  return exitCode;
}
