// Alternatives: programs of one object that reach the same kernel event by different mechanisms (fentry and kprobe; tp_btf, raw_tp and tracepoint), of which one mechanism is attached, as the tools' own user space does.
import { say, type Wording } from '../wording.js';
import type { ProgramRole } from '../object/conventions.js';
import { syscallPrefix } from './kernel-functions.js';
import { isFunctionPattern } from './kprobe-multi.js';

/** How a program reaches its event: fentry/fexit through a trampoline, kprobe/kretprobe (also kprobe.multi and ksyscall), or one of the three tracepoint kinds. */
export type Mechanism = 'fentry' | 'kprobe' | 'tp_btf' | 'raw_tp' | 'tracepoint';

/** The order the tools try them in: BTF-based first (cheaper, typed), then their fallbacks. */
const PREFERENCE: readonly Mechanism[] = ['fentry', 'tp_btf', 'kprobe', 'raw_tp', 'tracepoint'];

/** The kernel event a program reaches, for finding alternatives. */
export interface Reach {
  /** The event, for people and as the group's key: "kernel function vfs_read", "tracepoint sched_switch". */
  target: string;
  /** Entry and exit of a function are two slots; a tracepoint has one. */
  side: 'entry' | 'exit';
  /** How the program reaches it. */
  mechanism: Mechanism;
}

/** sys_X, __x64_sys_X (the entry point a ksyscall or an fentry names) and a ksyscall's X are one function. */
function functionKey(name: string, arch: string): string {
  const prefix = syscallPrefix(arch);
  return prefix && name.startsWith(`${prefix}sys_`) ? name.slice(prefix.length) : name;
}

/**
 * The event a program reaches, or undefined for programs that are nobody's alternative: uprobes,
 * patterns and offsets, fmod_ret (it changes the return rather than observing it), writable raw
 * tracepoints, programs without a target. `commandLineFunction` is the function a legacy `prog` takes.
 */
export function reachOf(role: ProgramRole, commandLineFunction?: string, arch: string = process.arch): Reach | undefined {
  switch (role.kind) {
    case 'kprobe': {
      const name = role.fromCommandLine ? commandLineFunction : role.function;
      if (name === undefined || isFunctionPattern(name) || name.includes('+')) return undefined;
      return { target: `kernel function ${functionKey(role.syscall ? `sys_${name}` : name, arch)}`, side: role.retprobe ? 'exit' : 'entry', mechanism: 'kprobe' };
    }
    case 'tracing':
      if (role.target === undefined || role.attach === 'fmod_ret') return undefined;
      if (role.attach === 'tp_btf') return { target: `tracepoint ${role.target}`, side: 'entry', mechanism: 'tp_btf' };
      return { target: `kernel function ${functionKey(role.target, arch)}`, side: role.attach === 'fexit' ? 'exit' : 'entry', mechanism: 'fentry' };
    case 'raw_tracepoint':
      return role.tracepoint === undefined || role.writable ? undefined : { target: `tracepoint ${role.tracepoint}`, side: 'entry', mechanism: 'raw_tp' };
    case 'tracepoint': {
      // A tracepoint's event name is its raw tracepoint's name (sched/sched_switch: sched_switch).
      const name = role.tracepoint.slice(role.tracepoint.indexOf('/') + 1);
      return { target: `tracepoint ${name}`, side: 'entry', mechanism: 'tracepoint' };
    }
    default:
      return undefined;
  }
}

/** A program as the choice sees it: what it reaches, and why this kernel cannot attach it, if it cannot. */
/** A program chooseAlternatives() considers: the event it reaches, and why this kernel refuses it, if it does. */
export interface AlternativeCandidate {
  /** The program's name. */
  program: string;
  /** The event it reaches; undefined for a program that is no alternative to any other. */
  reach: Reach | undefined;
  /** Why it cannot attach here, when it cannot. */
  failure?: Wording;
}

/** One event reached by more than one mechanism, and the mechanism chosen for it. */
export interface AlternativeGroup {
  /** The event, as Reach names it. */
  target: string;
  /** The mechanism chosen. */
  mechanism: Mechanism;
  /** The programs of the chosen mechanism, which attach. */
  chosen: string[];
  /** The other mechanisms' programs; `refused`: why this kernel cannot attach that mechanism here, if it cannot. */
  leftOut: Array<{ program: string; mechanism: Mechanism; reason: Wording; refused?: Wording }>;
}

/**
 * For each event reached by more than one mechanism, the one mechanism to attach: of those whose
 * every program this kernel takes, the one covering most of the event's slots (entry and exit stay
 * one mechanism: never an fentry entry with a kretprobe exit), then the first in PREFERENCE. An
 * event no mechanism fully reaches is no group: its programs' failures stand as they are.
 */
export function chooseAlternatives(candidates: readonly AlternativeCandidate[]): AlternativeGroup[] {
  const byTarget = new Map<string, AlternativeCandidate[]>();
  for (const c of candidates) if (c.reach) byTarget.set(c.reach.target, [...(byTarget.get(c.reach.target) ?? []), c]);
  const groups: AlternativeGroup[] = [];
  for (const [target, members] of byTarget) {
    const of = (m: Mechanism) => members.filter((c) => c.reach!.mechanism === m);
    const mechanisms = PREFERENCE.filter((m) => of(m).length > 0);
    if (mechanisms.length < 2) continue;
    const refusal = (m: Mechanism) => of(m).find((c) => c.failure !== undefined)?.failure;
    const slots = (m: Mechanism) => new Set(of(m).map((c) => c.reach!.side)).size;
    // A stable sort keeps PREFERENCE among mechanisms covering as many slots.
    const mechanism = mechanisms.filter((m) => refusal(m) === undefined).sort((a, b) => slots(b) - slots(a))[0];
    if (mechanism === undefined) continue;
    const chosen = of(mechanism).map((c) => c.program);
    const leftOut = members
      .filter((c) => c.reach!.mechanism !== mechanism)
      .map((c) => {
        const refused = refusal(c.reach!.mechanism);
        return {
          program: c.program,
          mechanism: c.reach!.mechanism,
          reason: refused ?? `an alternative to ${chosen.join(', ')} (${mechanism}) on ${target}, which would count each event again`,
          ...(refused === undefined ? {} : { refused }),
        };
      });
    groups.push({ target, mechanism, chosen, leftOut });
  }
  return groups;
}

/** One line for people: which mechanism attaches for the event, and what was left out and why. */
export function describeAlternatives(group: AlternativeGroup): Wording {
  return (n) => {
    const mechanisms = PREFERENCE.filter((m) => group.leftOut.some((l) => l.mechanism === m));
    const named = (m: Mechanism) => `${m} (${group.leftOut.filter((l) => l.mechanism === m).map((l) => l.program).join(', ')})`;
    const refusal = (m: Mechanism) => group.leftOut.find((l) => l.mechanism === m)!.refused;
    const parts = [`${group.target}: attaching ${group.mechanism} (${group.chosen.join(', ')})`];
    for (const m of mechanisms.filter((x) => refusal(x) !== undefined)) parts.push(`left out ${named(m)}, which this kernel refuses here: ${say(refusal(m)!, n)}`);
    const spare = mechanisms.filter((m) => refusal(m) === undefined);
    if (spare.length > 0) parts.push(`left out ${spare.map(named).join(' and ')}, which would count each event again (${n('allPrograms')} attaches every one)`);
    return parts.join('; ');
  };
}
