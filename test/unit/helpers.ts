// Shared helpers for the unit tests: fixture paths, byte patching, a tiny ELF writer, a seeded PRNG.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readElf, type ElfFile, type ElfSection } from '../../src/elf/reader.js';
import { ElfError, LoaderError, ObjectError } from '../../src/errors.js';
import { BTF_KIND, type Btf } from '../../src/btf/btf.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { objectTypeSources } from '../../src/object/type-sources.js';
import { RecordColumnFormatter } from '../../src/values/formats.js';
import { tool } from '../support/tools.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURE_BUILD = join(REPO, 'test', 'fixtures', 'build');
export const EXAMPLE_OBJECT = join(REPO, 'examples', 'test_prog.o');

/** Path of a built fixture; fails with the command that builds it when it is missing. */
export function fixturePath(name: string): string {
  const path = name.includes('/') ? join(REPO, name) : join(FIXTURE_BUILD, name);
  if (!existsSync(path)) throw new Error(`missing fixture ${path}: run \`make -C test/fixtures\``);
  return path;
}

/** A fresh, unshared copy of a fixture's bytes (tests patch them freely). */
export function loadFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

/**
 * Every clang-built BPF object the tests can use: examples/test_prog.o and the objects in
 * test/fixtures/build made from test/fixtures/bpf/*.c and examples/*.c (other files there are not ours).
 */
export function allObjectPaths(): string[] {
  if (!existsSync(FIXTURE_BUILD)) throw new Error(`missing ${FIXTURE_BUILD}: run \`make -C test/fixtures\``);
  const sources = readdirSync(join(REPO, 'test', 'fixtures', 'bpf')).filter((f) => f.endsWith('.c'));
  const examples = readdirSync(join(REPO, 'examples')).filter((f) => f.endsWith('.c'));
  const wanted = [
    ...sources.flatMap((c) => [c.replace(/\.c$/, '.o'), c.replace(/\.c$/, '.bpfeb.o')]),
    ...examples.map((c) => `example_${c.replace(/\.c$/, '.bpfeb.o')}`),
  ].sort();
  return [EXAMPLE_OBJECT, ...wanted.map((f) => fixturePath(f))];
}

/** A struct or union of a fixture (from its BTF or its DWARF) that records can be shown as columns of. */
export interface FixtureRecordType {
  path: string;
  btf: Btf;
  decoder: BtfDecoder;
  id: number;
  formatter: RecordColumnFormatter;
}

