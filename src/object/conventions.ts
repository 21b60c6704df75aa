// Naming conventions: what a program's section (libbpf, the legacy `prog`) or function name (bcc) says about how it attaches.
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';

/** How the object asks a program to be attached. */
export type ProgramRole =
  /** The legacy layout's `prog` section, or a bare SEC("kprobe")/SEC("kretprobe"): the command line names the function. */
  | { kind: 'kprobe'; retprobe: boolean; function?: undefined; syscall: false; fromCommandLine: true }
  | { kind: 'kprobe'; retprobe: boolean; function: string; syscall: boolean; fromCommandLine: false }
  | { kind: 'tracepoint'; tracepoint: string }
  | { kind: 'uprobe'; retprobe: boolean; binary: string; symbol?: string; offset: bigint };

export const LEGACY_PROGRAM_SECTION = 'prog';

/** BPF_PROG_TYPE_* for a role: kprobes and uprobes are both KPROBE programs. */
export function programTypeOf(role: ProgramRole): number {
  return role.kind === 'tracepoint' ? 5 : 2;
}

/** Splits "path:symbol", "path:symbol+offset" or "path:0xoffset" (libbpf's uprobe forms). */
export function parseUprobeSpec(text: string, where: string): { binary: string; symbol?: string; offset: bigint } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new ObjectError(`${where}: expected <binary>:<function>[+offset] or <binary>:<offset>, got ${JSON.stringify(printable(text))}`);
  }
  const binary = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(rest)) return { binary, offset: BigInt(rest) };
  const match = /^([A-Za-z_][A-Za-z0-9_.@]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(rest);
  if (!match) throw new ObjectError(`${where}: ${JSON.stringify(printable(rest))} is neither a function name (with an optional +offset) nor an offset`);
  return { binary, symbol: match[1]!, offset: match[2] ? BigInt(match[2]) : 0n };
}

function nonEmpty(value: string, where: string, what: string): string {
  if (value === '') throw new ObjectError(`${where}: the ${what} after '/' is missing`);
  return value;
}

/** The role a section name gives (libbpf's SEC() names and the legacy `prog`); undefined if it gives none. */
function roleFromSection(section: string): ProgramRole | undefined {
  const where = `section '${printable(section)}'`;
  const slash = section.indexOf('/');
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const rest = slash < 0 ? undefined : section.slice(slash + 1);
  switch (prefix) {
    case LEGACY_PROGRAM_SECTION:
      return rest === undefined ? { kind: 'kprobe', retprobe: false, syscall: false, fromCommandLine: true } : undefined;
    case 'kprobe':
    case 'kretprobe': {
      const retprobe = prefix === 'kretprobe';
      if (rest === undefined) return { kind: 'kprobe', retprobe, syscall: false, fromCommandLine: true };
      return { kind: 'kprobe', retprobe, function: nonEmpty(rest, where, 'function'), syscall: false, fromCommandLine: false };
    }
    case 'ksyscall':
    case 'kretsyscall':
      if (rest === undefined) throw new ObjectError(`${where}: ksyscall sections name the system call, e.g. ksyscall/bpf`);
      return { kind: 'kprobe', retprobe: prefix === 'kretsyscall', function: nonEmpty(rest, where, 'system call'), syscall: true, fromCommandLine: false };
    case 'tracepoint':
    case 'tp':
      if (rest === undefined || !rest.includes('/')) throw new ObjectError(`${where}: tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf`);
      return { kind: 'tracepoint', tracepoint: rest };
    case 'uprobe':
    case 'uretprobe':
      if (rest === undefined) throw new ObjectError(`${where}: uprobe sections name the binary and function, e.g. uprobe//usr/bin/bash:readline`);
      return { kind: 'uprobe', retprobe: prefix === 'uretprobe', ...parseUprobeSpec(rest, where) };
    default:
      return undefined;
  }
}

/** bcc's names: kprobe__<fn>, kretprobe__<fn>, tracepoint__<category>__<event>. */
function roleFromFunctionName(name: string): ProgramRole | undefined {
  let match = /^(kprobe|kretprobe)__(.+)$/.exec(name);
  if (match) return { kind: 'kprobe', retprobe: match[1] === 'kretprobe', function: match[2]!, syscall: false, fromCommandLine: false };
  match = /^tracepoint__(.+?)__(.+)$/.exec(name);
  if (match) return { kind: 'tracepoint', tracepoint: `${match[1]}/${match[2]}` };
  return undefined;
}

/** Whether a function in `.text` is a program by its bcc name rather than a subprogram. */
export function isBccProgramName(name: string): boolean {
  return roleFromFunctionName(name) !== undefined;
}

/**
 * The role of the program `functionName` in `section`: a section that names its target wins,
 * then a bcc function name, then a section that leaves the target to the command line.
 */
export function programRole(section: string, functionName: string): ProgramRole | undefined {
  const bySection = roleFromSection(section);
  if (bySection && !(bySection.kind === 'kprobe' && bySection.fromCommandLine)) return bySection;
  return roleFromFunctionName(functionName) ?? bySection;
}

/** The role of a program, or the refusal that names the sections and names load-kp-bpf knows. */
export function requireRole(program: { name: string; section: string; role: ProgramRole | undefined }, hint = ''): ProgramRole {
  if (program.role) return program.role;
  throw new ObjectError(
    `program '${printable(program.name)}' is in section '${printable(program.section)}', which names no kind of program load-kp-bpf attaches (prog, kprobe/, kretprobe/, ksyscall/, tracepoint/, uprobe/, or bcc's kprobe__<fn>)${hint}`,
  );
}

/** Words for a role in messages and output: "kprobe on vfs_read", "uretprobe on /bin/bash:readline". */
export function describeRole(role: ProgramRole): string {
  switch (role.kind) {
    case 'kprobe': {
      const kind = role.retprobe ? 'kretprobe' : 'kprobe';
      if (role.fromCommandLine) return `${kind} on the function given on the command line`;
      return `${kind} on ${role.syscall ? `system call ${role.function}` : role.function}`;
    }
    case 'tracepoint':
      return `tracepoint ${role.tracepoint}`;
    case 'uprobe':
      return `${role.retprobe ? 'uretprobe' : 'uprobe'} on ${role.binary}:${role.symbol ?? `0x${role.offset.toString(16)}`}${role.symbol && role.offset !== 0n ? `+0x${role.offset.toString(16)}` : ''}`;
  }
}
