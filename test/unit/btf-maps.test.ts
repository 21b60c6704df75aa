// src/object/btf-maps.ts: libbpf-style maps of the `.maps` section, read from .BTF. Clang-built
// objects of both byte orders against exact values and against bpftool's dump of the same BTF;
// patched objects and hand-made BTF for every rule (member encodings, unknown members, pinning,
// key/value size conflicts, map-in-map, linkage, symbols) refused with one ObjectError.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { readElf, type ElfFile } from '../../src/elf/reader.js';
import { BTF_KIND, parseBtf, type Btf } from '../../src/btf/btf.js';
import { BTF_MAPS_SECTION, btfMapDefinitions, parseBtfMaps, type BtfMapDefinition } from '../../src/object/btf-maps.js';
import type { MapSpec } from '../../src/object/spec.js';
import {
  bpftoolTypes,
  BtfBuilder,
  btfMapsObject,
  buildElf,
  encodeSymbols,
  fixturePath,
  getU32,
  loadFixture,
  objectError,
  ORDERS,
  sectionHeaderAt,
  sectionNamed,
  setU16,
  setU32,
  setU64,
  SH,
  ST,
  StringTable,
  symbolAt,
  symbolIndex,
  type BtfMapInput,
  type BtfMapsObjectOptions,
  type Json,
} from './helpers.js';

function mapsWithTypes(bytes: Uint8Array): BtfMapDefinition[] {
  const elf = readElf(bytes);
  return parseBtfMaps(elf, sectionNamed(elf, BTF_MAPS_SECTION));
}

/** The maps without their key and value type ids (checked against bpftool's dump separately). */
/** A map definition without its extent in the section (what the tests state by hand). */
type MapAt = Pick<BtfMapDefinition, 'spec' | 'offset'>;

function mapsOf(bytes: Uint8Array): MapAt[] {
  return mapsWithTypes(bytes).map(({ spec: { btf: _, ...rest }, offset }) => ({ spec: rest, offset }));
}

const spec = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0, pinning: 0 | 1 = 0): MapSpec => ({
  name,
  type,
  keySize,
  valueSize,
  maxEntries,
  flags,
  pinning,
});

/** What test/fixtures/bpf/btf_maps.c declares, in section order. */
const BTF_MAPS_EXPECTED: MapAt[] = [
  { spec: spec('bm_hash', 1, 4, 8, 128, 1), offset: 0n },
  { spec: spec('bm_array', 2, 4, 16, 4), offset: 40n },
  { spec: spec('bm_percpu', 6, 4, 40, 1), offset: 72n },
  { spec: spec('bm_pinned', 9, 8, 16, 1024, 0, 1), offset: 104n },
  { spec: spec('bm_events', 27, 0, 0, 16384), offset: 152n },
  { spec: spec('bm_perf', 4, 4, 4, 64), offset: 168n },
  { spec: spec('bm_perf_default', 4, 4, 4, 0), offset: 200n },
];

// ---------------------------------------------------------------------------------------------
// The same rules applied to bpftool's dump, to check the clang-built objects independently.

