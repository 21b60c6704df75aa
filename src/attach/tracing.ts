// BTF-based attachment: fentry, fexit and fmod_ret on kernel functions and tp_btf on tracepoints (by kernel BTF id), and raw tracepoints.
import type { Wording } from '../wording.js';
import { ATTACH_TYPE, ERRNO, PROG_TYPE } from '../abi.js';
import { BTF_KIND } from '../btf/btf.js';
import { AttachError, KernelError, SyscallError, VerifierError, kernelError } from '../errors.js';
import { linkCreateTracing, rawTracepointOpen } from '../kernel/bpf.js';
import { KernelBtf, moduleBtfFd } from '../kernel/kernel-btf.js';
import type { PrepareOptions } from './prepared.js';
import { BpfLink } from '../kernel/link.js';
import { loadProgram, type BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { TracingAttach } from '../object/sections.js';
import { closestNames, printable } from '../text.js';
import type { Attachment } from './attachment.js';

/** A fentry/fexit/fmod_ret/tp_btf target found in kernel BTF: what the program is loaded for. */
export interface PreparedTracing {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'tracing';
  /** fentry, fexit, fmod_ret or tp_btf. */
  attach: TracingAttach;
  /** The kernel function or tracepoint. */
  target: string;
  /** The kernel BTF id of the function (FUNC) or of the tracepoint's btf_trace_<name> typedef. */
  btfId: number;
  /** The module whose BTF holds it; undefined for vmlinux. */
  module?: string;
  /** The BPF_TRACE_* attach type the program is loaded with. */
  expectedAttachType: number;
  /** Why this target, for --verbose. */
  reason: Wording;
  /** Things worth telling the user. */
  notes: Wording[];
}

/** A raw tracepoint (BPF_RAW_TRACEPOINT_OPEN by name), checked before loading. */
export interface PreparedRawTracepoint {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'raw_tracepoint';
  /** The tracepoint's name ("sys_enter"). */
  tracepoint: string;
  /** Why this method, for --verbose. */
  reason: Wording;
  /** Things worth telling the user. */
  notes: Wording[];
}

const EXPECTED_ATTACH_TYPE: Record<TracingAttach, number> = {
  fentry: ATTACH_TYPE.TRACE_FENTRY,
  fexit: ATTACH_TYPE.TRACE_FEXIT,
  fmod_ret: ATTACH_TYPE.MODIFY_RETURN,
  tp_btf: ATTACH_TYPE.TRACE_RAW_TP,
};

/** The closest names of vmlinux types of a kind (module BTF would have to be read whole for this). */
function suggestions(kernel: KernelBtf, name: string, kind: number, prefix = ''): string {
  const btf = kernel.vmlinux();
  const names: string[] = [];
  for (const [typeName] of btf.namedTypeIds()) if (typeName.startsWith(prefix)) names.push(typeName.slice(prefix.length));
  // Names first, from the index; then the kind, decoding only the few closest types.
  const close = closestNames(name, names, 50)
    .filter((n) => btf.typesNamed(`${prefix}${n}`).some((t) => t.kind === kind))
    .slice(0, 5);
  return close.length > 0 ? `; closest: ${close.join(', ')}` : '';
}

/** What prepareTracing() takes besides its target. */
export interface TracingOptions extends PrepareOptions {
  /** The program's kind: fentry, fexit, fmod_ret or tp_btf. */
  attach: TracingAttach;
}

/** Finds the target in kernel BTF (vmlinux, then modules), before anything is loaded. */
export function prepareTracing(target: string, options: TracingOptions): PreparedTracing {
  const { attach } = options;
  const kernel = KernelBtf.of(options.kernelBtfFile);
  const shown = printable(target);
  if (attach === 'tp_btf') {
    const found = kernel.findType(`btf_trace_${target}`, BTF_KIND.TYPEDEF);
    if (!found) throw new AttachError(`tracepoint '${shown}' is not in the kernel's BTF (no btf_trace_${shown})${suggestions(kernel, target, BTF_KIND.TYPEDEF, 'btf_trace_')}`);
    return { kind: 'tracing', attach, target, btfId: found.id, ...(found.module ? { module: found.module } : {}), expectedAttachType: EXPECTED_ATTACH_TYPE[attach], reason: `tp_btf: the tracepoint's BTF type ${found.id}${found.module ? ` in module ${found.module}` : ''}`, notes: [] };
  }
  // "MODULE:FUNCTION": that module's function only.
  const colon = target.indexOf(':');
  const module = colon > 0 ? target.slice(0, colon).replace(/-/g, '_') : undefined;
  const name = colon > 0 ? target.slice(colon + 1) : target;
  if (module !== undefined && !kernel.hasModule(module)) throw new AttachError(`kernel module '${printable(module)}' is not loaded, or has no BTF (/sys/kernel/btf/${printable(module)}), so ${attach} cannot attach to its functions`);
  const found = kernel.findFunction(name, module);
  if (!found) throw new AttachError(`kernel function '${shown}' is not in the kernel's BTF, so ${attach} cannot attach to it${module === undefined ? suggestions(kernel, target, BTF_KIND.FUNC) : ''}`);
  const prepared: PreparedTracing = {
    kind: 'tracing',
    attach,
    target: name,
    btfId: found.id,
    ...(found.module ? { module: found.module } : {}),
    expectedAttachType: EXPECTED_ATTACH_TYPE[attach],
    reason: `${attach}: BTF function ${found.id}${found.module ? ` in module ${found.module}` : ''}, through a BPF trampoline`,
    notes: [],
  };
  checkTrampolineLoads(prepared);
  return prepared;
}

/** r0 = 0; exit: the same bytes in either byte order. */
export const RETURN_ZERO = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

/**
 * Loads (and closes) an empty program of the kind for the target: some kernels refuse trampoline
 * programs outright (no BPF trampolines, or a policy), which is then a missing feature, found before
 * anything of the object is loaded, rather than a failure in the middle of the load.
 */
function checkTrampolineLoads(prepared: PreparedTracing): void {
  const moduleFd = prepared.module ? moduleBtfFd(prepared.module) : undefined;
  try {
    loadProgram({
      type: PROG_TYPE.TRACING,
      instructions: RETURN_ZERO,
      license: 'GPL',
      kernelVersion: 0,
      name: 'lkb_probe',
      expectedAttachType: prepared.expectedAttachType,
      attachBtfId: prepared.btfId,
      attachBtfObjFd: moduleFd?.value ?? 0,
    }).close();
  } catch (error) {
    if (!(error instanceof KernelError)) throw error;
    const why = error instanceof VerifierError ? error.message.slice(error.message.indexOf('the verifier')) : `the kernel refuses even an empty one (${error.code ?? error.message})`;
    throw new AttachError(`this kernel does not load ${prepared.attach} programs for '${printable(prepared.target)}': ${why}`, error.errno, { cause: error });
  } finally {
    moduleFd?.close();
  }
}

/** A raw tracepoint: checked against the kernel's BTF (btf_trace_<name>) where there is one. */
export function prepareRawTracepoint(tracepoint: string, options: PrepareOptions = {}): PreparedRawTracepoint {
  const kernel = KernelBtf.of(options.kernelBtfFile);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tracepoint)) throw new AttachError(`raw tracepoint ${JSON.stringify(printable(tracepoint))} is not a tracepoint name (e.g. sched_switch)`);
  let known: boolean | undefined;
  try {
    known = kernel.findType(`btf_trace_${tracepoint}`, BTF_KIND.TYPEDEF) !== undefined;
  } catch {
    known = undefined; // no kernel BTF: the kernel says when attaching
  }
  if (known === false) throw new AttachError(`raw tracepoint '${tracepoint}' does not exist in this kernel${suggestions(kernel, tracepoint, BTF_KIND.TYPEDEF, 'btf_trace_')}`);
  return { kind: 'raw_tracepoint', tracepoint, reason: 'a raw tracepoint (BPF_RAW_TRACEPOINT_OPEN)', notes: [] };
}

