// The DWARF type reader's entry point: an ELF file's .debug_info types as BTF, read with no external tools.
import type { Btf } from '../btf/btf.js';
import type { ElfFile } from '../elf/reader.js';
import { DwarfEntries } from './entries.js';
import { dwarfSections } from './sections.js';
import { dwarfToBtf } from './to-btf.js';

export interface DwarfTypes {
  /** Every type of the compile units: structs, unions, enums, typedefs and all they are made of. */
  readonly btf: Btf;
  /** Units passed over, each with why ("unit at 0x0: a skeleton unit of split DWARF ..."). */
  readonly skippedUnits: readonly string[];
}

/**
 * The types of an object's DWARF (clang -g, not stripped) with the units it passed over;
 * undefined when there is no .debug_info. Malformed DWARF is one ObjectError naming the section
 * and offset.
 */
export function readDwarf(elf: ElfFile): DwarfTypes | undefined {
  const sections = dwarfSections(elf);
  if (!sections) return undefined;
  const entries = new DwarfEntries(sections);
  return { btf: dwarfToBtf(entries, elf.littleEndian), skippedUnits: entries.skippedUnits };
}

/** The types of an object's DWARF as BTF; undefined when it has no .debug_info. */
export function readDwarfTypes(elf: ElfFile): Btf | undefined {
  return readDwarf(elf)?.btf;
}