/** Every struct and union of every fixture, from each of its type sources, that has a RecordColumnFormatter. */
export function* fixtureRecordTypes(): Generator<FixtureRecordType> {
  for (const path of allObjectPaths()) {
    const bytes = readFileSync(path);
    let spec: ReturnType<typeof parseBpfObject>;
    try {
      spec = parseBpfObject(bytes);
    } catch (error) {
      // The fixtures made to be refused.
      if (error instanceof LoaderError) continue;
      throw error;
    }
    for (const { btf } of objectTypeSources(bytes, spec, [])) {
      const decoder = new BtfDecoder(btf);
      for (let id = 1; id <= btf.count; id++) {
        const kind = btf.type(id).kind;
        if (kind !== BTF_KIND.STRUCT && kind !== BTF_KIND.UNION) continue;
        const formatter = RecordColumnFormatter.of(decoder, id);
        if (formatter) yield { path, btf, decoder, id, formatter };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading and patching raw ELF64 fields of a file held in memory.

export function isLittleEndian(bytes: Uint8Array): boolean {
  return bytes[5] === 1;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function getU16(bytes: Uint8Array, at: number): number {
  return view(bytes).getUint16(at, isLittleEndian(bytes));
}
export function getU32(bytes: Uint8Array, at: number): number {
  return view(bytes).getUint32(at, isLittleEndian(bytes));
}
export function getU64(bytes: Uint8Array, at: number): bigint {
  return view(bytes).getBigUint64(at, isLittleEndian(bytes));
}
export function setU16(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setUint16(at, value, isLittleEndian(bytes));
}
export function setU32(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setUint32(at, value, isLittleEndian(bytes));
}
export function setI32(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setInt32(at, value, isLittleEndian(bytes));
}
export function setU64(bytes: Uint8Array, at: number, value: bigint): void {
  view(bytes).setBigUint64(at, value, isLittleEndian(bytes));
}

/** ELF header field offsets (ELF64). */
export const EH = { type: 16, machine: 18, shoff: 40, shentsize: 58, shnum: 60, shstrndx: 62 } as const;
/** Section header field offsets (ELF64). */
export const SH = { name: 0, type: 4, flags: 8, addr: 16, offset: 24, size: 32, link: 40, info: 44, addralign: 48, entsize: 56 } as const;
/** Symbol field offsets (ELF64). */
export const ST = { name: 0, info: 4, other: 5, shndx: 6, value: 8, size: 16 } as const;

/** File offset of section header `index`. */
export function sectionHeaderAt(bytes: Uint8Array, index: number): number {
  return Number(getU64(bytes, EH.shoff)) + index * 64;
}

export function sectionNamed(elf: ElfFile, name: string): ElfSection {
  const section = elf.sectionByName(name);
  if (!section) throw new Error(`no section ${name}; have ${elf.sections.map((s) => s.name).join(', ')}`);
  return section;
}

/** File offset of symbol `index` of .symtab. */
export function symbolAt(bytes: Uint8Array, index: number): number {
  const elf = readElf(bytes);
  return sectionNamed(elf, '.symtab').offset + index * 24;
}

export function symbolIndex(elf: ElfFile, name: string): number {
  const symbol = elf.symbols.find((s) => s.name === name);
  if (!symbol) throw new Error(`no symbol ${name}`);
  return symbol.index;
}

/**
 * Renames a section in place by rewriting its name in the section name table. The new name must
 * not be longer than the old one (the rest is filled with NULs).
 */
export function renameSection(bytes: Uint8Array, oldName: string, newName: string): void {
  const elf = readElf(bytes);
  const section = sectionNamed(elf, oldName);
  if (newName.length > oldName.length) throw new Error('renameSection: new name too long');
  const shstrndx = getU16(bytes, EH.shstrndx);
  const strtab = elf.sections[shstrndx]!;
  const nameOffset = getU32(bytes, sectionHeaderAt(bytes, section.index) + SH.name);
  // Linkers share suffixes (".relprog" holds "prog"): refuse to clobber another section's name.
  for (const other of elf.sections) {
    const otherOffset = getU32(bytes, sectionHeaderAt(bytes, other.index) + SH.name);
    if (other.index !== section.index && otherOffset > nameOffset && otherOffset < nameOffset + oldName.length) {
      const keep = nameOffset + oldName.length - otherOffset;
      if (newName.slice(-keep) !== oldName.slice(-keep) || newName.length !== oldName.length) {
        throw new Error(`renameSection: '${oldName}' shares its last ${keep} characters with '${other.name}'; keep them`);
      }
    }
  }
  const at = strtab.offset + nameOffset;
  bytes.fill(0, at, at + oldName.length);
  bytes.set(new TextEncoder().encode(newName), at);
}

// ---------------------------------------------------------------------------------------------
// A tiny ELF64 writer, for files no compiler produces (extended numbering, RELA, NOBITS, ...).

export class StringTable {
  private readonly parts: number[] = [0];
  private readonly offsets = new Map<string, number>([['', 0]]);

  add(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const offset = this.parts.length;
    this.parts.push(...new TextEncoder().encode(name), 0);
    this.offsets.set(name, offset);
    return offset;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface SymbolInput {
  name: string;
  value?: bigint;
  size?: bigint;
  type?: number;
  bind?: number;
  other?: number;
  /** st_shndx as written (use 0xffff for SHN_XINDEX). */
  shndx: number;
}

export function encodeSymbols(symbols: readonly SymbolInput[], strings: StringTable, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(24 * (symbols.length + 1));
  const v = new DataView(out.buffer);
  symbols.forEach((s, i) => {
    const at = 24 * (i + 1);
    v.setUint32(at, strings.add(s.name), littleEndian);
    v.setUint8(at + 4, ((s.bind ?? 0) << 4) | (s.type ?? 0));
    v.setUint8(at + 5, s.other ?? 0);
    v.setUint16(at + 6, s.shndx, littleEndian);
    v.setBigUint64(at + 8, s.value ?? 0n, littleEndian);
    v.setBigUint64(at + 16, s.size ?? 0n, littleEndian);
  });
  return out;
}

export interface RelInput {
  offset: bigint;
  symbol: number;
  type: number;
  /** Given for RELA entries. */
  addend?: bigint;
}

export function encodeRelocations(entries: readonly RelInput[], littleEndian: boolean, rela = false): Uint8Array {
  const size = rela ? 24 : 16;
  const out = new Uint8Array(size * entries.length);
  const v = new DataView(out.buffer);
  entries.forEach((e, i) => {
    v.setBigUint64(i * size, e.offset, littleEndian);
    v.setBigUint64(i * size + 8, (BigInt(e.symbol) << 32n) | BigInt(e.type), littleEndian);
    if (rela) v.setBigInt64(i * size + 16, e.addend ?? 0n, littleEndian);
  });
  return out;
}

export interface SectionInput {
  name: string;
  type: number;
  flags?: bigint;
  data?: Uint8Array;
  /** sh_size for sections without contents (SHT_NOBITS); default data.length. */
  size?: number;
  link?: number;
  info?: number;
  entsize?: number;
  addralign?: bigint;
}

export interface ElfOptions {
  littleEndian?: boolean;
  type?: number;
  machine?: number;
  /** Write e_shnum = 0 and the real count in section 0's sh_size. */
  extendedCount?: boolean;
  /** Write e_shstrndx = SHN_XINDEX and the real index in section 0's sh_link. */
  extendedStringIndex?: boolean;
}

/**
 * Writes an ELF64 file: section 0 (null), then `sections` as 1..n, then .shstrtab as n+1; contents
 * first (8-aligned), the section header table last.
 */
export function buildElf(sections: readonly SectionInput[], options: ElfOptions = {}): Uint8Array {
  const le = options.littleEndian ?? true;
  const names = new StringTable();
  const all: SectionInput[] = [...sections];
  const nameOffsets = all.map((s) => names.add(s.name));
  const shstrndx = all.length + 1;
  nameOffsets.push(names.add('.shstrtab'));
  all.push({ name: '.shstrtab', type: 3, data: names.bytes(), addralign: 1n });

  const align8 = (n: number): number => (n + 7) & ~7;
  let at = 64;
  const offsets: number[] = [];
  for (const s of all) {
    at = align8(at);
    offsets.push(at);
    if (s.type !== 8) at += s.data?.length ?? 0;
  }
  const shoff = align8(at);
  const count = all.length + 1;
  const out = new Uint8Array(shoff + 64 * count);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1], 0);
  v.setUint16(16, options.type ?? 1, le);
  v.setUint16(18, options.machine ?? 247, le);
  v.setUint32(20, 1, le);
  v.setBigUint64(40, BigInt(shoff), le);
  v.setUint16(52, 64, le);
  v.setUint16(58, 64, le);
  v.setUint16(60, options.extendedCount ? 0 : count, le);
  v.setUint16(62, options.extendedStringIndex ? 0xffff : shstrndx, le);
  // Section 0 carries the extended values.
  if (options.extendedCount) v.setBigUint64(shoff + 32, BigInt(count), le);
  if (options.extendedStringIndex) v.setUint32(shoff + 40, shstrndx, le);
  all.forEach((s, i) => {
    const data = s.data;
    const h = shoff + 64 * (i + 1);
    if (data && s.type !== 8) out.set(data, offsets[i]!);
    v.setUint32(h, nameOffsets[i]!, le);
    v.setUint32(h + 4, s.type, le);
    v.setBigUint64(h + 8, s.flags ?? 0n, le);
    v.setBigUint64(h + 24, BigInt(offsets[i]!), le);
    v.setBigUint64(h + 32, BigInt(s.size ?? data?.length ?? 0), le);
    v.setUint32(h + 40, s.link ?? 0, le);
    v.setUint32(h + 44, s.info ?? 0, le);
    v.setBigUint64(h + 48, s.addralign ?? 8n, le);
    v.setBigUint64(h + 56, BigInt(s.entsize ?? 0), le);
  });
  return out;
}

/** Encodes BPF instructions: [opcode, dst, src, off, imm] each. */
export function encodeInstructions(insns: ReadonlyArray<readonly [number, number, number, number, number]>, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const v = new DataView(out.buffer);
  insns.forEach(([op, dst, src, off, imm], i) => {
    out[i * 8] = op;
    out[i * 8 + 1] = littleEndian ? (src << 4) | dst : (dst << 4) | src;
    v.setInt16(i * 8 + 2, off, littleEndian);
    v.setInt32(i * 8 + 4, imm, littleEndian);
  });
  return out;
}

/** A struct bpf_elf_map record of `fields` 32-bit words. */
export function encodeWords(words: readonly number[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w, littleEndian));
  return out;
}

// ---------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every fuzz case can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` and returns what it threw (failing when it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an exception, but none was thrown');
}

/**
 * A complete BPF object written by hand, using what clang never writes: extended section
 * numbering (e_shnum = 0, e_shstrndx = SHN_XINDEX), a map symbol whose section comes from
 * SHT_SYMTAB_SHNDX, a RELA section, a NOBITS section and a version section. One program
 * ('kprobe/crafted', function 'crafted') references map 'cr_hash' (record 1) twice and
 * 'cr_array' (record 0) once.
 */
export function craftedBpfObject(littleEndian: boolean): Uint8Array {
  const strings = new StringTable();
  // Section indexes: 1 kprobe/crafted, 2 maps, 3 license, 4 version, 5 .bss, 6 .symtab, 7 .strtab,
  // 8 .symtab_shndx, 9 .relakprobe/crafted, 10 .shstrtab.
  const code = encodeInstructions(
    [
      [0x18, 1, 0, 0, 0], // r1 = cr_hash ll
      [0x00, 0, 0, 0, 0],
      [0x18, 2, 0, 0, 36], // r2 = maps + 36 (section symbol) ll
      [0x00, 0, 0, 0, 0],
      [0x18, 3, 0, 0, 0], // r3 = cr_array ll
      [0x00, 0, 0, 0, 0],
      [0xb7, 0, 0, 0, 0], // r0 = 0
      [0x95, 0, 0, 0, 0], // exit
    ],
    littleEndian,
  );
  const maps = new Uint8Array(72);
  maps.set(encodeWords([2, 4, 8, 1, 0, 0, 0, 0, 0], littleEndian), 0); // cr_array
  maps.set(encodeWords([1, 4, 4, 32, 1, 0, 2, 0, 0], littleEndian), 36); // cr_hash, pinning 2
  const symbols: SymbolInput[] = [
    { name: '', type: 3, shndx: 2 }, // 1: section symbol of maps
    { name: 'crafted', type: 2, bind: 1, shndx: 1, size: BigInt(code.length) }, // 2
    { name: 'cr_array', type: 1, bind: 1, shndx: 0xffff, size: 36n }, // 3: section from SHT_SYMTAB_SHNDX
    { name: 'cr_hash', type: 1, bind: 1, shndx: 2, value: 36n, size: 36n }, // 4
    { name: '_license', type: 1, bind: 1, shndx: 3, size: 4n }, // 5
  ];
  const symtab = encodeSymbols(symbols, strings, littleEndian);
  const shndx = encodeWords([0, 0, 0, 2, 0, 0], littleEndian);
  const rela = encodeRelocations(
    [
      { offset: 0n, symbol: 4, type: 1, addend: 0n },
      { offset: 16n, symbol: 1, type: 1, addend: 0n },
      { offset: 32n, symbol: 3, type: 1, addend: 0n },
    ],
    littleEndian,
    true,
  );
  return buildElf(
    [
      { name: 'kprobe/crafted', type: 1, flags: 6n, data: code },
      { name: 'maps', type: 1, flags: 3n, data: maps, addralign: 4n },
      { name: 'license', type: 1, flags: 3n, data: new TextEncoder().encode('GPL\0'), addralign: 1n },
      { name: 'version', type: 1, flags: 3n, data: encodeWords([0x040f00], littleEndian), addralign: 4n },
      { name: '.bss', type: 8, flags: 3n, size: 64 },
      { name: '.symtab', type: 2, data: symtab, link: 7, info: 2, entsize: 24 },
      { name: '.strtab', type: 3, data: strings.bytes(), addralign: 1n },
      { name: '.symtab_shndx', type: 18, data: shndx, link: 6, entsize: 4, addralign: 4n },
      { name: '.relakprobe/crafted', type: 4, data: rela, link: 6, info: 1, entsize: 24 },
    ],
    { littleEndian, extendedCount: true, extendedStringIndex: true },
  );
}

// ---------------------------------------------------------------------------------------------
// BTF written by hand, for src/btf/btf.ts and src/object/btf-maps.ts: what clang never writes.

/** struct btf_header fields that a test may override. */
export interface BtfHeaderInput {
  magic?: number;
  version?: number;
  flags?: number;
  hdrLen?: number;
  typeOff?: number;
  typeLen?: number;
  strOff?: number;
  strLen?: number;
}

/** Builds .BTF bytes type by type; every adder returns the new type's id. */
export class BtfBuilder {
  readonly strings = new StringTable();
  private readonly records: number[][] = [];

  constructor(readonly littleEndian = true) {}

  /** The id the next type will get. */
  get nextId(): number {
    return this.records.length + 1;
  }

  /** A raw record: name, kind, vlen, kind_flag, size_or_type and the kind-specific words. */
  raw(name: string | number, kind: number, vlen: number, sizeOrType: number, extra: readonly number[] = [], kindFlag = false): number {
    const nameOff = typeof name === 'number' ? name : this.strings.add(name);
    const info = ((kindFlag ? 1 : 0) << 31) | ((kind & 0x1f) << 24) | (vlen & 0xffff);
    this.records.push([nameOff, info >>> 0, sizeOrType >>> 0, ...extra.map((w) => w >>> 0)]);
    return this.records.length;
  }

  int(name: string, size: number, signed = false): number {
    return this.raw(name, 1, 0, size, [((signed ? 1 : 0) << 24) | (size * 8)]);
  }
  ptr(type: number): number {
    return this.raw('', 2, 0, type);
  }
  array(type: number, nelems: number, indexType = type): number {
    return this.raw('', 3, 0, 0, [type, indexType, nelems]);
  }
  struct(name: string, size: number, members: ReadonlyArray<readonly [string, number]>, union = false): number {
    const words = members.flatMap(([memberName, type], i) => [this.strings.add(memberName), type, i * 64]);
    return this.raw(name, union ? 5 : 4, members.length, size, words);
  }
  enum(name: string, size: number, values: ReadonlyArray<readonly [string, number]>): number {
    return this.raw(name, 6, values.length, size, values.flatMap(([n, v]) => [this.strings.add(n), v]));
  }
  enum64(name: string, values: ReadonlyArray<readonly [string, bigint]>): number {
    return this.raw(name, 19, values.length, 8, values.flatMap(([n, v]) => [this.strings.add(n), Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn)]));
  }
  fwd(name: string): number {
    return this.raw(name, 7, 0, 0);
  }
  typedef(name: string, type: number): number {
    return this.raw(name, 8, 0, type);
  }
  /** volatile (9), const (10), restrict (11) or type_tag (18). */
  modifier(kind: 9 | 10 | 11 | 18, type: number, name = ''): number {
    return this.raw(name, kind, 0, type);
  }
  funcProto(returnType: number, params: ReadonlyArray<readonly [string, number]>): number {
    return this.raw('', 13, params.length, returnType, params.flatMap(([n, t]) => [this.strings.add(n), t]));
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.raw(name, 12, linkage, proto);
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.raw(name, 14, 0, type, [linkage]);
  }
  datasec(name: string, size: number, vars: ReadonlyArray<readonly [number, number, number]>): number {
    return this.raw(name, 15, vars.length, size, vars.flat());
  }
  float(name: string, size: number): number {
    return this.raw(name, 16, 0, size);
  }
  declTag(name: string, type: number, componentIndex = -1): number {
    return this.raw(name, 17, 0, type, [componentIndex]);
  }

  /** `int (*name)[value]`, the member type __uint(name, value) declares: its id. */
  uint(value: number): number {
    const int = this.intType ?? (this.intType = this.int('int', 4, true));
    return this.ptr(this.array(int, value, int));
  }
  private intType: number | undefined;

  /** The type section alone. */
  typeBytes(): Uint8Array {
    return encodeWords(this.records.flat(), this.littleEndian);
  }

  /** Header, types, strings (in that order, as clang writes them), with header fields overridden. */
  bytes(header: BtfHeaderInput = {}): Uint8Array {
    const types = this.typeBytes();
    const strings = this.strings.bytes();
    const hdrLen = header.hdrLen ?? 24;
    const out = new Uint8Array(Math.max(hdrLen, 24) + types.length + strings.length);
    const v = new DataView(out.buffer);
    const le = this.littleEndian;
    v.setUint16(0, header.magic ?? 0xeb9f, le);
    v.setUint8(2, header.version ?? 1);
    v.setUint8(3, header.flags ?? 0);
    v.setUint32(4, hdrLen, le);
    v.setUint32(8, header.typeOff ?? 0, le);
    v.setUint32(12, header.typeLen ?? types.length, le);
    v.setUint32(16, header.strOff ?? types.length, le);
    v.setUint32(20, header.strLen ?? strings.length, le);
    out.set(types, Math.max(hdrLen, 24));
    out.set(strings, Math.max(hdrLen, 24) + types.length);
    return out;
  }
}

/** A map of btfMapsObject: its definition's members as [member name, member type id]. */
export interface BtfMapInput {
  name: string;
  members: ReadonlyArray<readonly [string, number]>;
  /** Default 1 (global). */
  linkage?: number;
  /** The variable's size in the DATASEC and its symbol (default 8 per member). */
  size?: number;
  /** The variable's type, instead of a struct made of `members`. */
  definition?: number;
}

export interface BtfMapsObjectOptions {
  /** Write the variables' offsets and the DATASEC size, as a linker does (clang writes zeros). */
  datasecOffsets?: boolean;
  /** Rewrites the symbols before they are written (e.g. to move or drop one). */
  symbols?: (symbols: SymbolInput[]) => SymbolInput[];
  /** Changes the BTF after the maps are added (e.g. to add more DATASEC entries). */
  finish?: (btf: BtfBuilder, datasecVars: Array<[number, number, number]>) => void;
}

/**
 * A BPF object with BTF-defined maps: sections 1 .maps, 2 .BTF, 3 .symtab, 4 .strtab (then
 * .shstrtab). `define` adds the types it needs to the builder and returns the maps, laid out one
 * after another in .maps, each with a global STT_OBJECT symbol.
 */
export function btfMapsObject(littleEndian: boolean, define: (btf: BtfBuilder) => BtfMapInput[], options: BtfMapsObjectOptions = {}): Uint8Array {
  const btf = new BtfBuilder(littleEndian);
  const maps = define(btf);
  const vars: Array<[number, number, number]> = [];
  const symbols: SymbolInput[] = [];
  let offset = 0;
  for (const map of maps) {
    const size = map.size ?? 8 * map.members.length;
    const struct = map.definition ?? btf.struct('', 8 * map.members.length, map.members);
    const variable = btf.variable(map.name, struct, map.linkage ?? 1);
    vars.push([variable, options.datasecOffsets ? offset : 0, size]);
    symbols.push({ name: map.name, value: BigInt(offset), size: BigInt(size), type: 1, bind: 1, shndx: 1 });
    offset += size;
  }
  options.finish?.(btf, vars);
  btf.datasec('.maps', options.datasecOffsets ? offset : 0, vars);
  const strings = new StringTable();
  const symtab = encodeSymbols(options.symbols ? options.symbols(symbols) : symbols, strings, littleEndian);
  return buildElf(
    [
      { name: '.maps', type: 1, flags: 3n, data: new Uint8Array(offset) },
      { name: '.BTF', type: 1, data: btf.bytes(), addralign: 4n },
      { name: '.symtab', type: 2, data: symtab, link: 4, info: 1, entsize: 24 },
      { name: '.strtab', type: 3, data: strings.bytes(), addralign: 1n },
    ],
    { littleEndian },
  );
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** `bpftool btf dump file <path> format raw -j`: the types in bpftool's JSON shape (enumerator values as strings). */
export function bpftoolTypes(path: string): Array<Record<string, Json>> {
  // A kernel's BTF dumps to some 20 MB of JSON.
  const out = execFileSync(tool('bpftool', 'BPFTOOL'), ['btf', 'dump', 'file', path, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  // Enumerator values can exceed 2^53: keep them as strings.
  return (JSON.parse(out.replace(/"val":\s*(-?\d+)/g, '"val":"$1"')) as { types: Array<Record<string, Json>> }).types;
}

/** The host kernel's BTF, when it has one. */
export const HOST_KERNEL_BTF = '/sys/kernel/btf/vmlinux';

/**
 * The kernel BTF files that CO-RE tests resolve against: the Debian 6.1 and 6.12 guest kernels'
 * (test/vm/kernel-btf.sh prints where it cached them; it boots a guest only when the cache is
 * empty) and the host's, when it has one.
 */
export function kernelBtfPaths(): Array<{ kernel: string; path: string }> {
  const guest = (kernel: string): { kernel: string; path: string } => ({
    kernel,
    path: execFileSync(join(REPO, 'test', 'vm', 'kernel-btf.sh'), [kernel], { encoding: 'utf8' }).trim(),
  });
  return [guest('6.1'), guest('6.12'), ...(existsSync(HOST_KERNEL_BTF) ? [{ kernel: 'host', path: HOST_KERNEL_BTF }] : [])];
}

/** Both byte orders of the fixtures: build/<name>.o and build/<name>.bpfeb.o. */
export const ORDERS = [
  { order: 'little-endian', suffix: '.o', littleEndian: true },
  { order: 'big-endian', suffix: '.bpfeb.o', littleEndian: false },
] as const;

/** examples/test_prog.o, or its big-endian build. */
export function testProg(suffix: '.o' | '.bpfeb.o'): Uint8Array {
  return loadFixture(suffix === '.o' ? 'examples/test_prog.o' : 'example_test_prog.bpfeb.o');
}

/** The ObjectError `fn` throws; fails unless it is one, with a one-line message. */
export function objectError(fn: () => unknown): ObjectError {
  const error = thrown(fn);
  assert.ok(error instanceof ObjectError, `expected an ObjectError, got ${String(error)}`);
  assert.ok(error instanceof ElfError, 'an ObjectError is an ElfError');
  assert.ok(!/[\r\n]/.test(error.message), `message is not one line: ${JSON.stringify(error.message)}`);
  return error;
}
