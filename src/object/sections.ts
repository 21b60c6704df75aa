// The section table: what each SEC() name means (program type, expected attach type, how it attaches), as libbpf's section_defs.
import { joined, type Wording } from '../wording.js';
import { ATTACH_TYPE, PROG_TYPE } from '../abi.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';

/** How the object asks a program to be attached; a target left out is given on the command line (--attach). */
export type ProgramRole =
  /** The legacy layout's `prog` section, or a bare SEC("kprobe")/SEC("kretprobe"): the command line names the function. */
  | { kind: 'kprobe'; retprobe: boolean; function?: undefined; syscall: false; fromCommandLine: true }
  /** `function` may be a glob ("vfs_*"); `multi`: a kprobe.multi section, attached as one even to a single function. */
  | { kind: 'kprobe'; retprobe: boolean; function: string; syscall: boolean; fromCommandLine: false; multi?: boolean }
  | { kind: 'tracepoint'; tracepoint: string }
  /** A uprobe; libbpf allows SEC("uprobe") and SEC("uretprobe/func") with the binary given when attaching. */
  | { kind: 'uprobe'; retprobe: boolean; binary?: string; symbol?: string; offset: bigint; sleepable?: boolean }
  /** A USDT probe (libbpf's SEC("usdt/<binary>:<provider>:<name>")); without a target it is given with --usdt or --attach. */
  | { kind: 'usdt'; target?: UsdtTarget; sleepable?: boolean }
  /** BTF-based tracing: fentry, fexit, fmod_ret on a kernel function, tp_btf on a tracepoint; target from the section or --attach. */
  | { kind: 'tracing'; attach: TracingAttach; target?: string; sleepable?: boolean }
  | { kind: 'raw_tracepoint'; tracepoint?: string; writable: boolean }
  /** A sampling program: `event` ("cpu-clock:99hz") from --attach, else the default sampling. */
  | { kind: 'perf_event'; event?: string }
  /** Loaded but never attached by this tool (network program types, or reached only by tail call). */
  | { kind: 'load-only'; why: string };

/** A USDT probe by the binary (path, program on PATH or library) and the probe's provider and name. */
export interface UsdtTarget {
  binary: string;
  provider: string;
  name: string;
}

/** The kinds of BPF trampoline program: each attaches to a kernel function (tp_btf: a tracepoint) found by BTF. */
export type TracingAttach = 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf';

export const LEGACY_PROGRAM_SECTION = 'prog';

/** BPF_F_SLEEPABLE in prog_flags: the program may sleep (uprobe.s, fentry.s). */
export const BPF_F_SLEEPABLE = 1 << 4;

/** What a section name says: the program's types, and its role (or why it is refused). */
export interface SectionMeaning {
  programType: number;
  expectedAttachType: number;
  flags: number;
  role: ProgramRole;
}

interface SectionDef {
  prefix: string;
  programType: number;
  expectedAttachType?: number;
  sleepable?: boolean;
  /** The role for what follows the prefix: undefined when nothing follows, else the text after '/'. */
  role(rest: string | undefined, where: string): ProgramRole;
}

function nonEmpty(value: string, where: string, what: string): string {
  if (value === '') throw new ObjectError(`${where}: the ${what} after '/' is missing`);
  return value;
}

/** Splits "path:symbol", "path:symbol+offset" or "path:0xoffset" (libbpf's uprobe forms). */
export function parseUprobeSpec(text: string, where: Wording): { binary: string; symbol?: string; offset: bigint } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new ObjectError(joined(where, `: expected <binary>:<function>[+offset] or <binary>:<offset>, got ${JSON.stringify(printable(text))}`));
  }
  const binary = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(rest)) return { binary, offset: BigInt(rest) };
  const match = /^([A-Za-z_][A-Za-z0-9_.@]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(rest);
  if (!match) throw new ObjectError(joined(where, `: ${JSON.stringify(printable(rest))} is neither a function name (with an optional +offset) nor an offset`));
  return { binary, symbol: match[1]!, offset: match[2] ? BigInt(match[2]) : 0n };
}

/** Splits "binary:provider:name" at its last two colons (a path may hold colons, a provider or name cannot). */
export function parseUsdtSpec(text: string, where: Wording): UsdtTarget {
  const match = /^(.+):([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_]*)$/.exec(text);
  if (!match) throw new ObjectError(joined(where, `: expected <binary>:<provider>:<name>, got ${JSON.stringify(printable(text))}`));
  return { binary: match[1]!, provider: match[2]!, name: match[3]! };
}

