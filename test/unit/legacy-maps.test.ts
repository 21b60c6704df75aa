// src/object/legacy-maps.ts: tc's struct bpf_elf_map records, the record-size rule, pinning.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { SHT_NOBITS, readElf } from '../../src/elf/reader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import {
  BPF_ELF_MAP_MIN_SIZE,
  BPF_ELF_MAP_SIZE,
  LEGACY_MAPS_SECTION,
  legacyMapRecordSize,
  legacyMapSymbols,
  parseLegacyMaps,
} from '../../src/object/legacy-maps.js';
import type { MapSpec } from '../../src/object/spec.js';
import {
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
  symbolAt,
  symbolIndex,
  testProg,
} from './helpers.js';

describe('legacyMapRecordSize: section size / number of map symbols', () => {
  test('struct bpf_elf_map sized records', () => {
    assert.equal(BPF_ELF_MAP_SIZE, 36);
    assert.equal(BPF_ELF_MAP_MIN_SIZE, 16);
    assert.equal(legacyMapRecordSize(72, 2), 36);
    assert.equal(legacyMapRecordSize(36, 1), 36);
  });

  test('shorter records down to 16 bytes are accepted', () => {
    assert.equal(legacyMapRecordSize(40, 2), 20);
    assert.equal(legacyMapRecordSize(16, 1), 16);
    assert.equal(legacyMapRecordSize(96, 3), 32);
  });

  test('records bigger than struct bpf_elf_map mean a newer layout', () => {
    const error = objectError(() => legacyMapRecordSize(74, 2));
    assert.equal(
      error.message,
      "map records in section 'maps' are 37 bytes, larger than struct bpf_elf_map (36): is the object from a newer version?",
    );
    assert.match(objectError(() => legacyMapRecordSize(40, 1)).message, /are 40 bytes, larger than .* newer version/);
  });

  test('records shorter than 16 bytes are refused', () => {
    assert.equal(
      objectError(() => legacyMapRecordSize(30, 2)).message,
      "map records in section 'maps' are 15 bytes, shorter than the 16 bytes of type, key size, value size and max entries",
    );
    assert.match(objectError(() => legacyMapRecordSize(4, 1)).message, /are 4 bytes, shorter than the 16 bytes/);
  });

  test('a size that is not a multiple of the symbol count is refused', () => {
    assert.equal(
      objectError(() => legacyMapRecordSize(73, 2)).message,
      "section 'maps' is 73 bytes, not a multiple of its 2 map symbols: the records have different sizes",
    );
    assert.match(objectError(() => legacyMapRecordSize(100, 3)).message, /is 100 bytes, not a multiple of its 3 map symbols/);
  });

  test('no symbols at all is refused', () => {
    assert.equal(objectError(() => legacyMapRecordSize(72, 0)).message, "section 'maps' has 72 bytes but no symbols naming its maps");
  });
});

describe('parseLegacyMaps on clang-built objects', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: examples/test_prog.c's two pinned maps`, () => {
      const elf = readElf(testProg(suffix));
      const { maps, recordSize } = parseLegacyMaps(elf, sectionNamed(elf, LEGACY_MAPS_SECTION));
      assert.equal(recordSize, 36);
      const expected: MapSpec[] = [
        { name: 'kp_bpf_calls', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, pinning: 1, legacy: { id: 0, innerId: 0, innerIndex: 0 } },
        { name: 'kp_bpf_cmds', type: 1, keySize: 4, valueSize: 8, maxEntries: 64, flags: 0, pinning: 1, legacy: { id: 0, innerId: 0, innerIndex: 0 } },
      ];
      assert.deepEqual(maps, expected);
    });

    test(`${order}: 20-byte records (a struct without id and pinning) are zero-padded`, () => {
      const elf = readElf(loadFixture(`elf_short_maps${suffix}`));
      const section = sectionNamed(elf, LEGACY_MAPS_SECTION);
      assert.equal(section.size, 40);
      const { maps, recordSize } = parseLegacyMaps(elf, section);
      assert.equal(recordSize, 20);
      // Without the padding, sm_first's id and pinning would be read from sm_second's record (6 and 4).
      assert.deepEqual(maps, [
        { name: 'sm_first', type: 1, keySize: 4, valueSize: 8, maxEntries: 16, flags: 1, pinning: 0, legacy: { id: 0, innerId: 0, innerIndex: 0 } },
        { name: 'sm_second', type: 6, keySize: 4, valueSize: 4, maxEntries: 3, flags: 0, pinning: 0, legacy: { id: 0, innerId: 0, innerIndex: 0 } },
      ]);
    });

    test(`${order}: a static (local) map and the section symbol: maps come in record order`, () => {
      const elf = readElf(loadFixture(`elf_multi${suffix}`));
      const section = sectionNamed(elf, LEGACY_MAPS_SECTION);
      // The STT_SECTION symbol of `maps` is not a map.
      assert.deepEqual(legacyMapSymbols(elf, section).map((s) => [s.name, s.value]), [
        ['mp_shared', 0n],
        ['mp_static', 36n],
      ]);
      const { maps } = parseLegacyMaps(elf, section);
      assert.deepEqual(
        maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.pinning]),
        [
          ['mp_shared', 2, 4, 8, 2, 0],
          ['mp_static', 1, 8, 8, 8, 2],
        ],
      );
    });
  }
});

