// Naming conventions: what a program's section (through the section table) or bcc function name says about how it attaches.
import { joined, optionProperty, type OptionNamer, type Wording } from '../wording.js';
import { PROG_TYPE } from '../abi.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import type { SyscallEvent } from '../values/formats.js';
import { knownSectionPrefixes, sectionMeaning, type ProgramRole, type SectionMeaning } from './sections.js';

export { LEGACY_PROGRAM_SECTION, parseUprobeSpec, type ProgramRole, type TracingAttach } from './sections.js';

/** bcc's names: kprobe__<fn>, kretprobe__<fn>, tracepoint__<category>__<event>. */
function roleFromFunctionName(name: string): SectionMeaning | undefined {
  let match = /^(kprobe|kretprobe)__(.+)$/.exec(name);
  if (match) {
    return { programType: PROG_TYPE.KPROBE, expectedAttachType: 0, flags: 0, role: { kind: 'kprobe', retprobe: match[1] === 'kretprobe', function: match[2]!, syscall: false, fromCommandLine: false } };
  }
  match = /^tracepoint__(.+?)__(.+)$/.exec(name);
  if (match) return { programType: PROG_TYPE.TRACEPOINT, expectedAttachType: 0, flags: 0, role: { kind: 'tracepoint', tracepoint: `${match[1]}/${match[2]}` } };
  return undefined;
}

/** Whether a function in `.text` is a program by its bcc name rather than a subprogram. */
export function isBccProgramName(name: string): boolean {
  return roleFromFunctionName(name) !== undefined;
}

/** A role that names no target of its own: a bcc function name or a program-array slot may say more. */
export function isWeakRole(role: ProgramRole | undefined): boolean {
  return !role || role.kind === 'load-only' || (role.kind === 'kprobe' && role.fromCommandLine);
}

/**
 * What the program `functionName` in `section` is: a section that names its target wins, then a
 * bcc function name, then a section that leaves the target to the command line or says the
 * program is loaded only.
 */
export function programMeaning(section: string, functionName: string): SectionMeaning | undefined {
  const bySection = sectionMeaning(section);
  if (bySection && !isWeakRole(bySection.role)) return bySection;
  return roleFromFunctionName(functionName) ?? bySection;
}

/** The role alone (see programMeaning). */
export function programRole(section: string, functionName: string): ProgramRole | undefined {
  return programMeaning(section, functionName)?.role;
}

/** The role of a program, or the refusal that names the sections and names load-kp-bpf knows. */
export function requireRole(program: { name: string; section: string; role: ProgramRole | undefined }, hint: Wording = ''): ProgramRole {
  if (program.role) return program.role;
  throw new ObjectError(
    joined(`program '${printable(program.name)}' is in section '${printable(program.section)}', which names no kind of program load-kp-bpf knows (${knownSectionPrefixes().join(', ')}, or bcc's kprobe__<fn>)`, hint),
  );
}

/**
 * The raw_syscalls event a program runs on, however it attaches: tracepoint raw_syscalls/sys_enter
 * (or sys_exit), raw_tp or tp_btf sys_enter; `target` is what it was attached to when the command
 * line named it. Undefined for every other program.
 */
export function rawSyscallEvent(role: ProgramRole | undefined, target?: string): SyscallEvent | undefined {
  let event: string | undefined;
  if (role?.kind === 'tracepoint') event = /^raw_syscalls\/(.*)$/.exec(role.tracepoint)?.[1];
  else if (role?.kind === 'raw_tracepoint') event = role.tracepoint ?? target;
  else if (role?.kind === 'tracing' && role.attach === 'tp_btf') event = role.target ?? target;
  return event === 'sys_enter' || event === 'sys_exit' ? event : undefined;
}

/** Words for a role in messages and output: "kprobe on vfs_read", "uretprobe on /bin/bash:readline". */
export function describeRole(role: ProgramRole, name: OptionNamer = optionProperty): string {
  switch (role.kind) {
    case 'kprobe': {
      const kind = role.retprobe ? 'kretprobe' : 'kprobe';
      if (role.fromCommandLine) return `${kind} on the function given on the command line`;
      return `${kind} on ${role.syscall ? `system call ${role.function}` : role.function}`;
    }
    case 'tracepoint':
      return `tracepoint ${role.tracepoint}`;
    case 'uprobe': {
      const kind = role.retprobe ? 'uretprobe' : 'uprobe';
      const where = role.symbol ?? (role.binary === undefined ? undefined : `0x${role.offset.toString(16)}`);
      const offset = role.symbol && role.offset !== 0n ? `+0x${role.offset.toString(16)}` : '';
      if (role.binary === undefined) return `${kind} on ${where ? `${where}${offset} of ` : ''}a binary given with ${name('targets')}`;
      return `${kind} on ${role.binary}:${where}${offset}`;
    }
    case 'usdt':
      return role.target ? `USDT probe ${role.target.provider}:${role.target.name} of ${role.target.binary}` : `USDT probe given with ${name('usdt')}`;
    case 'tracing':
      return `${role.attach} on ${role.target ?? `${role.attach === 'tp_btf' ? 'a tracepoint' : 'a function'} given with ${name('targets')}`}`;
    case 'raw_tracepoint':
      return `raw tracepoint ${role.tracepoint ?? `given with ${name('targets')}`}`;
    case 'perf_event':
      return `sampling ${role.event ?? 'cpu-clock at 99 Hz'} on every CPU`;
    case 'load-only':
      return `loaded only (${role.why})`;
  }
}
