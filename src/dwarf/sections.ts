// The DWARF sections of an ELF file, decompressed (clang -gz) and with a relocatable object's relocations applied to copies of their bytes.
import { inflateSync } from 'node:zlib';
import { EM_BPF, SHT_REL, SHT_SYMTAB, type ElfFile, type ElfSection } from '../elf/reader.js';
import { dwarfError, type DwarfSection } from './cursor.js';

const SHF_COMPRESSED = 0x800n;
const ELFCOMPRESS_ZLIB = 1;
/** Elf64_Chdr: ch_type, ch_reserved, ch_size, ch_addralign. */
const CHDR_SIZE = 24;

const R_BPF_NONE = 0;
/** The width of the field each BPF data relocation writes: ABS64, ABS32 and NODYLD32 (debug sections' 32-bit one). */
const BPF_RELOCATION_WIDTH = new Map<number, 4 | 8>([
  [2, 8],
  [3, 4],
  [4, 4],
]);

export interface DwarfSections {
  readonly info: DwarfSection;
  readonly abbrev: DwarfSection;
  /** Empty when the object has none (then no form may point into it). */
  readonly str: DwarfSection;
  readonly strOffsets: DwarfSection;
  readonly lineStr: DwarfSection;
}

/** The sections the type reader needs, or undefined when there is no .debug_info. */
export function dwarfSections(elf: ElfFile): DwarfSections | undefined {
  if (!elf.sectionByName('.debug_info')) return undefined;
  const section = (name: string): DwarfSection => {
    const found = elf.sectionByName(name);
    return { name, bytes: found ? relocatedBytes(elf, found) : new Uint8Array(0), littleEndian: elf.littleEndian };
  };
  return {
    info: section('.debug_info'),
    abbrev: section('.debug_abbrev'),
    str: section('.debug_str'),
    strOffsets: section('.debug_str_offsets'),
    lineStr: section('.debug_line_str'),
  };
}

/**
 * The section's contents with its relocations applied (symbol value plus the addend: the field's
 * own contents for REL, the entry's for RELA) to a copy; the contents themselves when nothing
 * relocates them.
 */
function relocatedBytes(elf: ElfFile, section: ElfSection): Uint8Array {
  const original = contents(elf, section);
  const relSections = elf.relocationSectionsFor(section);
  if (relSections.length === 0) return original;
  // Uint8Array.from, not slice(): a Buffer's slice() would relocate the caller's bytes.
  const bytes = Uint8Array.from(original);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const rel of relSections) {
    if (elf.machine !== EM_BPF) throw dwarfError(rel.name, 0, `relocations for machine ${elf.machine} are not applied (only BPF objects')`);
    if (elf.sections[rel.link]?.type !== SHT_SYMTAB) throw dwarfError(rel.name, 0, `its symbols are in section ${rel.link}, which is not the symbol table`);
    elf.relocations(rel).forEach((entry, i) => {
      if (entry.type === R_BPF_NONE) return;
      const where = rel.type === SHT_REL ? i * 16 : i * 24;
      const width = BPF_RELOCATION_WIDTH.get(entry.type);
      if (width === undefined) throw dwarfError(rel.name, where, `relocation type ${entry.type} is not one of a debug section (R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32)`);
      if (entry.offset > BigInt(bytes.length - width)) throw dwarfError(rel.name, where, `relocation at 0x${entry.offset.toString(16)} runs past the end of ${section.name} (${bytes.length} bytes)`);
      const at = Number(entry.offset);
      const symbol = elf.symbols[entry.symbolIndex]!.value;
      const le = elf.littleEndian;
      if (width === 8) view.setBigUint64(at, BigInt.asUintN(64, symbol + (entry.addend ?? view.getBigUint64(at, le))), le);
      else view.setUint32(at, Number(BigInt.asUintN(32, symbol + (entry.addend ?? BigInt(view.getUint32(at, le))))), le);
    });
  }
  return bytes;
}

/** The section's contents, inflated when it is compressed (the relocations' offsets are into those). */
function contents(elf: ElfFile, section: ElfSection): Uint8Array {
  const raw = elf.sectionData(section);
  if ((section.flags & SHF_COMPRESSED) === 0n) return raw;
  if (raw.length < CHDR_SIZE) throw dwarfError(section.name, 0, `a compressed section of ${raw.length} bytes has no room for its header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const type = view.getUint32(0, elf.littleEndian);
  if (type !== ELFCOMPRESS_ZLIB) throw dwarfError(section.name, 0, `compression type ${type} is not zlib, the one this reader inflates`);
  const size = view.getBigUint64(8, elf.littleEndian);
  let inflated: Buffer;
  try {
    // The header's size bounds the output: a corrupt stream cannot inflate without end.
    inflated = inflateSync(raw.subarray(CHDR_SIZE), { maxOutputLength: Number(size) });
  } catch (error) {
    throw dwarfError(section.name, CHDR_SIZE, `the zlib data does not inflate to the ${size} bytes its header gives: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (BigInt(inflated.length) !== size) throw dwarfError(section.name, 0, `inflates to ${inflated.length} bytes, but its header gives ${size}`);
  return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length);
}
