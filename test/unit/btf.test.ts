// src/btf/btf.ts and src/btf/ext.ts: the .BTF reader compared type by type with bpftool on clang-built objects of
// both byte orders; resolve/sizeOf; hand-made malformed BTF refused with one ObjectError saying
// what and where; every truncation and seeded mutations of real .BTF never throw anything else;
// coreRelocationCount on .BTF.ext.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { readElf } from '../../src/elf/reader.js';
import { ElfError, ObjectError } from '../../src/errors.js';
import { BTF_KIND, BTF_MAX_RESOLVE_DEPTH, btfKindName, btfLinkageName, parseBtf, type Btf, type BtfType } from '../../src/btf/btf.js';
import { coreRelocationCount, parseBtfExtHeader } from '../../src/btf/ext.js';
import { btfMapDefinitions } from '../../src/object/btf-maps.js';
import {
  bpftoolTypes,
  BtfBuilder,
  encodeWords,
  FIXTURE_BUILD,
  fixturePath,
  loadFixture,
  objectError,
  ORDERS,
  prng,
  sectionNamed,
  thrown,
  type Json,
} from './helpers.js';

/** The objects built from test/fixtures/bpf/btf_*.c, both byte orders. */
function btfFixtures(): string[] {
  const names = readdirSync(FIXTURE_BUILD).filter((f) => /^btf_.*\.o$/.test(f));
  assert.ok(names.length >= 10, `btf_* fixtures: ${names.join(', ')}; run make -C test/fixtures`);
  return names.sort();
}

/** The .BTF of a built fixture, and where it starts in the file. */
function fixtureBtf(name: string): { bytes: Uint8Array; btfAt: number; btf: Btf; littleEndian: boolean } {
  const bytes = loadFixture(name);
  const elf = readElf(bytes);
  const section = sectionNamed(elf, '.BTF');
  return { bytes, btfAt: section.offset, btf: parseBtf(elf.sectionData(section), elf.littleEndian), littleEndian: elf.littleEndian };
}

// ---------------------------------------------------------------------------------------------
// bpftool's view: `bpftool btf dump file X format raw -j`.

const INT_ENCODINGS: Record<number, string> = { 0: '(none)', 1: 'SIGNED', 2: 'CHAR', 4: 'BOOL' };

