// The run command: read and check the object, load and attach it, wait for a signal, detach and report.
import { planAttachments } from '../attach/plan.js';
import { methodReason } from '../attach/prepared.js';
import type { AttachMode } from '../attach/probe.js';
import { LoaderError } from '../errors.js';
import type { Outcome } from '../kernel/scope.js';
import { LoadedObject } from '../loader.js';
import { parseBpfObject } from '../object/bpf-object.js';
import type { BpfObjectSpec } from '../object/spec.js';
import { printable } from '../text.js';
import { checkOpenFiles } from './limits.js';
import { readObjectFile } from './object-file.js';
import type { Output } from './output.js';
import { SignalWatch } from './signals.js';

export interface RunOptions {
  verbose: boolean;
  json: boolean;
  pinRoot: string;
  retprobe: boolean;
  program: string[];
  attachMode: AttachMode;
}

function readObject(path: string): BpfObjectSpec {
  const bytes = readObjectFile(path);
  try {
    return parseBpfObject(bytes);
  } catch (error) {
    if (error instanceof LoaderError) error.message = `${printable(path)}: ${error.message}`;
    throw error;
  }
}

/** Loads, attaches, waits for SIGINT/SIGTERM/SIGHUP, detaches. Returns the exit code. */
export async function runLoader(objectPath: string, functionName: string | undefined, options: RunOptions, out: Output): Promise<number> {
  // Caught from the very start: a signal during loading is handled once loading returns.
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
    // A map, a program, and a perf event, a link and maybe a trace event per attachment.
    const tooMany = checkOpenFiles(spec.maps.length + plan.length * 4, `${printable(objectPath)}`);
    if (tooMany) throw new LoaderError(tooMany);
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
    const changed = loaded.changedPins();
    const contents = out.mapContents(loaded, changed);
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
    await out.finish();
  }
}
