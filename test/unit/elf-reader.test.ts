// src/elf/reader.ts: compared field by field with llvm-readelf on clang-built objects of both
// byte orders, plus hand-made files for what clang never writes (extended numbering, RELA, NOBITS).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import {
  EM_BPF,
  ET_REL,
  SHN_ABS,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_NULL,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  STB_GLOBAL,
  STB_LOCAL,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
  readElf,
  type ElfFile,
} from '../../src/elf/reader.js';
import { ElfError, ObjectError } from '../../src/errors.js';
import { tool } from '../support/tools.js';
import {
  EH,
  SH,
  ST,
  allObjectPaths,
  buildElf,
  fixturePath,
  craftedBpfObject,
  encodeRelocations,
  encodeSymbols,
  getU32,
  loadFixture,
  renameSection,
  sectionHeaderAt,
  sectionNamed,
  setU16,
  setU32,
  setU64,
  StringTable,
  symbolAt,
  thrown,
  type SectionInput,
} from './helpers.js';

const READELF = (): string => tool('llvm-readelf', 'LLVM_READELF');

interface ReadelfSection {
  Index: number;
  Name: { Value: string; RawValue: number };
  Type: { RawValue: number };
  Flags: { RawFlags: number };
  Address: number;
  Offset: number;
  Size: number;
  Link: number;
  Info: number;
  AddressAlignment: number;
  EntrySize: number;
}
interface ReadelfSymbol {
  Name: { Value: string; RawValue: number };
  Value: number;
  Size: number;
  Binding: { RawValue: number };
  Type: { RawValue: number };
  /** A number, or (for a symbol with visibility) { RawFlags }. */
  Other: number | { RawFlags: number };
  Section: { RawValue: number };
}
interface ReadelfFile {
  ElfHeader: { Ident: { DataEncoding: { RawValue: number } }; Machine: { RawValue: number }; Type: string };
  Sections: Array<{ Section: ReadelfSection }>;
  Symbols?: Array<{ Symbol: ReadelfSymbol }>;
}
interface ReadelfRelocation {
  offset: bigint;
  info: bigint;
  typeName: string;
}

function readelfJson(path: string): ReadelfFile {
  const out = execFileSync(READELF(), ['--elf-output-style=JSON', '-h', '-S', '-s', path], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as Array<Record<string, ReadelfFile>>;
  return Object.values(parsed[0]!)[0]!;
}

/** `llvm-readelf -r` in GNU style (its JSON relocation output is not JSON in LLVM 14), keyed by file offset of the REL section. */
function readelfRelocations(path: string): Map<number, ReadelfRelocation[]> {
  const out = execFileSync(READELF(), ['-r', '--wide', path], { encoding: 'utf8' });
  const bySection = new Map<number, ReadelfRelocation[]>();
  let current: ReadelfRelocation[] | undefined;
  for (const line of out.split('\n')) {
    const header = /^Relocation section '.*' at offset 0x([0-9a-f]+) contains (\d+) entr/.exec(line);
    if (header) {
      current = [];
      bySection.set(Number.parseInt(header[1]!, 16), current);
      continue;
    }
    const entry = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)/.exec(line);
    if (entry && current) current.push({ offset: BigInt(`0x${entry[1]}`), info: BigInt(`0x${entry[2]}`), typeName: entry[3]! });
  }
  return bySection;
}

const RELOCATION_TYPES: Record<string, number> = { R_BPF_NONE: 0, R_BPF_64_64: 1, R_BPF_64_ABS64: 2, R_BPF_64_ABS32: 3, R_BPF_64_NODYLD32: 4, R_BPF_64_32: 10 };

