// The command line: parse arguments, load and attach, wait for a signal, detach and report.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { prepareKprobe } from '../attach/kprobe.js';
import { LoaderError, ObjectError, kernelError } from '../errors.js';
import { PROG_TYPE } from '../kernel/program.js';
import { DEFAULT_PIN_ROOT } from '../kernel/pins.js';
import type { Outcome } from '../kernel/scope.js';
import { LoadedObject } from '../loader.js';
import { parseBpfObject } from '../object/bpf-object.js';
import type { BpfObjectSpec, ProgramSpec } from '../object/spec.js';
import { Output } from './output.js';
import { SignalWatch } from './signals.js';

const LEGACY_PROGRAM_SECTION = 'prog';

export interface CliOptions {
  verbose: boolean;
  json: boolean;
  pinRoot: string;
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

/** The legacy layout's single program: the `prog` section. */
function legacyProgram(spec: BpfObjectSpec): ProgramSpec {
  const program = spec.programs.find((p) => p.section === LEGACY_PROGRAM_SECTION);
  if (!program) {
    throw new ObjectError(
      `the object has no '${LEGACY_PROGRAM_SECTION}' section to attach to the function; its code sections are ${spec.programs.map((p) => `'${p.section}'`).join(', ')}`,
    );
  }
  return program;
}

/** Loads, attaches, waits for SIGINT/SIGTERM/SIGHUP, detaches. Returns the exit code. */
export async function runLoader(objectPath: string, functionName: string, options: CliOptions, out: Output): Promise<number> {
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  let loaded: LoadedObject | undefined;
  let outcome: Outcome = 'failure';
  // Last resort for exits that bypass the paths below (process.exit from elsewhere).
  const onExit = (): void => void loaded?.close(outcome);
  process.on('exit', onExit);
  try {
    const spec = readObject(objectPath);
    spec.notices.forEach((n) => out.note(n));
    const program = legacyProgram(spec);
    const prepared = prepareKprobe(functionName);
    prepared.notes.forEach((n) => out.note(n));
    loaded = LoadedObject.load(spec, { pinRoot: options.pinRoot, programs: [program.name], programType: () => PROG_TYPE.KPROBE });
    out.verbose(`loaded program '${program.name}' from section '${program.section}'`);
    loaded.attachKprobe(program.name, prepared);
    outcome = 'success';
    out.loaded(objectPath, loaded);

    const signal = await signals.next();
    // From here a second signal has its default effect: the process ends at once.
    signals.stop();
    out.verbose(`received ${signal}: detaching`);
    const contents = out.mapContents(loaded);
    const releases = loaded.pendingReleases('success');
    const failures = loaded.close('success');
    out.detached(signal, loaded, contents, releases, failures);
    return failures.length === 0 ? 0 : 1;
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
  let exitCode = 0;
  const program = new Command()
    .name('load-kp-bpf')
    .description(
      'Load a clang-built eBPF object (legacy tc-style "maps" section, program in section "prog") and attach it to a kernel function with a kprobe until interrupted. Pinned maps stay afterwards; everything else is removed.',
    )
    .version(packageVersion(), '-V, --version')
    .argument('<object>', 'BPF ELF object, e.g. test_prog.o')
    .argument('<function>', 'kernel function to probe, e.g. sys_bpf (resolved to __x64_sys_bpf where needed)')
    .option('-v, --verbose', 'explain each step on stderr', false)
    .option('--json', 'print results as JSON lines on stdout (stable for scripts)', false)
    .addOption(new Option('--pin-root <dir>', 'BPF filesystem directory for pinned maps').default(DEFAULT_PIN_ROOT))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .action(async (objectPath: string, functionName: string, options: CliOptions) => {
      exitCode = await runLoader(objectPath, functionName, options, new Output(options));
    });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    throw error;
  }
  return exitCode;
}
