// One ELF file's functions by virtual address (from .symtab, a separate debug file, or .dynsym), with its PT_LOAD segments, build id and debuglink.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import {
  PT_LOAD,
  SHF_EXECINSTR,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT_NOTE,
  STB_GLOBAL,
  STB_LOCAL,
  STT_FUNC,
  readElf,
  type ElfFile,
  type ElfSegment,
  type ElfSymbol,
} from '../elf/reader.js';
import { AddressTable, AddressTableBuilder } from './address-table.js';
import { demangleNames } from './demangle.js';

/** Where Debian, Fedora and gdb keep separate debug files. */
const DEBUG_ROOT = '/usr/lib/debug';

const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;

/** The function a virtual address is in. */
export interface ElfLocation {
  readonly symbol: string;
  readonly offset: number;
}

/** The .gnu_debuglink section: the debug file's name and the CRC-32 of its contents. */
export interface DebugLink {
  readonly name: string;
  readonly crc: number;
}

export interface ElfSymbolsOptions {
  /**
   * The path the file is known by, beside which its debuglink is looked for, when it is read
   * through another (/proc/PID/map_files/..., /proc/PID/root/...). Default: the path read.
   */
  readonly knownAs?: string;
  /** Root of the separate debug files (default /usr/lib/debug). */
  readonly debugRoot?: string;
}

export class ElfSymbols {
  private constructor(
    private readonly table: AddressTable,
    /** The PT_LOAD program headers, which turn file offsets into virtual addresses. */
    readonly segments: readonly ElfSegment[],
    /** The NT_GNU_BUILD_ID note in hex, if the file has one. */
    readonly buildId: string | undefined,
    readonly debugLink: DebugLink | undefined,
    /** Where the symbols came from: '.symtab', '.dynsym', the path of a separate debug file, or 'none'. */
    readonly symbolSource: string,
    /** How many function symbols were found. */
    readonly size: number,
  ) {}

  /**
   * Reads an ELF file. Without a .symtab it looks for a separate debug file, by build id
   * (DEBUG_ROOT/.build-id/xx/rest.debug), then by debuglink (beside the file, in .debug/ beside it,
   * under DEBUG_ROOT/<its directory>/), and uses .dynsym if none is found. Throws the read's error
   * or an ElfError for a malformed file.
   */
  static read(path: string, options: ElfSymbolsOptions = {}): ElfSymbols {
    const elf = readElf(readFileSync(path));
    const segments = elf.segments.filter((s) => s.type === PT_LOAD);
    const buildId = readBuildId(elf);
    const debugLink = readDebugLink(elf);
    let symbolSource = '.symtab';
    let symbols = functionSymbols(elf.symbols);
    let sectionsOf = elf;
    if (symbols.length === 0) {
      const debug = findDebugFile(options.knownAs ?? path, options.debugRoot ?? DEBUG_ROOT, buildId, debugLink);
      if (debug) {
        symbolSource = debug.path;
        symbols = debug.symbols;
        sectionsOf = debug.elf;
      } else {
        symbols = functionSymbols(elf.dynamicSymbols);
        symbolSource = symbols.length > 0 ? '.dynsym' : 'none';
      }
    }
    return new ElfSymbols(buildTable(sectionsOf, symbols), segments, buildId, debugLink, symbolSource, symbols.length);
  }

  /** The virtual address of a file offset, by the PT_LOAD segment whose file bytes hold it. */
  virtualAddress(fileOffset: bigint): bigint | undefined {
    for (const segment of this.segments) {
      if (fileOffset >= segment.offset && fileOffset < segment.offset + segment.fileSize) return fileOffset - segment.offset + segment.vaddr;
    }
    return undefined;
  }

  /**
   * The function holding a virtual address: the closest function symbol at or below it, within its
   * size (a size-0 symbol reaches to the next symbol or the end of its section).
   */
  resolve(virtualAddress: bigint): ElfLocation | undefined {
    return this.table.resolve(virtualAddress);
  }
}