function mapsFromBpftool(path: string, elf: ElfFile): MapAt[] {
  const types = new Map(bpftoolTypes(path).map((t) => [t.id as number, t]));
  const get = (id: Json | undefined): Record<string, Json> => {
    const t = types.get(id as number);
    assert.ok(t, `bpftool lists no type ${String(id)}`);
    return t;
  };
  const skip = (id: Json | undefined): Record<string, Json> => {
    let t = get(id);
    while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind as string)) t = get(t.type_id);
    return t;
  };
  const size = (id: Json | undefined): number => {
    const t = skip(id);
    if (t.kind === 'PTR') return 8;
    if (t.kind === 'ARRAY') return (t.nr_elems as number) * size(t.type_id);
    assert.equal(typeof t.size, 'number', `type ${String(id)} (${String(t.kind)}) has a size`);
    return t.size as number;
  };
  const datasec = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.maps')!;
  const maps = (datasec.vars as Array<Record<string, Json>>).map((v) => {
    const variable = get(v.type_id);
    const fields: Record<string, number> = {};
    const typeIds = { key: 0, value: 0 };
    for (const m of skip(variable.type_id).members as Array<Record<string, Json>>) {
      const pointer = skip(m.type_id);
      assert.equal(pointer.kind, 'PTR');
      const target = get(pointer.type_id);
      fields[m.name as string] = m.name === 'key' || m.name === 'value' ? size(pointer.type_id) : (target.nr_elems as number);
      if (m.name === 'key' || m.name === 'value') typeIds[m.name] = pointer.type_id as number;
    }
    const perf = fields.type === 4;
    const name = variable.name as string;
    const symbol = elf.symbols.find((s) => s.name === name)!;
    const definition = spec(
      name,
      fields.type!,
      fields.key_size ?? fields.key ?? (perf ? 4 : 0),
      fields.value_size ?? fields.value ?? (perf ? 4 : 0),
      fields.max_entries ?? 0,
      fields.map_flags ?? 0,
      (fields.pinning ?? 0) as 0 | 1,
    );
    return {
      spec: typeIds.key || typeIds.value ? { ...definition, btf: { keyTypeId: typeIds.key, valueTypeId: typeIds.value } } : definition,
      offset: symbol.value,
    };
  });
  return maps.sort((a, b) => Number(a.offset - b.offset));
}

