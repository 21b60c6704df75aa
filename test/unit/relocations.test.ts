// src/object/relocations.ts (and src/object/instructions.ts): map references found through the REL
// sections whose sh_info names a program, every other relocation refused with the instruction
// named, and applyMapFds patching src_reg/imm in both byte orders.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readElf, type ElfFile } from '../../src/elf/reader.js';
import { ElfError, ObjectError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { BPF_PSEUDO_MAP_FD, Instructions, OP_LD_IMM64 } from '../../src/object/instructions.js';
import { R_BPF_64_32, R_BPF_64_64, R_BPF_NONE, applyMapFds, collectMapReferences } from '../../src/object/relocations.js';
import type { MapReference } from '../../src/object/spec.js';
import {
  SH,
  encodeInstructions,
  getU64,
  loadFixture,
  renameSection,
  sectionHeaderAt,
  sectionNamed,
  setI32,
  setU32,
  setU64,
  symbolIndex,
  thrown,
} from './helpers.js';

const ORDERS = [
  { order: 'little-endian', suffix: '.o', littleEndian: true },
  { order: 'big-endian', suffix: '.bpfeb.o', littleEndian: false },
] as const;

function testProg(suffix: '.o' | '.bpfeb.o'): Uint8Array {
  return loadFixture(suffix === '.o' ? 'examples/test_prog.o' : 'example_test_prog.bpfeb.o');
}

/** File offset of entry `entry` of the REL section named `name`. */
function relEntry(bytes: Uint8Array, name: string, entry: number): number {
  return sectionNamed(readElf(bytes), name).offset + entry * 16;
}

function setRelInfo(bytes: Uint8Array, at: number, symbol: number, type: number): void {
  setU64(bytes, at + 8, (BigInt(symbol) << 32n) | BigInt(type));
}

function objectError(fn: () => unknown): ObjectError {
  const error = thrown(fn);
  assert.ok(error instanceof ObjectError, `expected an ObjectError, got ${String(error)}`);
  return error;
}

const TEST_PROG_REFERENCES: MapReference[] = [
  { instruction: 5, map: 'kp_bpf_calls' },
  { instruction: 29, map: 'kp_bpf_cmds' },
  { instruction: 37, map: 'kp_bpf_cmds' },
  { instruction: 44, map: 'kp_bpf_cmds' },
];

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
        { instruction: 8, map: 'mp_shared' },
        { instruction: 16, map: 'mp_shared' },
        { instruction: 23, map: 'mp_shared' },
        { instruction: 32, map: 'mp_static' },
        { instruction: 40, map: 'mp_static' },
        { instruction: 47, map: 'mp_static' },
      ]);
      assert.deepEqual(second!.mapReferences, [
        { instruction: 5, map: 'mp_shared' },
        { instruction: 13, map: 'mp_shared' },
        { instruction: 20, map: 'mp_shared' },
      ]);
    });

    test(`${order}: collectMapReferences asks for the map at the symbol's section and offset`, () => {
      const elf = readElf(loadFixture(`elf_multi${suffix}`));
      const asked: Array<[number, bigint]> = [];
      const refs = collectMapReferences(elf, sectionNamed(elf, 'kprobe/first'), (section, offset) => {
        asked.push([section, offset]);
        return `map@${offset}`;
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
      assert.deepEqual(
        refs.map((r) => r.map),
        ['map@0', 'map@0', 'map@0', 'map@36', 'map@36', 'map@36'],
      );
    });
  }
});

describe('relocations that are not map references are refused, naming the instruction', () => {
  for (const { order, suffix } of ORDERS) {
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

    test(`${order}: a symbol that is not a map (global data in .rodata)`, () => {
      const error = objectError(() => parseBpfObject(loadFixture(`elf_not_map${suffix}`)));
      assert.equal(error.message, "instruction 9 of section 'prog' refers to 'nm_limit', which is not a map");
    });

    test(`${order}: a relocation patched to name the license symbol`, () => {
      const bytes = testProg(suffix);
      setRelInfo(bytes, relEntry(bytes, '.relprog', 3), symbolIndex(readElf(bytes), '_license'), R_BPF_64_64);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 44 of section 'prog' refers to '_license', which is not a map");
    });

    test(`${order}: a section symbol plus an offset that is not a record start`, () => {
      const bytes = loadFixture(`elf_multi${suffix}`);
      const first = sectionNamed(readElf(bytes), 'kprobe/first');
      setI32(bytes, first.offset + 40 * 8 + 4, 40); // maps + 40: inside mp_static's record
      const maps = sectionNamed(readElf(bytes), 'maps').index;
      assert.equal(objectError(() => parseBpfObject(bytes)).message, `instruction 40 of section 'kprobe/first' refers to section ${maps}, which is not a map`);
      setI32(bytes, first.offset + 40 * 8 + 4, 72); // past the last record
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^instruction 40 of section 'kprobe\/first' refers to section \d+, which is not a map$/);
      setI32(bytes, first.offset + 40 * 8 + 4, -36); // before the first record
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^instruction 40 .* which is not a map$/);
    });

    test(`${order}: an unsupported relocation type`, () => {
      const bytes = testProg(suffix);
      const calls = symbolIndex(readElf(bytes), 'kp_bpf_calls');
      setRelInfo(bytes, relEntry(bytes, '.relprog', 0), calls, 2);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "relocation in section '.relprog': instruction 5 has relocation type 2; only R_BPF_64_64 map references are supported",
      );
    });

    test(`${order}: a call to another BPF function (R_BPF_64_32)`, () => {
      assert.equal(R_BPF_64_32, 10);
      assert.equal(
        objectError(() => parseBpfObject(loadFixture(`elf_subprog${suffix}`))).message,
        "instruction 0 of section 'prog' calls 'sp_helper': calls to other BPF functions are not supported in this object layout",
      );
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

describe('applyMapFds', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: sets src_reg = BPF_PSEUDO_MAP_FD and imm = fd, and nothing else`, () => {
      const spec = parseBpfObject(testProg(suffix));
      const program = spec.programs[0]!;
      const original = program.instructions.slice();
      const fds: Record<string, number> = { kp_bpf_calls: 7, kp_bpf_cmds: 0x12345678 };
      const asked: string[] = [];
      const patched = applyMapFds(program.instructions, spec.littleEndian, program.mapReferences, (name) => {
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
      const patched = applyMapFds(insns, littleEndian, [{ instruction: 0, map: 'm' }], () => 42);
      assert.deepEqual(insns, before);
      const reader = new Instructions(patched, littleEndian);
      assert.equal(reader.srcReg(0), BPF_PSEUDO_MAP_FD);
      assert.equal(reader.dstReg(0), 9);
      assert.equal(reader.imm(0), 42);
      assert.equal(reader.imm(1), 0);
      assert.equal(reader.opcode(2), 0x95);
    });
  }

  test('no references: an equal copy', () => {
    const insns = encodeInstructions([[0x95, 0, 0, 0, 0]], true);
    const patched = applyMapFds(insns, true, [], () => assert.fail('no fd is needed'));
    assert.deepEqual(patched, insns);
    assert.notEqual(patched, insns);
  });

  test('the relocation type constants', () => {
    assert.deepEqual([R_BPF_NONE, R_BPF_64_64, R_BPF_64_32], [0, 1, 10]);
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
