// Kprobes on every kernel function a glob matches: one kprobe.multi link (5.18+) or one PMU event per function, function i given BPF cookie i.
import type { Wording } from '../wording.js';
import { ATTACH_TYPE, ERRNO, PROG_TYPE } from '../abi.js';
import { AttachError, UsageError, nodeErrno } from '../errors.js';
import { linkCreateKprobeMulti } from '../kernel/bpf.js';
import { BpfLink } from '../kernel/link.js';
import { loadProgram, type BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closeFd } from '../native.js';
import { closestNames, globRegExp, printable } from '../text.js';
import type { Attachment } from './attachment.js';
import { KernelFunctions } from './kernel-functions.js';
import { openAndAttachPerfEvent } from './perf-event.js';
import { pmuProbeRequest, type ProbePmu } from './pmu.js';
import { chooseAttachMethod, probeSupport } from './probe.js';
import type { PrepareOptions } from './prepared.js';
import { RETURN_ZERO } from './tracing.js';

/** A kprobe on many kernel functions at once (a glob, or a kprobe.multi section), checked before loading. */
export interface PreparedKprobeMulti {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'kprobe_multi';
  /** What was asked for: "vfs_*", or one function of a kprobe.multi section. */
  pattern: string;
  /** At return rather than at entry. */
  retprobe: boolean;
  /** The functions matched, sorted; function i gets cookie i. */
  functions: string[];
  /** 'link': one kprobe.multi link (the program loads with expected attach type BPF_TRACE_KPROBE_MULTI); 'pmu': a perf event each. */
  method: 'link' | 'pmu';
  /** @internal The kprobe PMU, for 'pmu'. */
  pmu?: ProbePmu;
  /** Why this method, for --verbose. */
  reason: Wording;
  /** Things worth telling the user. */
  notes: Wording[];
}

/** Whether a kprobe target is a glob ("vfs_*", "tcp_?etsockopt"). */
export function isFunctionPattern(text: string): boolean {
  return /[*?]/.test(text);
}

let multiLinks: boolean | undefined;

/**
 * Whether this kernel has kprobe.multi links, as libbpf finds out: a link to a function that does
 * not exist fails with ESRCH where they exist (EINVAL or EOPNOTSUPP before 5.18, or without fprobe).
 */
export function kernelHasKprobeMulti(): boolean {
  if (multiLinks !== undefined) return multiLinks;
  let program: BpfProgram | undefined;
  try {
    program = loadProgram({ type: PROG_TYPE.KPROBE, instructions: RETURN_ZERO, license: 'GPL', kernelVersion: 0, name: 'lkb_probe', expectedAttachType: ATTACH_TYPE.TRACE_KPROBE_MULTI, flags: 0 });
    closeFd(linkCreateKprobeMulti(program.fd.value, ['__load_kp_bpf_no_such_function__'], [], false));
    multiLinks = true;
  } catch (error) {
    multiLinks = nodeErrno(error) === ERRNO.ESRCH;
  } finally {
    program?.close();
  }
  return multiLinks;
}

/**
 * The functions a glob matches that kprobes can take: in available_filter_functions (vmlinux, not
 * modules), not in the kprobe blacklist, and named once (a name several static functions share
 * cannot be told apart by name).
 */