/** Defined functions (STT_FUNC, and the resolvers of STT_GNU_IFUNC) of a symbol table. */
function functionSymbols(table: readonly ElfSymbol[]): ElfSymbol[] {
  return table.filter(
    (s) => (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.sectionIndex !== SHN_UNDEF && s.sectionIndex < SHN_LORESERVE && s.name !== '',
  );
}

function buildTable(elf: ElfFile, symbols: readonly ElfSymbol[]): AddressTable {
  const builder = new AddressTableBuilder();
  const add = (address: bigint, name: string | undefined, rank: number, size: bigint): void =>
    builder.add(Number(address >> 32n), Number(address & 0xffff_ffffn), name, rank, Number(size));
  const names = demangleNames(symbols.map((s) => s.name));
  symbols.forEach((symbol, i) => {
    // perf's preference among aliases: one with a size, then global over local over weak.
    const bind = symbol.bind === STB_GLOBAL ? 0 : symbol.bind === STB_LOCAL ? 1 : 2;
    add(symbol.value, names[i], (symbol.size === 0n ? 3 : 0) + bind, symbol.size);
  });
  // The edges of code sections end size-0 symbols (_init would otherwise own all of .plt).
  for (const section of elf.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0n || section.addr === 0n) continue;
    add(section.addr, undefined, 0, 0n);
    add(section.addr + BigInt(section.size), undefined, 0, 0n);
  }
  return builder.build();
}

function readBuildId(elf: ElfFile): string | undefined {
  for (const section of elf.sections) {
    if (section.type !== SHT_NOTE) continue;
    let notes;
    try {
      notes = elf.notes(section);
    } catch {
      // A note section the reader refuses (a malformed one): the build id is in a section of its
      // own, so go on to the next.
      continue;
    }
    const note = notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
    if (note && note.desc.length > 0) return Buffer.from(note.desc).toString('hex');
  }
  return undefined;
}

/** .gnu_debuglink: a NUL-terminated name, padding to 4 bytes, then the CRC-32 in the file's byte order. */
function readDebugLink(elf: ElfFile): DebugLink | undefined {
  const section = elf.sectionByName('.gnu_debuglink');
  if (!section) return undefined;
  const data = elf.sectionData(section);
  const nul = data.indexOf(0);
  if (nul <= 0) return undefined;
  const crcAt = (nul + 4) & ~3;
  if (crcAt + 4 > data.length) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { name: Buffer.from(data.subarray(0, nul)).toString('utf8'), crc: view.getUint32(crcAt, elf.littleEndian) };
}

interface DebugFile {
  readonly path: string;
  readonly elf: ElfFile;
  readonly symbols: ElfSymbol[];
}

/**
 * The first separate debug file that belongs to this one and has function symbols: by build id
 * (its own build id must match), then by debuglink (its CRC-32 must match). Unreadable or
 * malformed candidates are passed over.
 */
function findDebugFile(knownAs: string, debugRoot: string, buildId: string | undefined, debugLink: DebugLink | undefined): DebugFile | undefined {
  const candidates: Array<{ path: string; belongs: (bytes: Uint8Array, elf: ElfFile) => boolean }> = [];
  if (buildId && buildId.length > 2) {
    candidates.push({
      path: join(debugRoot, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`),
      belongs: (_, elf) => readBuildId(elf) === buildId,
    });
  }
  if (debugLink) {
    const dir = dirname(resolvePath(knownAs));
    const belongs = (bytes: Uint8Array): boolean => crc32(bytes) === debugLink.crc;
    for (const path of [join(dir, debugLink.name), join(dir, '.debug', debugLink.name), join(debugRoot, dir, debugLink.name)]) {
      // A debuglink naming the file itself would read its own missing .symtab again.
      if (path !== resolvePath(knownAs)) candidates.push({ path, belongs });
    }
  }
  for (const { path, belongs } of candidates) {
    let bytes: Uint8Array;
    let elf: ElfFile;
    try {
      bytes = readFileSync(path);
      elf = readElf(bytes);
    } catch {
      continue;
    }
    const symbols = functionSymbols(elf.symbols);
    if (symbols.length > 0 && belongs(bytes, elf)) return { path, elf, symbols };
  }
  return undefined;
}

let crcTable: Uint32Array | undefined;

/** The CRC-32 (IEEE, zlib's) that .gnu_debuglink records; node:zlib's crc32 is too new for Node 20.0. */
function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const table = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