/** Compares everything readElf reports with llvm-readelf's view of the same file. */
function compareWithReadelf(path: string, elf: ElfFile): void {
  const reference = readelfJson(path);
  assert.equal(elf.littleEndian, reference.ElfHeader.Ident.DataEncoding.RawValue === 1, 'byte order');
  assert.equal(elf.machine, reference.ElfHeader.Machine.RawValue, 'e_machine');
  assert.match(reference.ElfHeader.Type, new RegExp(`\\(0x${elf.type.toString(16)}\\)`), 'e_type');

  assert.equal(elf.sections.length, reference.Sections.length, 'section count');
  for (const { Section: r } of reference.Sections) {
    const s = elf.sections[r.Index]!;
    const where = `section ${r.Index} (${r.Name.Value})`;
    assert.equal(s.index, r.Index, `${where}: index`);
    assert.equal(s.name, r.Name.Value, `${where}: name`);
    assert.equal(s.type, r.Type.RawValue, `${where}: type`);
    assert.equal(s.flags, BigInt(r.Flags.RawFlags), `${where}: flags`);
    assert.equal(s.addr, BigInt(r.Address), `${where}: addr`);
    if (s.type !== SHT_NOBITS && r.Type.RawValue !== 0) assert.equal(s.offset, r.Offset, `${where}: offset`);
    assert.equal(s.size, r.Size, `${where}: size`);
    assert.equal(s.link, r.Link, `${where}: link`);
    assert.equal(s.info, r.Info, `${where}: info`);
    assert.equal(s.addralign, BigInt(r.AddressAlignment), `${where}: addralign`);
    assert.equal(s.entsize, r.EntrySize, `${where}: entsize`);
    if (s.type === SHT_NOBITS || s.type === SHT_NULL) {
      assert.equal(elf.sectionData(s).length, 0, `${where}: no contents`);
    } else {
      const file = readFileSync(path);
      assert.deepEqual(Buffer.from(elf.sectionData(s)), file.subarray(r.Offset, r.Offset + r.Size), `${where}: contents`);
    }
  }

  const symbols = reference.Symbols ?? [];
  assert.equal(elf.symbols.length, symbols.length, 'symbol count');
  symbols.forEach(({ Symbol: r }, i) => {
    const s = elf.symbols[i]!;
    const where = `symbol ${i} (${r.Name.Value})`;
    assert.equal(s.index, i, `${where}: index`);
    // llvm-readelf shows a section symbol (st_name 0) by its section's name; the table holds ''.
    assert.equal(s.name, r.Name.RawValue === 0 ? '' : r.Name.Value, `${where}: name`);
    assert.equal(s.value, BigInt(r.Value), `${where}: value`);
    assert.equal(s.size, BigInt(r.Size), `${where}: size`);
    assert.equal(s.type, r.Type.RawValue, `${where}: type`);
    assert.equal(s.bind, r.Binding.RawValue, `${where}: bind`);
    assert.equal(s.visibility, (typeof r.Other === 'number' ? r.Other : r.Other.RawFlags) & 3, `${where}: visibility`);
    assert.equal(s.sectionIndex, r.Section.RawValue, `${where}: section index`);
  });

  const relocations = readelfRelocations(path);
  const relSections = elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA);
  assert.equal(relSections.length, relocations.size, 'number of relocation sections');
  for (const rel of relSections) {
    const expected = relocations.get(rel.offset);
    assert.ok(expected, `llvm-readelf lists no relocation section at offset ${rel.offset} (${rel.name})`);
    const actual = elf.relocations(rel);
    assert.equal(actual.length, expected.length, `${rel.name}: entry count`);
    actual.forEach((a, i) => {
      const e = expected[i]!;
      assert.equal(a.offset, e.offset, `${rel.name}[${i}]: offset`);
      assert.equal(a.symbolIndex, Number(e.info >> 32n), `${rel.name}[${i}]: symbol`);
      assert.equal(a.type, Number(e.info & 0xffffffffn), `${rel.name}[${i}]: type`);
      assert.equal(a.type, RELOCATION_TYPES[e.typeName], `${rel.name}[${i}]: type ${e.typeName}`);
    });
    // The relocation section belongs to the section its sh_info names.
    const target = elf.sections[rel.info]!;
    assert.deepEqual(
      elf.relocationSectionsFor(target).map((s) => s.index),
      [rel.index],
      `${rel.name} applies to section ${rel.info} (${target.name})`,
    );
  }
}

