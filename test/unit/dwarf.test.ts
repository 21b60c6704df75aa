// src/dwarf: the BTF made from an object's DWARF against llvm-dwarfdump, against the object's own BTF, and on malformed input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { tool } from '../support/tools.js';
import { BTF_KIND, type Btf, type BtfComposite, type BtfEnum, type BtfInt, type BtfModifier, type BtfPtr, type BtfType } from '../../src/btf/btf.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { readDwarf, readDwarfTypes } from '../../src/dwarf/reader.js';
import { readElf, STT_SECTION } from '../../src/elf/reader.js';
import { ObjectError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { testCompilerLayout } from './compiler-layout.js';
import { buildElf, fixturePath, getU32, loadFixture, objectError, ORDERS, prng, REPO, SH, sectionHeaderAt, sectionNamed, setU32, setU64, StringTable } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// What llvm-dwarfdump prints, read back into entries: the independent side of the comparisons.

interface DumpEntry {
  offset: number;
  tag: string;
  attributes: Map<string, string>;
  children: DumpEntry[];
}

/** `llvm-dwarfdump --debug-info`'s entries by offset; nesting from the indentation of each tag. */
function dumpEntries(path: string): Map<number, DumpEntry> {
  const text = execFileSync(tool('llvm-dwarfdump', 'LLVM_DWARFDUMP'), ['--debug-info', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byOffset = new Map<number, DumpEntry>();
  const open: DumpEntry[] = [];
  let current: DumpEntry | undefined;
  for (const line of text.split('\n')) {
    const entry = /^0x([0-9a-f]+):(\s+)(DW_TAG_\w+|NULL)/.exec(line);
    if (entry) {
      current = undefined;
      if (entry[3] === 'NULL') continue;
      const depth = (entry[2]!.length - 1) / 2;
      current = { offset: parseInt(entry[1]!, 16), tag: entry[3]!.slice(7), attributes: new Map(), children: [] };
      open[depth - 1]?.children.push(current);
      open[depth] = current;
      byOffset.set(current.offset, current);
      continue;
    }
    const attribute = /^\s+DW_AT_(\w+)\s+\((.*)\)$/.exec(line);
    if (attribute && current) current.attributes.set(attribute[1]!, attribute[2]!);
  }
  return byOffset;
}

/** A number as dwarfdump prints it: 0x10, 16, -1, or DW_OP_plus_uconst 0x10 (DWARF 2 and 3 member locations). */
function dumpNumber(entry: DumpEntry, name: string): bigint | undefined {
  const text = entry.attributes.get(name);
  if (text === undefined) return undefined;
  return BigInt(text.replace(/^DW_OP_plus_uconst /, ''));
}

function dumpReference(entries: Map<number, DumpEntry>, entry: DumpEntry): DumpEntry | undefined {
  const text = entry.attributes.get('type');
  if (text === undefined) return undefined;
  const target = entries.get(parseInt(/^0x([0-9a-f]+)/.exec(text)![1]!, 16));
  assert.ok(target, `dwarfdump: ${text} names no entry`);
  return target;
}

function dumpName(entry: DumpEntry): string {
  return /^"(.*)"$/.exec(entry.attributes.get('name') ?? '""')![1]!;
}

/** Size in bytes as C has it (undefined for void and functions), worked out from the dump alone. */
function dumpSize(entries: Map<number, DumpEntry>, entry: DumpEntry | undefined): number | undefined {
  if (!entry) return undefined;
  switch (entry.tag) {
    case 'pointer_type':
      return 8;
    case 'typedef':
    case 'const_type':
    case 'volatile_type':
    case 'restrict_type':
    case 'atomic_type':
      return dumpSize(entries, dumpReference(entries, entry));
    case 'array_type': {
      const counts = entry.children.filter((c) => c.tag === 'subrange_type').map((s) => Number(dumpNumber(s, 'count') ?? (dumpNumber(s, 'upper_bound') ?? -1n) + 1n));
      const element = dumpSize(entries, dumpReference(entries, entry));
      return element === undefined ? undefined : counts.reduce((n, c) => n * c, element);
    }
    case 'subroutine_type':
      return undefined;
    default:
      return entry.attributes.has('declaration') ? undefined : Number(dumpNumber(entry, 'byte_size'));
  }
}

/** The dimensions of an array type (through typedefs and qualifiers, also of its element), outermost first. */
function dumpDims(entries: Map<number, DumpEntry>, entry: DumpEntry | undefined): number[] {
  while (entry && ['typedef', 'const_type', 'volatile_type', 'restrict_type', 'atomic_type'].includes(entry.tag)) entry = dumpReference(entries, entry);
  if (entry?.tag !== 'array_type') return [];
  const counts = entry.children.filter((c) => c.tag === 'subrange_type').map((s) => Number(dumpNumber(s, 'count') ?? (dumpNumber(s, 'upper_bound') ?? -1n) + 1n));
  return [...counts, ...dumpDims(entries, dumpReference(entries, entry))];
}

/** A member's bit offset by the DWARF standard: data_bit_offset, else DWARF 2's bit_offset counted from the storage unit's top bit. */
function dumpBitOffset(entries: Map<number, DumpEntry>, member: DumpEntry, littleEndian: boolean): number {
  const dataBitOffset = dumpNumber(member, 'data_bit_offset');
  if (dataBitOffset !== undefined) return Number(dataBitOffset);
  const location = Number(dumpNumber(member, 'data_member_location') ?? 0n) * 8;
  const fromTop = dumpNumber(member, 'bit_offset');
  if (fromTop === undefined) return location;
  const storage = Number(dumpNumber(member, 'byte_size') ?? BigInt(dumpSize(entries, dumpReference(entries, member))!)) * 8;
  const size = Number(dumpNumber(member, 'bit_size'));
  return littleEndian ? location + storage - Number(fromTop) - size : location + Number(fromTop);
}

// ---------------------------------------------------------------------------------------------
// One shape for a struct, union, enum, forward declaration or typedef, from either side.

interface Described {
  kind: string;
  name: string;
  size?: number | null;
  /** dims: a member's array dimensions, outermost first (through typedefs), [] for others. */
  members?: Array<{ name: string; bitOffset: number; bitSize: number; size: number | null; dims: number[] }>;
  values?: Array<[string, string]>;
}

const DUMP_KINDS: Record<string, string> = { structure_type: 'struct', union_type: 'union', enumeration_type: 'enum', typedef: 'typedef' };

function describeDump(path: string, littleEndian: boolean): Described[] {
  const entries = dumpEntries(path);
  const described: Described[] = [];
  for (const entry of entries.values()) {
    const kind = DUMP_KINDS[entry.tag];
    if (!kind) continue;
    const name = dumpName(entry);
    if (kind === 'typedef') described.push({ kind, name, size: dumpSize(entries, dumpReference(entries, entry)) ?? null });
    else if (kind === 'enum') {
      const values = entry.children.filter((c) => c.tag === 'enumerator').map((e): [string, string] => [dumpName(e), BigInt.asUintN(64, dumpNumber(e, 'const_value')!).toString()]);
      described.push({ kind, name, size: dumpSize(entries, entry) ?? null, values });
    } else if (entry.attributes.has('declaration')) described.push({ kind: `fwd ${kind}`, name });
    else {
      const members = entry.children
        .filter((c) => c.tag === 'member')
        .map((m) => ({
          name: dumpName(m),
          bitOffset: dumpBitOffset(entries, m, littleEndian),
          bitSize: Number(dumpNumber(m, 'bit_size') ?? 0n),
          size: dumpSize(entries, dumpReference(entries, m)) ?? null,
          dims: dumpDims(entries, dumpReference(entries, m)),
        }));
      described.push({ kind, name, size: dumpSize(entries, entry) ?? null, members });
    }
  }
  return sorted(described);
}

function sizeOrNull(btf: Btf, id: number): number | null {
  try {
    return btf.sizeOf(id);
  } catch {
    return null;
  }
}

function members(btf: Btf, type: BtfComposite): NonNullable<Described['members']> {
  return type.members.map((m) => ({
    name: m.name,
    bitOffset: type.kindFlag ? m.offset & 0xffffff : m.offset,
    bitSize: type.kindFlag ? m.offset >>> 24 : 0,
    size: sizeOrNull(btf, m.type),
    dims: dims(btf, m.type),
  }));
}

function dims(btf: Btf, id: number): number[] {
  const found: number[] = [];
  for (let t = btf.resolveType(id); t?.kind === BTF_KIND.ARRAY; t = btf.resolveType(t.type)) found.push(t.nelems);
  return found;
}

function describeBtf(btf: Btf): Described[] {
  const described: Described[] = [];
  for (const t of btf.types) {
    if (t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) {
      // Base types BTF cannot hold (complex float) come as empty structs: they are listed here too.
      described.push({ kind: t.kind === BTF_KIND.STRUCT ? 'struct' : 'union', name: t.name, size: t.size, members: members(btf, t) });
    } else if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64) {
      described.push({ kind: 'enum', name: t.name, size: t.size, values: t.values.map((v) => [v.name, BigInt.asUintN(64, v.value).toString()]) });
    } else if (t.kind === BTF_KIND.FWD) described.push({ kind: t.kindFlag ? 'fwd union' : 'fwd struct', name: t.name });
    else if (t.kind === BTF_KIND.TYPEDEF) described.push({ kind: 'typedef', name: t.name, size: sizeOrNull(btf, t.type) });
  }
  return sorted(described);
}

function sorted(described: Described[]): Described[] {
  return described.map((d) => [JSON.stringify(d), d] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}

function dwarfBtf(bytes: Uint8Array): Btf {
  const btf = readDwarfTypes(readElf(bytes));
  assert.ok(btf, 'the object has .debug_info');
  return btf;
}

/** The reader's types equal dwarfdump's, all of them; returns them for further checks. */
function assertMatchesDwarfdump(path: string, littleEndian: boolean): Described[] {
  const fromDump = describeDump(path, littleEndian);
  assert.deepEqual(describeBtf(dwarfBtf(new Uint8Array(readFileSync(path)))), fromDump);
  return fromDump;
}

// ---------------------------------------------------------------------------------------------

describe('against llvm-dwarfdump', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: every struct, union, enum and typedef of dwarf_layouts${suffix} (clang's default DWARF 5)`, () => {
      const path = fixturePath(`dwarf_layouts${suffix}`);
      // clang tunes for gdb by default, and then writes bitfields in DWARF 2's form even in DWARF 5.
      assert.ok([...dumpEntries(path).values()].some((e) => e.attributes.has('bit_offset')), 'DW_AT_bit_offset bitfields');
      const described = assertMatchesDwarfdump(path, littleEndian);
      // The comparison covered what layouts.h is for.
      const named = (name: string) => described.find((d) => d.name === name);
      assert.deepEqual(
        named('bits')?.members?.map((m) => [m.name, m.bitOffset, m.bitSize]),
        [['a', 0, 3], ['b', 3, 13], ['c', 16, 16], ['d', 64, 40], ['e', 104, 1], ['f', 105, 7]],
      );
      assert.equal(named('packed_event')?.size, 15);
      assert.equal(named('aligned_event')?.members?.[1]?.bitOffset, 128);
      assert.deepEqual(named('flex_record')?.members?.[2], { name: 'data', bitOffset: 48, bitSize: 0, size: 0, dims: [0] });
      assert.deepEqual(named('nested')?.members?.find((m) => m.name === 'grid')?.dims, [2, 3]);
      assert.deepEqual(named('list_node')?.members?.find((m) => m.name === 'history')?.dims, [2, 2, 3]);
      assert.deepEqual(named('nested')?.members?.slice(1, 3).map((m) => [m.name, m.size]), [['', 16], ['', 4]]);
      assert.equal(named('counter_t')?.size, 4);
      assert.deepEqual(named('big_values')?.values, [['BIG_LOW', '18446744073709551615'], ['BIG_HIGH', '140737488355327']]);
      assert.ok(described.some((d) => d.kind === 'fwd struct' && d.name === 'undefined_elsewhere'));
    });
  }

  const temp = mkdtempSync(join(tmpdir(), 'dwarf-test-'));
  after(() => rmSync(temp, { recursive: true, force: true }));
  const source = join(temp, 'dwarf_layouts.c');
  copyFileSync(join(REPO, 'test/fixtures/bpf/dwarf_layouts.c'), source);
  const compile = (flags: string[], target: string, output: string): string => {
    const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
    const include = ['-I', `/usr/include/${arch}-linux-gnu`, '-I', join(REPO, 'test/fixtures/include')];
    execFileSync(tool('clang', 'CLANG'), ['-O2', '-g', '-fno-eliminate-unused-debug-types', ...flags, ...include, '-target', target, '-c', source, '-o', output], { cwd: temp });
    return output;
  };
  const variants = [
    { flags: ['-gdwarf-4'], version: 4, what: 'DWARF 4 (strp, no string offsets)' },
    { flags: ['-gdwarf-2'], version: 2, what: 'DWARF 2 (block1 member locations, flag forms)' },
    { flags: ['-gdwarf-5', '-glldb'], version: 5, what: 'DWARF 5 tuned for lldb (DW_AT_data_bit_offset)' },
    { flags: ['-gz'], version: 5, what: 'zlib-compressed debug sections (clang -gz)' },
  ];
  for (const { flags, version, what } of variants) {
    for (const { order, littleEndian } of ORDERS) {
      test(`${order}: ${what}`, () => {
        const path = compile(flags, littleEndian ? 'bpfel' : 'bpfeb', join(temp, `${flags.join('')}-${order}.o`));
        const dump = execFileSync(tool('llvm-dwarfdump', 'LLVM_DWARFDUMP'), ['--debug-info', path], { encoding: 'utf8' });
        assert.match(dump, new RegExp(`version = 0x000${version}`));
        if (flags.includes('-glldb')) assert.match(dump, /DW_AT_data_bit_offset/);
        if (flags.includes('-gz')) assert.ok((sectionNamed(readElf(new Uint8Array(readFileSync(path))), '.debug_info').flags & 0x800n) !== 0n, 'SHF_COMPRESSED');
        assertMatchesDwarfdump(path, littleEndian);
      });
    }
  }

  test('a skeleton unit of split DWARF is passed over, with the reason', () => {
    const path = compile(['-gsplit-dwarf'], 'bpfel', join(temp, 'split.o'));
    const dwarf = readDwarf(readElf(new Uint8Array(readFileSync(path))));
    assert.ok(dwarf);
    assert.equal(dwarf.btf.count, 0);
    assert.deepEqual(dwarf.skippedUnits, ['unit at 0x0: a skeleton unit of split DWARF (-gsplit-dwarf): its types are in a .dwo file, which is not read']);
  });
});