/** One of our types in bpftool's JSON shape. */
function asBpftool(t: BtfType): Record<string, Json> {
  const head = { id: t.id, kind: btfKindName(t.kind).toUpperCase(), name: t.name === '' ? '(anon)' : t.name };
  switch (t.kind) {
    case BTF_KIND.INT:
      return { ...head, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: INT_ENCODINGS[t.encoding] ?? 'UNKN' };
    case BTF_KIND.PTR:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.TYPE_TAG:
      return { ...head, type_id: t.type };
    case BTF_KIND.ARRAY:
      return { ...head, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      return {
        ...head,
        size: t.size,
        vlen: t.vlen,
        members: t.members.map((m): Record<string, Json> => {
          const member = { name: m.name === '' ? '(anon)' : m.name, type_id: m.type };
          // With kind_flag, the offset holds the bitfield size in its top 8 bits.
          if (!t.kindFlag) return { ...member, bits_offset: m.offset };
          const bitfield = m.offset >>> 24;
          return bitfield === 0 ? { ...member, bits_offset: m.offset & 0xffffff } : { ...member, bits_offset: m.offset & 0xffffff, bitfield_size: bitfield };
        }),
      };
    case BTF_KIND.ENUM:
      return {
        ...head,
        encoding: t.kindFlag ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.vlen,
        // bpftool 7.1 prints an unsigned enumerator through a 64-bit sign extension of its s32 field.
        values: t.values.map((v) => ({ name: v.name, val: (t.kindFlag ? v.value : BigInt.asUintN(64, BigInt.asIntN(32, v.value))).toString() })),
      };
    case BTF_KIND.FWD:
      return { ...head, fwd_kind: t.kindFlag ? 'union' : 'struct' };
    case BTF_KIND.FUNC:
      return { ...head, type_id: t.type, linkage: btfLinkageName(t.linkage) };
    case BTF_KIND.FUNC_PROTO:
      return { ...head, ret_type_id: t.returnType, vlen: t.vlen, params: t.params.map((p) => ({ name: p.name === '' ? '(anon)' : p.name, type_id: p.type })) };
    case BTF_KIND.VAR:
      return { ...head, type_id: t.type, linkage: btfLinkageName(t.linkage) };
    case BTF_KIND.DATASEC:
      return { ...head, size: t.size, vlen: t.vlen, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case BTF_KIND.FLOAT:
      return { ...head, size: t.size };
    case BTF_KIND.DECL_TAG:
      return { ...head, type_id: t.type, component_idx: t.componentIndex };
    case BTF_KIND.ENUM64:
      return { ...head, size: t.size, vlen: t.vlen, values: t.values.map((v) => ({ name: v.name, val: v.value.toString() })) };
  }
}

describe('parseBtf agrees with bpftool on clang-built objects', () => {
  const kindsSeen = new Set<number>();
  for (const name of btfFixtures()) {
    test(name, () => {
      const path = fixturePath(name);
      const { btf, littleEndian } = fixtureBtf(name);
      assert.equal(btf.littleEndian, !name.endsWith('.bpfeb.o'));
      assert.equal(littleEndian, btf.littleEndian);
      const expected = bpftoolTypes(path);
      assert.ok(expected.length > 10, `bpftool lists ${expected.length} types`);
      assert.deepEqual(btf.types.map(asBpftool), expected);
      btf.types.forEach((t, i) => {
        assert.equal(t.id, i + 1);
        assert.equal(btf.type(t.id), t);
        kindsSeen.add(t.kind);
      });
    });
  }

  test('the fixtures use every kind clang 14 writes', () => {
    const missing = Object.entries(BTF_KIND).filter(([name, kind]) => kind !== BTF_KIND.UNKN && name !== 'ENUM64' && !kindsSeen.has(kind));
    assert.deepEqual(missing.map(([name]) => name), []);
  });

  for (const base of ['btf_maps', 'btf_kinds', 'btf_core']) {
    test(`${base}: both byte orders give the same types`, () => {
      const little = fixtureBtf(`${base}.o`).btf;
      const big = fixtureBtf(`${base}.bpfeb.o`).btf;
      assert.deepEqual(big.types, little.types);
      assert.deepEqual(big.header, little.header);
    });
  }
});

describe('lookups on clang-built BTF', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: btf_kinds: resolve skips typedefs and modifiers, sizeOf follows libbpf`, () => {
      const { btf } = fixtureBtf(`btf_kinds${suffix}`);
      const named = (name: string, kind: number): number => {
        const found = btf.typesNamed(name, kind);
        assert.equal(found.length, 1, `${btfKindName(kind)} '${name}'`);
        return found[0]!.id;
      };
      const valueTypedef = named('bk_value_t', BTF_KIND.TYPEDEF);
      const value = named('bk_value', BTF_KIND.STRUCT);
      assert.equal(btf.resolve(valueTypedef), value);
      assert.equal(btf.resolveType(valueTypedef)?.name, 'bk_value');
      assert.equal(btf.sizeOf(valueTypedef), 56);
      assert.equal(btf.sizeOf(named('bk_number', BTF_KIND.UNION)), 8);
      assert.equal(btf.sizeOf(named('bk_state', BTF_KIND.ENUM)), 4);
      assert.equal(btf.sizeOf(named('double', BTF_KIND.FLOAT)), 8);
      assert.equal(btf.sizeOf(named('_Bool', BTF_KIND.INT)), 1);
      // Every member's size: pointers are 8 bytes (restrict and type_tag on the way), the byte array 8.
      const struct = btf.type(value);
      assert.equal(struct.kind, BTF_KIND.STRUCT);
      if (struct.kind !== BTF_KIND.STRUCT) return;
      assert.deepEqual(
        struct.members.map((m) => [m.name, btf.sizeOf(m.type)]),
        [
          ['state', 4],
          ['low', 4],
          ['high', 4],
          ['number', 8],
          ['opaque', 8],
          ['only', 8],
          ['user_buffer', 8],
          ['ratio', 8],
          ['flag', 1],
        ],
      );
      const bytesArray = btf.typesNamed('bk_number', BTF_KIND.UNION)[0]!;
      assert.equal(bytesArray.kind, BTF_KIND.UNION);
      if (bytesArray.kind === BTF_KIND.UNION) assert.equal(btf.sizeOf(bytesArray.members[2]!.type), 8);
      // A forward declaration, a function prototype and void have no size.
      const fwd = named('bk_undeclared', BTF_KIND.FWD);
      assert.equal(objectError(() => btf.sizeOf(fwd)).message, `BTF type ${fwd} (fwd 'bk_undeclared') has no size: type ${fwd} (fwd 'bk_undeclared') is not a sized type`);
      const proto = btf.types.find((t) => t.kind === BTF_KIND.FUNC_PROTO)!;
      assert.match(objectError(() => btf.sizeOf(proto.id)).message, new RegExp(`^BTF type ${proto.id} \\(func_proto\\) has no size`));
      assert.equal(objectError(() => btf.sizeOf(0)).message, 'BTF type 0 (void) has no size: it is or ends in void');
      assert.equal(btf.resolve(0), 0);
      assert.equal(btf.resolveType(0), undefined);
    });

    test(`${order}: btf_maps: the key of bm_pinned is const volatile bm_key_t, 8 bytes`, () => {
      const { btf } = fixtureBtf(`btf_maps${suffix}`);
      const datasec = btf.datasec('.maps');
      assert.ok(datasec);
      assert.equal(datasec.size, 0, 'clang 14 leaves the DATASEC size 0');
      assert.deepEqual(
        datasec.vars.map((v) => [btf.type(v.type).name, v.offset, v.size]),
        [
          ['bm_hash', 0, 40],
          ['bm_array', 0, 32],
          ['bm_percpu', 0, 32],
          ['bm_pinned', 0, 48],
          ['bm_events', 0, 16],
          ['bm_perf', 0, 32],
          ['bm_perf_default', 0, 8],
        ],
      );
      const keyTypedef = btf.typesNamed('bm_key_t')[0]!;
      const constKey = btf.types.find((t) => t.kind === BTF_KIND.CONST)!;
      assert.equal(btf.describe(constKey.id), `type ${constKey.id} (const)`);
      assert.equal(btf.resolveType(constKey.id)?.name, 'unsigned long long');
      assert.equal(btf.resolve(keyTypedef.id), btf.resolve(constKey.id));
      assert.equal(btf.sizeOf(constKey.id), 8);
      assert.equal(btf.datasec('license')?.vars.length, 1);
      assert.equal(btf.datasec('.data'), undefined);
      assert.equal(btf.string(0), '');
      assert.equal(btf.string(constKey.nameOffset), '');
      assert.equal(btf.string(keyTypedef.nameOffset), 'bm_key_t');
    });
  }
});

describe('parseBtf on hand-made BTF', () => {
  for (const { order, littleEndian } of ORDERS) {
    test(`${order}: every kind, including ENUM64 and a signed enum, read back`, () => {
      const b = new BtfBuilder(littleEndian);
      const int = b.int('int', 4, true); // 1
      const u8 = b.int('u8', 1); // 2
      const ptr = b.ptr(0); // 3: void *
      const array = b.array(u8, 6, int); // 4
      const struct = b.struct('s', 16, [
        ['a', int],
        ['p', ptr],
      ]); // 5
      const union = b.struct('u', 8, [['x', int]], true); // 6
      const en = b.raw('e', 6, 2, 4, [b.strings.add('NEG'), -5, b.strings.add('POS'), 9], true); // 7: signed
      const en64 = b.enum64('e64', [['BIG', 0x1_0000_0002n]]); // 8
      const fwd = b.raw('f', 7, 0, 0, [], true); // 9: union fwd
      const td = b.typedef('td', struct); // 10
      const vol = b.modifier(9, td); // 11
      const cst = b.modifier(10, vol); // 12
      const rst = b.modifier(11, ptr); // 13
      const tag = b.modifier(18, cst, 'tag'); // 14
      const proto = b.funcProto(int, [['arg', ptr]]); // 15
      const func = b.func('fn', proto, 2); // 16
      const variable = b.variable('v', tag, 0); // 17
      const datasec = b.datasec('.data', 16, [[variable, 0, 16]]); // 18
      const flt = b.float('float', 4); // 19
      const decl = b.declTag('dt', struct, 1); // 20
      const btf = parseBtf(b.bytes(), littleEndian);
      assert.equal(btf.types.length, 20);
      assert.deepEqual(btf.header, { version: 1, flags: 0, hdrLen: 24, typeOff: 0, typeLen: b.typeBytes().length, strOff: b.typeBytes().length, strLen: b.strings.bytes().length });
      assert.deepEqual(
        btf.types.map((t) => [t.id, btfKindName(t.kind), t.name]),
        [
          [int, 'int', 'int'],
          [u8, 'int', 'u8'],
          [ptr, 'ptr', ''],
          [array, 'array', ''],
          [struct, 'struct', 's'],
          [union, 'union', 'u'],
          [en, 'enum', 'e'],
          [en64, 'enum64', 'e64'],
          [fwd, 'fwd', 'f'],
          [td, 'typedef', 'td'],
          [vol, 'volatile', ''],
          [cst, 'const', ''],
          [rst, 'restrict', ''],
          [tag, 'type_tag', 'tag'],
          [proto, 'func_proto', ''],
          [func, 'func', 'fn'],
          [variable, 'var', 'v'],
          [datasec, 'datasec', '.data'],
          [flt, 'float', 'float'],
          [decl, 'decl_tag', 'dt'],
        ],
      );
      const e = btf.type(en);
      assert.ok(e.kind === BTF_KIND.ENUM && e.kindFlag);
      assert.deepEqual(e.values, [
        { name: 'NEG', value: -5n },
        { name: 'POS', value: 9n },
      ]);
      const e64 = btf.type(en64);
      assert.ok(e64.kind === BTF_KIND.ENUM64);
      assert.deepEqual(e64.values, [{ name: 'BIG', value: 0x1_0000_0002n }]);
      assert.equal(btf.sizeOf(en64), 8);
      const f = btf.type(func);
      assert.ok(f.kind === BTF_KIND.FUNC && f.linkage === 2 && f.type === proto);
      const d = btf.type(decl);
      assert.ok(d.kind === BTF_KIND.DECL_TAG && d.componentIndex === 1 && d.type === struct);
      assert.equal(btf.type(fwd).kindFlag, true);
      assert.equal(btf.resolve(tag), struct);
      assert.equal(btf.resolve(rst), ptr);
      assert.equal(btf.sizeOf(variable), 16, 'a VAR has its type size');
      assert.equal(btf.sizeOf(decl), 16, 'a DECL_TAG has its target size');
      assert.equal(btf.sizeOf(datasec), 16);
      assert.equal(btf.sizeOf(array), 6);
      assert.equal(btf.sizeOf(union), 8);
      assert.equal(btf.sizeOf(flt), 4);
      assert.equal(btf.sizeOf(rst), 8);
      assert.equal(btf.datasec('.data')?.id, datasec);
      assert.deepEqual(btf.typesNamed('int').map((t) => t.id), [int]);
      assert.deepEqual(btf.typesNamed('s', BTF_KIND.UNION), []);
      // Offsets of the records: 12 bytes each plus their kind's data, from the start of the BTF.
      assert.equal(btf.type(1).offset, 24);
      assert.equal(btf.type(2).offset, 24 + 16);
      assert.equal(btf.type(3).offset, 24 + 32);
      assert.equal(btf.type(4).offset, 24 + 44);
    });
  }

  test('no types at all: only the empty string', () => {
    const btf = parseBtf(new BtfBuilder().bytes(), true);
    assert.equal(btf.types.length, 0);
    assert.equal(btf.datasec('.maps'), undefined);
    assert.equal(objectError(() => btf.type(1)).message, 'BTF type 1 does not exist (the last type is 0)');
    assert.equal(objectError(() => btf.type(0)).message, 'BTF type 0 is void and has no record');
  });

  test('a longer header is accepted when its unknown bytes are zero', () => {
    const b = new BtfBuilder();
    b.int('int', 4);
    const bytes = b.bytes({ hdrLen: 32 });
    assert.equal(parseBtf(bytes, true).types.length, 1);
    bytes[30] = 1;
    assert.equal(objectError(() => parseBtf(bytes, true)).message, 'BTF header is 32 bytes and byte 30 is not zero: unknown header fields');
  });

  const one = (littleEndian = true): BtfBuilder => {
    const b = new BtfBuilder(littleEndian);
    b.int('int', 4);
    return b;
  };

  const headerCases: Array<[string, () => Uint8Array, string]> = [
    ['bad magic', () => one().bytes({ magic: 0x1234 }), 'BTF: bad magic 0x1234 at offset 0, expected 0xeb9f'],
    [
      'big-endian BTF in a little-endian object',
      () => one(false).bytes(),
      'BTF: magic 0x9feb is 0xeb9f byte-swapped: the BTF data is big-endian but the object is little-endian',
    ],
    ['version 2', () => one().bytes({ version: 2 }), 'BTF version 2 at offset 2 is not supported (only 1)'],
    ['flags', () => one().bytes({ flags: 1 }), 'BTF flags 0x1 at offset 3 are not supported (expected 0)'],
    ['header length 16', () => one().bytes({ hdrLen: 16 }), 'BTF header length 16 at offset 4 is less than 24'],
    ['header length past the end', () => one().bytes({ hdrLen: 4096 }).subarray(0, 60), 'BTF header length 4096 at offset 4 is more than the 60 bytes of BTF'],
    [
      'type section past the end',
      () => one().bytes({ typeLen: 1000 }),
      'BTF type section (offset 0, length 1000 after the 24-byte header) runs past the end of the data (45 bytes)',
    ],
    [
      'string section past the end',
      () => one().bytes({ strLen: 0xffffffff }),
      'BTF string section (offset 16, length 4294967295 after the 24-byte header) runs past the end of the data (45 bytes)',
    ],
    ['string section offset past the end', () => one().bytes({ strOff: 0xfffffff0 }), /^BTF string section \(offset 4294967280, length 5 after/.source],
    ['unaligned type section', () => one().bytes({ typeOff: 1, typeLen: 12 }), 'BTF type section offset 1 is not a multiple of 4'],
    ['overlapping sections', () => one().bytes({ strOff: 12 }), 'BTF type section (24..40) and string section (36..41) overlap'],
    ['empty string section', () => one().bytes({ strLen: 0 }), 'BTF string section at offset 40 (0 bytes) must start and end with a NUL byte'],
    ['string section without a final NUL', () => one().bytes({ strLen: 4 }), 'BTF string section at offset 40 (4 bytes) must start and end with a NUL byte'],
    ['string section not starting with NUL', () => one().bytes({ strOff: 17, strLen: 4 }), 'BTF string section at offset 41 (4 bytes) must start and end with a NUL byte'],
  ];
  for (const [what, bytes, message] of headerCases) {
    test(`header: ${what}`, () => {
      const error = objectError(() => parseBtf(bytes(), true));
      if (message.startsWith('^')) assert.match(error.message, new RegExp(message));
      else assert.equal(error.message, message);
    });
  }

  test('every length shorter than the header is refused with its length', () => {
    const bytes = one().bytes();
    for (let length = 0; length < 24; length++) {
      assert.equal(objectError(() => parseBtf(bytes.subarray(0, length), true)).message, `BTF is ${length} bytes, shorter than its 24-byte header`);
    }
  });

  const typeCases: Array<[string, (b: BtfBuilder) => BtfBuilder | Uint8Array, string]> = [
    [
      'a record cut short',
      (b) => {
        b.int('int', 4); // 16 bytes of types, of which the header claims 8
        return b.bytes({ typeLen: 8, strOff: 16 });
      },
      'BTF type 1 at offset 24: the record\'s 12 bytes run past the end of the type section (offset 32)',
    ],
    [
      "a struct's members past the end of the type section",
      (b) => {
        b.raw('s', 4, 3, 24, [0, 0, 0]);
        return b;
      },
      'BTF type 1 at offset 24: struct with vlen 3 needs 48 bytes but the type section ends at offset 48',
    ],
    ['an unknown kind', (b) => (b.raw('', 20, 0, 0), b), 'BTF type 1 at offset 24: unknown kind 20'],
    ['kind 31', (b) => (b.int('int', 4), b.raw('', 31, 0, 0), b), 'BTF type 2 at offset 40: unknown kind 31'],
    ['a name outside the strings', (b) => (b.raw(5000, 2, 0, 0), b), /^BTF type 1 at offset 24: name: string offset 5000 is outside the BTF string section \(1 bytes\)$/.source],
    [
      'a member name outside the strings',
      (b) => (b.int('int', 4), b.raw('s', 4, 1, 4, [999, 1, 0]), b),
      /^BTF type 2 at offset 40: name of member 0: string offset 999 is outside the BTF string section/.source,
    ],
    ['a pointer to a type that does not exist', (b) => (b.ptr(99), b), 'BTF type 1 (ptr) at offset 24: its target is type 99, but the last type is 1'],
    [
      'an array index type that does not exist',
      (b) => (b.int('int', 4), b.array(1, 4, 7), b),
      'BTF type 2 (array) at offset 40: its index type is type 7, but the last type is 2',
    ],
    [
      'a member type that does not exist',
      (b) => (b.int('int', 4), b.struct('s', 8, [['m', 0xffffffff]]), b),
      "BTF type 2 (struct) at offset 40: member 0 ('m') is type 4294967295, but the last type is 2",
    ],
    ['a DATASEC variable that does not exist', (b) => (b.datasec('.maps', 0, [[2, 0, 8]]), b), 'BTF type 1 (datasec) at offset 24: variable 0 is type 2, but the last type is 1'],
    [
      'a parameter type that does not exist',
      (b) => (b.funcProto(0, [['x', 3]]), b),
      'BTF type 1 (func_proto) at offset 24: parameter 0 is type 3, but the last type is 1',
    ],
  ];
  for (const [what, build, message] of typeCases) {
    test(`types: ${what}`, () => {
      const made = build(new BtfBuilder());
      const bytes = made instanceof BtfBuilder ? made.bytes() : made;
      const error = objectError(() => parseBtf(bytes, true));
      if (message.startsWith('^')) assert.match(error.message, new RegExp(message));
      else assert.equal(error.message, message);
    });
  }

  test('resolve: a loop of typedefs is refused, naming the loop', () => {
    const b = new BtfBuilder();
    b.typedef('a', 2); // 1 -> 2
    b.modifier(10, 3); // 2 const -> 3
    b.typedef('c', 1); // 3 -> 1
    b.typedef('self', 4); // 4 -> 4
    b.ptr(1); // 5: a pointer to the loop is fine, until something resolves through it
    const btf = parseBtf(b.bytes(), true);
    assert.equal(objectError(() => btf.resolve(1)).message, "BTF type 1 (typedef 'a'): typedef/modifier loop: 1 -> 2 -> 3 -> 1");
    assert.equal(objectError(() => btf.resolve(2)).message, 'BTF type 2 (const): typedef/modifier loop: 2 -> 3 -> 1 -> 2');
    assert.equal(objectError(() => btf.resolve(4)).message, "BTF type 4 (typedef 'self'): typedef/modifier loop: 4 -> 4");
    assert.equal(btf.resolve(5), 5);
    assert.equal(objectError(() => btf.sizeOf(3)).message, "BTF type 3 (typedef 'c') has no size: loop: 3 -> 1 -> 2 -> 3");
    assert.equal(btf.sizeOf(5), 8, 'a pointer is 8 bytes whatever it points to');
  });

  test(`resolve and sizeOf follow at most ${BTF_MAX_RESOLVE_DEPTH} typedefs and modifiers`, () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4); // 1
    let top = int;
    for (let i = 0; i < BTF_MAX_RESOLVE_DEPTH + 1; i++) top = b.typedef(`t${i}`, top); // 2..34
    const btf = parseBtf(b.bytes(), true);
    const deepestAllowed = 1 + BTF_MAX_RESOLVE_DEPTH; // 32 typedefs above the int
    assert.equal(btf.resolve(deepestAllowed), int);
    assert.equal(objectError(() => btf.resolve(top)).message, `BTF type ${top} (typedef 't32'): more than 32 typedefs and modifiers in a row`);
    assert.equal(btf.sizeOf(deepestAllowed - 1), 4);
    assert.match(objectError(() => btf.sizeOf(top)).message, /has no size: more than 32 typedefs, modifiers and arrays in a row$/);
  });

  test('sizeOf: arrays multiply, up to 2^32 - 1 bytes', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4); // 1
    const row = b.array(int, 3); // 2: int[3]
    const matrix = b.array(row, 5); // 3: int[5][3]
    const huge = b.array(int, 0x40000000); // 4: 2^32 bytes
    const tooMany = b.array(huge, 0x10000); // 5
    const self = b.array(6, 2); // 6: an array of itself
    const empty = b.array(int, 0); // 7
    const voids = b.array(0, 4); // 8
    const btf = parseBtf(b.bytes(), true);
    assert.equal(btf.sizeOf(row), 12);
    assert.equal(btf.sizeOf(matrix), 60);
    assert.equal(btf.sizeOf(empty), 0);
    assert.equal(objectError(() => btf.sizeOf(huge)).message, 'BTF type 4 (array) is too big: 1073741824 elements of 4 bytes');
    assert.equal(objectError(() => btf.sizeOf(tooMany)).message, 'BTF type 5 (array) is too big: more than 2^32 elements');
    assert.equal(objectError(() => btf.sizeOf(self)).message, 'BTF type 6 (array) has no size: loop: 6 -> 6');
    assert.equal(objectError(() => btf.sizeOf(voids)).message, 'BTF type 8 (array) has no size: it is or ends in void');
    assert.equal(objectError(() => btf.sizeOf(9)).message, 'BTF type 9 does not exist (the last type is 8)');
    assert.equal(objectError(() => btf.type(-1)).message, 'BTF type -1 does not exist (the last type is 8)');
    assert.equal(objectError(() => btf.type(1.5)).message, 'BTF type 1.5 does not exist (the last type is 8)');
  });

  test('names are kept as written; describe() makes them printable', () => {
    const b = new BtfBuilder();
    const id = b.struct('bad\nname', 0, []);
    const btf = parseBtf(b.bytes(), true);
    assert.equal(btf.type(id).name, 'bad\nname');
    assert.equal(btf.describe(id), "type 1 (struct 'bad\\nname')");
    assert.equal(btf.describe(0), 'type 0 (void)');
    assert.equal(btf.describe(7), 'type 7 (missing)');
  });
});

describe('parseBtf never throws anything but ObjectError on damaged clang output', () => {
  for (const name of ['btf_maps.o', 'btf_kinds.bpfeb.o']) {
    test(`${name}: every truncation of .BTF`, () => {
      const { bytes, btfAt } = fixtureBtf(name);
      const elf = readElf(bytes);
      const data = elf.sectionData(sectionNamed(elf, '.BTF'));
      assert.equal(data.byteOffset - bytes.byteOffset, btfAt);
      let refused = 0;
      for (let length = 0; length < data.length; length++) {
        const error = thrown(() => parseBtf(data.subarray(0, length), elf.littleEndian));
        assert.ok(error instanceof ObjectError, `length ${length}: ${String(error)}`);
        assert.ok(!/[\r\n]/.test(error.message));
        refused++;
      }
      assert.equal(refused, data.length);
      assert.ok(parseBtf(data, elf.littleEndian).types.length > 30);
    });
  }

  test('seeded mutations of .BTF words: parsed, or one ObjectError; lookups on parsed ones too', { timeout: 60_000 }, () => {
    const seed = Number(process.env.LKB_FUZZ_SEED ?? 0xb7f);
    const outcomes = { parsed: 0, refused: 0, mapsParsed: 0 };
    for (const name of ['btf_maps.o', 'btf_maps.bpfeb.o', 'btf_kinds.o']) {
      const original = loadFixture(name);
      const elf0 = readElf(original);
      const section = sectionNamed(elf0, '.BTF');
      const maps = sectionNamed(elf0, '.maps');
      for (let iteration = 0; iteration < 3000; iteration++) {
        const random = prng((seed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0);
        const bytes = original.slice();
        const view = new DataView(bytes.buffer);
        const count = 1 + Math.floor(random() * 3);
        const changes: string[] = [];
        for (let i = 0; i < count; i++) {
          const word = section.offset + 4 * Math.floor((random() * section.size) / 4);
          const old = view.getUint32(word, elf0.littleEndian);
          const choices = [0, 1, 0xffffffff, old + 1, old - 1, old ^ (1 << Math.floor(random() * 32)), Math.floor(random() * 64), Math.floor(random() * 2 ** 32)];
          const value = choices[Math.floor(random() * choices.length)]! >>> 0;
          view.setUint32(word, value, elf0.littleEndian);
          changes.push(`word @${word} := ${value}`);
        }
        const what = `${name} iteration ${iteration} (seed ${seed}): ${changes.join(', ')}`;
        const elf = readElf(bytes);
        let btf: Btf | undefined;
        try {
          btf = parseBtf(elf.sectionData(section), elf.littleEndian);
          outcomes.parsed++;
        } catch (error) {
          assert.ok(error instanceof ObjectError, `${what}: ${(error as Error).stack}`);
          assert.ok(error.message !== '' && !/[\r\n]/.test(error.message), `${what}: ${JSON.stringify(error.message)}`);
          outcomes.refused++;
        }
        if (!btf) continue;
        // Every lookup on every type either answers or throws an ObjectError.
        for (const t of btf.types) {
          for (const lookup of [() => btf!.resolve(t.id), () => btf!.sizeOf(t.id), () => btf!.describe(t.id)]) {
            try {
              lookup();
            } catch (error) {
              assert.ok(error instanceof ObjectError, `${what}: type ${t.id}: ${(error as Error).stack}`);
            }
          }
        }
        try {
          btfMapDefinitions(btf, elf, maps);
          outcomes.mapsParsed++;
        } catch (error) {
          assert.ok(error instanceof ElfError, `${what}: btfMapDefinitions: ${(error as Error).stack}`);
          assert.ok(!/[\r\n]/.test(error.message), `${what}: ${JSON.stringify(error.message)}`);
        }
      }
    }
    // The mutations must reach past the header checks, and must not be harmless either.
    assert.ok(outcomes.parsed > 1000, JSON.stringify(outcomes));
    assert.ok(outcomes.refused > 500, JSON.stringify(outcomes));
    assert.ok(outcomes.mapsParsed > 500, JSON.stringify(outcomes));
  });
});

describe('coreRelocationCount: the CO-RE records of .BTF.ext', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: btf_core reads two fields through CO-RE; btf_maps none`, () => {
      const count = (name: string): number => {
        const elf = readElf(loadFixture(name));
        return coreRelocationCount(elf.sectionData(sectionNamed(elf, '.BTF.ext')), elf.littleEndian);
      };
      assert.equal(count(`btf_core${suffix}`), 2);
      assert.equal(count(`btf_maps${suffix}`), 0);
      assert.equal(count(`btf_kinds${suffix}`), 0);
    });

    test(`${order}: clang 14's .BTF.ext header has the CO-RE fields`, () => {
      const elf = readElf(loadFixture(`btf_core${suffix}`));
      const header = parseBtfExtHeader(elf.sectionData(sectionNamed(elf, '.BTF.ext')), elf.littleEndian);
      assert.equal(header.hdrLen, 32);
      assert.equal(header.funcInfoOff, 0);
      assert.ok(header.funcInfoLen > 0 && header.lineInfoLen > 0);
      assert.equal(header.coreReloLen, 4 + 8 + 2 * 16);
    });
  }

  /** A .BTF.ext with the given core_relo words (hdr_len 32; func_info and line_info empty). */
  const ext = (coreWords: readonly number[], header: Partial<Record<'magic' | 'version' | 'flags' | 'hdrLen' | 'coreOff' | 'coreLen', number>> = {}, littleEndian = true): Uint8Array => {
    const core = encodeWords(coreWords, littleEndian);
    const hdrLen = header.hdrLen ?? 32;
    const out = new Uint8Array(Math.max(hdrLen, 24) + core.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, header.magic ?? 0xeb9f, littleEndian);
    out[2] = header.version ?? 1;
    out[3] = header.flags ?? 0;
    v.setUint32(4, hdrLen, littleEndian);
    if (hdrLen >= 32) {
      v.setUint32(24, header.coreOff ?? 0, littleEndian);
      v.setUint32(28, header.coreLen ?? core.length, littleEndian);
    }
    out.set(core, Math.max(hdrLen, 24));
    return out;
  };

  for (const { order, littleEndian } of ORDERS) {
    test(`${order}: records are counted over every section`, () => {
      const records = (n: number): number[] => Array.from({ length: n * 4 }, (_, i) => i);
      assert.equal(coreRelocationCount(ext([16, 1, 2, ...records(2), 5, 3, ...records(3)], {}, littleEndian), littleEndian), 5);
      // Bigger records (a newer struct) are stepped over by their size.
      assert.equal(coreRelocationCount(ext([20, 1, 2, ...Array.from({ length: 10 }, () => 0)], {}, littleEndian), littleEndian), 2);
    });
  }

  test('a header without CO-RE fields (hdr_len 24) means no CO-RE relocations', () => {
    assert.equal(coreRelocationCount(ext([], { hdrLen: 24 }), true), 0);
    assert.equal(coreRelocationCount(ext([16, 1, 1, 0, 0, 0, 0], { coreLen: 0 }), true), 0);
  });

  const cases: Array<[string, () => Uint8Array, string]> = [
    ['too short', () => ext([]).subarray(0, 20), 'BTF.ext is 20 bytes, shorter than its 24-byte header'],
    ['bad magic', () => ext([], { magic: 0xbeef }), 'BTF.ext: bad magic 0xbeef at offset 0, expected 0xeb9f'],
    ['the other byte order', () => ext([16, 1, 1, 0, 0, 0, 0], {}, false), 'BTF.ext: magic 0x9feb is 0xeb9f byte-swapped: the BTF.ext data is big-endian but the object is little-endian'],
    ['version', () => ext([], { version: 3 }), 'BTF.ext version 3 at offset 2 is not supported (only 1)'],
    ['flags', () => ext([], { flags: 0x80 }), 'BTF.ext flags 0x80 at offset 3 are not supported (expected 0)'],
    ['header length 8', () => ext([], { hdrLen: 8 }), 'BTF.ext header length 8 at offset 4 is less than 24'],
    ['header length past the end', () => ext([1, 2], { hdrLen: 64 }).subarray(0, 40), 'BTF.ext header length 64 at offset 4 is more than the 40 bytes of BTF.ext'],
    [
      'core_relo past the end',
      () => ext([16, 1, 1, 0, 0, 0, 0], { coreLen: 0xfffffff0 }),
      'BTF.ext core_relo (offset 0, length 4294967280 after the 32-byte header) runs past the end of the data (60 bytes)',
    ],
    ['a length too short for the record size', () => ext([16], { coreLen: 2 }), 'BTF.ext core_relo at offset 32: 2 bytes, too short for the record size'],
    ['an unaligned length', () => ext([16, 1, 1, 0, 0, 0, 0], { coreLen: 26 }), 'BTF.ext core_relo at offset 32: offset 0 and length 26 must be multiples of 4'],
    ['records of 8 bytes', () => ext([8, 1, 1, 0, 0]), 'BTF.ext core_relo at offset 32: record size 8 is not a multiple of 4 of at least 16'],
    ['records of 18 bytes', () => ext([18, 1, 1, 0, 0, 0, 0]), 'BTF.ext core_relo at offset 32: record size 18 is not a multiple of 4 of at least 16'],
    ['a section without records', () => ext([16, 1, 0]), 'BTF.ext core_relo at offset 32: section at offset 36 has no records'],
    ['a section header cut short', () => ext([16, 1, 1, 0, 0, 0, 0, 7]), 'BTF.ext core_relo at offset 32: section header at offset 60 runs past the end (offset 64)'],
    [
      'more records than bytes',
      () => ext([16, 1, 0xffffffff, 0, 0, 0, 0]),
      'BTF.ext core_relo at offset 32: section at offset 36 has 4294967295 records of 16 bytes, past the end (offset 60)',
    ],
  ];
  for (const [what, bytes, message] of cases) {
    test(`refused: ${what}`, () => {
      assert.equal(objectError(() => coreRelocationCount(bytes(), true)).message, message);
    });
  }

  test('func_info and line_info must lie inside the data too', () => {
    const bytes = ext([]);
    new DataView(bytes.buffer).setUint32(12, 100, true); // func_info_len
    assert.equal(
      objectError(() => coreRelocationCount(bytes, true)).message,
      'BTF.ext func_info (offset 0, length 100 after the 32-byte header) runs past the end of the data (32 bytes)',
    );
    const lines = ext([]);
    new DataView(lines.buffer).setUint32(16, 33, true); // line_info_off
    assert.match(objectError(() => coreRelocationCount(lines, true)).message, /^BTF\.ext line_info \(offset 33, length 0 after/);
  });

  test('every truncation of a real .BTF.ext is refused with an ObjectError', () => {
    const elf = readElf(loadFixture('btf_core.bpfeb.o'));
    const data = elf.sectionData(sectionNamed(elf, '.BTF.ext'));
    for (let length = 0; length < data.length; length++) {
      const error = thrown(() => coreRelocationCount(data.subarray(0, length), false));
      assert.ok(error instanceof ObjectError, `length ${length}: ${String(error)}`);
    }
  });
});

