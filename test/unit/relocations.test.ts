// src/object/relocations.ts (and src/insn/instructions.ts): map, data and call references found
// through the REL sections whose sh_info names a code section, every other relocation refused with
// the instruction named, and applyMapReferences patching src_reg/imm in both byte orders.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { readElf, type ElfFile } from '../../src/elf/reader.js';
import { ElfError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, Instructions, OP_CALL, OP_LD_IMM64 } from '../../src/insn/instructions.js';
import { R_BPF_64_32, R_BPF_64_64, R_BPF_NONE, applyMapReferences, sectionRelocations, type RelocationTarget } from '../../src/object/relocations.js';
import type { MapReference } from '../../src/object/spec.js';
import {
  encodeInstructions,
  getU64,
  loadFixture,
  objectError,
  ORDERS,
  renameSection,
  sectionHeaderAt,
  sectionNamed,
  setI32,
  setU32,
  setU64,
  SH,
  ST,
  symbolAt,
  symbolIndex,
  testProg,
  thrown,
} from './helpers.js';

/** File offset of entry `entry` of the REL section named `name`. */
function relEntry(bytes: Uint8Array, name: string, entry: number): number {
  return sectionNamed(readElf(bytes), name).offset + entry * 16;
}

function setRelInfo(bytes: Uint8Array, at: number, symbol: number, type: number): void {
  setU64(bytes, at + 8, (BigInt(symbol) << 32n) | BigInt(type));
}

const TEST_PROG_REFERENCES: MapReference[] = [
  { instruction: 5, map: 'kp_bpf_calls', kind: 'fd', offset: 0 },
  { instruction: 29, map: 'kp_bpf_cmds', kind: 'fd', offset: 0 },
  { instruction: 37, map: 'kp_bpf_cmds', kind: 'fd', offset: 0 },
  { instruction: 44, map: 'kp_bpf_cmds', kind: 'fd', offset: 0 },
];

const fd = (instruction: number, map: string): MapReference => ({ instruction, map, kind: 'fd', offset: 0 });

describe('map references of clang-built objects', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: examples/test_prog.c`, () => {
      const spec = parseBpfObject(testProg(suffix));
      assert.equal(spec.programs.length, 1);
      assert.deepEqual(spec.programs[0]!.mapReferences, TEST_PROG_REFERENCES);
    });

    test(`${order}: a static map is named by the section symbol plus the instruction's immediate`, () => {
      const bytes = loadFixture(`elf_multi${suffix}`);
      const spec = parseBpfObject(bytes);
      const [first, second] = spec.programs;
      const insns = new Instructions(first!.instructions, suffix === '.o');
      assert.equal(insns.imm(32), 36, 'clang puts the offset of mp_static in the ld_imm64');
      assert.deepEqual(first!.mapReferences, [
        fd(8, 'mp_shared'),
        fd(16, 'mp_shared'),
        fd(23, 'mp_shared'),
        fd(32, 'mp_static'),
        fd(40, 'mp_static'),
        fd(47, 'mp_static'),
      ]);
      assert.deepEqual(second!.mapReferences, [fd(5, 'mp_shared'), fd(13, 'mp_shared'), fd(20, 'mp_shared')]);
    });

    test(`${order}: sectionRelocations asks for the data at the symbol's section and offset`, () => {
      const elf = readElf(loadFixture(`elf_multi${suffix}`));
      const asked: Array<[number, bigint]> = [];
      const targets = sectionRelocations(elf, sectionNamed(elf, 'kprobe/first'), (symbol, offset) => {
        asked.push([symbol.sectionIndex, offset]);
        return { kind: 'map', map: `map@${offset}` };
      });
      const maps = sectionNamed(elf, 'maps').index;
      assert.deepEqual(asked, [
        [maps, 0n],
        [maps, 0n],
        [maps, 0n],
        [maps, 36n],
        [maps, 36n],
        [maps, 36n],
      ]);
      assert.ok(targets instanceof Map);
      assert.deepEqual(
        [...targets].sort(([a], [b]) => a - b),
        [
          [8, { kind: 'map', map: 'map@0' }],
          [16, { kind: 'map', map: 'map@0' }],
          [23, { kind: 'map', map: 'map@0' }],
          [32, { kind: 'map', map: 'map@36' }],
          [40, { kind: 'map', map: 'map@36' }],
          [47, { kind: 'map', map: 'map@36' }],
        ] satisfies Array<[number, RelocationTarget]>,
      );
    });

    test(`${order}: the resolver's answer is kept as it is ('value' targets too)`, () => {
      const elf = readElf(loadFixture(`elf_multi${suffix}`));
      const targets = sectionRelocations(elf, sectionNamed(elf, 'kprobe/second'), (_symbol, offset) => ({ kind: 'value', map: 'd', offset: Number(offset) + 3 }));
      assert.deepEqual(
        [...targets.values()],
        [
          { kind: 'value', map: 'd', offset: 3 },
          { kind: 'value', map: 'd', offset: 3 },
          { kind: 'value', map: 'd', offset: 3 },
        ],
      );
    });

    test(`${order}: a resolver that answers undefined makes the reference an error`, () => {
      const elf = readElf(loadFixture(`elf_multi${suffix}`));
      assert.equal(
        objectError(() => sectionRelocations(elf, sectionNamed(elf, 'kprobe/second'), () => undefined)).message,
        // mp_shared is global: named by its symbol, not by the section.
        "instruction 5 of section 'kprobe/second' refers to 'mp_shared', which is not a map or global data",
      );
    });
  }
});