describe('parseBtfMaps on clang-built objects', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: btf_maps.c: every map, in section order, with its offset`, () => {
      assert.deepEqual(mapsOf(loadFixture(`btf_maps${suffix}`)), BTF_MAPS_EXPECTED);
    });

    for (const base of ['btf_maps', 'btf_kinds', 'btf_core']) {
      test(`${order}: ${base}: the same maps as bpftool's dump of the BTF says`, () => {
        const bytes = loadFixture(`${base}${suffix}`);
        const expected = mapsFromBpftool(fixturePath(`${base}${suffix}`), readElf(bytes));
        assert.ok(expected.length >= 1);
        assert.deepEqual(mapsWithTypes(bytes).map(({ spec, offset }) => ({ spec, offset })), expected);
      });
    }

    test(`${order}: btf_kinds.c and btf_core.c`, () => {
      assert.deepEqual(mapsOf(loadFixture(`btf_kinds${suffix}`)), [{ spec: spec('bk_values', 1, 4, 56, 16), offset: 0n }]);
      assert.deepEqual(mapsOf(loadFixture(`btf_core${suffix}`)), [{ spec: spec('bc_pids', 2, 4, 8, 1), offset: 0n }]);
    });

    test(`${order}: the offsets are those of the map symbols, which the program's relocations name`, () => {
      const bytes = loadFixture(`btf_maps${suffix}`);
      const elf = readElf(bytes);
      const maps = sectionNamed(elf, '.maps');
      const byOffset = new Map(mapsOf(bytes).map((m) => [m.offset, m.spec.name]));
      const program = sectionNamed(elf, 'kprobe/vfs_read');
      const [rel] = elf.relocationSectionsFor(program);
      const named = elf.relocations(rel!).map((r) => elf.symbols[r.symbolIndex]!).filter((s) => s.sectionIndex === maps.index);
      assert.equal(named.length, 7, 'the program uses every map');
      for (const symbol of named) assert.equal(byOffset.get(symbol.value), symbol.name);
    });

    test(`${order}: btfMapDefinitions with the BTF parsed once gives the same`, () => {
      const bytes = loadFixture(`btf_maps${suffix}`);
      const elf = readElf(bytes);
      const btf = parseBtf(elf.sectionData(sectionNamed(elf, '.BTF')), elf.littleEndian);
      assert.deepEqual(btfMapDefinitions(btf, elf, sectionNamed(elf, '.maps')), mapsWithTypes(bytes));
    });

    test(`${order}: an inline inner map (map-in-map) is refused`, () => {
      assert.equal(
        objectError(() => mapsOf(loadFixture(`btf_map_in_map${suffix}`))).message,
        "map 'mim_outer' (array_of_maps): inner map definitions (member 'values') are not supported: map-in-map needs an inner map this loader cannot create",
      );
    });

    test(`${order}: a program array with initial slots: where its 'values' start, and how far its variable goes`, () => {
      const [jumps] = mapsWithTypes(loadFixture(`btf_prog_array${suffix}`));
      assert.deepEqual({ name: jumps!.spec.name, valuesOffset: jumps!.valuesOffset, size: jumps!.size }, { name: 'pa_jumps', valuesOffset: 24, size: 40 });
    });

    test(`${order}: a static map is refused, as libbpf does`, () => {
      assert.equal(
        objectError(() => mapsOf(loadFixture(`btf_static_map${suffix}`))).message,
        'map \'sm_hidden\' has static linkage; like libbpf, only global maps are supported (remove "static")',
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Patching btf_maps.o: its BTF type ids are fixed by the source (see `bpftool btf dump`).

interface Patchable {
  bytes: Uint8Array;
  elf: ElfFile;
  btf: Btf;
  /** File offset of the start of .BTF. */
  btfAt: number;
  /** File offset of the record of a type. */
  record(id: number): number;
  /** File offset of member `index` of a struct. */
  member(structId: number, index: number): number;
  /** The id of the struct that defines a map (through its VAR). */
  definition(map: string): number;
  /** The id of a map's VAR. */
  variable(map: string): number;
}

function patchable(suffix: string): Patchable {
  const bytes = loadFixture(`btf_maps${suffix}`);
  const elf = readElf(bytes);
  const section = sectionNamed(elf, '.BTF');
  const btf = parseBtf(elf.sectionData(section), elf.littleEndian);
  const variable = (map: string): number => btf.typesNamed(map, BTF_KIND.VAR)[0]!.id;
  return {
    bytes,
    elf,
    btf,
    btfAt: section.offset,
    record: (id) => section.offset + btf.type(id).offset,
    member: (structId, index) => section.offset + btf.type(structId).offset + 12 + 12 * index,
    variable,
    definition: (map) => btf.resolve((btf.type(variable(map)) as { type: number }).type),
  };
}

/** The id of the struct member named `name` of a map's definition, and its index. */
function memberIndex(p: Patchable, map: string, name: string): number {
  const struct = p.btf.type(p.definition(map));
  assert.ok(struct.kind === BTF_KIND.STRUCT);
  const index = struct.members.findIndex((m) => m.name === name);
  assert.ok(index >= 0, `map ${map} has no member ${name}`);
  return index;
}

/** A `int (*)[n]` pointer type already in the BTF. */
function pointerToArrayOf(p: Patchable, n: number): number {
  const array = p.btf.types.find((t) => t.kind === BTF_KIND.ARRAY && t.nelems === n && p.btf.type(t.type).name === 'int');
  assert.ok(array, `no int[${n}] in the BTF`);
  return p.btf.types.find((t) => t.kind === BTF_KIND.PTR && t.type === array.id)!.id;
}

describe('parseBtfMaps on patched clang-built objects', () => {
  for (const { order, suffix } of ORDERS) {
    const refused = (what: string, patch: (p: Patchable) => void, message: string | RegExp): void => {
      test(`${order}: ${what}`, () => {
        const p = patchable(suffix);
        assert.deepEqual(mapsOf(p.bytes.slice()), BTF_MAPS_EXPECTED, 'unpatched');
        patch(p);
        const error = objectError(() => mapsOf(p.bytes));
        if (typeof message === 'string') assert.equal(error.message, message);
        else assert.match(error.message, message);
      });
    };

    refused(
      'pinning 2 (a tc pinning mode, not libbpf) is refused',
      (p) => setU32(p.bytes, p.member(p.definition('bm_pinned'), memberIndex(p, 'bm_pinned', 'pinning')) + 4, pointerToArrayOf(p, 2)),
      "map 'bm_pinned': pinning 2 is not valid; libbpf knows 0 (LIBBPF_PIN_NONE) and 1 (LIBBPF_PIN_BY_NAME)",
    );
    refused(
      'pinning 1024 is refused',
      (p) => setU32(p.bytes, p.member(p.definition('bm_pinned'), memberIndex(p, 'bm_pinned', 'pinning')) + 4, pointerToArrayOf(p, 1024)),
      "map 'bm_pinned': pinning 1024 is not valid; libbpf knows 0 (LIBBPF_PIN_NONE) and 1 (LIBBPF_PIN_BY_NAME)",
    );
    refused(
      'key_size that disagrees with the key type',
      (p) => setU32(p.bytes, p.member(p.definition('bm_pinned'), memberIndex(p, 'bm_pinned', 'key_size')) + 4, pointerToArrayOf(p, 4)),
      "map 'bm_pinned': key_size is 4 but the key type is 8 bytes",
    );
    refused(
      'an unknown member, named',
      (p) => {
        const calls = p.btf.typesNamed('bm_stats', BTF_KIND.STRUCT)[0]!;
        const nameOffset = getU32(p.bytes, p.member(calls.id, 0));
        setU32(p.bytes, p.member(p.definition('bm_hash'), memberIndex(p, 'bm_hash', 'map_flags')), nameOffset);
      },
      "map 'bm_hash': unknown member 'calls' in its definition (known: type, key, value, key_size, value_size, max_entries, map_flags, numa_node, pinning, map_extra, values)",
    );
    refused(
      'an __uint member that is not a pointer',
      (p) => setU32(p.bytes, p.member(p.definition('bm_hash'), memberIndex(p, 'bm_hash', 'max_entries')) + 4, p.btf.typesNamed('int', BTF_KIND.INT)[0]!.id),
      /^map 'bm_hash': member 'max_entries' is BTF type 2 \(int 'int'\), expected a pointer to an array as __uint\(max_entries, N\) declares$/,
    );
    refused(
      'an __uint member that points to something else than an array',
      (p) => {
        const key = p.btf.type(p.definition('bm_hash'));
        assert.ok(key.kind === BTF_KIND.STRUCT);
        const keyPointer = key.members[memberIndex(p, 'bm_hash', 'key')]!.type; // __u32 *
        setU32(p.bytes, p.member(key.id, memberIndex(p, 'bm_hash', 'max_entries')) + 4, keyPointer);
      },
      /^map 'bm_hash': member 'max_entries' points to BTF type \d+ \(typedef '__u32'\), expected an array whose length is the value$/,
    );
    refused(
      'a key member that is not a pointer',
      (p) => setU32(p.bytes, p.member(p.definition('bm_hash'), memberIndex(p, 'bm_hash', 'key')) + 4, p.btf.typesNamed('__u32', BTF_KIND.TYPEDEF)[0]!.id),
      /^map 'bm_hash': member 'key' is BTF type \d+ \(typedef '__u32'\), expected a pointer to the key type as __type\(key, T\) declares$/,
    );
    refused(
      'a value of type void',
      (p) => {
        const voidPointer = p.btf.types.find((t) => t.kind === BTF_KIND.PTR && t.type === 0)!.id;
        setU32(p.bytes, p.member(p.definition('bm_hash'), memberIndex(p, 'bm_hash', 'value')) + 4, voidPointer);
      },
      "map 'bm_hash': member 'value': cannot tell the value size: BTF type 0 (void) has no size: it is or ends in void",
    );
    refused(
      'a value whose type is a function prototype',
      (p) => {
        const proto = p.btf.types.find((t) => t.kind === BTF_KIND.FUNC_PROTO)!.id;
        const valuePointer = p.btf.type(p.definition('bm_hash'));
        assert.ok(valuePointer.kind === BTF_KIND.STRUCT);
        setU32(p.bytes, p.record(valuePointer.members[memberIndex(p, 'bm_hash', 'value')]!.type) + 8, proto);
      },
      /^map 'bm_hash': member 'value': cannot tell the value size: BTF type \d+ \(func_proto\) has no size/,
    );
    refused(
      'a variable of static linkage',
      (p) => setU32(p.bytes, p.record(p.variable('bm_array')) + 12, 0),
      'map \'bm_array\' has static linkage; like libbpf, only global maps are supported (remove "static")',
    );
    refused(
      'a variable of extern linkage',
      (p) => setU32(p.bytes, p.record(p.variable('bm_array')) + 12, 2),
      "map 'bm_array' has extern linkage; like libbpf, only global maps are supported",
    );
    refused(
      'a variable whose type is not a struct',
      (p) => setU32(p.bytes, p.record(p.variable('bm_hash')) + 8, p.btf.typesNamed('bm_key_t')[0]!.id),
      "map 'bm_hash': its type is BTF type 12 (int 'unsigned long long'), not a struct of __uint()/__type() members",
    );
    refused(
      'a DATASEC entry that is not a variable',
      (p) => setU32(p.bytes, p.record(p.btf.datasec('.maps')!.id) + 12 + 12 * 2, p.btf.typesNamed('bm_vfs_read', BTF_KIND.FUNC)[0]!.id),
      /^DATASEC '\.maps' entry 2 is BTF type \d+ \(func 'bm_vfs_read'\), not a variable$/,
    );
    refused(
      'no DATASEC .maps',
      (p) => setU32(p.bytes, p.record(p.btf.datasec('.maps')!.id), p.btf.datasec('license')!.nameOffset),
      "the object's BTF has no DATASEC '.maps' describing the maps in section '.maps'",
    );
    refused(
      'the map type left out (0)',
      (p) => {
        const pointer = p.btf.type(pointerToArrayOf(p, 2));
        assert.ok(pointer.kind === BTF_KIND.PTR);
        setU32(p.bytes, p.record(pointer.type) + 12 + 8, 0); // int[2] -> int[0]: the type of bm_array (only)
      },
      "map 'bm_array': the map type is not specified (no __uint(type, ...) member)",
    );
    refused(
      'BTF in the other byte order',
      (p) => setU16(p.bytes, p.btfAt, 0x9feb),
      `BTF: magic 0x9feb is 0xeb9f byte-swapped: the BTF data is ${suffix === '.o' ? 'big' : 'little'}-endian but the object is ${suffix === '.o' ? 'little' : 'big'}-endian`,
    );
    refused(
      'no .BTF section (an object compiled without -g)',
      (p) => {
        const ext = sectionNamed(p.elf, '.BTF.ext');
        const btf = sectionNamed(p.elf, '.BTF');
        setU32(p.bytes, sectionHeaderAt(p.bytes, btf.index) + SH.name, getU32(p.bytes, sectionHeaderAt(p.bytes, ext.index) + SH.name));
      },
      "section '.maps' holds BTF-defined maps, but the object has no '.BTF' section to describe them: compile with clang -g",
    );
    refused(
      'a .BTF section without contents',
      (p) => setU32(p.bytes, sectionHeaderAt(p.bytes, sectionNamed(p.elf, '.BTF').index) + SH.type, 8),
      /^section '\.BTF' has no contents in the file \(section type 8, \d+ bytes\)$/,
    );

    // The symbols.
    refused(
      'a map symbol moved onto another map',
      (p) => setU64(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_array')) + ST.value, 0n),
      "maps 'bm_hash' (offset 0, 40 bytes) and 'bm_array' (offset 0) overlap in section '.maps'",
    );
    refused(
      'a map symbol in another section',
      (p) => setU16(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_array')) + ST.shndx, sectionNamed(p.elf, 'license').index),
      "map 'bm_array' has no symbol in section '.maps' (symbols there: 'bm_hash', 'bm_percpu', 'bm_pinned', 'bm_events', 'bm_perf', 'bm_perf_default')",
    );
    refused(
      'two symbols with the name of a map',
      (p) => {
        const nameOffset = getU32(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_hash')) + ST.name);
        setU32(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_array')) + ST.name, nameOffset);
      },
      "map 'bm_hash' has 2 symbols in section '.maps'",
    );
    refused(
      'a map symbol of the wrong size',
      (p) => setU64(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_hash')) + ST.size, 41n),
      "map 'bm_hash': BTF says it is 40 bytes, but its symbol says 41",
    );
    refused(
      'a map symbol that is a function',
      (p) => {
        p.bytes[symbolAt(p.bytes, symbolIndex(p.elf, 'bm_hash')) + ST.info] = 0x12;
      },
      /^map 'bm_hash': its symbol \(index \d+\) has type 2, expected 1 \(STT_OBJECT\)$/,
    );
    refused(
      'a map symbol past the end of the section',
      (p) => setU64(p.bytes, symbolAt(p.bytes, symbolIndex(p.elf, 'bm_perf_default')) + ST.value, 204n),
      "map 'bm_perf_default': 8 bytes at offset 204 run past the end of section '.maps' (208 bytes)",
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Hand-made objects (helpers.ts btfMapsObject): the rules one at a time.

describe('parseBtfMaps on hand-made BTF', () => {
  for (const { order, littleEndian } of ORDERS) {
    const build = (define: (b: BtfBuilder) => BtfMapInput[], options: BtfMapsObjectOptions = {}): Uint8Array => btfMapsObject(littleEndian, define, options);
    const accepted = (what: string, define: (b: BtfBuilder) => BtfMapInput[], expected: MapAt[], options: BtfMapsObjectOptions = {}): void => {
      test(`${order}: ${what}`, () => assert.deepEqual(mapsOf(build(define, options)), expected));
    };
    const refused = (what: string, define: (b: BtfBuilder) => BtfMapInput[], message: string | RegExp, options: BtfMapsObjectOptions = {}): void => {
      test(`${order}: ${what}`, () => {
        const error = objectError(() => mapsOf(build(define, options)));
        if (typeof message === 'string') assert.equal(error.message, message);
        else assert.match(error.message, message);
      });
    };
    /** A hash map with 4-byte keys and 8-byte values, plus extra members. */
    const hash = (b: BtfBuilder, extra: Array<[string, number]> = [], name = 'm'): BtfMapInput => ({
      name,
      members: [['type', b.uint(1)], ['key', b.ptr(b.int('u32', 4))], ['value', b.ptr(b.int('u64', 8))], ['max_entries', b.uint(10)], ...extra],
    });

    accepted('a hash map with key and value types', (b) => [hash(b)], [{ spec: spec('m', 1, 4, 8, 10), offset: 0n }]);
    accepted(
      'a ring buffer has no key or value; a perf event array gets 4/4',
      (b) => [
        { name: 'rb', members: [['type', b.uint(27)], ['max_entries', b.uint(4096)]] },
        { name: 'perf', members: [['type', b.uint(4)]] },
        { name: 'perf8', members: [['type', b.uint(4)], ['key_size', b.uint(8)], ['value_size', b.uint(0)]] },
      ],
      [
        { spec: spec('rb', 27, 0, 0, 4096), offset: 0n },
        { spec: spec('perf', 4, 4, 4, 0), offset: 16n },
        { spec: spec('perf8', 4, 8, 4, 0), offset: 24n },
      ],
    );
    accepted(
      'key_size and value_size alone; map_flags; pinning 0 and 1',
      (b) => [
        { name: 'a', members: [['type', b.uint(2)], ['key_size', b.uint(4)], ['value_size', b.uint(24)], ['max_entries', b.uint(3)], ['pinning', b.uint(0)]] },
        { name: 'b', members: [['type', b.uint(1)], ['key_size', b.uint(8)], ['value_size', b.uint(8)], ['map_flags', b.uint(0x401)], ['pinning', b.uint(1)]] },
      ],
      [
        { spec: spec('a', 2, 4, 24, 3), offset: 0n },
        { spec: spec('b', 1, 8, 8, 0, 0x401, 1), offset: 40n },
      ],
    );
    accepted(
      'a zero key_size does not conflict with the key type (libbpf reads 0 as "not given")',
      (b) => [hash(b, [['key_size', b.uint(0)], ['value_size', b.uint(8)]])],
      [{ spec: spec('m', 1, 4, 8, 10), offset: 0n }],
    );
    accepted(
      'the definition behind a typedef and const; __uint members behind a typedef',
      (b) => {
        const type = b.typedef('type_t', b.uint(2));
        const struct = b.struct('def', 16, [
          ['type', type],
          ['max_entries', b.uint(1)],
        ]);
        return [{ name: 'w', members: [], size: 16, definition: b.modifier(10, b.typedef('def_t', struct)) }];
      },
      [{ spec: spec('w', 2, 0, 0, 1), offset: 0n }],
    );
    accepted(
      'numa_node 0 and map_extra 0 (an __ulong enum and an ENUM64) are accepted',
      (b) => [hash(b, [['numa_node', b.uint(0)], ['map_extra', b.enum('', 4, [['__unique_value0', 0]])]]), hash(b, [['map_extra', b.enum64('', [['x', 0n]])]], 'n')],
      [
        { spec: spec('m', 1, 4, 8, 10), offset: 0n },
        { spec: spec('n', 1, 4, 8, 10), offset: 48n },
      ],
    );
    accepted(
      'a linked object: DATASEC size and offsets filled in, agreeing with the symbols',
      (b) => [hash(b), hash(b, [], 'second')],
      [
        { spec: spec('m', 1, 4, 8, 10), offset: 0n },
        { spec: spec('second', 1, 4, 8, 10), offset: 32n },
      ],
      { datasecOffsets: true },
    );
    accepted(
      'maps come in section order, not DATASEC order',
      (b) => [hash(b, [], 'first'), hash(b, [], 'second')],
      [
        { spec: spec('second', 1, 4, 8, 10), offset: 0n },
        { spec: spec('first', 1, 4, 8, 10), offset: 32n },
      ],
      { symbols: (s) => [{ ...s[0]!, value: 32n }, { ...s[1]!, value: 0n }] },
    );

    refused(
      'a linked object whose DATASEC offset disagrees with the symbol',
      (b) => [hash(b), hash(b, [], 'second')],
      "map 'second': BTF puts it at offset 32 of section '.maps', but its symbol is at offset 36",
      { datasecOffsets: true, symbols: (s) => [s[0]!, { ...s[1]!, value: 36n }] },
    );
    refused('key_size against the key type', (b) => [hash(b, [['key_size', b.uint(8)]])], "map 'm': key_size is 8 but the key type is 4 bytes");
    refused('value_size against the value type', (b) => [hash(b, [['value_size', b.uint(4)]])], "map 'm': value_size is 4 but the value type is 8 bytes");
    refused('a member twice', (b) => [hash(b, [['max_entries', b.uint(3)]])], "map 'm': member 'max_entries' appears twice");
    refused('a key twice', (b) => [hash(b, [['key', b.ptr(1)]])], "map 'm': member 'key' appears twice");
    refused(
      'an unknown member',
      (b) => [hash(b, [['inner_map_idx', b.uint(0)]])],
      "map 'm': unknown member 'inner_map_idx' in its definition (known: type, key, value, key_size, value_size, max_entries, map_flags, numa_node, pinning, map_extra, values)",
    );
    refused('a member without a name', (b) => [hash(b, [['', b.uint(0)]])], "map 'm': member 4 of its definition has no name");
    refused('no type member', (b) => [{ name: 'm', members: [['max_entries', b.uint(1)]] }], "map 'm': the map type is not specified (no __uint(type, ...) member)");
    refused(
      "'values' in a hash map",
      (b) => [hash(b, [['values', b.array(b.ptr(0), 0)]])],
      "map 'm' (hash): member 'values' is only for map-in-map and program-array maps",
    );
    refused("'values' not last", (b) => [{ name: 'm', members: [['type', b.uint(3)], ['values', b.array(b.ptr(0), 0)], ['max_entries', b.uint(1)]] }], "map 'm': member 'values' must be the last one");
    refused(
      'a hash of maps without an inner map',
      (b) => [{ name: 'outer', members: [['type', b.uint(13)], ['key_size', b.uint(4)], ['max_entries', b.uint(1)]] }],
      "map 'outer' (hash_of_maps): map-in-map is not supported (it needs an inner map this loader cannot create)",
    );
    refused('pinning 2', (b) => [hash(b, [['pinning', b.uint(2)]])], "map 'm': pinning 2 is not valid; libbpf knows 0 (LIBBPF_PIN_NONE) and 1 (LIBBPF_PIN_BY_NAME)");
    refused('numa_node 1', (b) => [hash(b, [['numa_node', b.uint(1)]])], "map 'm': numa_node 1 is not supported (maps are created without a NUMA node)");
    refused('map_extra 5', (b) => [hash(b, [['map_extra', b.uint(5)]])], "map 'm': map_extra 5 is not supported (maps are created without map_extra)");
    refused(
      'map_extra as a 64-bit __ulong',
      (b) => [hash(b, [['map_extra', b.enum64('', [['v', 0x1_0000_0000n]])]])],
      "map 'm': map_extra 4294967296 is not supported (maps are created without map_extra)",
    );
    refused(
      'map_extra as an enum of two values',
      (b) => [hash(b, [['map_extra', b.enum('', 4, [['a', 0], ['b', 1]])]])],
      "map 'm': member 'map_extra' is an enum with 2 values, expected one (__ulong)",
    );
    refused('extern linkage', (b) => [{ ...hash(b), linkage: 2 }], "map 'm' has extern linkage; like libbpf, only global maps are supported");
    refused('linkage 7', (b) => [{ ...hash(b), linkage: 7 }], "map 'm' has linkage 7; like libbpf, only global maps are supported");
    refused(
      'a definition bigger than its variable',
      (b) => [{ ...hash(b), size: 16 }],
      "map 'm': its definition (type 10 (struct)) is 32 bytes, more than the variable's 16",
    );
    refused(
      'a union definition',
      (b) => [{ name: 'm', members: [], size: 8, definition: b.typedef('u_t', b.struct('u', 8, [['type', b.uint(1)]], true)) }],
      "map 'm': its type is BTF type 4 (union 'u'), not a struct of __uint()/__type() members",
    );
    refused(
      'two variables with the same name',
      (b) => [hash(b), hash(b, [], 'm')],
      "map 'm' is described twice in DATASEC '.maps'",
      { symbols: (s) => [s[0]!] },
    );
    refused('two variables with the same name and two symbols', (b) => [hash(b), hash(b, [], 'm')], "map 'm' has 2 symbols in section '.maps'");
    refused(
      'a variable without a name',
      (b) => [{ ...hash(b), name: '' }],
      /^DATASEC '\.maps' entry 0 \(BTF type \d+ \(var\)\) has no name$/,
    );
    refused(
      'a symbol in .maps that no variable describes',
      (b) => [hash(b)],
      "symbol 'stray' in section '.maps' is not a map of DATASEC '.maps' in the BTF",
      { symbols: (s) => [...s, { name: 'stray', value: 0n, size: 4n, type: 1, bind: 1, shndx: 1 }] },
    );
    refused(
      'a DATASEC entry that is a plain int',
      (b) => [hash(b)],
      "DATASEC '.maps' entry 1 is BTF type 4 (int 'u32'), not a variable",
      { finish: (_b, vars) => vars.push([4, 0, 4]) },
    );
  }

  test('a .maps section without contents (NOBITS)', () => {
    const b = new BtfBuilder();
    const struct = b.struct('', 8, [['type', b.uint(2)]]);
    b.datasec('.maps', 0, [[b.variable('m', struct), 0, 8]]);
    const strings = new StringTable();
    const symtab = encodeSymbols([{ name: 'm', size: 8n, type: 1, bind: 1, shndx: 1 }], strings, true);
    const bytes = buildElf([
      { name: '.maps', type: 8, flags: 3n, size: 8 },
      { name: '.BTF', type: 1, data: b.bytes() },
      { name: '.symtab', type: 2, data: symtab, link: 4, info: 1, entsize: 24 },
      { name: '.strtab', type: 3, data: strings.bytes() },
    ]);
    assert.equal(objectError(() => mapsOf(bytes)).message, "section '.maps' has no contents in the file (section type 8)");
  });
});