describe('against the C compiler: dwarf_layouts.o lays out layouts.h as a compiled C program does', () => {
  // The program numbers bits in this machine's byte order; the object built for the same order is compared.
  const object = endianness() === 'LE' ? 'dwarf_layouts.o' : 'dwarf_layouts.bpfeb.o';
  let btf: Btf | undefined;
  testCompilerLayout(() => (btf ??= dwarfBtf(loadFixture(object))));
});

describe("against the object's own BTF", () => {
  /** Fixtures built with -g and not stripped: they carry both. */
  const objects = ['decode_types', 'ringbuf_output', 'perf_output', 'btf_kinds', 'btf_maps', 'btf_core', 'btf_calls', 'dwarf_layouts'];
  for (const { order, suffix } of ORDERS) {
    test(`${order}: every struct, union and enum named in both has the same size, members and offsets`, () => {
      let compared = 0;
      for (const name of objects) {
        const bytes = loadFixture(`${name}${suffix}`);
        assert.ok(readElf(bytes).sectionByName('.debug_info'), `${name}${suffix} has DWARF`);
        const own = parseBpfObject(bytes).btf;
        assert.ok(own, `${name}${suffix} has BTF`);
        const fromDwarf = dwarfBtf(bytes);
        for (const [typeName] of own.namedTypeIds()) {
          for (const mine of own.typesNamed(typeName)) {
            const where = `${name}${suffix}: ${typeName}`;
            if (mine.kind === BTF_KIND.STRUCT || mine.kind === BTF_KIND.UNION) {
              const [theirs] = fromDwarf.typesNamed(typeName, mine.kind) as BtfComposite[];
              assert.ok(theirs, `${where} is in the DWARF-made BTF too`);
              assert.equal(theirs.size, mine.size, `${where}: size`);
              // clang 14's BTF makes an _Atomic member's type void: its size is then not compared.
              const ownMembers = members(own, mine);
              const dwarfMembers = members(fromDwarf, theirs).map((m, i) => (ownMembers[i]?.size === null ? { ...m, size: null } : m));
              assert.deepEqual(dwarfMembers, ownMembers, `${where}: members`);
            } else if (mine.kind === BTF_KIND.ENUM || mine.kind === BTF_KIND.ENUM64) {
              const [theirs] = fromDwarf.typesNamed(typeName).filter((t): t is BtfEnum => t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64);
              assert.ok(theirs, `${where} is in the DWARF-made BTF too`);
              assert.equal(theirs.size, mine.size, `${where}: size`);
              // clang 14's BTF has no signed enums, and writes 8-byte ones as ENUM with 32-bit values: compare those bits.
              const bits = (v: bigint): bigint => BigInt.asUintN(mine.kind === BTF_KIND.ENUM ? 32 : 64, v);
              assert.deepEqual(theirs.values.map((v) => [v.name, bits(v.value)]), mine.values.map((v) => [v.name, bits(v.value)]), `${where}: values`);
            } else continue;
            compared++;
          }
        }
      }
      assert.ok(compared >= 20, `only ${compared} types compared`);
    });
  }
});