const kprobe = (retprobe: boolean) => (rest: string | undefined, where: string): ProgramRole =>
  rest === undefined
    ? { kind: 'kprobe', retprobe, syscall: false, fromCommandLine: true }
    : { kind: 'kprobe', retprobe, function: nonEmpty(rest, where, 'function'), syscall: false, fromCommandLine: false };

const kprobeMulti = (retprobe: boolean) => (rest: string | undefined, where: string): ProgramRole => {
  if (rest === undefined) throw new ObjectError(`${where}: kprobe.multi sections name the functions, e.g. kprobe.multi/vfs_*`);
  return { kind: 'kprobe', retprobe, function: nonEmpty(rest, where, 'function pattern'), syscall: false, fromCommandLine: false, multi: true };
};

const ksyscall = (retprobe: boolean) => (rest: string | undefined, where: string): ProgramRole => {
  if (rest === undefined) throw new ObjectError(`${where}: ksyscall sections name the system call, e.g. ksyscall/bpf`);
  return { kind: 'kprobe', retprobe, function: nonEmpty(rest, where, 'system call'), syscall: true, fromCommandLine: false };
};

const tracepoint = (rest: string | undefined, where: string): ProgramRole => {
  if (rest === undefined || !rest.includes('/')) throw new ObjectError(`${where}: tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf`);
  return { kind: 'tracepoint', tracepoint: rest };
};

const uprobe = (retprobe: boolean, sleepable: boolean) => (rest: string | undefined, where: string): ProgramRole => {
  const extra = sleepable ? { sleepable } : {};
  if (rest === undefined) return { kind: 'uprobe', retprobe, offset: 0n, ...extra };
  // "uretprobe/readline": a function whose binary is given when attaching.
  if (!rest.includes(':') && /^[A-Za-z_][A-Za-z0-9_.@]*$/.test(rest)) return { kind: 'uprobe', retprobe, symbol: rest, offset: 0n, ...extra };
  return { kind: 'uprobe', retprobe, ...parseUprobeSpec(rest, where), ...extra };
};

const usdt = (sleepable: boolean) => (rest: string | undefined, where: string): ProgramRole => ({
  kind: 'usdt',
  ...(rest === undefined ? {} : { target: parseUsdtSpec(rest, where) }),
  ...(sleepable ? { sleepable } : {}),
});

const tracing = (attach: TracingAttach, sleepable = false) => (rest: string | undefined, where: string): ProgramRole => ({
  kind: 'tracing',
  attach,
  ...(rest === undefined ? {} : { target: nonEmpty(rest, where, attach === 'tp_btf' ? 'tracepoint' : 'function') }),
  ...(sleepable ? { sleepable } : {}),
});

const rawTracepoint = (writable: boolean) => (rest: string | undefined, where: string): ProgramRole => ({
  kind: 'raw_tracepoint',
  writable,
  ...(rest === undefined ? {} : { tracepoint: nonEmpty(rest, where, 'tracepoint') }),
});

const loadOnly = (why: string) => (): ProgramRole => ({ kind: 'load-only', why });