describe('relocations that are not map references are refused, naming the instruction', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: a relocation on an instruction that is not ld_imm64`, () => {
      const bytes = testProg(suffix);
      const prog = sectionNamed(readElf(bytes), 'prog');
      bytes[prog.offset + 5 * 8] = 0xb7; // mov64 r1, imm
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 5 of section 'prog' refers to 'kp_bpf_calls' but is not a 64-bit immediate load (opcode 0xb7, expected 0x18)",
      );
    });

    test(`${order}: a relocation on the exit instruction (opcode 0x95)`, () => {
      const bytes = testProg(suffix);
      setU64(bytes, relEntry(bytes, '.relprog', 2), 400n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 50 of section 'prog' refers to 'kp_bpf_cmds' but is not a 64-bit immediate load (opcode 0x95, expected 0x18)",
      );
    });

    test(`${order}: an ld_imm64 cut short by the end of the section`, () => {
      const bytes = testProg(suffix);
      const prog = sectionNamed(readElf(bytes), 'prog');
      bytes[prog.offset + 400] = OP_LD_IMM64;
      setU64(bytes, relEntry(bytes, '.relprog', 2), 400n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 50 of section 'prog' refers to 'kp_bpf_cmds' but is a 64-bit immediate load cut short by the end of the section",
      );
    });

    test(`${order}: an offset past the end of the section`, () => {
      const bytes = testProg(suffix);
      setU64(bytes, relEntry(bytes, '.relprog', 1), 408n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "relocation in section '.relprog' at offset 408 is not on an instruction of section 'prog' (408 bytes of instructions)",
      );
      setU64(bytes, relEntry(bytes, '.relprog', 1), 1n << 63n);
      assert.match(objectError(() => parseBpfObject(bytes)).message, /at offset 9223372036854775808 is not on an instruction/);
    });

    test(`${order}: an offset that is not a multiple of 8`, () => {
      const bytes = testProg(suffix);
      setU64(bytes, relEntry(bytes, '.relprog', 0), 0x2cn);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "relocation in section '.relprog' at offset 44 is not on an instruction of section 'prog' (408 bytes of instructions)",
      );
    });

    test(`${order}: a symbol in .rodata is global data: a value reference into a one-entry array`, () => {
      const spec = parseBpfObject(loadFixture(`elf_not_map${suffix}`));
      assert.deepEqual(spec.programs[0]!.mapReferences, [fd(4, 'nm_counter'), { instruction: 9, map: '.rodata', kind: 'value', offset: 0 }]);
      const rodata = spec.maps.find((m) => m.name === '.rodata')!;
      const ten = new Uint8Array(8);
      ten[littleEndian ? 0 : 7] = 10; // const volatile __u64 nm_limit = 10
      assert.deepEqual(
        { ...rodata, data: { ...rodata.data!, initial: [...rodata.data!.initial] } },
        { name: '.rodata', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0x80, pinning: 0, data: { initial: [...ten], readOnly: true } },
      );
    });

    test(`${order}: a reference past the end of a data section is not global data`, () => {
      const bytes = loadFixture(`elf_not_map${suffix}`);
      const prog = sectionNamed(readElf(bytes), 'prog');
      setI32(bytes, prog.offset + 9 * 8 + 4, 8); // nm_limit + 8: just past the 8-byte .rodata
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 9 of section 'prog' refers to 'nm_limit', which is not a map or global data");
      setI32(bytes, prog.offset + 9 * 8 + 4, -1); // before its start
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 9 of section 'prog' refers to 'nm_limit', which is not a map or global data");
      setI32(bytes, prog.offset + 9 * 8 + 4, 7); // its last byte: still inside
      assert.deepEqual(parseBpfObject(bytes).programs[0]!.mapReferences[1], { instruction: 9, map: '.rodata', kind: 'value', offset: 7 });
    });

    test(`${order}: a relocation patched to name the license symbol`, () => {
      const bytes = testProg(suffix);
      setRelInfo(bytes, relEntry(bytes, '.relprog', 3), symbolIndex(readElf(bytes), '_license'), R_BPF_64_64);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 44 of section 'prog' refers to '_license', which is not a map or global data");
    });

    test(`${order}: a section symbol plus an offset that is not a record start`, () => {
      const bytes = loadFixture(`elf_multi${suffix}`);
      const first = sectionNamed(readElf(bytes), 'kprobe/first');
      setI32(bytes, first.offset + 40 * 8 + 4, 40); // maps + 40: inside mp_static's record
      const maps = sectionNamed(readElf(bytes), 'maps').index;
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        `instruction 40 of section 'kprobe/first' refers to section ${maps}, which is not a map or global data`,
      );
      setI32(bytes, first.offset + 40 * 8 + 4, 72); // past the last record
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^instruction 40 of section 'kprobe\/first' refers to section \d+, which is not a map or global data$/);
      setI32(bytes, first.offset + 40 * 8 + 4, -36); // before the first record
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^instruction 40 .* which is not a map or global data$/);
    });

    test(`${order}: an unsupported relocation type`, () => {
      const bytes = testProg(suffix);
      const calls = symbolIndex(readElf(bytes), 'kp_bpf_calls');
      setRelInfo(bytes, relEntry(bytes, '.relprog', 0), calls, 2);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "relocation in section '.relprog': instruction 5 of section 'prog' has relocation type 2; only R_BPF_64_64 (maps, data) and R_BPF_64_32 (calls) are supported in code",
      );
    });

    test(`${order}: a call to another BPF function (R_BPF_64_32) is linked: the callee follows the program`, () => {
      assert.equal(R_BPF_64_32, 10);
      const bytes = loadFixture(`elf_subprog${suffix}`);
      const elf = readElf(bytes);
      const text = sectionNamed(elf, '.text');
      const prog = sectionNamed(elf, 'prog');
      const spec = parseBpfObject(bytes);
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section]), [['calls_subprog', 'prog']], 'sp_helper in .text is a subprogram, not a program');
      const program = spec.programs[0]!;
      const insns = new Instructions(program.instructions, littleEndian);
      assert.equal(insns.count, 2 + 4, 'calls_subprog (2) + sp_helper (4)');
      assert.equal(insns.opcode(0), OP_CALL);
      assert.equal(insns.srcReg(0), BPF_PSEUDO_CALL);
      assert.equal(insns.imm(0), 1, 'call +1: instruction 0 + 1 + 1 = 2, where sp_helper was copied');
      assert.equal(new Instructions(bytes.subarray(prog.offset, prog.offset + prog.size), littleEndian).imm(0), -1, 'clang wrote -1 (symbol-relative)');
      assert.deepEqual(program.instructions.subarray(2 * 8), bytes.subarray(text.offset, text.offset + text.size), "sp_helper's bytes, unchanged");
      assert.deepEqual(program.mapReferences, []);
      // What sectionRelocations says about it.
      const targets = sectionRelocations(elf, prog, () => assert.fail('no data reference'));
      assert.deepEqual([...targets], [[0, { kind: 'call', section: text.index, instruction: 0 }]]);
    });

    test(`${order}: R_BPF_NONE entries are skipped`, () => {
      const bytes = testProg(suffix);
      const calls = symbolIndex(readElf(bytes), 'kp_bpf_calls');
      setRelInfo(bytes, relEntry(bytes, '.relprog', 0), calls, R_BPF_NONE);
      assert.deepEqual(parseBpfObject(bytes).programs[0]!.mapReferences, TEST_PROG_REFERENCES.slice(1));
    });

    test(`${order}: the REL section is chosen by sh_info, not by its name`, () => {
      const renamed = testProg(suffix);
      renameSection(renamed, '.relprog', 'xxxxprog');
      assert.deepEqual(parseBpfObject(renamed).programs[0]!.mapReferences, TEST_PROG_REFERENCES);

      // Named .relprog but applying to the license section: prog has no relocations.
      const retargeted = testProg(suffix);
      const elf = readElf(retargeted);
      setU32(retargeted, sectionHeaderAt(retargeted, sectionNamed(elf, '.relprog').index) + SH.info, sectionNamed(elf, 'license').index);
      assert.deepEqual(parseBpfObject(retargeted).programs[0]!.mapReferences, []);
    });

    test(`${order}: a REL section whose symbols are not in .symtab is refused`, () => {
      const bytes = testProg(suffix);
      const elf = readElf(bytes);
      setU32(bytes, sectionHeaderAt(bytes, sectionNamed(elf, '.relprog').index) + SH.link, sectionNamed(elf, '.strtab').index);
      const error = thrown(() => parseBpfObject(bytes));
      assert.ok(error instanceof ElfError);
      assert.match(error.message, /^relocation in section '\.relprog': its symbols are in section 1, which is not the object's symbol table \(\.symtab\)$/);
    });
  }
});

describe('applyMapReferences', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: sets src_reg = BPF_PSEUDO_MAP_FD and imm = fd, and nothing else`, () => {
      const spec = parseBpfObject(testProg(suffix));
      const program = spec.programs[0]!;
      const original = program.instructions.slice();
      const fds: Record<string, number> = { kp_bpf_calls: 7, kp_bpf_cmds: 0x12345678 };
      const asked: string[] = [];
      const patched = applyMapReferences(program.instructions, spec.littleEndian, program.mapReferences, (name) => {
        asked.push(name);
        return fds[name]!;
      });
      assert.deepEqual(asked, ['kp_bpf_calls', 'kp_bpf_cmds', 'kp_bpf_cmds', 'kp_bpf_cmds']);
      assert.deepEqual(program.instructions, original, 'the input is not modified');
      assert.notEqual(patched.buffer, program.instructions.buffer, 'a copy');
      assert.equal(patched.length, original.length);

      const view = new DataView(patched.buffer, patched.byteOffset, patched.byteLength);
      const changed = new Set<number>();
      for (const { instruction, map } of program.mapReferences) {
        const at = instruction * 8;
        const regs = patched[at + 1]!;
        const src = littleEndian ? regs >> 4 : regs & 0xf;
        const dst = littleEndian ? regs & 0xf : regs >> 4;
        assert.equal(src, BPF_PSEUDO_MAP_FD, `instruction ${instruction}: src_reg`);
        assert.equal(dst, 1, `instruction ${instruction}: dst_reg (r1) is kept`);
        assert.equal(view.getInt32(at + 4, littleEndian), fds[map], `instruction ${instruction}: imm`);
        assert.equal(view.getInt32(at + 12, littleEndian), 0, `instruction ${instruction}: second slot's imm`);
        assert.equal(patched[at], OP_LD_IMM64);
        [1, 4, 5, 6, 7, 12, 13, 14, 15].forEach((i) => changed.add(at + i));
      }
      for (let i = 0; i < patched.length; i++) {
        if (!changed.has(i)) assert.equal(patched[i], original[i], `byte ${i} is unchanged`);
      }
      // The same fd written raw, byte by byte, in the object's order.
      const at = 29 * 8 + 4;
      assert.deepEqual([...patched.subarray(at, at + 4)], littleEndian ? [0x78, 0x56, 0x34, 0x12] : [0x12, 0x34, 0x56, 0x78]);
    });

    test(`${order}: keeps dst_reg and zeroes a stale upper immediate`, () => {
      const insns = encodeInstructions(
        [
          [0x18, 9, 0, 0, 36],
          [0x00, 0, 0, 0, 0x7fff],
          [0x95, 0, 0, 0, 0],
        ],
        littleEndian,
      );
      const before = insns.slice();
      const patched = applyMapReferences(insns, littleEndian, [fd(0, 'm')], () => 42);
      assert.deepEqual(insns, before);
      const reader = new Instructions(patched, littleEndian);
      assert.equal(reader.srcReg(0), BPF_PSEUDO_MAP_FD);
      assert.equal(reader.dstReg(0), 9);
      assert.equal(reader.imm(0), 42);
      assert.equal(reader.imm(1), 0);
      assert.equal(reader.opcode(2), 0x95);
    });

    test(`${order}: a value reference gets BPF_PSEUDO_MAP_VALUE, the fd, and the offset in the second slot`, () => {
      const insns = encodeInstructions(
        [
          [0x18, 2, 0, 0, 16], // r2 = .rodata + 16 ll (clang's addend; replaced)
          [0x00, 0, 0, 0, 0x7fff],
          [0x18, 3, 0, 0, 0], // r3 = map ll
          [0x00, 0, 0, 0, 0],
          [0x95, 0, 0, 0, 0],
        ],
        littleEndian,
      );
      const before = insns.slice();
      const fds: Record<string, number> = { '.rodata': 9, m: 11 };
      const patched = applyMapReferences(
        insns,
        littleEndian,
        [
          { instruction: 0, map: '.rodata', kind: 'value', offset: 16 },
          { instruction: 2, map: 'm', kind: 'fd', offset: 0 },
        ],
        (name) => fds[name]!,
      );
      assert.deepEqual(insns, before, 'the input is not modified');
      const reader = new Instructions(patched, littleEndian);
      assert.deepEqual([reader.opcode(0), reader.srcReg(0), reader.dstReg(0), reader.imm(0), reader.imm(1)], [OP_LD_IMM64, BPF_PSEUDO_MAP_VALUE, 2, 9, 16]);
      assert.deepEqual([reader.opcode(2), reader.srcReg(2), reader.dstReg(2), reader.imm(2), reader.imm(3)], [OP_LD_IMM64, BPF_PSEUDO_MAP_FD, 3, 11, 0]);
      assert.deepEqual([...patched.subarray(32)], [...before.subarray(32)], 'exit unchanged');
      // Byte for byte: the offset sits in the second slot's imm, in the object's order.
      const offsetBytes = [...patched.subarray(12, 16)];
      assert.deepEqual(offsetBytes, littleEndian ? [16, 0, 0, 0] : [0, 0, 0, 16]);
    });

    test(`${order}: elf_not_map: the map gets an fd, .rodata a value address`, () => {
      const spec = parseBpfObject(loadFixture(`elf_not_map${suffix}`));
      const program = spec.programs[0]!;
      const patched = new Instructions(
        applyMapReferences(program.instructions, spec.littleEndian, program.mapReferences, (name) => (name === 'nm_counter' ? 5 : 6)),
        littleEndian,
      );
      assert.deepEqual([patched.srcReg(4), patched.imm(4), patched.imm(5)], [BPF_PSEUDO_MAP_FD, 5, 0]);
      assert.deepEqual([patched.srcReg(9), patched.imm(9), patched.imm(10)], [BPF_PSEUDO_MAP_VALUE, 6, 0]);
    });
  }

  test('no references: an equal copy', () => {
    const insns = encodeInstructions([[0x95, 0, 0, 0, 0]], true);
    const patched = applyMapReferences(insns, true, [], () => assert.fail('no fd is needed'));
    assert.deepEqual(patched, insns);
    assert.notEqual(patched, insns);
  });
});