describe('decoding through the DWARF-made BTF', () => {
  const cases = [
    { object: 'dwarf_layouts', type: 'bits', value: { a: 5, b: 4097, c: 65535, d: 0xabcdef1234n, e: 1, f: -13 } },
    {
      object: 'dwarf_layouts',
      type: 'event',
      value: { ts: 123n, pid: -5, uid: 7, callers: [1n, 2n], ret: -1, flags: 3, mode: 0o644n, comm: 'bash', fname: '/etc/passwd' },
    },
    {
      object: 'dwarf_layouts',
      type: 'nested',
      value: {
        id: 9,
        v4: 1,
        v6: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        sport: 1234,
        dport: 80,
        named: { x: 7, y: 2n ** 40n },
        grid: [
          [1, 2, 3],
          [4, 5, 6],
        ],
        state: 'SMALL_BUSY',
        count: 42,
        callback: '0xffff0000',
        name: '0x10',
      },
    },
    {
      object: 'decode_types',
      type: 'decode_event',
      value: {
        u8: 200,
        s16: -300,
        u32: 4000000000,
        s64: -5n,
        u64: 2n ** 63n,
        comm: 'cat',
        state: 'STATE_GONE',
        inner: { port: 8080, delta: -3 },
        ports: [1, 2, 3],
        flag_a: 1,
        level: 5,
        signed_bits: -7,
        ok: true,
        ptr: '0x1000',
        u: {},
        anon_a: 11,
        anon_b: 12,
        ratio: 0.5,
      },
    },
  ];
  for (const { order, suffix, littleEndian } of ORDERS) {
    for (const { object, type, value } of cases) {
      test(`${order}: struct ${type} of ${object}: encoded through the object's BTF, decoded through the DWARF's, the same value`, () => {
        const bytes = loadFixture(`${object}${suffix}`);
        const own = parseBpfObject(bytes).btf!;
        const fromDwarf = dwarfBtf(bytes);
        const [mine] = own.typesNamed(type, BTF_KIND.STRUCT);
        const [theirs] = fromDwarf.typesNamed(type, BTF_KIND.STRUCT);
        assert.ok(mine && theirs);
        // Unions are given by their bytes; their u32 reads them in the object's byte order.
        let [given, expected]: [Record<string, unknown>, Record<string, unknown>] = [value, value];
        if ('u' in value) [given, expected] = [{ ...value, u: { as_bytes: [4, 3, 2, 1] } }, { ...value, u: { as_u32: littleEndian ? 0x01020304 : 0x04030201, as_bytes: [4, 3, 2, 1] } }];
        if ('v4' in value) [given, expected] = [Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'v4')), { ...value, v4: littleEndian ? 1 : 0x01000000 }];
        const encoded = new BtfEncoder(own).encode(mine.id, given);
        const decoded = new BtfDecoder(fromDwarf).decode(theirs.id, encoded);
        assert.deepEqual(decoded, new BtfDecoder(own).decode(mine.id, encoded));
        assert.deepEqual(decoded, expected);
      });
    }
  }
});

