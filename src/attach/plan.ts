// Attach plans: which programs of an object load and attach where, every target checked before anything is loaded.
import { joined, say, type OptionName, type OptionNamer, type Wording } from '../wording.js';
import { LoaderError, UsageError, concerning } from '../errors.js';
import { describeRole, requireRole, type ProgramRole } from '../object/conventions.js';
import { parseUprobeSpec, parseUsdtSpec } from '../object/sections.js';
import type { BpfObjectSpec, ProgramSpec } from '../object/spec.js';
import { globRegExp, printable } from '../text.js';
import { chooseAlternatives, reachOf, type AlternativeGroup } from './alternatives.js';
import { prepareKprobe } from './kprobe.js';
import { isFunctionPattern, prepareKprobeMulti } from './kprobe-multi.js';
import type { PrepareOptions, PreparedAttachment } from './prepared.js';
import { prepareRawTracepoint, prepareTracing } from './tracing.js';
import { prepareSampling } from './sampling.js';
import { prepareTracepoint } from './tracepoint.js';
import { prepareUprobe } from './uprobe.js';
import { prepareUsdt, requireUsdtSpecRoom } from './usdt.js';

/** What planAttachments() is told: the programs to choose and the targets the object leaves to its user. */
export interface PlanOptions extends PrepareOptions {
  /** Names or glob patterns ("kprobe_*") of the programs to load and attach; default all. */
  programs?: readonly string[];
  /** Names or glob patterns of programs to leave out, after `programs` chose (a tool's user space switching some off). */
  exclude?: readonly string[];
  /** The kernel function for programs that leave it to the command line (the legacy `prog`). */
  function?: string;
  /** Attach those programs to the function's return instead. */
  retprobe?: boolean;
  /** Programs (by name) to attach to their target's return: kretprobe, uretprobe. */
  retprobePrograms?: readonly string[];
  /** A target per program (--attach PROG=TARGET), filling in or replacing its section's. */
  targets?: ReadonlyMap<string, string>;
  /** USDT probes (--usdt [PROG=]BINARY:PROVIDER:NAME): the program (undefined: the one USDT program) attached to each. */
  usdt?: ReadonlyArray<{ program?: string; target: string }>;
  /** Leave out programs whose target this kernel lacks, and say why, instead of refusing the object. */
  skipMissing?: boolean;
  /** Attach every chosen program, alternatives of each other too (fentry and kprobe on one function). */
  allPrograms?: boolean;
}

/** One chosen program and where it attaches. */
export interface PlannedAttachment {
  program: ProgramSpec;
  /** Where it attaches; undefined for programs that are loaded only (tail-call targets, network types). */
  prepared: PreparedAttachment | undefined;
}

/** The programs to load and attach, with what was left out and why: LoadedObject.start() takes its attachments. */
export interface Plan {
  attachments: PlannedAttachment[];
  /** Programs left out with --skip-missing, and why. */
  skipped: Array<{ program: string; reason: Wording }>;
  /** Events more than one chosen program reaches by different mechanisms, and the one mechanism attached for each. */
  alternatives: AlternativeGroup[];
}

/** The programs a name or glob matches, in object order; `option` names the list in the error when none does. */
function programsMatching(spec: BpfObjectSpec, name: string, option?: OptionName): ProgramSpec[] {
  const pattern = /[*?]/.test(name) ? globRegExp(name) : undefined;
  const matched = spec.programs.filter((p) => (pattern ? pattern.test(p.name) : p.name === name));
  if (matched.length === 0) {
    throw new UsageError((n) => `${option === undefined ? '' : `${n(option, name)}: `}the object has no program ${pattern ? `matching '${printable(name)}'` : `'${printable(name)}'`}; it has ${spec.programs.map((p) => `'${printable(p.name)}'`).join(', ')}`);
  }
  return matched;
}

/**
 * The programs these names or globs choose (each once, in object order; all when none are given),
 * less those `exclude` names.
 */
