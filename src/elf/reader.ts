// ELF64 reader: bytes -> sections, segments, symbols, relocations, notes; every malformed input becomes one ElfError.
import { ElfError } from '../errors.js';
import { printable } from '../text.js';

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_SYMTAB_SHNDX = 18;

export const PT_LOAD = 1;
/** p_flags: the segment is mapped executable. */
export const PF_X = 1;

export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_NONE = 0;
export const EM_X86_64 = 62;
export const EM_BPF = 247;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_XINDEX = 0xffff;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const PHDR_SIZE = 56;
const NOTE_HEADER_SIZE = 12;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

/** A section of an ELF file, its bytes and header fields. */
export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  /** File offset of the contents (meaningless for SHT_NOBITS). */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: bigint;
  readonly entsize: number;
}

/** A program header: how part of the file is mapped into memory. */
export interface ElfSegment {
  /** p_type: PT_LOAD (1), PT_NOTE (4), ... */
  readonly type: number;
  /** p_flags: PF_X (1), PF_W (2), PF_R (4). */
  readonly flags: number;
  /** p_offset: where the segment starts in the file. */
  readonly offset: bigint;
  /** p_vaddr: where it is mapped. */
  readonly vaddr: bigint;
  /** p_filesz: bytes in the file. */
  readonly fileSize: bigint;
  /** p_memsz: bytes in memory (more than fileSize for .bss). */
  readonly memorySize: bigint;
}

/** One entry of a note section. */
export interface ElfNote {
  /** The owner ("GNU", "stapsdt"). */
  readonly name: string;
  /** The note's type, as its owner defines it (NT_STAPSDT is 3). */
  readonly type: number;
  /** A view of the descriptor bytes. */
  readonly desc: Uint8Array;
}

/** A symbol table entry. */
export interface ElfSymbol {
  /** Index in its symbol table. */
  readonly index: number;
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  readonly type: number;
  readonly bind: number;
  readonly visibility: number;
  /** The section index the symbol is defined in (extended indexes already resolved), or a SHN_* value. */
  readonly sectionIndex: number;
}

/** A relocation entry of a REL or RELA section. */
export interface ElfRelocation {
  /** Offset inside the section the relocations apply to. */
  readonly offset: bigint;
  readonly symbolIndex: number;
  readonly type: number;
  /** Present for SHT_RELA entries. */
  readonly addend?: bigint;
}

/** A parsed ELF file: header fields, sections, segments, symbols and notes. */
export interface ElfFile {
  readonly littleEndian: boolean;
  readonly type: number;
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  /** The program headers (empty for relocatable objects). */
  readonly segments: readonly ElfSegment[];
  /** Entries of .symtab (index 0 is the null symbol); empty when there is none. */
  readonly symbols: readonly ElfSymbol[];
  /** Entries of .dynsym; empty when there is none. */
  readonly dynamicSymbols: readonly ElfSymbol[];
  /** The bytes of a section's contents (empty for SHT_NOBITS and SHT_NULL). A view, not a copy. */
  sectionData(section: ElfSection): Uint8Array;
  /** The first section of this name, if any. */
  sectionByName(name: string): ElfSection | undefined;
  /** REL and RELA sections that apply to `target`, found by sh_info (not by name or type alone). */
  relocationSectionsFor(target: ElfSection): ElfSection[];
  /** The entries of a REL or RELA section, each checked against the symbol table. */
  relocations(relSection: ElfSection): ElfRelocation[];
  /** The entries of a SHT_NOTE section. */
  notes(noteSection: ElfSection): ElfNote[];
}

/**
 * Where a virtual address of an executable or shared library lies in the file, by the PT_LOAD
 * segment that maps it (the file offset uprobes take); undefined when no segment (executable
 * ones, if asked) holds it in its file bytes.
 */
export function fileOffsetOfAddress(elf: Pick<ElfFile, 'segments'>, address: bigint, executable = false): bigint | undefined {
  for (const segment of elf.segments) {
    if (segment.type !== PT_LOAD || (executable && (segment.flags & PF_X) === 0)) continue;
    if (address >= segment.vaddr && address < segment.vaddr + segment.fileSize) return address - segment.vaddr + segment.offset;
  }
  return undefined;
}

/** Reads an ELF64 file of either byte order. Throws ElfError for anything malformed. */
export function readElf(bytes: Uint8Array): ElfFile {
  return new ElfReader(bytes).read();
}