describe('relocations', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: string offsets are symbol value plus addend: moving both keeps every name`, () => {
      const bytes = loadFixture(`dwarf_layouts${suffix}`);
      const elf = readElf(bytes);
      const str = sectionNamed(elf, '.debug_str');
      const strSymbol = elf.symbols.find((s) => s.type === STT_SECTION && s.sectionIndex === str.index);
      assert.ok(strSymbol, 'a section symbol for .debug_str');
      let moved = 0;
      for (const rel of elf.sections.filter((s) => s.name.startsWith('.rel.debug_'))) {
        const target = elf.sections[rel.info]!;
        for (const entry of elf.relocations(rel)) {
          if (entry.symbolIndex !== strSymbol.index) continue;
          assert.equal(entry.type, 3, 'R_BPF_64_ABS32');
          const at = target.offset + Number(entry.offset);
          setU32(bytes, at, getU32(bytes, at) - 1);
          moved++;
        }
      }
      assert.ok(moved > 50, `${moved} relocations against .debug_str`);
      setU64(bytes, sectionNamed(elf, '.symtab').offset + strSymbol.index * 24 + 8, 1n);
      assert.deepEqual(describeBtf(dwarfBtf(bytes)), describeDump(fixturePath(`dwarf_layouts${suffix}`), littleEndian));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// DWARF assembled by hand: every form, and what clang does not write (upper bounds, implicit
// constants, cross-unit references, type units, DWARF 4 and 5 units in one section).

/** DWARF numbers as the standard gives them, written out so that the test does not take them from the code it tests. */
const TAG = {
  array: 0x01,
  enumeration: 0x04,
  formal_parameter: 0x05,
  lexical_block: 0x0b,
  member: 0x0d,
  pointer: 0x0f,
  compile_unit: 0x11,
  structure: 0x13,
  subroutine: 0x15,
  typedef: 0x16,
  union: 0x17,
  unspecified_parameters: 0x18,
  subrange: 0x21,
  base: 0x24,
  const: 0x26,
  enumerator: 0x28,
  subprogram: 0x2e,
  variable: 0x34,
  volatile: 0x35,
  restrict: 0x37,
  unspecified: 0x3b,
  type_unit: 0x41,
  atomic: 0x47,
};
const AT = {
  sibling: 0x01,
  name: 0x03,
  byte_size: 0x0b,
  bit_offset: 0x0c,
  bit_size: 0x0d,
  const_value: 0x1c,
  lower_bound: 0x22,
  producer: 0x25,
  upper_bound: 0x2f,
  count: 0x37,
  data_member_location: 0x38,
  declaration: 0x3c,
  encoding: 0x3e,
  type: 0x49,
  data_bit_offset: 0x6b,
  str_offsets_base: 0x72,
  /** A vendor attribute no reader knows: every form below is read past under it. */
  vendor: 0x2001,
};
const FORM = {
  addr: 0x01,
  block2: 0x03,
  block4: 0x04,
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  string: 0x08,
  block: 0x09,
  block1: 0x0a,
  data1: 0x0b,
  flag: 0x0c,
  sdata: 0x0d,
  strp: 0x0e,
  udata: 0x0f,
  ref_addr: 0x10,
  ref1: 0x11,
  ref2: 0x12,
  ref4: 0x13,
  ref8: 0x14,
  ref_udata: 0x15,
  indirect: 0x16,
  sec_offset: 0x17,
  exprloc: 0x18,
  flag_present: 0x19,
  strx: 0x1a,
  addrx: 0x1b,
  ref_sup4: 0x1c,
  strp_sup: 0x1d,
  data16: 0x1e,
  line_strp: 0x1f,
  ref_sig8: 0x20,
  implicit_const: 0x21,
  loclistx: 0x22,
  rnglistx: 0x23,
  ref_sup8: 0x24,
  strx1: 0x25,
  strx2: 0x26,
  strx3: 0x27,
  strx4: 0x28,
  addrx1: 0x29,
  addrx2: 0x2a,
  addrx3: 0x2b,
  addrx4: 0x2c,
  GNU_addr_index: 0x1f01,
  GNU_str_index: 0x1f02,
  GNU_ref_alt: 0x1f20,
  GNU_strp_alt: 0x1f21,
};
const DW_OP_plus_uconst = 0x23;

type FormValue = number | bigint | string | number[] | { ref: string } | { indirect: number; value: FormValue };
interface Entry {
  tag: number;
  label?: string;
  attributes: Array<[attribute: number, form: number, value?: FormValue]>;
  /** Present (even empty) when the entry has children. */
  children?: Entry[];
}

/** Bytes in one byte order. */
class ByteWriter {
  readonly bytes: number[] = [];
  constructor(private readonly le: boolean) {}
  int(value: number | bigint, size: number): void {
    let v = BigInt.asUintN(size * 8, BigInt(value));
    const out: number[] = [];
    for (let i = 0; i < size; i++, v >>= 8n) out.push(Number(v & 0xffn));
    this.bytes.push(...(this.le ? out : out.reverse()));
  }
  uleb(value: number | bigint): void {
    let v = BigInt(value);
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      this.bytes.push(byte | (v !== 0n ? 0x80 : 0));
    } while (v !== 0n);
  }
  sleb(value: number | bigint): void {
    let v = BigInt(value);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      this.bytes.push(byte | (done ? 0 : 0x80));
      if (done) return;
    }
  }
  patch(at: number, value: number, size: number): void {
    const field = new ByteWriter(this.le);
    field.int(value, size);
    this.bytes.splice(at, size, ...field.bytes);
  }
}

const FIXED_FORM_SIZE = new Map<number, number>([
  [FORM.addr, 8], [FORM.data1, 1], [FORM.ref1, 1], [FORM.flag, 1], [FORM.strx1, 1], [FORM.addrx1, 1],
  [FORM.data2, 2], [FORM.ref2, 2], [FORM.strx2, 2], [FORM.addrx2, 2], [FORM.strx3, 3], [FORM.addrx3, 3],
  [FORM.data4, 4], [FORM.ref4, 4], [FORM.strx4, 4], [FORM.addrx4, 4], [FORM.sec_offset, 4], [FORM.strp, 4], [FORM.line_strp, 4],
  [FORM.ref_addr, 4], [FORM.ref_sup4, 4], [FORM.strp_sup, 4], [FORM.GNU_ref_alt, 4], [FORM.GNU_strp_alt, 4],
  [FORM.data8, 8], [FORM.ref8, 8], [FORM.ref_sig8, 8], [FORM.ref_sup8, 8], [FORM.data16, 16],
]);
const LEB_FORMS = new Set([FORM.udata, FORM.ref_udata, FORM.strx, FORM.addrx, FORM.loclistx, FORM.rnglistx, FORM.GNU_addr_index, FORM.GNU_str_index]);
const STRING_INDEX_FORMS = new Set([FORM.strx, FORM.strx1, FORM.strx2, FORM.strx3, FORM.strx4, FORM.GNU_str_index]);
const UNIT_REFERENCE_FORMS = new Set([FORM.ref1, FORM.ref2, FORM.ref4, FORM.ref8, FORM.ref_udata]);

/** .debug_info, .debug_abbrev and the string sections of units written one after another. */
class DwarfAssembler {
  private readonly info: ByteWriter;
  private readonly abbrev: ByteWriter;
  private readonly str = new StringTable();
  private readonly lineStr = new StringTable();
  private readonly strOffsets: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly patches: Array<{ at: number; label: string; base: number }> = [];
  private unitStart = 0;
  private nextCode = 1;

  constructor(private readonly le: boolean) {
    this.info = new ByteWriter(le);
    this.abbrev = new ByteWriter(le);
  }

  /** A unit: DWARF 2-4, or 5 of `unitType` (1 compile, 2 type); returns its offset. */
  unit(version: number, entries: Entry[], unitType = 1): number {
    const start = (this.unitStart = this.info.bytes.length);
    this.nextCode = 1;
    this.info.int(0, 4);
    this.info.int(version, 2);
    if (version >= 5) {
      this.info.int(unitType, 1);
      this.info.int(8, 1);
      this.info.int(this.abbrev.bytes.length, 4);
      if (unitType === 2) {
        this.info.int(0x1234n, 8);
        this.info.int(0, 4);
      }
    } else {
      this.info.int(this.abbrev.bytes.length, 4);
      this.info.int(8, 1);
    }
    for (const entry of entries) this.entry(entry);
    this.abbrev.uleb(0);
    this.info.patch(start, this.info.bytes.length - start - 4, 4);
    return start;
  }

  private entry(entry: Entry): void {
    if (entry.label) this.labels.set(entry.label, this.info.bytes.length);
    const code = this.nextCode++;
    this.abbrev.uleb(code);
    this.abbrev.uleb(entry.tag);
    this.abbrev.int(entry.children ? 1 : 0, 1);
    this.info.uleb(code);
    for (const [attribute, form, value] of entry.attributes) {
      this.abbrev.uleb(attribute);
      this.abbrev.uleb(form);
      if (form === FORM.implicit_const) this.abbrev.sleb(value as number | bigint);
      else this.value(form, value);
    }
    this.abbrev.uleb(0);
    this.abbrev.uleb(0);
    if (!entry.children) return;
    for (const child of entry.children) this.entry(child);
    this.info.int(0, 1);
  }

  private value(form: number, value: FormValue | undefined): void {
    const w = this.info;
    if (value !== null && typeof value === 'object' && 'indirect' in value) {
      w.uleb(value.indirect);
      return this.value(value.indirect, value.value);
    }
    if (value !== null && typeof value === 'object' && 'ref' in value) return this.reference(form, value.ref);
    if (typeof value === 'string') {
      if (form === FORM.string) w.bytes.push(...new TextEncoder().encode(value), 0);
      else if (form === FORM.line_strp) w.int(this.lineStr.add(value), 4);
      else if (STRING_INDEX_FORMS.has(form)) this.value(form, this.strOffsets.push(this.str.add(value)) - 1);
      else w.int(this.str.add(value), 4);
      return;
    }
    if (Array.isArray(value)) {
      const lengthSize = form === FORM.block1 ? 1 : form === FORM.block2 ? 2 : form === FORM.block4 ? 4 : 0;
      if (lengthSize === 0) w.uleb(value.length);
      else w.int(value.length, lengthSize);
      w.bytes.push(...value);
      return;
    }
    if (form === FORM.flag_present) return;
    if (form === FORM.sdata) return w.sleb(value ?? 0);
    if (LEB_FORMS.has(form)) return w.uleb(value ?? 0);
    w.int(value ?? 0, FIXED_FORM_SIZE.get(form)!);
  }

  private reference(form: number, label: string): void {
    const base = UNIT_REFERENCE_FORMS.has(form) ? this.unitStart : 0;
    const known = this.labels.get(label);
    if (known === undefined) {
      // Forward: only fixed 4-byte forms can be filled in later.
      assert.ok(form === FORM.ref4 || form === FORM.ref_addr, `forward reference to ${label} needs ref4 or ref_addr`);
      this.patches.push({ at: this.info.bytes.length, label, base });
      this.info.int(0, 4);
      return;
    }
    if (form === FORM.ref_udata) this.info.uleb(known - base);
    else this.info.int(known - base, FIXED_FORM_SIZE.get(form)!);
  }

  /** A BPF object of the assembled sections. */
  elf(): Uint8Array {
    for (const { at, label, base } of this.patches) this.info.patch(at, this.labels.get(label)! - base, 4);
    const strOffsets = new ByteWriter(this.le);
    strOffsets.int(4 + this.strOffsets.length * 4, 4);
    strOffsets.int(5, 2);
    strOffsets.int(0, 2);
    for (const offset of this.strOffsets) strOffsets.int(offset, 4);
    const section = (name: string, data: number[] | Uint8Array) => ({ name, type: 1, data: Uint8Array.from(data), addralign: 1n });
    return buildElf(
      [
        section('.debug_abbrev', this.abbrev.bytes),
        section('.debug_info', this.info.bytes),
        section('.debug_str', this.str.bytes()),
        section('.debug_line_str', this.lineStr.bytes()),
        section('.debug_str_offsets', strOffsets.bytes),
      ],
      { littleEndian: this.le },
    );
  }
}

/** One attribute of every form, as `attribute`: readers must size each right to find what follows. */
function everyForm(attribute = AT.vendor, target = 'int'): Entry['attributes'] {
  const forms: Array<[number, FormValue?]> = [
    [FORM.addr, 0x1000n], [FORM.addrx, 300], [FORM.addrx1, 1], [FORM.addrx2, 2], [FORM.addrx3, 3], [FORM.addrx4, 4],
    [FORM.rnglistx, 1000], [FORM.loclistx, 70000], [FORM.data16, (1n << 100n) + 5n], [FORM.block, [1, 2, 3]], [FORM.block1, [4]],
    [FORM.block2, [5, 6]], [FORM.block4, [7, 8, 9, 10, 11]], [FORM.exprloc, [DW_OP_plus_uconst, 0x81, 0x01]], [FORM.flag, 1],
    [FORM.flag_present], [FORM.implicit_const, -77n], [FORM.sdata, -5000], [FORM.udata, 1n << 62n], [FORM.strx, 'strx'],
    [FORM.strx4, 'strx4'], [FORM.line_strp, 'line'], [FORM.sec_offset, 0x40], [FORM.ref_sig8, 0xfeedn], [FORM.ref_sup4, 1],
    [FORM.ref_sup8, 2n], [FORM.strp_sup, 3], [FORM.GNU_ref_alt, 4], [FORM.GNU_strp_alt, 5], [FORM.GNU_addr_index, 6],
    [FORM.GNU_str_index, 'gnu'], [FORM.indirect, { indirect: FORM.data2, value: 0xbeef }], [FORM.indirect, { indirect: FORM.string, value: 'inline' }],
    [FORM.ref1, { ref: target }], [FORM.ref2, { ref: target }], [FORM.ref8, { ref: target }], [FORM.ref_udata, { ref: target }],
    [FORM.ref_addr, { ref: target }], [FORM.string, 'string'], [FORM.strp, 'strp'], [FORM.data8, -1n],
  ];
  return forms.map(([form, value]) => [attribute, form, value]);
}

function member(name: string, type: string, location: Array<[number, number, FormValue]>, typeForm = FORM.ref4): Entry {
  return { tag: TAG.member, attributes: [...(name ? [[AT.name, FORM.string, name] as [number, number, string]] : []), [AT.type, typeForm, { ref: type }], ...location] };
}

/** Three units: DWARF 5 with every kind of type, a DWARF 5 type unit, and DWARF 4 referring back into the first. */
function craftedDwarf(le: boolean): { bytes: Uint8Array; typeUnit: number } {
  const a = new DwarfAssembler(le);
  const named = (form: number, name: string): [number, number, string] => [AT.name, form, name];
  a.unit(5, [
    {
      tag: TAG.compile_unit,
      label: 'cu',
      // Every form again under an attribute the reader keeps (and a unit entry does not use): read, not only read past.
      attributes: [named(FORM.strx1, 'crafted.c'), [AT.producer, FORM.line_strp, 'by hand'], [AT.str_offsets_base, FORM.sec_offset, 8], ...everyForm(AT.lower_bound, 'cu')],
      children: [
        { tag: TAG.base, label: 'int', attributes: [named(FORM.string, 'int'), [AT.byte_size, FORM.data1, 4], [AT.encoding, FORM.data1, 5]] },
        { tag: TAG.base, label: 'ulong', attributes: [named(FORM.strp, 'unsigned long'), [AT.byte_size, FORM.implicit_const, 8], [AT.encoding, FORM.data2, 7]] },
        { tag: TAG.base, label: 'char', attributes: [named(FORM.strx2, 'char'), [AT.byte_size, FORM.udata, 1], [AT.encoding, FORM.sdata, 6]] },
        { tag: TAG.base, attributes: [named(FORM.strx3, 'complex float'), [AT.byte_size, FORM.data1, 8], [AT.encoding, FORM.data1, 3]] },
        { tag: TAG.variable, attributes: [named(FORM.string, 'everything'), ...everyForm(), [AT.type, FORM.ref4, { ref: 'int' }]] },
        {
          tag: TAG.structure,
          attributes: [named(FORM.strx4, 'every'), ...everyForm(), [AT.byte_size, FORM.data2, 48], [AT.sibling, FORM.ref4, { ref: 'after_every' }]],
          children: [
            member('a', 'int', [[AT.data_member_location, FORM.data1, 0]], FORM.ref1),
            member('b', 'ulong', [[AT.data_member_location, FORM.exprloc, [DW_OP_plus_uconst, 8]]], FORM.ref2),
            member('c', 'int', [[AT.bit_size, FORM.data1, 3], [AT.data_bit_offset, FORM.udata, 128]], FORM.ref_udata),
            // DWARF 2's form: 5 bits at bit 131, in a 4-byte storage unit at byte 16, counted from its top bit.
            member('d', 'int', [[AT.data_member_location, FORM.block1, [DW_OP_plus_uconst, 16]], [AT.byte_size, FORM.data1, 4], [AT.bit_size, FORM.data1, 5], [AT.bit_offset, FORM.data1, le ? 24 : 3]], FORM.ref8),
            member('', 'anon', [[AT.data_member_location, FORM.sdata, 20]]),
            member('e', 'grid', [[AT.data_member_location, FORM.data4, 24]], FORM.ref_addr),
            member('f', 'voidp', [[AT.data_member_location, FORM.data2, 32]]),
            member('g', 'small', [[AT.data_member_location, FORM.data8, 40]]),
            member('h', 'flex', [[AT.data_member_location, FORM.udata, 44]]),
          ],
        },
        {
          tag: TAG.union,
          label: 'anon',
          attributes: [[AT.byte_size, FORM.data1, 4]],
          children: [member('u1', 'int', []), member('u2', 'char', [])],
        },
        {
          tag: TAG.array,
          label: 'grid',
          attributes: [[AT.type, FORM.ref4, { ref: 'char' }]],
          children: [
            { tag: TAG.subrange, attributes: [[AT.lower_bound, FORM.data1, 0], [AT.upper_bound, FORM.data1, 1]] },
            { tag: TAG.subrange, attributes: [[AT.count, FORM.udata, 3]] },
          ],
        },
        { tag: TAG.array, label: 'flex', attributes: [[AT.type, FORM.ref4, { ref: 'int' }]], children: [{ tag: TAG.subrange, attributes: [] }] },
        { tag: TAG.array, label: 'bare', attributes: [[AT.type, FORM.ref4, { ref: 'int' }]] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'bare_t'), [AT.type, FORM.ref4, { ref: 'bare' }]] },
        { tag: TAG.pointer, label: 'voidp', attributes: [] },
        {
          tag: TAG.enumeration,
          label: 'small',
          attributes: [named(FORM.string, 'small'), [AT.byte_size, FORM.data1, 4], [AT.type, FORM.ref4, { ref: 'int' }]],
          children: [
            { tag: TAG.enumerator, attributes: [named(FORM.string, 'NEG'), [AT.const_value, FORM.data1, 0xff]] },
            { tag: TAG.enumerator, attributes: [named(FORM.string, 'POS'), [AT.const_value, FORM.sdata, 5]] },
            { tag: TAG.enumerator, attributes: [named(FORM.string, 'BIG'), [AT.const_value, FORM.udata, 7]] },
          ],
        },
        {
          tag: TAG.enumeration,
          attributes: [named(FORM.string, 'wide'), [AT.byte_size, FORM.data1, 8]],
          children: [
            { tag: TAG.enumerator, attributes: [named(FORM.string, 'LOW'), [AT.const_value, FORM.sdata, -2]] },
            { tag: TAG.enumerator, attributes: [named(FORM.string, 'HIGH'), [AT.const_value, FORM.data8, 1n << 63n]] },
          ],
        },
        { tag: TAG.enumeration, attributes: [named(FORM.string, 'later'), [AT.declaration, FORM.flag_present]] },
        { tag: TAG.structure, label: 'after_every', attributes: [named(FORM.string, 'opaque'), [AT.declaration, FORM.flag, 1]] },
        { tag: TAG.union, attributes: [named(FORM.string, 'uopaque'), [AT.declaration, FORM.flag_present]] },
        { tag: TAG.unspecified, label: 'nullptr_t', attributes: [named(FORM.string, 'decltype(nullptr)')] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'nothing'), [AT.type, FORM.ref4, { ref: 'nullptr_t' }]] },
        {
          tag: TAG.subroutine,
          label: 'proto',
          attributes: [[AT.type, FORM.ref4, { ref: 'int' }]],
          children: [
            { tag: TAG.formal_parameter, attributes: [[AT.type, FORM.ref4, { ref: 'int' }]] },
            { tag: TAG.formal_parameter, attributes: [[AT.type, FORM.ref4, { ref: 'voidp' }]] },
            { tag: TAG.unspecified_parameters, attributes: [] },
          ],
        },
        { tag: TAG.pointer, label: 'proto_ptr', attributes: [[AT.type, FORM.ref4, { ref: 'proto' }]] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'handler'), [AT.type, FORM.ref4, { ref: 'proto_ptr' }]] },
        { tag: TAG.const, label: 'cint', attributes: [[AT.type, FORM.ref4, { ref: 'int' }]] },
        { tag: TAG.volatile, label: 'vcint', attributes: [[AT.type, FORM.ref4, { ref: 'cint' }]] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'vcint_t'), [AT.type, FORM.ref4, { ref: 'vcint' }]] },
        { tag: TAG.restrict, label: 'rp', attributes: [[AT.type, FORM.ref4, { ref: 'voidp' }]] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'rp_t'), [AT.type, FORM.ref4, { ref: 'rp' }]] },
        { tag: TAG.atomic, label: 'aint', attributes: [[AT.type, FORM.ref4, { ref: 'int' }]] },
        { tag: TAG.typedef, attributes: [named(FORM.string, 'aint_t'), [AT.type, FORM.ref4, { ref: 'aint' }]] },
        {
          tag: TAG.subprogram,
          attributes: [named(FORM.string, 'func'), ...everyForm()],
          children: [
            {
              tag: TAG.lexical_block,
              attributes: [],
              children: [{ tag: TAG.structure, attributes: [named(FORM.string, 'local'), [AT.byte_size, FORM.data1, 4]], children: [member('x', 'int', [[AT.data_member_location, FORM.data1, 0]])] }],
            },
          ],
        },
      ],
    },
  ]);
  const typeUnit = a.unit(5, [{ tag: TAG.type_unit, attributes: [], children: [{ tag: TAG.structure, label: 'typed', attributes: [named(FORM.string, 'typed'), [AT.byte_size, FORM.data1, 1]], children: [] }] }], 2);
  a.unit(4, [
    {
      tag: TAG.compile_unit,
      attributes: [named(FORM.strp, 'second.c')],
      children: [
        { tag: TAG.base, label: 'short', attributes: [named(FORM.strp, 'short'), [AT.byte_size, FORM.data1, 2], [AT.encoding, FORM.data1, 5]] },
        { tag: TAG.typedef, attributes: [named(FORM.strp, 'int_again'), [AT.type, FORM.ref_addr, { ref: 'int' }]] },
        {
          tag: TAG.structure,
          attributes: [named(FORM.strp, 'v4s'), [AT.byte_size, FORM.data1, 4]],
          children: [member('s', 'short', [[AT.data_member_location, FORM.data1, 2]])],
        },
      ],
    },
  ]);
  return { bytes: a.elf(), typeUnit };
}

describe('hand-assembled DWARF', () => {
  const expected: Described[] = sorted([
    { kind: 'struct', name: 'complex float', size: 8, members: [] },
    {
      kind: 'struct',
      name: 'every',
      size: 48,
      members: [
        { name: 'a', bitOffset: 0, bitSize: 0, size: 4, dims: [] },
        { name: 'b', bitOffset: 64, bitSize: 0, size: 8, dims: [] },
        { name: 'c', bitOffset: 128, bitSize: 3, size: 4, dims: [] },
        { name: 'd', bitOffset: 131, bitSize: 5, size: 4, dims: [] },
        { name: '', bitOffset: 160, bitSize: 0, size: 4, dims: [] },
        { name: 'e', bitOffset: 192, bitSize: 0, size: 6, dims: [2, 3] },
        { name: 'f', bitOffset: 256, bitSize: 0, size: 8, dims: [] },
        { name: 'g', bitOffset: 320, bitSize: 0, size: 4, dims: [] },
        { name: 'h', bitOffset: 352, bitSize: 0, size: 0, dims: [0] },
      ],
    },
    {
      kind: 'union',
      name: '',
      size: 4,
      members: [
        { name: 'u1', bitOffset: 0, bitSize: 0, size: 4, dims: [] },
        { name: 'u2', bitOffset: 0, bitSize: 0, size: 1, dims: [] },
      ],
    },
    { kind: 'struct', name: 'local', size: 4, members: [{ name: 'x', bitOffset: 0, bitSize: 0, size: 4, dims: [] }] },
    { kind: 'struct', name: 'v4s', size: 4, members: [{ name: 's', bitOffset: 16, bitSize: 0, size: 2, dims: [] }] },
    { kind: 'enum', name: 'small', size: 4, values: [['NEG', String(2n ** 64n - 1n)], ['POS', '5'], ['BIG', '7']] },
    { kind: 'enum', name: 'wide', size: 8, values: [['LOW', String(2n ** 64n - 2n)], ['HIGH', String(2n ** 63n)]] },
    { kind: 'enum', name: 'later', size: 4, values: [] },
    { kind: 'fwd struct', name: 'opaque' },
    { kind: 'fwd union', name: 'uopaque' },
    { kind: 'typedef', name: 'bare_t', size: 0 },
    { kind: 'typedef', name: 'nothing', size: null },
    { kind: 'typedef', name: 'handler', size: 8 },
    { kind: 'typedef', name: 'vcint_t', size: 4 },
    { kind: 'typedef', name: 'rp_t', size: 8 },
    { kind: 'typedef', name: 'aint_t', size: 4 },
    { kind: 'typedef', name: 'int_again', size: 4 },
  ]);

  for (const { order, littleEndian } of ORDERS) {
    test(`${order}: every form read past right, every kind of type, DWARF 4 and 5 units, a type unit passed over`, () => {
      const { bytes, typeUnit } = craftedDwarf(littleEndian);
      const dwarf = readDwarf(readElf(bytes));
      assert.ok(dwarf);
      assert.deepEqual(dwarf.skippedUnits, [`unit at 0x${typeUnit.toString(16)}: a type unit (DW_UT_type), which is not read`]);
      const btf = dwarf.btf;
      assert.deepEqual(describeBtf(btf), expected);
      const one = (name: string): BtfType => {
        const found = btf.typesNamed(name);
        assert.equal(found.length, 1, `one type named ${name}`);
        return found[0]!;
      };
      const target = (name: string): number => (one(name) as BtfModifier).type;
      const int = one('int');
      assert.deepEqual(int.kind === BTF_KIND.INT && [int.size, int.encoding], [4, 1]);
      assert.deepEqual(one('unsigned long').kind === BTF_KIND.INT && [(one('unsigned long') as BtfInt).size, (one('unsigned long') as BtfInt).encoding], [8, 0]);
      assert.equal((one('char') as BtfInt).encoding, 1);
      assert.ok(one('small').kindFlag && one('wide').kindFlag, 'signed enums');
      assert.equal(one('wide').kind, BTF_KIND.ENUM64);
      assert.equal(target('aint_t'), int.id, '_Atomic int is int');
      assert.equal(target('int_again'), int.id, 'a reference into another unit');
      assert.equal(target('nothing'), 0, 'an unspecified type is void');
      const proto = btf.type((btf.type(target('handler')) as BtfPtr).type);
      assert.ok(proto.kind === BTF_KIND.FUNC_PROTO);
      assert.equal(proto.returnType, int.id);
      const voidp = (one('every') as BtfComposite).members.find((m) => m.name === 'f')!.type;
      assert.deepEqual(proto.params.map((p) => p.type), [int.id, voidp]);
      assert.equal((btf.type(voidp) as BtfPtr).type, 0, 'a pointer with no DW_AT_type is void *');
      assert.deepEqual([btf.type(target('vcint_t')).kind, btf.resolve(target('vcint_t'))], [BTF_KIND.VOLATILE, int.id]);
      assert.equal((btf.type((btf.type(target('rp_t')) as BtfModifier).type) as BtfPtr).type, 0, 'restrict void *');
      assert.deepEqual([...btf.typesNamed('everything'), ...btf.typesNamed('typed'), ...btf.typesNamed('func')], []);
    });
  }

  /** A unit with one typedef whose DW_AT_type has `form` and `value`; more units after it. */
  const typedefTo = (form: number, value: FormValue, more: (a: DwarfAssembler) => void = () => {}): Uint8Array => {
    const a = new DwarfAssembler(true);
    a.unit(5, [{ tag: TAG.compile_unit, attributes: [], children: [{ tag: TAG.typedef, attributes: [[AT.name, FORM.string, 't'], [AT.type, form, value]] }] }]);
    more(a);
    return a.elf();
  };
  const message = (bytes: Uint8Array): string => objectError(() => readDwarfTypes(readElf(bytes))).message;

  test('a reference by type signature: type units are not read', () => {
    assert.equal(message(typedefTo(FORM.ref_sig8, 0x1234n)), 'DWARF .debug_info at 0xd: DW_TAG_typedef: DW_AT_type refers to a type unit by signature (DW_FORM_ref_sig8); type units are not read');
  });

  test('a reference into a type unit: why it is not followed', () => {
    const bytes = typedefTo(FORM.ref_addr, { ref: 'typed' }, (a) => a.unit(5, [{ tag: TAG.type_unit, attributes: [], children: [{ tag: TAG.base, label: 'typed', attributes: [] }] }], 2));
    assert.match(message(bytes), /^DWARF \.debug_info at 0xd: DW_TAG_typedef: DW_AT_type refers to 0x[0-9a-f]+, in a type unit \(DW_UT_type\), which is not read$/);
  });

  test('DW_FORM_indirect naming itself', () => {
    assert.equal(message(typedefTo(FORM.indirect, { indirect: FORM.indirect, value: 0 })), 'DWARF .debug_info at 0x10: DW_FORM_indirect names form 0x16, which cannot be indirect');
  });

  test('a member location that is not DW_OP_plus_uconst', () => {
    const a = new DwarfAssembler(false);
    a.unit(5, [
      {
        tag: TAG.compile_unit,
        attributes: [],
        children: [
          { tag: TAG.base, label: 'int', attributes: [[AT.byte_size, FORM.data1, 4], [AT.encoding, FORM.data1, 5]] },
          { tag: TAG.structure, attributes: [[AT.byte_size, FORM.data1, 4]], children: [member('m', 'int', [[AT.data_member_location, FORM.exprloc, [0x30]]])] },
        ],
      },
    ]);
    assert.match(message(a.elf()), /^DWARF \.debug_info at 0x[0-9a-f]+: DW_AT_data_member_location: operation 0x30 is not DW_OP_plus_uconst, the one a member location uses$/);
  });

  test('a compressed .debug_info that does not inflate, or is not zlib', () => {
    const compressed = (type: number, stream: number[]): Uint8Array => {
      const header = new ByteWriter(true);
      header.int(type, 4);
      header.int(0, 4);
      header.int(100, 8);
      header.int(1, 8);
      return buildElf([{ name: '.debug_info', type: 1, flags: 0x800n, data: Uint8Array.from([...header.bytes, ...stream]) }]);
    };
    assert.match(message(compressed(1, [0x78, 0x9c, 1, 2, 3])), /^DWARF \.debug_info at 0x18: the zlib data does not inflate to the 100 bytes its header gives: /);
    assert.equal(message(compressed(2, [])), 'DWARF .debug_info at 0x0: compression type 2 is not zlib, the one this reader inflates');
  });

  test('an unknown version or unit type', () => {
    const unit = (version: number, unitType: number): Uint8Array => {
      const a = new DwarfAssembler(true);
      a.unit(version, [{ tag: TAG.compile_unit, attributes: [] }], unitType);
      return a.elf();
    };
    assert.equal(message(unit(6, 1)), 'DWARF .debug_info at 0x0: DWARF version 6 is not supported (2 to 5 are)');
    assert.equal(message(unit(5, 0x80)), 'DWARF .debug_info at 0x0: unit type 0x80 is unknown');
  });
});

describe('malformed DWARF', () => {
  /** dwarf_layouts.o with a section's bytes changed by `patch` (given the section's file offset). */
  const patched = (section: string, patch: (bytes: Uint8Array, at: number) => void): Uint8Array => {
    const bytes = loadFixture('dwarf_layouts.o');
    patch(bytes, sectionNamed(readElf(bytes), section).offset);
    return bytes;
  };
  const dwarfError = (bytes: Uint8Array): string => objectError(() => readDwarfTypes(readElf(bytes))).message;
  const shrink = (bytes: Uint8Array, size: number): void => {
    const elf = readElf(bytes);
    setU64(bytes, sectionHeaderAt(bytes, sectionNamed(elf, '.debug_info').index) + SH.size, BigInt(size));
  };

  test('no .debug_info: undefined', () => {
    assert.equal(readDwarfTypes(readElf(loadFixture('tp_count.o'))), undefined);
  });

  test('a unit longer than the section: the unit offset', () => {
    const bytes = loadFixture('dwarf_layouts.o');
    shrink(bytes, 0x100);
    assert.match(dwarfError(bytes), /^DWARF \.debug_info at 0x0: the unit's length 0x[0-9a-f]+ runs past the end of the section \(0x100\)$/);
  });

  test('a section cut inside an entry: where the read ran out', () => {
    const bytes = loadFixture('dwarf_layouts.o');
    shrink(bytes, 0x101);
    setU32(bytes, sectionNamed(readElf(bytes), '.debug_info').offset, 0x101 - 4);
    assert.match(dwarfError(bytes), /^DWARF \.debug_info at 0x[0-9a-f]+: (a byte|\d+ bytes) would run past the end \(0x101\)$/);
  });

  test('64-bit DWARF: a clear refusal', () => {
    assert.equal(dwarfError(patched('.debug_info', (bytes, at) => setU32(bytes, at, 0xffffffff))), 'DWARF .debug_info at 0x0: 64-bit DWARF units are not supported');
  });

  test('an abbreviation code the table lacks: the entry offset', () => {
    // The unit entry follows the 12-byte DWARF 5 header.
    const bytes = patched('.debug_info', (b, at) => {
      assert.equal(b[at + 12], 1, 'the unit entry uses abbreviation 1');
      b[at + 12] = 0x7f;
    });
    assert.equal(dwarfError(bytes), "DWARF .debug_info at 0xc: abbreviation code 127 is not in the unit's table (.debug_abbrev 0x0)");
  });

  test('an unknown form: the offset of the value', () => {
    // Abbreviation 1: code, DW_TAG_compile_unit, children, then DW_AT_producer's form at byte 4.
    const bytes = patched('.debug_abbrev', (b, at) => {
      assert.deepEqual([...b.subarray(at, at + 4)], [1, 0x11, 1, 0x25]);
      b[at + 4] = 0x7e;
    });
    assert.equal(dwarfError(bytes), 'DWARF .debug_info at 0xd: unknown form 0x7e');
  });

  test('a typedef of itself: refused, no hang', () => {
    const path = fixturePath('dwarf_layouts.o');
    const counter = [...dumpEntries(path).values()].find((e) => e.tag === 'typedef' && dumpName(e) === 'counter_t')!;
    const bytes = patched('.debug_info', (b, at) => {
      // Abbreviation code (one byte), then DW_AT_type as a ref4 from the unit's start (0).
      assert.equal(getU32(b, at + counter.offset + 1), parseInt(counter.attributes.get('type')!.slice(2, 10), 16));
      setU32(b, at + counter.offset + 1, counter.offset);
    });
    const hex = `0x${counter.offset.toString(16)}`;
    assert.equal(dwarfError(bytes), `DWARF .debug_info at ${hex}: DW_TAG_typedef: the type contains itself through ${hex} (no pointer or struct between)`);
  });

  test('a reference to no entry', () => {
    const path = fixturePath('dwarf_layouts.o');
    const counter = [...dumpEntries(path).values()].find((e) => e.tag === 'typedef' && dumpName(e) === 'counter_t')!;
    const bytes = patched('.debug_info', (b, at) => setU32(b, at + counter.offset + 1, 0x5000));
    assert.match(dwarfError(bytes), /^DWARF \.debug_info at 0x[0-9a-f]+: DW_TAG_typedef: DW_AT_type refers to 0x5000, where no type entry starts$/);
  });

  for (const { order, suffix } of ORDERS) {
    test(`${order}: random bytes in .debug_info and .debug_abbrev: a Btf or one ObjectError, never anything else`, () => {
      const random = prng(0xd3a4f + suffix.length);
      const original = loadFixture(`dwarf_layouts${suffix}`);
      const elf = readElf(original);
      const sections = ['.debug_info', '.debug_abbrev', '.debug_str_offsets'].map((name) => sectionNamed(elf, name));
      const started = Date.now();
      for (let i = 0; i < 300; i++) {
        const bytes = original.slice();
        const section = sections[Math.floor(random() * sections.length)]!;
        for (let n = 1 + Math.floor(random() * 4); n > 0; n--) bytes[section.offset + Math.floor(random() * section.size)] = Math.floor(random() * 256);
        try {
          readDwarfTypes(readElf(bytes));
        } catch (error) {
          assert.ok(error instanceof ObjectError, `case ${i}: ${String(error)}`);
          assert.match(error.message, /^(DWARF \.debug_\w+ at 0x[0-9a-f]+: |BTF |struct |union |\w+: \d+ members)/, `case ${i}`);
        }
      }
      assert.ok(Date.now() - started < 20_000, 'no case took long');
    });
  }
});