export function choosePrograms(spec: BpfObjectSpec, names: readonly string[] | undefined, exclude: readonly string[] = []): ProgramSpec[] {
  const chosen = new Set<ProgramSpec>(names && names.length > 0 ? names.flatMap((name) => programsMatching(spec, name)) : spec.programs);
  for (const name of exclude) programsMatching(spec, name, 'exclude').forEach((p) => chosen.delete(p));
  if (chosen.size === 0) throw new UsageError(`no program is left to load: every program is excluded (${exclude.map((x) => `'${printable(x)}'`).join(', ')})`);
  return spec.programs.filter((p) => chosen.has(p));
}

/** What a program still needs before it can attach (its section names no target, nor do the plan's targets), or undefined. */
function missingTarget(role: ProgramRole): string | undefined {
  switch (role.kind) {
    case 'uprobe':
      return role.binary === undefined ? 'the binary to probe' : undefined;
    case 'tracing':
      return role.target === undefined ? (role.attach === 'tp_btf' ? 'the tracepoint' : 'the kernel function') : undefined;
    case 'raw_tracepoint':
      return role.tracepoint === undefined ? 'the tracepoint' : undefined;
    case 'usdt':
      return role.target === undefined ? 'a USDT probe' : undefined;
    default:
      return undefined;
  }
}

/** A program's role with the plan's targets and return probes applied. */
function roleWithOverrides(program: ProgramSpec, role: ProgramRole, target: string | undefined, retprobe: boolean): ProgramRole {
  const where: Wording = (n) => n('targets', `${program.name}=${target ?? ''}`);
  switch (role.kind) {
    case 'kprobe':
      if (target === undefined) return retprobe ? { ...role, retprobe } : role;
      return { kind: 'kprobe', retprobe: role.retprobe || retprobe, function: target, syscall: false, fromCommandLine: false };
    case 'tracepoint':
      return target === undefined ? role : { kind: 'tracepoint', tracepoint: target };
    case 'uprobe': {
      const r = role.retprobe || retprobe;
      if (target === undefined) return { ...role, retprobe: r };
      // "binary" alone fills in the binary of SEC("uretprobe/func"); else binary:function[+off] or binary:offset.
      if (!target.includes(':') && role.symbol) return { ...role, retprobe: r, binary: target };
      return { kind: 'uprobe', retprobe: r, ...parseUprobeSpec(target, where), ...(role.sleepable ? { sleepable: true } : {}) };
    }
    case 'usdt':
      if (retprobe) throw noReturn(program, role);
      return target === undefined ? role : { ...role, target: parseUsdtSpec(target, where) };
    case 'tracing':
      return target === undefined ? role : { ...role, target };
    case 'raw_tracepoint':
      return target === undefined ? role : { ...role, tracepoint: target };
    case 'perf_event':
      if (retprobe) throw noReturn(program, role);
      return target === undefined ? role : { kind: 'perf_event', event: target };
    case 'load-only':
      if (target !== undefined) throw new UsageError((n) => `${n('targets', `${program.name}=${target}`)}: program '${program.name}' is ${describeRole(role, n)}; it is not attached`);
      return role;
  }
}

/** A failure's message as a wording, so that its options are named the caller's way. */
function describedBy(error: LoaderError): Wording {
  return (n) => error.describe(n);
}

function noReturn(program: ProgramSpec, role: ProgramRole): UsageError {
  return new UsageError((n) => `${n('retprobePrograms', program.name)}: program '${program.name}' is ${describeRole(role, n)}, which has no return to probe`);
}

/**
 * The programs the plan's USDT probes name, each with its USDT role. Without "PROG=", the one chosen program
 * whose section is a bare SEC("usdt"), or the only program chosen. A program of another kind becomes a USDT
 * program if it loads as a kprobe-type program (uprobe and kprobe sections), as in libbpf.
 */