describe('Instructions: fields in either byte order', () => {
  const fields = [[0x18, 3, 5, -2, -100] as const];
  for (const littleEndian of [true, false]) {
    test(littleEndian ? 'little-endian' : 'big-endian', () => {
      const bytes = encodeInstructions(fields, littleEndian);
      assert.equal(bytes[1], littleEndian ? 0x53 : 0x35, 'register nibbles');
      const insns = new Instructions(bytes, littleEndian);
      assert.equal(insns.count, 1);
      assert.deepEqual([insns.opcode(0), insns.dstReg(0), insns.srcReg(0), insns.offset(0), insns.imm(0)], [0x18, 3, 5, -2, -100]);
      insns.setSrcReg(0, 1);
      assert.deepEqual([insns.dstReg(0), insns.srcReg(0)], [3, 1]);
      insns.setImm(0, -1);
      assert.deepEqual([...bytes.subarray(4, 8)], [0xff, 0xff, 0xff, 0xff]);
      insns.setImm(0, 0x01020304);
      assert.deepEqual([...bytes.subarray(4, 8)], littleEndian ? [4, 3, 2, 1] : [1, 2, 3, 4]);
    });
  }

  test('count ignores a partial trailing instruction', () => {
    assert.equal(new Instructions(new Uint8Array(20), true).count, 2);
  });
});