/** Longest prefixes first is not needed: a name matches a prefix exactly or followed by '/'. */
const SECTION_DEFS: readonly SectionDef[] = [
  { prefix: LEGACY_PROGRAM_SECTION, programType: PROG_TYPE.KPROBE, role: (rest, where) => (rest === undefined ? kprobe(false)(undefined, where) : unknown(where)) },
  { prefix: 'kprobe', programType: PROG_TYPE.KPROBE, role: kprobe(false) },
  { prefix: 'kretprobe', programType: PROG_TYPE.KPROBE, role: kprobe(true) },
  { prefix: 'kprobe.multi', programType: PROG_TYPE.KPROBE, expectedAttachType: ATTACH_TYPE.TRACE_KPROBE_MULTI, role: kprobeMulti(false) },
  { prefix: 'kretprobe.multi', programType: PROG_TYPE.KPROBE, expectedAttachType: ATTACH_TYPE.TRACE_KPROBE_MULTI, role: kprobeMulti(true) },
  { prefix: 'ksyscall', programType: PROG_TYPE.KPROBE, role: ksyscall(false) },
  { prefix: 'kretsyscall', programType: PROG_TYPE.KPROBE, role: ksyscall(true) },
  { prefix: 'uprobe', programType: PROG_TYPE.KPROBE, role: uprobe(false, false) },
  { prefix: 'uretprobe', programType: PROG_TYPE.KPROBE, role: uprobe(true, false) },
  { prefix: 'uprobe.s', programType: PROG_TYPE.KPROBE, sleepable: true, role: uprobe(false, true) },
  { prefix: 'uretprobe.s', programType: PROG_TYPE.KPROBE, sleepable: true, role: uprobe(true, true) },
  { prefix: 'usdt', programType: PROG_TYPE.KPROBE, role: usdt(false) },
  { prefix: 'usdt.s', programType: PROG_TYPE.KPROBE, sleepable: true, role: usdt(true) },
  { prefix: 'tracepoint', programType: PROG_TYPE.TRACEPOINT, role: tracepoint },
  { prefix: 'tp', programType: PROG_TYPE.TRACEPOINT, role: tracepoint },
  { prefix: 'raw_tracepoint', programType: PROG_TYPE.RAW_TRACEPOINT, role: rawTracepoint(false) },
  { prefix: 'raw_tp', programType: PROG_TYPE.RAW_TRACEPOINT, role: rawTracepoint(false) },
  { prefix: 'raw_tracepoint.w', programType: PROG_TYPE.RAW_TRACEPOINT_WRITABLE, role: rawTracepoint(true) },
  { prefix: 'raw_tp.w', programType: PROG_TYPE.RAW_TRACEPOINT_WRITABLE, role: rawTracepoint(true) },
  { prefix: 'tp_btf', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_RAW_TP, role: tracing('tp_btf') },
  { prefix: 'fentry', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_FENTRY, role: tracing('fentry') },
  { prefix: 'fexit', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_FEXIT, role: tracing('fexit') },
  { prefix: 'fmod_ret', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.MODIFY_RETURN, role: tracing('fmod_ret') },
  { prefix: 'fentry.s', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_FENTRY, sleepable: true, role: tracing('fentry', true) },
  { prefix: 'fexit.s', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.TRACE_FEXIT, sleepable: true, role: tracing('fexit', true) },
  { prefix: 'fmod_ret.s', programType: PROG_TYPE.TRACING, expectedAttachType: ATTACH_TYPE.MODIFY_RETURN, sleepable: true, role: tracing('fmod_ret', true) },
  { prefix: 'perf_event', programType: PROG_TYPE.PERF_EVENT, role: () => ({ kind: 'perf_event' }) },
  { prefix: 'socket', programType: PROG_TYPE.SOCKET_FILTER, role: loadOnly('socket filters attach to sockets') },
  { prefix: 'xdp', programType: PROG_TYPE.XDP, role: loadOnly('XDP programs attach to network devices (ip link set dev DEV xdp pinned ...)') },
  { prefix: 'tc', programType: PROG_TYPE.SCHED_CLS, role: loadOnly('tc programs attach to qdiscs (tc filter add ... bpf)') },
  { prefix: 'classifier', programType: PROG_TYPE.SCHED_CLS, role: loadOnly('tc programs attach to qdiscs (tc filter add ... bpf)') },
  { prefix: 'action', programType: PROG_TYPE.SCHED_ACT, role: loadOnly('tc actions attach to qdiscs') },
];

function unknown(where: string): never {
  throw new UnknownSection(where);
}

/** A section name the table does not know (not an error by itself: a bcc function name may still say). */
class UnknownSection extends Error {}

/** What a section name means, or undefined when no entry of the table knows it. */
export function sectionMeaning(section: string): SectionMeaning | undefined {
  const where = `section '${printable(section)}'`;
  const slash = section.indexOf('/');
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const rest = slash < 0 ? undefined : section.slice(slash + 1);
  const def = SECTION_DEFS.find((d) => d.prefix === prefix);
  if (!def) return undefined;
  try {
    return {
      programType: def.programType,
      expectedAttachType: def.expectedAttachType ?? 0,
      flags: def.sleepable ? BPF_F_SLEEPABLE : 0,
      role: def.role(rest, where),
    };
  } catch (error) {
    if (error instanceof UnknownSection) return undefined;
    throw error;
  }
}

/** The section prefixes this tool knows, for messages. */
export function knownSectionPrefixes(): string[] {
  return SECTION_DEFS.map((d) => d.prefix);
}