class ElfReader {
  private readonly view: DataView;
  private littleEndian = true;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw new ElfError(`truncated ELF file: ${what} at offset ${offset} needs ${length} bytes but the file has ${this.bytes.length}`);
    }
  }

  private u8(offset: number): number {
    return this.view.getUint8(offset);
  }
  private u16(offset: number): number {
    return this.view.getUint16(offset, this.littleEndian);
  }
  private u32(offset: number): number {
    return this.view.getUint32(offset, this.littleEndian);
  }
  private u64(offset: number): bigint {
    return this.view.getBigUint64(offset, this.littleEndian);
  }
  private i64(offset: number): bigint {
    return this.view.getBigInt64(offset, this.littleEndian);
  }

  /** A 64-bit file offset or size that must fit in the file to be usable. */
  private fileOffset(value: bigint, what: string): number {
    if (value > BigInt(this.bytes.length)) {
      throw new ElfError(`${what} ${value} is beyond the end of the file (${this.bytes.length} bytes)`);
    }
    return Number(value);
  }

  read(): ElfFile {
    this.need(0, 16, 'ELF identification');
    const b = this.bytes;
    if (b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
      throw new ElfError('not an ELF file (bad magic number at offset 0)');
    }
    const elfClass = b[4];
    if (elfClass === 1) throw new ElfError('32-bit ELF file: only ELF64 is supported');
    if (elfClass !== 2) throw new ElfError(`unknown ELF class ${elfClass} at offset 4`);
    const data = b[5];
    if (data !== 1 && data !== 2) throw new ElfError(`unknown ELF byte order ${data} at offset 5`);
    this.littleEndian = data === 1;
    if (b[6] !== 1) throw new ElfError(`unknown ELF version ${b[6]} at offset 6`);

    this.need(0, EHDR_SIZE, 'ELF header');
    const type = this.u16(16);
    const machine = this.u16(18);
    const phoff = this.u64(32);
    const shoff = this.u64(40);
    const phentsize = this.u16(54);
    const phnum = this.u16(56);
    const shentsize = this.u16(58);
    let shnum = this.u16(60);
    let shstrndx = this.u16(62);

    const sections: ElfSection[] = [];
    const nameOffsets: number[] = [];
    if (shoff !== 0n) {
      if (shentsize !== SHDR_SIZE) throw new ElfError(`section header size is ${shentsize}, expected ${SHDR_SIZE} (offset 58)`);
      const tableOffset = this.fileOffset(shoff, 'section header table offset');
      this.need(tableOffset, SHDR_SIZE, 'section header 0');
      // Extended numbering: counts too big for 16 bits live in section header 0.
      if (shnum === 0) {
        shnum = this.fileOffset(this.u64(tableOffset + 32), 'section count (from section header 0)');
      }
      if (shstrndx === SHN_XINDEX) shstrndx = this.u32(tableOffset + 40);
      this.need(tableOffset, shnum * SHDR_SIZE, `section header table (${shnum} entries)`);
      for (let i = 0; i < shnum; i++) {
        const at = tableOffset + i * SHDR_SIZE;
        sections.push(this.readSectionHeader(at, i, shnum));
        nameOffsets.push(this.u32(at));
      }
    }

    if (sections.length > 0) {
      if (shstrndx >= sections.length) {
        throw new ElfError(`section name table index ${shstrndx} is out of range (${sections.length} sections)`);
      }
      const strtab = sections[shstrndx]!;
      if (strtab.type !== SHT_STRTAB) throw new ElfError(`section name table (section ${shstrndx}) is not a string table`);
      sections.forEach((s, i) => {
        sections[i] = { ...s, name: this.string(strtab, nameOffsets[i]!, `name of section ${i}`) };
      });
    }

    const segments: ElfSegment[] = [];
    if (phoff !== 0n && phnum > 0) {
      if (phentsize !== PHDR_SIZE) throw new ElfError(`program header size is ${phentsize}, expected ${PHDR_SIZE} (offset 54)`);
      const tableOffset = this.fileOffset(phoff, 'program header table offset');
      this.need(tableOffset, phnum * PHDR_SIZE, `program header table (${phnum} entries)`);
      for (let i = 0; i < phnum; i++) {
        const at = tableOffset + i * PHDR_SIZE;
        segments.push({
          type: this.u32(at),
          flags: this.u32(at + 4),
          offset: this.u64(at + 8),
          vaddr: this.u64(at + 16),
          fileSize: this.u64(at + 32),
          memorySize: this.u64(at + 40),
        });
      }
    }

    const symbolTable = (sectionType: number): ElfSymbol[] => {
      const tables = sections.filter((s) => s.type === sectionType);
      if (tables.length > 1) throw new ElfError(`more than one symbol table of type ${sectionType}`);
      return tables.length === 1 ? this.readSymbols(tables[0]!, sections) : [];
    };
    const symbols = symbolTable(SHT_SYMTAB);
    const dynamicSymbols = symbolTable(SHT_DYNSYM);

    const file: ElfFile = {
      littleEndian: this.littleEndian,
      type,
      machine,
      sections,
      segments,
      symbols,
      dynamicSymbols,
      sectionData: (section) =>
        section.type === SHT_NOBITS || section.type === SHT_NULL ? new Uint8Array(0) : b.subarray(section.offset, section.offset + section.size),
      sectionByName: (name) => sections.find((s) => s.name === name),
      relocationSectionsFor: (target) =>
        sections.filter((s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.info === target.index && s.index !== target.index),
      relocations: (relSection) => this.readRelocations(relSection, sections),
      notes: (noteSection) => this.readNotes(noteSection),
    };
    return file;
  }

  private readSectionHeader(at: number, index: number, count: number): ElfSection {
    const type = this.u32(at + 4);
    const offset = this.u64(at + 24);
    const size = this.u64(at + 32);
    const link = this.u32(at + 40);
    const info = this.u32(at + 44);
    const entsize = this.u64(at + 56);
    const where = `section ${index}`;
    let fileOffset = 0;
    let fileSize = 0;
    if (type === SHT_NOBITS || type === SHT_NULL) {
      // No bytes in the file; the size only describes memory.
      fileSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
    } else {
      fileOffset = this.fileOffset(offset, `${where}: offset`);
      fileSize = this.fileOffset(size, `${where}: size`);
      if (fileOffset + fileSize > this.bytes.length) {
        throw new ElfError(`${where}: contents at offset ${fileOffset} with size ${fileSize} run past the end of the file (${this.bytes.length} bytes)`);
      }
    }
    if ((type === SHT_REL || type === SHT_RELA || type === SHT_SYMTAB || type === SHT_DYNSYM) && link >= count) {
      throw new ElfError(`${where}: linked section ${link} is out of range (${count} sections)`);
    }
    if ((type === SHT_REL || type === SHT_RELA) && info >= count) {
      throw new ElfError(`${where}: relocated section ${info} is out of range (${count} sections)`);
    }
    return {
      index,
      name: '',
      type,
      flags: this.u64(at + 8),
      addr: this.u64(at + 16),
      offset: fileOffset,
      size: fileSize,
      link,
      info,
      addralign: this.u64(at + 48),
      entsize: entsize > 0xffffn ? 0xffff : Number(entsize),
    };
  }

  /** A NUL-terminated string inside a string table section. */
  private string(strtab: ElfSection, offset: number, what: string): string {
    if (strtab.type !== SHT_STRTAB) throw new ElfError(`${what}: section ${strtab.index} is not a string table`);
    if (offset >= strtab.size) {
      if (offset === 0) return '';
      throw new ElfError(`${what}: string offset ${offset} is outside string table section ${strtab.index} (${strtab.size} bytes)`);
    }
    const start = strtab.offset + offset;
    const end = this.bytes.indexOf(0, start);
    if (end < 0 || end >= strtab.offset + strtab.size) {
      throw new ElfError(`${what}: string at offset ${offset} of section ${strtab.index} is not NUL-terminated`);
    }
    return textDecoder.decode(this.bytes.subarray(start, end));
  }

  private readSymbols(table: ElfSection, sections: ElfSection[]): ElfSymbol[] {
    const where = `symbol table (section ${table.index} ${printable(table.name)})`;
    if (table.entsize !== SYM_SIZE) throw new ElfError(`${where}: entry size ${table.entsize}, expected ${SYM_SIZE}`);
    if (table.size % SYM_SIZE !== 0) throw new ElfError(`${where}: size ${table.size} is not a multiple of ${SYM_SIZE}`);
    const strtab = sections[table.link]!;
    const extended = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === table.index);
    const count = table.size / SYM_SIZE;
    if (extended && extended.size < count * 4) {
      throw new ElfError(`extended section index table (section ${extended.index}) is smaller than ${where}`);
    }
    const symbols: ElfSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const at = table.offset + i * SYM_SIZE;
      const infoByte = this.u8(at + 4);
      let sectionIndex = this.u16(at + 6);
      // An extended index is always a real section index, never one of the reserved SHN_* values.
      const isExtended = sectionIndex === SHN_XINDEX;
      if (isExtended) {
        if (!extended) throw new ElfError(`${where}: symbol ${i} uses an extended section index but there is no SHT_SYMTAB_SHNDX section`);
        sectionIndex = this.u32(extended.offset + i * 4);
      }
      if (sectionIndex !== SHN_UNDEF && (isExtended || sectionIndex < SHN_LORESERVE) && sectionIndex >= sections.length) {
        throw new ElfError(`${where}: symbol ${i} refers to section ${sectionIndex}, but there are ${sections.length}`);
      }
      symbols.push({
        index: i,
        name: this.string(strtab, this.u32(at), `${where}: name of symbol ${i}`),
        value: this.u64(at + 8),
        size: this.u64(at + 16),
        type: infoByte & 0xf,
        bind: infoByte >> 4,
        visibility: this.u8(at + 5) & 0x3,
        sectionIndex,
      });
    }
    return symbols;
  }

  /** Notes: namesz, descsz, type, then the name and the descriptor, each padded to the section's alignment (at least 4). */
  private readNotes(section: ElfSection): ElfNote[] {
    const where = `note section ${section.index} (${printable(section.name)})`;
    if (section.type !== SHT_NOTE) throw new ElfError(`${where} is not a SHT_NOTE section`);
    const align = section.addralign === 8n ? 8 : 4;
    const pad = (n: number): number => Math.ceil(n / align) * align;
    const end = section.offset + section.size;
    const notes: ElfNote[] = [];
    for (let at = section.offset; at < end; ) {
      if (end - at < NOTE_HEADER_SIZE) throw new ElfError(`${where}: a note header at offset ${at} is cut off by the end of the section`);
      const nameSize = this.u32(at);
      const descSize = this.u32(at + 4);
      const type = this.u32(at + 8);
      const nameAt = at + NOTE_HEADER_SIZE;
      // The descriptor is aligned from the note's start (8-aligned notes such as .note.gnu.property pad the name to 12 + 4 -> 16).
      const descAt = at + pad(NOTE_HEADER_SIZE + nameSize);
      if (descAt + descSize > end) throw new ElfError(`${where}: the note at offset ${at} (name ${nameSize} bytes, descriptor ${descSize}) runs past the end of the section`);
      // The name's size counts its NUL.
      const name = textDecoder.decode(this.bytes.subarray(nameAt, nameAt + Math.max(0, nameSize - 1)));
      notes.push({ name, type, desc: this.bytes.subarray(descAt, descAt + descSize) });
      at = descAt + pad(descSize);
    }
    return notes;
  }

  private readRelocations(rel: ElfSection, sections: readonly ElfSection[]): ElfRelocation[] {
    const where = `relocation section ${rel.index} (${printable(rel.name)})`;
    if (rel.type !== SHT_REL && rel.type !== SHT_RELA) throw new ElfError(`${where} is not a REL or RELA section`);
    const entrySize = rel.type === SHT_REL ? REL_SIZE : RELA_SIZE;
    if (rel.size % entrySize !== 0) throw new ElfError(`${where}: size ${rel.size} is not a multiple of ${entrySize}`);
    const symtab = sections[rel.link]!;
    if (symtab.type !== SHT_SYMTAB && symtab.type !== SHT_DYNSYM) {
      throw new ElfError(`${where}: linked section ${rel.link} is not a symbol table`);
    }
    const symbolCount = symtab.size / SYM_SIZE;
    const relocations: ElfRelocation[] = [];
    for (let at = rel.offset; at < rel.offset + rel.size; at += entrySize) {
      const info = this.u64(at + 8);
      const symbolIndex = Number(info >> 32n);
      if (symbolIndex >= symbolCount) {
        throw new ElfError(`${where}: entry ${(at - rel.offset) / entrySize} refers to symbol ${symbolIndex}, but there are ${symbolCount}`);
      }
      const entry: ElfRelocation = { offset: this.u64(at), symbolIndex, type: Number(info & 0xffffffffn) };
      relocations.push(rel.type === SHT_RELA ? { ...entry, addend: this.i64(at + 16) } : entry);
    }
    return relocations;
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