describe('parseLegacyMaps refuses records it cannot read', () => {
  /** The file offset of 32-bit word `word` of map record `record` in test_prog's `maps`. */
  function recordWord(bytes: Uint8Array, record: number, word: number): number {
    return sectionNamed(readElf(bytes), 'maps').offset + record * 36 + word * 4;
  }
  function parseMaps(bytes: Uint8Array): ReturnType<typeof parseLegacyMaps> {
    const elf = readElf(bytes);
    return parseLegacyMaps(elf, sectionNamed(elf, 'maps'));
  }

  for (const { order, suffix } of ORDERS) {
    test(`${order}: pinning 3 and above is refused, naming the map`, () => {
      const bytes = testProg(suffix);
      setU32(bytes, recordWord(bytes, 1, 6), 3);
      assert.equal(
        objectError(() => parseMaps(bytes)).message,
        "map 'kp_bpf_cmds' has pinning 3; supported are 0 (none), 1 (/sys/fs/bpf/<name>) and 2 (/sys/fs/bpf/tc/globals/<name>)",
      );
      setU32(bytes, recordWord(bytes, 1, 6), 0xffffffff);
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^map 'kp_bpf_cmds' has pinning 4294967295;/);
    });

    test(`${order}: pinning 2 and the map-in-map fields are read`, () => {
      const bytes = testProg(suffix);
      setU32(bytes, recordWord(bytes, 0, 6), 2);
      setU32(bytes, recordWord(bytes, 0, 5), 7);
      setU32(bytes, recordWord(bytes, 0, 7), 8);
      setU32(bytes, recordWord(bytes, 0, 8), 9);
      setU32(bytes, recordWord(bytes, 0, 4), 0x400);
      const [first] = parseMaps(bytes).maps;
      assert.equal(first!.pinning, 2);
      assert.equal(first!.flags, 0x400);
      assert.deepEqual(first!.legacy, { id: 7, innerId: 8, innerIndex: 9 });
    });

    test(`${order}: a map symbol in the middle of a record is refused`, () => {
      const bytes = testProg(suffix);
      const elf = readElf(bytes);
      setU64(bytes, symbolAt(bytes, symbolIndex(elf, 'kp_bpf_cmds')) + ST.value, 20n);
      assert.equal(
        objectError(() => parseMaps(bytes)).message,
        "map symbol 'kp_bpf_cmds' is at offset 20 of section 'maps', not at the start of a 36-byte record",
      );
    });

    test(`${order}: a map symbol past the end of the section is refused`, () => {
      const bytes = testProg(suffix);
      const elf = readElf(bytes);
      setU64(bytes, symbolAt(bytes, symbolIndex(elf, 'kp_bpf_cmds')) + ST.value, 72n);
      assert.equal(
        objectError(() => parseMaps(bytes)).message,
        "map symbol 'kp_bpf_cmds' is at offset 72 of section 'maps', not at the start of a 36-byte record",
      );
    });

    test(`${order}: two map symbols naming one record are refused`, () => {
      const bytes = testProg(suffix);
      const elf = readElf(bytes);
      setU64(bytes, symbolAt(bytes, symbolIndex(elf, 'kp_bpf_cmds')) + ST.value, 0n);
      assert.equal(
        objectError(() => parseMaps(bytes)).message,
        "map symbols 'kp_bpf_calls' and 'kp_bpf_cmds' name the same record in section 'maps'",
      );
    });

    test(`${order}: the section size decides the record size`, () => {
      const grow = (size: number): Uint8Array => {
        const bytes = testProg(suffix);
        setU64(bytes, sectionHeaderAt(bytes, sectionNamed(readElf(bytes), 'maps').index) + SH.size, BigInt(size));
        return bytes;
      };
      assert.match(objectError(() => parseMaps(grow(80))).message, /^map records in section 'maps' are 40 bytes, larger than struct bpf_elf_map \(36\): is the object from a newer version\?$/);
      assert.match(objectError(() => parseMaps(grow(71))).message, /^section 'maps' is 71 bytes, not a multiple of its 2 map symbols/);
      assert.match(objectError(() => parseMaps(grow(30))).message, /are 15 bytes, shorter than the 16 bytes/);
      // 32-byte records: kp_bpf_cmds at 36 is no longer at a record start.
      assert.match(objectError(() => parseMaps(grow(64))).message, /^map symbol 'kp_bpf_cmds' is at offset 36 of section 'maps', not at the start of a 32-byte record$/);
    });

    test(`${order}: a maps section without contents (SHT_NOBITS) is refused`, () => {
      const bytes = testProg(suffix);
      setU32(bytes, sectionHeaderAt(bytes, sectionNamed(readElf(bytes), 'maps').index) + SH.type, SHT_NOBITS);
      assert.equal(objectError(() => parseMaps(bytes)).message, "section 'maps' has no contents in the file (is it SHT_NOBITS?)");
    });

    test(`${order}: a maps section without map symbols is refused by parseBpfObject`, () => {
      const bytes = testProg(suffix);
      const elf = readElf(bytes);
      const license = sectionNamed(elf, 'license').index;
      for (const name of ['kp_bpf_calls', 'kp_bpf_cmds']) setU16(bytes, symbolAt(bytes, symbolIndex(elf, name)) + ST.shndx, license);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'maps' has 72 bytes but no symbols naming its maps");
    });
  }

  test('a map name with a line break is shown escaped, keeping the message on one line', () => {
    const bytes = testProg('.o');
    const elf = readElf(bytes);
    const strtab = sectionNamed(elf, '.strtab');
    const nameOffset = new DataView(bytes.buffer).getUint32(symbolAt(bytes, symbolIndex(elf, 'kp_bpf_cmds')) + ST.name, true);
    bytes[strtab.offset + nameOffset + 2] = 0x0a; // kp\nbpf_cmds
    setU32(bytes, recordWord(bytes, 1, 6), 5);
    const error = objectError(() => parseBpfObject(bytes));
    assert.equal(error.message, "map 'kp\\nbpf_cmds' has pinning 5; supported are 0 (none), 1 (/sys/fs/bpf/<name>) and 2 (/sys/fs/bpf/tc/globals/<name>)");
  });
});