export function matchKernelFunctions(pattern: string, functions: KernelFunctions): { matched: string[]; ambiguous: number; blacklisted: number } {
  if (!/^[A-Za-z0-9_.*?]+$/.test(pattern)) {
    throw new UsageError(`kernel function pattern ${JSON.stringify(printable(pattern))} may hold only [A-Za-z0-9_.] and the wildcards * and ?`);
  }
  const regex = globRegExp(pattern);
  const counts = new Map<string, number>();
  for (const name of functions.vmlinuxFilterFunctions()) {
    if (regex.test(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  let ambiguous = 0;
  let blacklisted = 0;
  const matched: string[] = [];
  for (const [name, count] of counts) {
    if (count > 1) ambiguous++;
    else if (functions.isBlacklisted(name)) blacklisted++;
    else matched.push(name);
  }
  return { matched: matched.sort(), ambiguous, blacklisted };
}

/** What prepareKprobeMulti() takes besides its pattern. */
export interface KprobeMultiOptions extends PrepareOptions {
  /** Return probes (kretprobe.multi). */
  retprobe?: boolean;
  /** The functions already chosen (a function's compiler clones), instead of matching the pattern. */
  functions?: readonly string[];
}

/** Checks a glob (or a kprobe.multi section's function) against the kernel and chooses how to attach. */
export function prepareKprobeMulti(pattern: string, options: KprobeMultiOptions = {}): PreparedKprobeMulti {
  const support = probeSupport('kprobe');
  const functions = new KernelFunctions(support.tracefs);
  // `functions`: the ones already chosen (a function's compiler clones), not matched again.
  const { matched, ambiguous, blacklisted } = options.functions ? { matched: [...options.functions], ambiguous: 0, blacklisted: 0 } : matchKernelFunctions(pattern, functions);
  if (matched.length === 0) {
    const stem = pattern.replace(/[*?].*$/, '');
    const closest = stem === '' ? [] : closestNames(stem, functions.names(), 5);
    const left = [ambiguous > 0 ? `${ambiguous} with a name several functions share` : '', blacklisted > 0 ? `${blacklisted} in the kprobe blacklist` : ''].filter(Boolean);
    throw new AttachError(
      `no kernel function that can be probed matches '${printable(pattern)}'${left.length > 0 ? ` (left out: ${left.join(', ')})` : ''}${closest.length > 0 ? `; closest: ${closest.join(', ')}` : ''}`,
    );
  }
  const notes: Wording[] = [];
  if (ambiguous > 0) notes.push(`'${pattern}': left out ${ambiguous} function(s) whose name several functions share`);
  if (blacklisted > 0) notes.push(`'${pattern}': left out ${blacklisted} function(s) in the kprobe blacklist`);
  const mode = options.mode ?? 'auto';
  if (mode === 'tracefs') throw new UsageError((n) => `${n('mode', 'tracefs')}: '${printable(pattern)}' attaches through a kprobe.multi link or the kprobe PMU, not tracefs events`);
  const retprobe = options.retprobe ?? false;
  const common = { kind: 'kprobe_multi' as const, pattern, retprobe, functions: matched };
  if (mode === 'auto' || mode === 'link') {
    if (kernelHasKprobeMulti()) {
      return { ...common, method: 'link', reason: `one kprobe.multi link for ${matched.length} function(s)`, notes };
    }
    if (mode === 'link') throw new AttachError((n) => `${n('mode', 'link')}: this kernel has no kprobe.multi links (they need 5.18 and CONFIG_FPROBE) for '${printable(pattern)}'; use ${n('mode', 'pmu')}`);
  }
  const pmu = chooseAttachMethod('pmu', support).pmu!;
  return { ...common, method: 'pmu', pmu, reason: `${matched.length} kprobe PMU event(s), one per function, each with its cookie on a BPF link`, notes };
}

/** The attachment; its `functions` list is the cookie table: function i gets cookie i. */
export function attachKprobeMulti(scope: ResourceScope, prepared: PreparedKprobeMulti, program: BpfProgram): Attachment {
  const kind = prepared.retprobe ? 'kretprobe' : 'kprobe';
  const what = `${kind} on ${prepared.functions.length} function(s) matching '${prepared.pattern}'`;
  const count = prepared.functions.length;
  const base = { kind, program: program.name, target: prepared.pattern, resolved: `${count} function${count === 1 ? '' : 's'}`, functions: prepared.functions } as const;
  if (prepared.method === 'link') {
    scope.own(BpfLink.forKprobeMulti(program.fd.value, prepared.functions, prepared.retprobe, `the ${what}`));
    return { ...base, source: 'multi', binding: 'link' };
  }
  const pmu = prepared.pmu!;
  prepared.functions.forEach((name, cookie) => {
    const request = pmuProbeRequest(pmu, name, 0n, prepared.retprobe);
    // Cookies need the link binding (5.15+): without them the functions could not be told apart.
    openAndAttachPerfEvent(scope, { request, program, binding: 'link', what: `${kind} on ${name}`, cookie: BigInt(cookie) });
  });
  return { ...base, source: 'pmu', binding: 'link' };
}