const tempDir = mkdtempSync(join(tmpdir(), 'lkb-elf-reader-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(tempDir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('readElf agrees with llvm-readelf on clang-built objects', () => {
  const paths = allObjectPaths();

  test('fixtures of both byte orders are present', () => {
    const big = paths.filter((p) => p.endsWith('.bpfeb.o'));
    const little = paths.filter((p) => !p.endsWith('.bpfeb.o'));
    assert.ok(big.length >= 5, `big-endian fixtures: ${big.map((p) => basename(p)).join(', ')}`);
    assert.ok(little.length >= 5, `little-endian fixtures: ${little.map((p) => basename(p)).join(', ')}`);
  });

  for (const path of paths) {
    test(basename(path), () => {
      const bytes = new Uint8Array(readFileSync(path));
      const elf = readElf(bytes);
      assert.equal(elf.littleEndian, !path.endsWith('.bpfeb.o'));
      assert.equal(elf.machine, EM_BPF);
      assert.equal(elf.type, ET_REL);
      compareWithReadelf(path, elf);
    });
  }
});

describe('readElf on examples/test_prog.o', () => {
  test('finds the program, its relocations and the map symbols', () => {
    const elf = readElf(loadFixture('examples/test_prog.o'));
    assert.deepEqual(
      elf.sections.map((s) => s.name),
      ['', '.strtab', '.text', 'prog', '.relprog', 'maps', 'license', '.llvm_addrsig', '.symtab'],
    );
    const prog = sectionNamed(elf, 'prog');
    assert.equal(prog.size, 408);
    const [rel, ...others] = elf.relocationSectionsFor(prog);
    assert.equal(others.length, 0);
    assert.equal(rel!.name, '.relprog');
    assert.deepEqual(
      elf.relocations(rel!).map((r) => [r.offset, elf.symbols[r.symbolIndex]!.name, r.type]),
      [
        [0x28n, 'kp_bpf_calls', 1],
        [0xe8n, 'kp_bpf_cmds', 1],
        [0x128n, 'kp_bpf_cmds', 1],
        [0x160n, 'kp_bpf_cmds', 1],
      ],
    );
    const maps = sectionNamed(elf, 'maps');
    const mapSymbols = elf.symbols.filter((s) => s.sectionIndex === maps.index);
    assert.deepEqual(
      mapSymbols.map((s) => [s.name, s.value, s.size, s.type, s.bind]),
      [
        ['kp_bpf_calls', 0n, 36n, STT_OBJECT, STB_GLOBAL],
        ['kp_bpf_cmds', 36n, 36n, STT_OBJECT, STB_GLOBAL],
      ],
    );
    const file = elf.symbols.find((s) => s.name === 'test_prog.c')!;
    assert.equal(file.sectionIndex, SHN_ABS);
    assert.equal(elf.symbols[0]!.name, '');
    assert.equal(elf.dynamicSymbols.length, 0);
    assert.equal(new TextDecoder().decode(elf.sectionData(sectionNamed(elf, 'license'))), 'GPL\0');
  });

  test('sectionData is a view of the file, not a copy', () => {
    const bytes = loadFixture('examples/test_prog.o');
    const elf = readElf(bytes);
    const license = sectionNamed(elf, 'license');
    elf.sectionData(license)[0] = 0x4c; // 'L'
    assert.equal(bytes[license.offset], 0x4c);
  });

  test('a relocation section is found by sh_info, whatever its name', () => {
    const bytes = loadFixture('examples/test_prog.o');
    renameSection(bytes, '.relprog', 'zzzzprog');
    const elf = readElf(bytes);
    assert.equal(elf.sectionByName('.relprog'), undefined);
    const rels = elf.relocationSectionsFor(sectionNamed(elf, 'prog'));
    assert.deepEqual(rels.map((s) => s.name), ['zzzzprog']);
    assert.equal(elf.relocations(rels[0]!).length, 4);
  });

  test('a section named .relprog whose sh_info names another section does not apply to prog', () => {
    const bytes = loadFixture('examples/test_prog.o');
    const elf = readElf(bytes);
    const rel = sectionNamed(elf, '.relprog');
    setU32(bytes, sectionHeaderAt(bytes, rel.index) + SH.info, sectionNamed(elf, 'license').index);
    const patched = readElf(bytes);
    assert.deepEqual(patched.relocationSectionsFor(sectionNamed(patched, 'prog')), []);
    assert.deepEqual(patched.relocationSectionsFor(sectionNamed(patched, 'license')).map((s) => s.name), ['.relprog']);
  });
});

