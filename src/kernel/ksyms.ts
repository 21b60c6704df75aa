// __ksym externs and kfunc calls resolved against the running kernel: addresses from kallsyms, BTF ids from kernel BTF.
import { readFileSync } from 'node:fs';
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL } from '../abi.js';
import { BTF_KIND } from '../btf/btf.js';
import { KernelError } from '../errors.js';
import { Instructions } from '../insn/instructions.js';
import type { ExternReference, ExternSpec } from '../object/spec.js';
import { printable } from '../text.js';
import type { KernelBtf } from './kernel-btf.js';

let kallsyms: Map<string, bigint> | undefined;

/** Kernel symbol addresses from /proc/kallsyms (read once). */
export function kernelSymbols(text?: string): Map<string, bigint> {
  if (text === undefined && kallsyms) return kallsyms;
  const symbols = new Map<string, bigint>();
  for (const line of (text ?? readFileSync('/proc/kallsyms', 'utf8')).split('\n')) {
    const [address, , name] = line.split(/\s+/);
    if (address && name && !symbols.has(name)) symbols.set(name, BigInt(`0x${address}`));
  }
  if (text === undefined) kallsyms = symbols;
  return symbols;
}

/** The call libbpf leaves for a missing weak kfunc: an unknown helper, refused by the verifier only if reached. */
const POISON_KFUNC_CALL = 2002000000;

/** Patches a program's __ksym loads and kfunc calls in place; refuses a missing extern that is not weak. */
export function resolveKernelExterns(kernel: KernelBtf, instructions: Uint8Array, littleEndian: boolean, references: readonly ExternReference[], externs: readonly ExternSpec[]): void {
  const insns = new Instructions(instructions, littleEndian);
  for (const ref of references) {
    const extern = externs.find((e) => e.name === ref.name);
    if (!extern) throw new KernelError(`extern '${printable(ref.name)}' is not described by the object`);
    const missing = (what: string): never => {
      throw new KernelError(`${what} '${printable(ref.name)}' is not in this kernel (mark it __weak if the program copes without it)`);
    };
    if (extern.kind === 'kfunc') {
      const found = kernel.findType(ref.name, BTF_KIND.FUNC);
      if (found?.module) throw new KernelError(`kfunc '${printable(ref.name)}' is in module ${found.module}; kfuncs of modules are not supported yet`);
      if (!found && !extern.weak) missing('kfunc');
      if (!ref.call) {
        // Its address loaded (bpf_ksym_exists()): the FUNC's BTF id, or 0 for a missing weak one.
        insns.setSrcReg(ref.instruction, found ? BPF_PSEUDO_BTF_ID : 0);
        insns.setImm(ref.instruction, found?.id ?? 0);
        insns.setImm(ref.instruction + 1, 0);
        continue;
      }
      if (!found) {
        insns.setSrcReg(ref.instruction, 0);
        insns.setImm(ref.instruction, POISON_KFUNC_CALL);
        continue;
      }
      insns.setSrcReg(ref.instruction, BPF_PSEUDO_KFUNC_CALL);
      insns.setImm(ref.instruction, found.id);
      insns.setOffset(ref.instruction, 0);
      continue;
    }
    if (extern.kind !== 'ksym') continue;
    if (extern.typeId !== 0) {
      // A typed ksym: the kernel's BTF VAR of that name, which the verifier then types.
      const found = kernel.findType(ref.name, BTF_KIND.VAR);
      if (found?.module) throw new KernelError(`__ksym '${printable(ref.name)}' is in module ${found.module}; typed ksyms of modules are not supported yet`);
      if (!found) {
        if (!extern.weak) missing('__ksym');
        insns.setSrcReg(ref.instruction, 0);
        insns.setImm(ref.instruction, 0);
        insns.setImm(ref.instruction + 1, 0);
        continue;
      }
      insns.setSrcReg(ref.instruction, BPF_PSEUDO_BTF_ID);
      insns.setImm(ref.instruction, found.id);
      insns.setImm(ref.instruction + 1, 0);
      continue;
    }
    // A typeless ksym: its address.
    const address = kernelSymbols().get(ref.name);
    if (address === undefined && !extern.weak) missing('__ksym');
    if (address === 0n) throw new KernelError(`/proc/kallsyms shows __ksym '${printable(ref.name)}' at address 0: kernel.kptr_restrict hides kernel addresses from this process`);
    insns.setSrcReg(ref.instruction, 0);
    insns.setImm(ref.instruction, Number(BigInt.asIntN(32, address ?? 0n)));
    insns.setImm(ref.instruction + 1, Number(BigInt.asIntN(32, (address ?? 0n) >> 32n)));
  }
}