export function usdtRoles(programs: readonly ProgramSpec[], probes: NonNullable<PlanOptions['usdt']>, targets?: ReadonlyMap<string, string>): Array<{ program: ProgramSpec; role: ProgramRole }> {
  const given = new Map<ProgramSpec, Wording>();
  return probes.map(({ program: name, target }) => {
    const where: Wording = (n) => n('usdt', `${name === undefined ? '' : `${name}=`}${target}`);
    let program: ProgramSpec | undefined;
    if (name !== undefined) {
      program = programs.find((p) => p.name === name);
      if (!program) throw new UsageError(joined(where, `: no program '${printable(name)}' is chosen; the programs are ${programs.map((p) => `'${p.name}'`).join(', ')}`));
    } else {
      const open = programs.filter((p) => p.role?.kind === 'usdt' && !p.role.target);
      const candidates = open.length > 0 ? open : programs.length === 1 ? programs : [];
      if (candidates.length !== 1) throw new UsageError((n) => `${say(where, n)}: which program? name it: ${n('usdt', `PROG=${target}`)} (the programs are ${programs.map((p) => `'${p.name}'`).join(', ')})`);
      program = candidates[0]!;
    }
    // One attachment per program: a second probe would replace the first without a word.
    const earlier = given.get(program) ?? (targets?.has(program.name) ? (n: OptionNamer) => n('targets', `${program.name}=${targets.get(program.name)}`) : undefined);
    if (earlier !== undefined) throw new UsageError((n) => `${say(where, n)}: program '${program.name}' already attaches with ${say(earlier, n)}; a program takes one target per run`);
    given.set(program, where);
    const role = requireRole(program);
    // A kprobe.multi program is loaded for its link type, which uprobes refuse.
    const kprobeType = role.kind === 'usdt' || role.kind === 'uprobe' || (role.kind === 'kprobe' && !(!role.fromCommandLine && role.multi));
    if (!kprobeType) {
      throw new UsageError((n) => `${say(where, n)}: program '${program.name}' is ${describeRole(role, n)}; a USDT probe takes a usdt, uprobe or kprobe program`);
    }
    return { program, role: { kind: 'usdt', target: parseUsdtSpec(target, where), ...(role.kind === 'usdt' && role.sleepable ? { sleepable: true } : {}) } };
  });
}

/** Checks one program's target with the kernel. */
function prepare(program: ProgramSpec, role: ProgramRole, options: PlanOptions, spec: BpfObjectSpec): PreparedAttachment | undefined {
  const given: PrepareOptions = { mode: options.mode ?? 'auto', ...(options.pid === undefined ? {} : { pid: options.pid }), ...(options.kernelBtfFile === undefined ? {} : { kernelBtfFile: options.kernelBtfFile }) };
  const missing = missingTarget(role);
  if (missing !== undefined) {
    throw new UsageError((n) => {
      const give = role.kind === 'usdt' ? n('usdt', `${program.name}=BINARY:PROVIDER:NAME`) : n('targets', `${program.name}=TARGET`);
      return `program '${program.name}' (section '${program.section}') needs ${missing}: give it with ${give}, or leave the program out with ${n('exclude', program.name)} (${n('skipMissing')} leaves out every program without a target)`;
    });
  }
  switch (role.kind) {
    case 'kprobe':
      if (role.fromCommandLine) {
        if (options.function === undefined) {
          throw new UsageError(`program '${program.name}' (section '${program.section}') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>`);
        }
        const retprobe = role.retprobe || (options.retprobe ?? false);
        return isFunctionPattern(options.function) ? prepareKprobeMulti(options.function, { ...given, retprobe }) : prepareKprobe(options.function, { ...given, retprobe });
      }
      if (role.multi || isFunctionPattern(role.function)) return prepareKprobeMulti(role.function, { ...given, retprobe: role.retprobe });
      return prepareKprobe(role.function, { ...given, retprobe: role.retprobe, syscall: role.syscall });
    case 'tracepoint':
      return prepareTracepoint(role.tracepoint, given);
    case 'uprobe':
      return prepareUprobe({ binary: role.binary!, ...(role.symbol === undefined ? {} : { symbol: role.symbol }), offset: role.offset, retprobe: role.retprobe }, given);
    case 'usdt':
      return prepareUsdt(role.target!, { ...given, object: spec });
    case 'tracing':
      return prepareTracing(role.target!, { ...given, attach: role.attach });
    case 'raw_tracepoint':
      return prepareRawTracepoint(role.tracepoint!, given);
    case 'perf_event':
      return prepareSampling(role.event, { ...given, program: program.name });
    case 'load-only':
      return undefined;
  }
}

/**
 * Decides and checks every attachment; throws before any kernel object exists if one cannot be
 * made (or, with skipMissing, leaves that program out and says why). Of programs that reach one
 * event by different mechanisms, one mechanism's are attached (alternatives.ts) unless allPrograms.
 */