describe('readElf on hand-made files', () => {
  function symbolFile(littleEndian: boolean, options: { extendedCount?: boolean; extendedStringIndex?: boolean } = {}): Uint8Array {
    const strings = new StringTable();
    const code = new Uint8Array(16);
    const symbols = encodeSymbols(
      [
        { name: 'text', type: STT_SECTION, shndx: 1 },
        { name: 'entry', type: STT_FUNC, bind: STB_GLOBAL, shndx: 1, size: 16n },
        { name: 'data_obj', type: STT_OBJECT, bind: STB_GLOBAL, shndx: 2, value: 8n, size: 4n },
      ],
      strings,
      littleEndian,
    );
    const sections: SectionInput[] = [
      { name: 'code', type: SHT_PROGBITS, flags: 6n, data: code }, // 1
      { name: 'data', type: SHT_PROGBITS, flags: 3n, data: new Uint8Array(12).fill(7) }, // 2
      { name: '.bss', type: SHT_NOBITS, flags: 3n, size: 4096 }, // 3
      { name: '.symtab', type: SHT_SYMTAB, data: symbols, link: 5, info: 1, entsize: 24 }, // 4
      { name: '.strtab', type: SHT_STRTAB, data: strings.bytes() }, // 5
      { name: '.relacode', type: SHT_RELA, data: encodeRelocations([{ offset: 8n, symbol: 3, type: 1, addend: -12n }], littleEndian, true), link: 4, info: 1, entsize: 24 }, // 6
    ];
    return buildElf(sections, { littleEndian, ...options });
  }

  for (const littleEndian of [true, false]) {
    const order = littleEndian ? 'little-endian' : 'big-endian';

    test(`${order}: sections, symbols, NOBITS and RELA addends, checked against llvm-readelf`, () => {
      const bytes = symbolFile(littleEndian);
      const path = writeTemp(`plain-${order}.o`, bytes);
      const elf = readElf(bytes);
      compareWithReadelf(path, elf);
      assert.deepEqual(elf.sections.map((s) => s.name), ['', 'code', 'data', '.bss', '.symtab', '.strtab', '.relacode', '.shstrtab']);
      const bss = sectionNamed(elf, '.bss');
      assert.equal(bss.size, 4096);
      assert.equal(elf.sectionData(bss).length, 0, 'NOBITS has no bytes in the file');
      const [rela] = elf.relocationSectionsFor(sectionNamed(elf, 'code'));
      assert.deepEqual(elf.relocations(rela!), [{ offset: 8n, symbolIndex: 3, type: 1, addend: -12n }]);
      assert.equal(elf.symbols[3]!.name, 'data_obj');
    });

    test(`${order}: e_shnum = 0 takes the section count from section 0's sh_size`, () => {
      const bytes = symbolFile(littleEndian, { extendedCount: true });
      assert.equal(bytes[EH.shnum], 0);
      assert.equal(bytes[EH.shnum + 1], 0);
      const path = writeTemp(`xcount-${order}.o`, bytes);
      const elf = readElf(bytes);
      assert.equal(elf.sections.length, 8);
      assert.equal(elf.sections[7]!.name, '.shstrtab');
      assert.equal(elf.sections[0]!.size, 8, 'section 0 holds the count in sh_size');
      compareWithReadelf(path, elf);
    });

    test(`${order}: e_shstrndx = SHN_XINDEX takes the name table index from section 0's sh_link`, () => {
      const bytes = symbolFile(littleEndian, { extendedStringIndex: true });
      const path = writeTemp(`xstrndx-${order}.o`, bytes);
      const elf = readElf(bytes);
      assert.equal(elf.sections[0]!.link, 7);
      assert.deepEqual(elf.sections.map((s) => s.name), ['', 'code', 'data', '.bss', '.symtab', '.strtab', '.relacode', '.shstrtab']);
      compareWithReadelf(path, elf);
    });

    test(`${order}: both extended fields at once`, () => {
      const elf = readElf(symbolFile(littleEndian, { extendedCount: true, extendedStringIndex: true }));
      assert.equal(elf.sections.length, 8);
      assert.equal(elf.sections[4]!.name, '.symtab');
      assert.equal(elf.symbols.length, 4);
    });

    test(`${order}: a symbol with st_shndx = SHN_XINDEX takes its section from SHT_SYMTAB_SHNDX`, () => {
      const strings = new StringTable();
      const symbols = encodeSymbols(
        [
          { name: 'far', type: STT_OBJECT, bind: STB_GLOBAL, shndx: SHN_XINDEX, value: 4n },
          { name: 'near', type: STT_OBJECT, bind: STB_LOCAL, shndx: 1 },
        ],
        strings,
        littleEndian,
      );
      const shndx = new Uint8Array(12);
      new DataView(shndx.buffer).setUint32(4, 2, littleEndian); // symbol 1 ('far') is in section 2
      const bytes = buildElf(
        [
          { name: 'a', type: SHT_PROGBITS, data: new Uint8Array(8) }, // 1
          { name: 'b', type: SHT_PROGBITS, data: new Uint8Array(8) }, // 2
          { name: '.symtab', type: SHT_SYMTAB, data: symbols, link: 4, info: 1, entsize: 24 }, // 3
          { name: '.strtab', type: SHT_STRTAB, data: strings.bytes() }, // 4
          { name: '.symtab_shndx', type: SHT_SYMTAB_SHNDX, data: shndx, link: 3, entsize: 4 }, // 5
        ],
        { littleEndian },
      );
      const path = writeTemp(`xshndx-${order}.o`, bytes);
      const elf = readElf(bytes);
      assert.equal(elf.symbols[1]!.name, 'far');
      assert.equal(elf.symbols[1]!.sectionIndex, 2);
      assert.equal(elf.symbols[2]!.sectionIndex, 1);
      compareWithReadelf(path, elf);

      // An extended index is a real section index: one in the reserved range is not SHN_ABS.
      const extendedEntry = sectionNamed(elf, '.symtab_shndx').offset + 4;
      for (const bad of [SHN_ABS, 0xffff_fff0, 7]) {
        setU32(bytes, extendedEntry, bad);
        assert.throws(() => readElf(bytes), {
          name: 'ElfError',
          message: `symbol table (section 3 .symtab): symbol 1 refers to section ${bad}, but there are 7`,
        });
      }
      setU32(bytes, extendedEntry, 2);

      // Without the SHT_SYMTAB_SHNDX section the extended index cannot be resolved.
      setU32(bytes, sectionHeaderAt(bytes, 5) + SH.type, SHT_PROGBITS);
      const error = thrown(() => readElf(bytes));
      assert.ok(error instanceof ElfError);
      assert.match(error.message, /symbol 1 uses an extended section index but there is no SHT_SYMTAB_SHNDX section/);
    });

    test(`${order}: an extended index table shorter than the symbol table is refused`, () => {
      const strings = new StringTable();
      const symbols = encodeSymbols([{ name: 'x', shndx: SHN_XINDEX }], strings, littleEndian);
      const bytes = buildElf(
        [
          { name: '.symtab', type: SHT_SYMTAB, data: symbols, link: 2, entsize: 24 },
          { name: '.strtab', type: SHT_STRTAB, data: strings.bytes() },
          { name: '.symtab_shndx', type: SHT_SYMTAB_SHNDX, data: new Uint8Array(4), link: 1, entsize: 4 },
        ],
        { littleEndian },
      );
      assert.throws(() => readElf(bytes), { name: 'ElfError', message: /extended section index table \(section 3\) is smaller than symbol table \(section 1 \.symtab\)/ });
    });
  }

  for (const littleEndian of [true, false]) {
    test(`${littleEndian ? 'little' : 'big'}-endian: the hand-made BPF object of helpers.ts, checked against llvm-readelf`, () => {
      const bytes = craftedBpfObject(littleEndian);
      const elf = readElf(bytes);
      compareWithReadelf(writeTemp(`crafted-${littleEndian}.o`, bytes), elf);
      assert.equal(elf.sections.length, 11);
      assert.equal(elf.symbols.find((s) => s.name === 'cr_array')!.sectionIndex, sectionNamed(elf, 'maps').index);
      assert.deepEqual(
        elf.relocations(elf.relocationSectionsFor(sectionNamed(elf, 'kprobe/crafted'))[0]!).map((r) => [r.offset, r.symbolIndex, r.type, r.addend]),
        [
          [0n, 4, 1, 0n],
          [16n, 1, 1, 0n],
          [32n, 3, 1, 0n],
        ],
      );
    });
  }

  test('an extended section count that runs past the end of the file is refused', () => {
    const bytes = buildElf([{ name: 'a', type: SHT_PROGBITS, data: new Uint8Array(8) }], { extendedCount: true });
    setU64(bytes, sectionHeaderAt(bytes, 0) + SH.size, 4n);
    assert.throws(() => readElf(bytes), { name: 'ElfError', message: 'truncated ELF file: section header table (4 entries) at offset 88 needs 256 bytes but the file has 280' });
    setU64(bytes, sectionHeaderAt(bytes, 0) + SH.size, 1n << 40n);
    assert.throws(() => readElf(bytes), { name: 'ElfError', message: /section count \(from section header 0\) 1099511627776 is beyond the end of the file/ });
  });

  test('an extended name table index out of range is refused', () => {
    const bytes = buildElf([{ name: 'a', type: SHT_PROGBITS, data: new Uint8Array(8) }], { extendedStringIndex: true });
    setU32(bytes, sectionHeaderAt(bytes, 0) + SH.link, 99);
    assert.throws(() => readElf(bytes), { name: 'ElfError', message: 'section name table index 99 is out of range (3 sections)' });
  });

  test('a file without section headers has no sections and no symbols', () => {
    const bytes = buildElf([]);
    setU64(bytes, EH.shoff, 0n);
    const elf = readElf(bytes);
    assert.deepEqual(elf.sections, []);
    assert.deepEqual(elf.symbols, []);
  });
});

