// Map relocations: find the ld_imm64 instructions that name maps, and patch in map fds.
import type { ElfFile, ElfSection } from '../elf/reader.js';
import { SHT_SYMTAB, STT_SECTION } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { BPF_PSEUDO_MAP_FD, INSN_SIZE, Instructions, OP_LD_IMM64 } from './instructions.js';
import type { MapReference } from './spec.js';

export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_32 = 10;

/** Finds the map named by a symbol plus the instruction's own addend, or says why there is none. */
export type MapAtOffset = (sectionIndex: number, offset: bigint) => string | undefined;

/**
 * Reads the relocations that apply to a program section (the REL sections whose sh_info is the
 * section) and returns its map references. Anything that is not a map reference on an ld_imm64
 * is an error naming the instruction.
 */
export function collectMapReferences(elf: ElfFile, program: ElfSection, mapAt: MapAtOffset): MapReference[] {
  const insns = new Instructions(elf.sectionData(program), elf.littleEndian);
  const references: MapReference[] = [];
  for (const relSection of elf.relocationSectionsFor(program)) {
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
          `${where} at offset ${rel.offset} is not on an instruction of section '${printable(program.name)}' (${insns.count * INSN_SIZE} bytes of instructions)`,
        );
      }
      const index = Number(rel.offset) / INSN_SIZE;
      const symbol = elf.symbols[rel.symbolIndex];
      if (!symbol) throw new ObjectError(`${where}: instruction ${index} refers to symbol ${rel.symbolIndex}, which does not exist`);
      const symbolName = symbol.type === STT_SECTION ? `section ${symbol.sectionIndex}` : `'${printable(symbol.name)}'`;
      if (rel.type === R_BPF_64_32) {
        throw new ObjectError(
          `instruction ${index} of section '${printable(program.name)}' calls ${symbolName}: calls to other BPF functions are not supported in this object layout`,
        );
      }
      if (rel.type !== R_BPF_64_64) {
        throw new ObjectError(`${where}: instruction ${index} has relocation type ${rel.type}; only R_BPF_64_64 map references are supported`);
      }
      if (insns.opcode(index) === OP_LD_IMM64 && index + 1 >= insns.count) {
        throw new ObjectError(
          `instruction ${index} of section '${printable(program.name)}' refers to ${symbolName} but is a 64-bit immediate load cut short by the end of the section`,
        );
      }
      if (insns.opcode(index) !== OP_LD_IMM64) {
        throw new ObjectError(
          `instruction ${index} of section '${printable(program.name)}' refers to ${symbolName} but is not a 64-bit immediate load (opcode 0x${insns.opcode(index).toString(16).padStart(2, '0')}, expected 0x18)`,
        );
      }
      // A section symbol names the section's start; the instruction's own immediate holds the offset.
      const offset = symbol.type === STT_SECTION ? symbol.value + BigInt(insns.imm(index)) : symbol.value;
      const map = mapAt(symbol.sectionIndex, offset);
      if (map === undefined) {
        throw new ObjectError(`instruction ${index} of section '${printable(program.name)}' refers to ${symbolName}, which is not a map`);
      }
      references.push({ instruction: index, map });
    }
  }
  return references.sort((a, b) => a.instruction - b.instruction);
}

/** A copy of the instructions with each map reference turned into BPF_PSEUDO_MAP_FD + fd. */
export function applyMapFds(
  instructions: Uint8Array,
  littleEndian: boolean,
  references: readonly MapReference[],
  fdOf: (map: string) => number,
): Uint8Array {
  const patched = new Instructions(instructions.slice(), littleEndian);
  for (const reference of references) {
    patched.setSrcReg(reference.instruction, BPF_PSEUDO_MAP_FD);
    patched.setImm(reference.instruction, fdOf(reference.map));
    // The second slot's immediate is the upper half of the 64-bit value; for an fd it must be 0.
    patched.setImm(reference.instruction + 1, 0);
  }
  return patched.bytes;
}