export function planAttachments(spec: BpfObjectSpec, options: PlanOptions = {}): Plan {
  const programs = choosePrograms(spec, options.programs, options.exclude);
  for (const name of [...(options.targets?.keys() ?? []), ...(options.retprobePrograms ?? [])]) {
    if (!programs.some((p) => p.name === name)) {
      throw new UsageError((n) => `${n('targets')}/${n('retprobePrograms')} name program '${printable(name)}', which is not ${spec.programs.some((p) => p.name === name) ? `chosen with ${n('programs')}` : 'in the object'}`);
    }
  }
  for (const program of programs) requireRole(program, programs.length > 1 ? (n: OptionNamer) => `; choose the others with ${n('programs')}` : '');
  const roles = new Map(programs.map((p) => [p, roleWithOverrides(p, p.role!, options.targets?.get(p.name), options.retprobePrograms?.includes(p.name) ?? false)]));
  for (const { program, role } of usdtRoles(programs, options.usdt ?? [], options.targets)) roles.set(program, role);
  const fromCommandLine = programs.filter((p) => {
    const role = roles.get(p)!;
    return role.kind === 'kprobe' && role.fromCommandLine;
  });
  if (fromCommandLine.length > 0 && options.function === undefined) {
    const p = fromCommandLine[0]!;
    throw new UsageError(`program '${p.name}' (section '${p.section}') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>`);
  }
  if (fromCommandLine.length === 0 && options.function !== undefined) {
    throw new UsageError(
      `the chosen programs name their own targets (${programs.map((p) => `${p.name}: ${describeRole(roles.get(p)!)}`).join('; ')}); leave out the function '${options.function}'`,
    );
  }
  if (fromCommandLine.length === 0 && options.retprobe) {
    throw new UsageError((n) => `${n('retprobe')} applies to programs attached to the function on the command line; this object names its own targets`);
  }
  const attachments: PlannedAttachment[] = [];
  const skipped: Plan['skipped'] = [];
  const outcomes: Array<{ program: ProgramSpec; prepared?: PreparedAttachment | undefined; failure?: LoaderError }> = [];
  for (const program of programs) {
    const role = roles.get(program)!;
    const missing = missingTarget(role);
    if (missing !== undefined && options.skipMissing) {
      // A placeholder whose target a tool's own user space would give: skipped like what the kernel lacks.
      skipped.push({ program: program.name, reason: (n) => `its section names no target (${missing}); give one with ${n('targets', `${program.name}=TARGET`)}` });
      continue;
    }
    try {
      outcomes.push({ program, prepared: concerning({ program: program.name }, () => prepare(program, role, options, spec)) });
    } catch (error) {
      // What this kernel or machine lacks may be an alternative's lack, or skipped; a mistake in the command line is neither.
      if (!(error instanceof LoaderError) || error instanceof UsageError) throw error;
      outcomes.push({ program, failure: error });
    }
  }
  const alternatives = options.allPrograms
    ? []
    : chooseAlternatives(outcomes.map((o) => ({ program: o.program.name, reach: reachOf(roles.get(o.program)!, options.function), ...(o.failure ? { failure: describedBy(o.failure) } : {}) })));
  const leftOut = new Set(alternatives.flatMap((g) => g.leftOut.map((l) => l.program)));
  for (const { program, prepared, failure } of outcomes) {
    if (leftOut.has(program.name)) continue;
    if (failure === undefined) {
      attachments.push({ program, prepared });
      continue;
    }
    if (!options.skipMissing) {
      if (programs.length > 1) failure.append((n) => ` (${n('skipMissing')} attaches the other programs without it)`);
      throw failure;
    }
    skipped.push({ program: program.name, reason: describedBy(failure) });
  }
  if (attachments.length === 0) throw new UsageError((n) => `no program is left to load: ${skipped.map((s) => `${s.program}: ${say(s.reason, n)}`).join('; ')}`);
  const usdt = attachments.flatMap((a) => (a.prepared?.kind === 'usdt' ? [a.prepared] : []));
  if (usdt.length > 0) requireUsdtSpecRoom(spec.maps, usdt);
  return { attachments, skipped, alternatives };
}