/** Attaches a tracing program loaded for its target: a BPF link, or the raw tracepoint open of kernels before links. */
export function attachTracing(scope: ResourceScope, prepared: PreparedTracing, program: BpfProgram): Attachment {
  const what = `the ${prepared.attach} on ${prepared.target}`;
  let fd: number;
  try {
    fd = linkCreateTracing(program.fd.value, prepared.expectedAttachType);
  } catch (error) {
    if (!(error instanceof SyscallError) || error.errno !== ERRNO.EINVAL) throw kernelError(`attaching ${what}`, error, tracingHint(error));
    try {
      fd = rawTracepointOpen(program.fd.value, undefined);
    } catch (second) {
      throw kernelError(`attaching ${what}`, second, tracingHint(second));
    }
  }
  scope.own(new BpfLink(fd, what));
  return { kind: prepared.attach, program: program.name, target: prepared.target, resolved: prepared.module ? `${prepared.module}:${prepared.target}` : prepared.target, source: 'btf', binding: 'link' };
}

export function attachRawTracepoint(scope: ResourceScope, prepared: PreparedRawTracepoint, program: BpfProgram): Attachment {
  const what = `raw tracepoint ${prepared.tracepoint}`;
  let fd: number;
  try {
    fd = rawTracepointOpen(program.fd.value, prepared.tracepoint);
  } catch (error) {
    throw kernelError(`attaching the ${what}`, error, error instanceof SyscallError && error.errno === ERRNO.ENOENT ? '; no such tracepoint in this kernel' : '');
  }
  scope.own(new BpfLink(fd, what));
  return { kind: 'raw_tracepoint', program: program.name, target: prepared.tracepoint, resolved: prepared.tracepoint, source: 'btf', binding: 'link' };
}

function tracingHint(error: unknown): string {
  if (error instanceof SyscallError && (error.errno === ERRNO.ENOTSUP || error.errno === 524 /* ENOTSUPP */)) {
    return '; this kernel cannot attach BPF trampolines here (it needs CONFIG_FUNCTION_TRACER and BPF trampoline support on this architecture)';
  }
  return '';
}