describe('split BTF (a module on vmlinux): names by lookup', () => {
  for (const ascii of [true, false]) {
    test(`${ascii ? 'ASCII' : 'non-ASCII'} strings: own types are found by names of the base's strings and by their own`, () => {
      const base = new BtfBuilder();
      const int = base.int('int', 4, true);
      const task = base.struct('task_struct', 8, [['pid', int]]);
      if (!ascii) base.strings.add('caf\u00e9');
      const vmlinux = parseBtf(base.bytes(), true, { trusted: true });
      const module = new BtfBuilder();
      const strLen = vmlinux.header.strLen;
      // A module's own task_struct reuses the base's string; its other names are its own strings.
      const own = module.raw(base.strings.add('task_struct'), BTF_KIND.STRUCT, 0, 16);
      const thing = module.raw(strLen + module.strings.add('mod_thing'), BTF_KIND.TYPEDEF, 0, int);
      const twice = module.raw(strLen + module.strings.add('mod_thing'), BTF_KIND.TYPEDEF, 0, task);
      const split = parseBtf(module.bytes(), true, { trusted: true, base: vmlinux });
      const firstOwn = vmlinux.count;
      assert.deepEqual(split.typesNamed('task_struct').map((t) => t.id), [task, firstOwn + own]);
      assert.deepEqual(split.typesNamed('mod_thing').map((t) => t.id), [firstOwn + thing, firstOwn + twice]);
      assert.deepEqual(split.typesNamed('int').map((t) => t.id), [int]);
      assert.deepEqual(split.typesNamed('nothing'), []);
      const names = new Map([...split.namedTypeIds()].map(([name, ids]) => [name, [...ids]]));
      assert.deepEqual(names.get('mod_thing'), [firstOwn + thing, firstOwn + twice]);
      assert.deepEqual(names.get('int'), [int]);
    });
  }
});
