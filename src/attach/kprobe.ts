// Kprobes and kretprobes: checking the kernel can probe the function, before any kernel object exists.
import type { Wording } from '../wording.js';
import { AttachError, UsageError } from '../errors.js';
import { KernelFunctions, resolveKernelFunction, resolveModuleFunction, validateKernelTarget } from './kernel-functions.js';
import { prepareKprobeMulti, type PreparedKprobeMulti } from './kprobe-multi.js';
import { chooseAttachMethod, probeSupport, type PreparedProbe } from './probe.js';
import type { PrepareOptions } from './prepared.js';

/** Splits "function" or "function+offset" (decimal or 0x hex), as kprobe_events and libbpf write it. */
export function parseKprobeTarget(text: string): { name: string; offset: bigint } {
  const plus = text.lastIndexOf('+');
  if (plus < 0) return { name: text, offset: 0n };
  const offsetText = text.slice(plus + 1);
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(offsetText)) {
    throw new UsageError(`kprobe target ${JSON.stringify(text)}: the offset after '+' must be a number (decimal or 0x hex)`);
  }
  return { name: text.slice(0, plus), offset: BigInt(offsetText) };
}

/** What prepareKprobe() takes besides its target. */
export interface KprobeOptions extends PrepareOptions {
  /** A return probe (kretprobe). */
  retprobe?: boolean;
  /** The name is a system call ("bpf" for libbpf's ksyscall/bpf): probe its entry point. */
  syscall?: boolean;
}

/**
 * Everything that can be checked before a kernel object exists: the name, kprobe support, the
 * attach method, the function's existence and blacklist status. Nothing in the kernel changes.
 */
export function prepareKprobe(requested: string, options: KprobeOptions = {}): PreparedProbe | PreparedKprobeMulti {
  const target = parseKprobeTarget(requested);
  const name = options.syscall ? `sys_${target.name}` : target.name;
  validateKernelTarget(name);
  const support = probeSupport('kprobe');
  const method = chooseAttachMethod(options.mode ?? 'auto', support);
  const retprobe = options.retprobe ?? false;
  const functions = new KernelFunctions(support.tracefs);
  const colon = name.indexOf(':');
  const resolved = colon > 0 ? resolveModuleFunction(name.slice(0, colon), name.slice(colon + 1), functions, retprobe) : resolveKernelFunction(name, functions, process.arch, retprobe);
  const notes: Wording[] = resolved.note ? [resolved.note] : [];
  if (retprobe && target.offset !== 0n) throw new UsageError(`kretprobe target ${JSON.stringify(requested)}: a return probe takes no offset`);
  if (resolved.clones) {
    // Several copies: one program on each, as a pattern attaches (a kprobe.multi link, or a PMU event each).
    if (target.offset !== 0n) throw new AttachError(`kprobe target ${JSON.stringify(requested)}: '${name}' is ${resolved.clones.length} compiler copies in this kernel; an offset fits only one of them (${resolved.clones.join(', ')})`);
    const multi = prepareKprobeMulti(name, { retprobe, mode: options.mode ?? 'auto', functions: resolved.clones });
    return { ...multi, notes: [...notes, ...multi.notes] };
  }
  return {
    kind: 'probe',
    location: {
      family: 'kprobe',
      retprobe,
      target: resolved.name,
      offset: target.offset,
      requested,
      resolved: target.offset === 0n ? resolved.name : `${resolved.name}+0x${target.offset.toString(16)}`,
    },
    support,
    method,
    notes,
  };
}
