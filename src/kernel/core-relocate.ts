// CO-RE at load: a program's relocations resolved against the running kernel's BTF (vmlinux, else its modules), then patched or poisoned.
import type { Btf } from '../btf/btf.js';
import { CORE_POISON_HELPER, CoreTarget, applyCoreRelocation, resolveCoreRelocation, type CoreResolution } from '../btf/core.js';
import { VerifierError } from '../errors.js';
import { printable } from '../text.js';
import { Instructions } from '../insn/instructions.js';
import type { CoreReference } from '../object/spec.js';
import type { KernelBtf } from './kernel-btf.js';

/** An instruction made a call to the poison helper: what it needed is not in this kernel. */
export interface PoisonedInstruction {
  instruction: number;
  /** "struct task_struct.no_such_field not found in the BTF of kernel 6.1.0-56-amd64". */
  reason: string;
}

const targets = new WeakMap<Btf, CoreTarget>();

function targetFor(btf: Btf, name: string): CoreTarget {
  let target = targets.get(btf);
  if (!target) targets.set(btf, (target = new CoreTarget(btf, name)));
  return target;
}

/**
 * The resolution on vmlinux; when vmlinux has no type of that name at all, on the first module
 * that has one (as libbpf looks in modules only for types vmlinux lacks).
 */
function resolveOnKernel(kernel: KernelBtf, local: Btf, reference: CoreReference): CoreResolution {
  const vmlinux = targetFor(kernel.vmlinux(), kernel.name);
  const onVmlinux = resolveCoreRelocation(local, reference.relocation, vmlinux);
  if (!onVmlinux.missing || vmlinux.candidates(local, reference.relocation.typeId).length > 0) return onVmlinux;
  for (const { module, btf } of kernel.moduleBtfs()) {
    const target = targetFor(btf, `the BTF of module ${module}`);
    if (target.candidates(local, reference.relocation.typeId).some((id) => id > vmlinux.btf.count)) return resolveCoreRelocation(local, reference.relocation, target);
  }
  return onVmlinux;
}

/** Patches a program's CO-RE relocations in place for the kernel whose BTF this is; returns the instructions it poisoned. */
export function relocateForKernel(kernel: KernelBtf, instructions: Uint8Array, littleEndian: boolean, local: Btf, references: readonly CoreReference[]): PoisonedInstruction[] {
  const insns = new Instructions(instructions, littleEndian);
  const poisoned: PoisonedInstruction[] = [];
  for (const reference of references) {
    const patch = applyCoreRelocation(insns, reference.instruction, resolveOnKernel(kernel, local, reference));
    if (patch.poisoned) poisoned.push({ instruction: reference.instruction, reason: patch.reason });
  }
  return poisoned;
}

/** The decimal the verifier prints for the poison helper: "call unknown#195896080". */
const POISON_CALL = new RegExp(`^(\\d+): \\(85\\) call unknown#${CORE_POISON_HELPER}$`, 'm');

/**
 * Runs a program load; when the verifier refuses it for reaching a poisoned instruction, the
 * error says in C terms what the relocation needed instead of naming an unknown helper.
 */
export function explainPoisoned<T>(program: string, poisoned: readonly PoisonedInstruction[], load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof VerifierError) || poisoned.length === 0) throw error;
    const at = POISON_CALL.exec(error.log);
    if (!at) throw error;
    const index = Number(at[1]);
    // A poisoned 64-bit load is two calls: the verifier reaches the first.
    const found = poisoned.find((p) => p.instruction === index || p.instruction === index - 1);
    if (!found) throw error;
    throw new VerifierError(
      `loading program '${printable(program)}': a CO-RE relocation failed on a path the verifier reached (instruction ${index}): ${found.reason}`,
      error.errno ?? 0,
      error.log,
      { cause: error },
    );
  }
}
