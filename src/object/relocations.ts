// Relocations of code sections: which instructions name maps, global data or other functions; patching them.
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/reader.js';
import { SHN_UNDEF, SHT_SYMTAB, STT_SECTION } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, INSN_SIZE, Instructions, OP_CALL, OP_LD_IMM64 } from '../insn/instructions.js';
import type { MapReference } from './spec.js';

export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_32 = 10;

/** What a 64-bit immediate load refers to: a map itself, or an address inside a data map's value. */
export type DataTarget = { kind: 'map'; map: string } | { kind: 'value'; map: string; offset: number };

/** What one relocated (or pc-relative) instruction refers to. */
export type RelocationTarget =
  | DataTarget
  | { kind: 'call'; section: number; instruction: number }
  /** An extern the object does not define (__kconfig, __ksym): loaded data (ld_imm64) or a kfunc call. */
  | { kind: 'extern'; name: string; call: boolean };

/** Finds the map or data a symbol plus offset names, or undefined when it names neither. */
export type DataResolver = (symbol: ElfSymbol, offset: bigint) => DataTarget | undefined;

/**
 * The targets of a code section's instructions, by instruction index: from the REL sections tied
 * to it by sh_info (never by name or type alone), plus calls to functions of the same section,
 * which need no relocation. Anything else is an error naming the instruction.
 */
export function sectionRelocations(elf: ElfFile, section: ElfSection, resolve: DataResolver): Map<number, RelocationTarget> {
  const insns = new Instructions(elf.sectionData(section), elf.littleEndian);
  const targets = new Map<number, RelocationTarget>();
  const at = (index: number): string => `instruction ${index} of section '${printable(section.name)}'`;
  for (const relSection of elf.relocationSectionsFor(section)) {
    const where = `relocation in section '${printable(relSection.name)}'`;
    // Symbol indexes below are into .symtab: a table linked to another symbol table cannot be used.
    if (elf.sections[relSection.link]?.type !== SHT_SYMTAB) {
      throw new ObjectError(`${where}: its symbols are in section ${relSection.link}, which is not the object's symbol table (.symtab)`);
    }
    for (const rel of elf.relocations(relSection)) {
      if (rel.type === R_BPF_NONE) continue;
      // The instructions actually in the file bound the offset (a section without contents has none).
      if (rel.offset % BigInt(INSN_SIZE) !== 0n || rel.offset >= BigInt(insns.count * INSN_SIZE)) {
        throw new ObjectError(
          `${where} at offset ${rel.offset} is not on an instruction of section '${printable(section.name)}' (${insns.count * INSN_SIZE} bytes of instructions)`,
        );
      }
      const index = Number(rel.offset) / INSN_SIZE;
      const symbol = elf.symbols[rel.symbolIndex];
      if (!symbol) throw new ObjectError(`${where}: instruction ${index} refers to symbol ${rel.symbolIndex}, which does not exist`);
      const symbolName = symbol.type === STT_SECTION ? `section ${symbol.sectionIndex}` : `'${printable(symbol.name)}'`;
      if (targets.has(index)) throw new ObjectError(`${at(index)} has more than one relocation`);
      if (symbol.sectionIndex === SHN_UNDEF) {
        targets.set(index, externTarget(insns, index, rel.type, symbol, symbolName, at(index)));
        continue;
      }
      if (rel.type === R_BPF_64_32) {
        targets.set(index, callTarget(elf, insns, index, symbol, symbolName, at(index)));
        continue;
      }
      if (rel.type !== R_BPF_64_64) {
        throw new ObjectError(`${where}: ${at(index)} has relocation type ${rel.type}; only R_BPF_64_64 (maps, data) and R_BPF_64_32 (calls) are supported in code`);
      }
      if (insns.opcode(index) === OP_LD_IMM64 && index + 1 >= insns.count) {
        throw new ObjectError(`${at(index)} refers to ${symbolName} but is a 64-bit immediate load cut short by the end of the section`);
      }
      if (insns.opcode(index) !== OP_LD_IMM64) {
        throw new ObjectError(
          `${at(index)} refers to ${symbolName} but is not a 64-bit immediate load (opcode 0x${insns.opcode(index).toString(16).padStart(2, '0')}, expected 0x18)`,
        );
      }
      // The instruction's own immediate is the addend: for a section symbol, the offset in it.
      const target = resolve(symbol, symbol.value + BigInt(insns.imm(index)));
      if (target === undefined) throw new ObjectError(`${at(index)} refers to ${symbolName}, which is not a map or global data`);
      targets.set(index, target);
    }
  }
  for (let index = 0; index < insns.count; index++) {
    if (insns.opcode(index) === OP_CALL && insns.srcReg(index) === BPF_PSEUDO_CALL && !targets.has(index)) {
      // A call to a function of the same section is pc-relative and carries no relocation.
      const target = index + insns.imm(index) + 1;
      if (target < 0 || target >= insns.count) throw new ObjectError(`${at(index)} calls instruction ${target}, outside the section`);
      targets.set(index, { kind: 'call', section: section.index, instruction: target });
    } else if (insns.opcode(index) === OP_LD_IMM64 && insns.srcReg(index) !== 0 && !targets.has(index)) {
      throw new ObjectError(`${at(index)} is a 64-bit load of kind ${insns.srcReg(index)} (e.g. a callback function) without a relocation; that is not supported`);
    }
    if (insns.opcode(index) === OP_LD_IMM64) index++;
  }
  return targets;
}