describe('readElf refuses malformed files with one ElfError saying what and where', () => {
  const base = (): Uint8Array => loadFixture('examples/test_prog.o');
  const cases: Array<[string, (b: Uint8Array) => Uint8Array | void, RegExp | string]> = [
    ['empty file', () => new Uint8Array(0), 'truncated ELF file: ELF identification at offset 0 needs 16 bytes but the file has 0'],
    ['bad magic', (b) => void (b[1] = 0x46), 'not an ELF file (bad magic number at offset 0)'],
    ['32-bit class', (b) => void (b[4] = 1), '32-bit ELF file: only ELF64 is supported'],
    ['unknown class', (b) => void (b[4] = 7), 'unknown ELF class 7 at offset 4'],
    ['unknown byte order', (b) => void (b[5] = 3), 'unknown ELF byte order 3 at offset 5'],
    ['unknown version', (b) => void (b[6] = 2), 'unknown ELF version 2 at offset 6'],
    ['header cut short', (b) => b.subarray(0, 40), 'truncated ELF file: ELF header at offset 0 needs 64 bytes but the file has 40'],
    ['wrong e_shentsize', (b) => setU16(b, EH.shentsize, 40), 'section header size is 40, expected 64 (offset 58)'],
    ['e_shoff beyond the file', (b) => setU64(b, EH.shoff, 1n << 62n), /^section header table offset 4611686018427387904 is beyond the end of the file \(1584 bytes\)$/],
    ['e_shnum too big for the file', (b) => setU16(b, EH.shnum, 200), /^truncated ELF file: section header table \(200 entries\) at offset 1008 needs 12800 bytes/],
    ['e_shstrndx out of range', (b) => setU16(b, EH.shstrndx, 9), 'section name table index 9 is out of range (9 sections)'],
    ['e_shstrndx names a non-string table', (b) => setU16(b, EH.shstrndx, 3), 'section name table (section 3) is not a string table'],
    ['section name outside the name table', (b) => setU32(b, sectionHeaderAt(b, 3) + SH.name, 5000), 'name of section 3: string offset 5000 is outside string table section 1 (142 bytes)'],
    ['section contents past the end', (b) => setU64(b, sectionHeaderAt(b, 3) + SH.size, 1521n), 'section 3: contents at offset 64 with size 1521 run past the end of the file (1584 bytes)'],
    ['section offset past the end', (b) => setU64(b, sectionHeaderAt(b, 3) + SH.offset, 0xffff_ffff_ffffn), 'section 3: offset 281474976710655 is beyond the end of the file (1584 bytes)'],
    ['REL sh_link out of range', (b) => setU32(b, sectionHeaderAt(b, 4) + SH.link, 9), 'section 4: linked section 9 is out of range (9 sections)'],
    ['REL sh_info out of range', (b) => setU32(b, sectionHeaderAt(b, 4) + SH.info, 0x7fffffff), 'section 4: relocated section 2147483647 is out of range (9 sections)'],
    ['symtab sh_link out of range', (b) => setU32(b, sectionHeaderAt(b, 8) + SH.link, 12), 'section 8: linked section 12 is out of range (9 sections)'],
    ['symtab linked to a non-string table', (b) => setU32(b, sectionHeaderAt(b, 8) + SH.link, 3), /^symbol table \(section 8 \.symtab\): name of symbol 0: section 3 is not a string table$/],
    ['symtab entry size', (b) => setU64(b, sectionHeaderAt(b, 8) + SH.entsize, 16n), 'symbol table (section 8 .symtab): entry size 16, expected 24'],
    ['symtab size not a multiple of 24', (b) => setU64(b, sectionHeaderAt(b, 8) + SH.size, 230n), 'symbol table (section 8 .symtab): size 230 is not a multiple of 24'],
    ['two symbol tables', (b) => setU32(b, sectionHeaderAt(b, 7) + SH.type, SHT_SYMTAB), 'more than one symbol table of type 2'],
    ['symbol name outside the string table', (b) => setU32(b, symbolAt(b, 6) + ST.name, 142), 'symbol table (section 8 .symtab): name of symbol 6: string offset 142 is outside string table section 1 (142 bytes)'],
    ['symbol in a section that does not exist', (b) => setU16(b, symbolAt(b, 7) + ST.shndx, 42), 'symbol table (section 8 .symtab): symbol 7 refers to section 42, but there are 9'],
    ['symbol uses SHN_XINDEX without a SYMTAB_SHNDX', (b) => setU16(b, symbolAt(b, 7) + ST.shndx, SHN_XINDEX), /symbol 7 uses an extended section index but there is no SHT_SYMTAB_SHNDX section/],
  ];
  for (const [what, mutate, message] of cases) {
    test(what, () => {
      const bytes = base();
      const result = mutate(bytes);
      const error = thrown(() => readElf(result ?? bytes));
      assert.ok(error instanceof ElfError, `${what}: ${String(error)}`);
      assert.ok(!(error instanceof ObjectError), 'malformed ELF is an ElfError, not an ObjectError');
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
    });
  }

  test('a string that is not NUL-terminated inside its table', () => {
    const bytes = base();
    const elf = readElf(bytes);
    const strtab = sectionNamed(elf, '.strtab');
    // Shrink the table so its last string (symbol 4's name) loses its NUL.
    const lastNul = bytes.lastIndexOf(0, strtab.offset + strtab.size - 1);
    assert.equal(lastNul, strtab.offset + strtab.size - 1);
    setU64(bytes, sectionHeaderAt(bytes, strtab.index) + SH.size, BigInt(strtab.size - 1));
    assert.throws(() => readElf(bytes), {
      name: 'ElfError',
      message: 'symbol table (section 8 .symtab): name of symbol 4: string at offset 134 of section 1 is not NUL-terminated',
    });
  });

  test('relocations: entry naming a symbol that does not exist, size not a multiple, wrong link', () => {
    const bytes = base();
    const elf = readElf(bytes);
    const rel = sectionNamed(elf, '.relprog');
    // r_info of entry 2: symbol 10 (there are 10, 0..9).
    setU64(bytes, rel.offset + 2 * 16 + 8, (10n << 32n) | 1n);
    const patched = readElf(bytes);
    assert.throws(() => patched.relocations(sectionNamed(patched, '.relprog')), {
      name: 'ElfError',
      message: 'relocation section 4 (.relprog): entry 2 refers to symbol 10, but there are 10',
    });

    const sized = base();
    setU64(sized, sectionHeaderAt(sized, rel.index) + SH.size, 56n);
    const s = readElf(sized);
    assert.throws(() => s.relocations(sectionNamed(s, '.relprog')), { name: 'ElfError', message: 'relocation section 4 (.relprog): size 56 is not a multiple of 16' });

    const linked = base();
    setU32(linked, sectionHeaderAt(linked, rel.index) + SH.link, 1);
    const l = readElf(linked);
    assert.throws(() => l.relocations(sectionNamed(l, '.relprog')), { name: 'ElfError', message: 'relocation section 4 (.relprog): linked section 1 is not a symbol table' });

    assert.throws(() => elf.relocations(sectionNamed(elf, 'prog')), { name: 'ElfError', message: 'relocation section 3 (prog) is not a REL or RELA section' });
  });

  test('big-endian fields are read big-endian', () => {
    const bytes = loadFixture('example_test_prog.bpfeb.o');
    const elf = readElf(bytes);
    assert.equal(elf.littleEndian, false);
    const prog = sectionNamed(elf, 'prog');
    const shoff = Number(new DataView(bytes.buffer).getBigUint64(EH.shoff, false));
    assert.equal(prog.offset, Number(new DataView(bytes.buffer).getBigUint64(shoff + prog.index * 64 + SH.offset, false)));
    assert.equal(getU32(bytes, sectionHeaderAt(bytes, prog.index) + SH.type), SHT_PROGBITS);
    assert.deepEqual(
      elf.relocations(elf.relocationSectionsFor(prog)[0]!).map((r) => elf.symbols[r.symbolIndex]!.name),
      ['kp_bpf_calls', 'kp_bpf_cmds', 'kp_bpf_cmds', 'kp_bpf_cmds'],
    );
  });
});

describe('readElf notes', () => {
  test("every note of a linked program, 8-aligned .note.gnu.property among them, as readelf -n lists them", () => {
    const path = fixturePath('busy_loop');
    const elf = readElf(readFileSync(path));
    const ours = elf.sections.filter((s) => s.type === SHT_NOTE).flatMap((s) => elf.notes(s).map((n) => `${s.name} ${n.name} ${n.desc.length}`));
    // readelf -n: "Displaying notes found in: SECTION", then "  OWNER   0xSIZE  TYPE" per note.
    const theirs: string[] = [];
    let section = '';
    for (const line of execFileSync(tool('readelf'), ['-n', '-W', path], { encoding: 'utf8' }).split('\n')) {
      const heading = /^Displaying notes found in: (\S+)/.exec(line);
      if (heading) section = heading[1]!;
      const note = /^\s+(\S+)\s+0x([0-9a-f]+)\s/.exec(line);
      if (note && note[1] !== 'Owner') theirs.push(`${section} ${note[1]} ${parseInt(note[2]!, 16)}`);
    }
    assert.ok(theirs.some((n) => n.startsWith('.note.gnu.build-id GNU 20')), theirs.join('\n'));
    assert.deepEqual(ours, theirs);
  });
});
