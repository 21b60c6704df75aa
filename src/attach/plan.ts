// Attach plans: which programs of an object attach where, every target checked before anything is loaded.
import { UsageError } from '../errors.js';
import { programsNamed } from '../object/bpf-object.js';
import { describeRole, requireRole } from '../object/conventions.js';
import type { BpfObjectSpec, ProgramSpec } from '../object/spec.js';
import { prepareKprobe } from './kprobe.js';
import type { PreparedAttachment } from './prepared.js';
import type { AttachMode } from './probe.js';
import { prepareTracepoint } from './tracepoint.js';
import { prepareUprobe } from './uprobe.js';

export interface PlanOptions {
  /** Names of the programs to load and attach; default all. */
  programs?: readonly string[];
  /** The kernel function for programs that leave it to the command line (the legacy `prog`). */
  function?: string;
  /** Attach those programs to the function's return instead. */
  retprobe?: boolean;
  mode?: AttachMode;
}

export interface PlannedAttachment {
  program: ProgramSpec;
  prepared: PreparedAttachment;
}

/** Decides and checks every attachment; throws before any kernel object exists if one cannot be made. */
export function planAttachments(spec: BpfObjectSpec, options: PlanOptions = {}): PlannedAttachment[] {
  const programs = programsNamed(spec, options.programs?.length ? options.programs : undefined);
  for (const program of programs) requireRole(program, programs.length > 1 ? '; choose the others with --program' : '');
  const fromCommandLine = programs.filter((p) => p.role?.kind === 'kprobe' && p.role.fromCommandLine);
  if (fromCommandLine.length > 0 && options.function === undefined) {
    const p = fromCommandLine[0]!;
    throw new UsageError(`program '${p.name}' (section '${p.section}') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>`);
  }
  if (fromCommandLine.length === 0 && options.function !== undefined) {
    throw new UsageError(
      `the chosen programs name their own targets (${programs.map((p) => `${p.name}: ${describeRole(p.role!)}`).join('; ')}); leave out the function '${options.function}'`,
    );
  }
  if (fromCommandLine.length === 0 && options.retprobe) {
    throw new UsageError('--retprobe applies to programs attached to the function on the command line; this object names its own targets');
  }
  const mode = options.mode ?? 'auto';
  return programs.map((program) => {
    const role = program.role!;
    switch (role.kind) {
      case 'kprobe':
        return role.fromCommandLine
          ? { program, prepared: prepareKprobe(options.function!, { retprobe: role.retprobe || (options.retprobe ?? false), mode }) }
          : { program, prepared: prepareKprobe(role.function, { retprobe: role.retprobe, mode, syscall: role.syscall }) };
      case 'tracepoint':
        return { program, prepared: prepareTracepoint(role.tracepoint, mode) };
      case 'uprobe':
        return { program, prepared: prepareUprobe(role, mode) };
    }
  });
}