// Keep the helper types honest: the fixtures' program sections are where the references point.
test('every test_prog reference is an ld_imm64 in the file', () => {
  for (const { suffix, littleEndian } of ORDERS) {
    const bytes = testProg(suffix);
    const elf: ElfFile = readElf(bytes);
    const prog = sectionNamed(elf, 'prog');
    for (const { instruction } of TEST_PROG_REFERENCES) {
      assert.equal(bytes[prog.offset + instruction * 8], OP_LD_IMM64);
      assert.equal(getU64(bytes, prog.offset + instruction * 8 + 8), 0n, `instruction ${instruction + 1} is the second slot`);
    }
    assert.equal(elf.littleEndian, littleEndian);
  }
});

describe('calls and undefined symbols: refused with the instruction named', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    /** File offset of instruction `index` of section `name`. */
    const insnAt = (bytes: Uint8Array, name: string, index: number): number => sectionNamed(readElf(bytes), name).offset + index * 8;

    test(`${order}: a relocated call into the middle of a function`, () => {
      const bytes = loadFixture(`link_calls${suffix}`);
      // lc_entry's instruction 6 calls .text + 7 + 1 = lc_bump (8); one more lands inside lc_bump.
      setI32(bytes, insnAt(bytes, 'kprobe/vfs_read', 6) + 4, 8);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 6 of section 'kprobe/vfs_read' (in function 'lc_entry') calls instruction 9 of section '.text', which is not the start of a function",
      );
    });

    test(`${order}: a pc-relative call into the middle of a function, or out of the section`, () => {
      const bytes = loadFixture(`link_calls${suffix}`);
      // lc_pair's instruction 1 is `call 6` (to lc_bump at 8) with no relocation.
      setI32(bytes, insnAt(bytes, '.text', 1) + 4, 7);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 1 of section '.text' (in function 'lc_pair') calls instruction 9 of section '.text', which is not the start of a function",
      );
      setI32(bytes, insnAt(bytes, '.text', 1) + 4, 19); // 1 + 19 + 1 = 21: the section has 21 instructions
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 1 of section '.text' calls instruction 21, outside the section");
      setI32(bytes, insnAt(bytes, '.text', 1) + 4, -3);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 1 of section '.text' calls instruction -1, outside the section");
      setI32(bytes, insnAt(bytes, '.text', 1) + 4, -2); // 1 - 2 + 1 = 0: lc_pair calls itself, which is allowed
      const p = parseBpfObject(bytes).programs[0]!;
      assert.equal(p.instructions.length / 8, 30);
      assert.equal(new Instructions(p.instructions, littleEndian).imm(10), -2, 'the copy of lc_pair (at 9) calls itself: 10 - 2 + 1 = 9');
    });

    test(`${order}: a call relocation on an instruction that is not a BPF-to-BPF call`, () => {
      const bytes = loadFixture(`link_calls${suffix}`);
      const text = sectionNamed(readElf(bytes), '.text').index;
      const at = insnAt(bytes, 'kprobe/vfs_read', 3);
      bytes[at] = 0xb7; // mov64
      const message = `instruction 3 of section 'kprobe/vfs_read' has a call relocation against section ${text} but is not a call to a BPF function`;
      assert.equal(objectError(() => parseBpfObject(bytes)).message, message);
      bytes[at] = OP_CALL;
      bytes[at + 1] = 0; // src_reg 0: a helper call
      assert.equal(objectError(() => parseBpfObject(bytes)).message, message);
    });

    test(`${order}: a call relocation against a named symbol that is no call, or that names data`, () => {
      const bytes = loadFixture(`link_shared${suffix}`);
      const at = insnAt(bytes, 'kprobe/vfs_read', 1);
      bytes[at] = 0x95;
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 1 of section 'kprobe/vfs_read' has a call relocation against 'ls_count' but is not a call to a BPF function",
      );
      const fresh = loadFixture(`link_shared${suffix}`);
      const elf = readElf(fresh);
      setRelInfo(fresh, relEntry(fresh, '.relkprobe/vfs_read', 0), symbolIndex(elf, 'ls_counts'), R_BPF_64_32);
      assert.equal(
        objectError(() => parseBpfObject(fresh)).message,
        `instruction 1 of section 'kprobe/vfs_read' (in function 'ls_reads') calls into section ${sectionNamed(elf, 'maps').index}, which holds no code`,
      );
    });

    test(`${order}: a call relocation against a symbol that is not on an instruction`, () => {
      const bytes = loadFixture(`link_data${suffix}`);
      const elf = readElf(bytes);
      const misses = symbolIndex(elf, 'ld_misses');
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_read', 5), misses, R_BPF_64_32);
      setU64(bytes, symbolAt(bytes, misses) + ST.value, 4n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 22 of section 'kprobe/vfs_read' calls 'ld_misses', which is not a function of the object");
    });

    test(`${order}: undefined (extern) symbols: a __kconfig variable and a kfunc`, () => {
      const bytes = loadFixture(`link_extern${suffix}`);
      // Built without -g: nothing gives the config value its size.
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "externs: 'LINUX_KERNEL_VERSION' looks like a __kconfig value, but the object has no BTF to give its type and size: compile with clang -g",
      );
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_read', 0), symbolIndex(readElf(bytes), 'LINUX_KERNEL_VERSION'), R_BPF_NONE);
      const spec = parseBpfObject(bytes);
      assert.deepEqual(spec.externs, [{ name: 'le_kfunc', kind: 'kfunc', weak: false, typeId: 0, offset: 0, size: 0 }]);
      const call = spec.programs.find((p) => p.name === 'le_call')!;
      assert.deepEqual(call.externReferences, [{ instruction: 1, name: 'le_kfunc', call: true }]);
      // Marked a kfunc call (src_reg 2, imm 0) as libbpf does, not left a call to instruction 1.
      const insns = new Instructions(call.instructions, littleEndian);
      assert.deepEqual([insns.srcReg(1), insns.imm(1)], [2, 0]);
      // The null symbol (index 0) is undefined too, but names nothing.
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_write', 0), 0, R_BPF_64_32);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 1 of section 'kprobe/vfs_write' refers to '', which the object does not define");
      // An extern on an instruction that neither loads nor calls.
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_write', 0), symbolIndex(readElf(bytes), 'le_kfunc'), R_BPF_64_64);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 1 of section 'kprobe/vfs_write' refers to extern 'le_kfunc' but is neither a 64-bit immediate load nor a call",
      );
    });

    test(`${order}: without their relocations, the extern call is pc-relative nonsense and the load a plain constant`, () => {
      const bytes = loadFixture(`link_extern${suffix}`);
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_read', 0), 0, R_BPF_NONE);
      setRelInfo(bytes, relEntry(bytes, '.relkprobe/vfs_write', 0), 0, R_BPF_NONE);
      // call -1 at instruction 1: 1 - 1 + 1 = 1, the call itself, not the start of le_call.
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 1 of section 'kprobe/vfs_write' (in function 'le_call') calls instruction 1 of section 'kprobe/vfs_write', which is not the start of a function",
      );
      bytes[insnAt(bytes, 'kprobe/vfs_write', 1) + 1] = 0; // a helper call now
      assert.deepEqual(parseBpfObject(bytes).programs.map((p) => [p.name, p.mapReferences]), [
        ['le_kconfig', []],
        ['le_call', []],
      ]);
      // An ld_imm64 of another kind (BPF_PSEUDO_FUNC, 4) needs a relocation.
      const regs = insnAt(bytes, 'kprobe/vfs_read', 0) + 1;
      bytes[regs] = littleEndian ? (bytes[regs]! & 0x0f) | 0x40 : (bytes[regs]! & 0xf0) | 4;
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 0 of section 'kprobe/vfs_read' is a 64-bit load of kind 4 (e.g. a callback function) without a relocation; that is not supported",
      );
    });

    test(`${order}: two relocations on one instruction`, () => {
      const bytes = testProg(suffix);
      setU64(bytes, relEntry(bytes, '.relprog', 1), 40n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 5 of section 'prog' has more than one relocation");
    });
  }
});