/** An extern: a 64-bit load of its address or value (__kconfig, __ksym), or a call of a kernel function (kfunc). */
function externTarget(insns: Instructions, index: number, type: number, symbol: ElfSymbol, symbolName: string, at: string): RelocationTarget {
  if (symbol.name === '' || symbol.type === STT_SECTION) throw new ObjectError(`${at} refers to ${symbolName}, which the object does not define`);
  if (type === R_BPF_64_32 && insns.opcode(index) === OP_CALL) return { kind: 'extern', name: symbol.name, call: true };
  if (type === R_BPF_64_64 && insns.opcode(index) === OP_LD_IMM64 && index + 1 < insns.count) return { kind: 'extern', name: symbol.name, call: false };
  throw new ObjectError(`${at} refers to extern ${symbolName} but is neither a 64-bit immediate load nor a call`);
}

function callTarget(elf: ElfFile, insns: Instructions, index: number, symbol: ElfSymbol, symbolName: string, at: string): RelocationTarget {
  if (insns.opcode(index) !== OP_CALL || insns.srcReg(index) !== BPF_PSEUDO_CALL) {
    throw new ObjectError(`${at} has a call relocation against ${symbolName} but is not a call to a BPF function`);
  }
  const target = elf.sections[symbol.sectionIndex];
  if (!target || symbol.value % BigInt(INSN_SIZE) !== 0n) throw new ObjectError(`${at} calls ${symbolName}, which is not a function of the object`);
  // As libbpf: the callee is the symbol's instruction plus the call's own immediate plus one.
  const instruction = Number(symbol.value / BigInt(INSN_SIZE)) + insns.imm(index) + 1;
  return { kind: 'call', section: target.index, instruction };
}

/**
 * A copy of the instructions with map references patched: BPF_PSEUDO_MAP_FD + fd for a map,
 * BPF_PSEUDO_MAP_VALUE + fd + offset for an address in a data map.
 */
export function applyMapReferences(
  instructions: Uint8Array,
  littleEndian: boolean,
  references: readonly MapReference[],
  fdOf: (map: string) => number,
): Uint8Array {
  // Uint8Array.from, not slice(): a Buffer's slice() would patch the caller's instructions.
  const patched = new Instructions(Uint8Array.from(instructions), littleEndian);
  for (const reference of references) {
    patched.setSrcReg(reference.instruction, reference.kind === 'value' ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD);
    patched.setImm(reference.instruction, fdOf(reference.map));
    // The second slot's immediate is the upper half of the 64-bit value: 0 for an fd, the offset for a value.
    patched.setImm(reference.instruction + 1, reference.kind === 'value' ? reference.offset : 0);
  }
  return patched.bytes;
}
