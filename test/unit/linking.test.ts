// src/object/program-linker.ts through parseBpfObject: programs joined with the functions they call
// (bpf-to-bpf calls), bcc-named programs in .text, global data as one-entry array maps. Checked
// against fixed layouts and against llvm-objdump/llvm-readelf's view of the same objects.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from '../support/test.js';
import { SHF_EXECINSTR, readElf } from '../../src/elf/reader.js';
import { ElfError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, INSN_SIZE, Instructions, OP_CALL, OP_LD_IMM64 } from '../../src/insn/instructions.js';
import { linkProgram, type CodeFunction, type CodeSection } from '../../src/object/program-linker.js';
import { applyMapReferences, type RelocationTarget } from '../../src/object/relocations.js';
import type { BpfObjectSpec, MapReference, ProgramSpec } from '../../src/object/spec.js';
import { tool } from '../support/tools.js';
import {
  craftedBpfObject,
  encodeInstructions,
  fixturePath,
  loadFixture,
  objectError,
  ORDERS,
  prng,
  sectionHeaderAt,
  sectionNamed,
  setU32,
  setU64,
  SH,
  ST,
  symbolAt,
  symbolIndex,
} from './helpers.js';

const OBJDUMP = (): string => tool('llvm-objdump', 'LLVM_OBJDUMP');
const READELF = (): string => tool('llvm-readelf', 'LLVM_READELF');

function program(spec: BpfObjectSpec, name: string): ProgramSpec {
  const found = spec.programs.find((p) => p.name === name);
  assert.ok(found, `no program ${name}; have ${spec.programs.map((p) => p.name).join(', ')}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// The object as llvm-objdump and llvm-readelf show it, parsed from their text output only.

interface DumpInstruction {
  /** The raw bytes objdump prints: 8, or 16 for an ld_imm64. */
  bytes: number[];
  relocation?: { type: string; symbol: string };
}

interface DumpFunction {
  name: string;
  section: string;
  /** First instruction, as an index into the section. */
  start: number;
  /** From the symbol's st_size, as llvm-readelf prints it. */
  count: number;
}

interface Dump {
  littleEndian: boolean;
  /** Per section, instructions by index (an ld_imm64's second slot has no entry). */
  sections: Map<string, Map<number, DumpInstruction>>;
  functions: Map<string, DumpFunction>;
  /** Section of each defined symbol, by name. */
  symbolSection: Map<string, string>;
}

function dump(path: string): Dump {
  const sectionNames = new Map<number, string>();
  for (const line of execFileSync(READELF(), ['-S', '--wide', path], { encoding: 'utf8' }).split('\n')) {
    const match = /^\s*\[\s*(\d+)\]\s+(\S+)/.exec(line);
    if (match) sectionNames.set(Number(match[1]), match[2]!);
  }
  const symbols: Array<{ name: string; value: number; size: number; type: string; section: string }> = [];
  for (const line of execFileSync(READELF(), ['-s', '--wide', path], { encoding: 'utf8' }).split('\n')) {
    const match = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+(\w+)\s+\w+\s+\w+\s+(\d+)\s+(\S+)$/.exec(line);
    if (match) symbols.push({ value: parseInt(match[1]!, 16), size: Number(match[2]), type: match[3]!, section: sectionNames.get(Number(match[4]))!, name: match[5]! });
  }
  const sections = new Map<string, Map<number, DumpInstruction>>();
  let current: Map<number, DumpInstruction> | undefined;
  let last: DumpInstruction | undefined;
  for (const line of execFileSync(OBJDUMP(), ['-d', '-r', path], { encoding: 'utf8' }).split('\n')) {
    let match = /^Disassembly of section (.+):$/.exec(line);
    if (match) {
      current = new Map();
      sections.set(match[1]!, current);
      continue;
    }
    match = /^\s+(\d+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\t/.exec(line);
    if (match && current) {
      last = { bytes: match[2]!.split(' ').map((b) => parseInt(b, 16)) };
      assert.ok(last.bytes.length === 8 || last.bytes.length === 16, line);
      current.set(Number(match[1]), last);
      continue;
    }
    match = /^\t\t[0-9a-f]+:\s+(R_BPF_\w+)\t(\S+)$/.exec(line);
    if (match && last) last.relocation = { type: match[1]!, symbol: match[2]! };
  }
  const functions = new Map<string, DumpFunction>();
  for (const s of symbols.filter((s) => s.type === 'FUNC')) {
    functions.set(s.name, { name: s.name, section: s.section, start: s.value / INSN_SIZE, count: s.size / INSN_SIZE });
  }
  const littleEndian = !path.endsWith('.bpfeb.o');
  return { littleEndian, sections, functions, symbolSection: new Map(symbols.filter((s) => s.section).map((s) => [s.name, s.section])) };
}

function imm32(bytes: readonly number[], littleEndian: boolean): number {
  return new DataView(Uint8Array.from(bytes.slice(4, 8)).buffer).getInt32(0, littleEndian);
}

function isPseudoCall(bytes: readonly number[], littleEndian: boolean): boolean {
  return bytes[0] === OP_CALL && (littleEndian ? bytes[1]! >> 4 : bytes[1]! & 0xf) === BPF_PSEUDO_CALL;
}

/** The function a call instruction of `fn` calls, as objdump's relocation (or the pc-relative immediate) says. */
function dumpCallee(d: Dump, fn: DumpFunction, index: number): DumpFunction {
  const insn = d.sections.get(fn.section)!.get(index)!;
  const imm = imm32(insn.bytes, d.littleEndian);
  let section = fn.section;
  let target = index + imm + 1;
  if (insn.relocation) {
    assert.equal(insn.relocation.type, 'R_BPF_64_32');
    const symbol = d.functions.get(insn.relocation.symbol);
    section = symbol ? symbol.section : insn.relocation.symbol; // else a section symbol, shown by its section's name
    target = (symbol ? symbol.start : 0) + imm + 1;
  }
  const callee = [...d.functions.values()].find((f) => f.section === section && f.start === target);
  assert.ok(callee, `objdump: instruction ${index} of ${fn.section} calls ${section}:${target}, not a function start`);
  return callee;
}

/**
 * Checks a linked program against objdump's view: the functions in `layout` (name, base) are the
 * program's copy of each reachable function, their bytes unchanged except the immediates of
 * calls, every call aimed at the start of its callee's copy, and every R_BPF_64_64 of a copied
 * function a map reference at its final index.
 */
function checkAgainstObjdump(d: Dump, p: ProgramSpec, layout: ReadonlyArray<readonly [string, number]>): void {
  const bases = new Map(layout);
  const insns = new Instructions(p.instructions, d.littleEndian);
  const total = layout.reduce((sum, [name]) => sum + d.functions.get(name)!.count, 0);
  assert.equal(insns.count, total, `${p.name}: instruction count is the sum of ${layout.map(([n]) => n).join(' + ')}`);
  const expectedReferences: Array<{ instruction: number; symbol: string }> = [];
  let seenCalls = 0;
  for (const [name, base] of layout) {
    const fn = d.functions.get(name)!;
    for (const [index, insn] of d.sections.get(fn.section)!) {
      if (index < fn.start || index >= fn.start + fn.count) continue;
      const at = base + index - fn.start;
      const copied = [...p.instructions.subarray(at * INSN_SIZE, at * INSN_SIZE + insn.bytes.length)];
      if (isPseudoCall(insn.bytes, d.littleEndian)) {
        seenCalls++;
        const callee = dumpCallee(d, fn, index);
        assert.ok(bases.has(callee.name), `${p.name}: ${name} calls ${callee.name}, which the layout lacks`);
        assert.deepEqual(copied.slice(0, 4), insn.bytes.slice(0, 4), `${p.name}: call at ${at}: opcode, registers, offset kept`);
        assert.equal(at + insns.imm(at) + 1, bases.get(callee.name), `${p.name}: call at ${at} (from ${name}) lands on ${callee.name}`);
      } else {
        assert.deepEqual(copied, insn.bytes, `${p.name}: instruction ${at} is ${name}'s instruction ${index}, unchanged`);
      }
      if (insn.relocation?.type === 'R_BPF_64_64') expectedReferences.push({ instruction: at, symbol: insn.relocation.symbol });
    }
  }
  // Every call in the linked program was one of those checked: none escaped into a gap.
  let calls = 0;
  for (let i = 0; i < insns.count; i++) if (insns.opcode(i) === OP_CALL && insns.srcReg(i) === BPF_PSEUDO_CALL) calls++;
  assert.equal(calls, seenCalls);
  assert.deepEqual(
    p.mapReferences.map((r) => r.instruction),
    expectedReferences.map((r) => r.instruction),
    `${p.name}: references at the final indexes of objdump's R_BPF_64_64 relocations`,
  );
  p.mapReferences.forEach((r, i) => {
    const symbol = expectedReferences[i]!.symbol;
    // A map symbol names the map; a data symbol or section names its section's data map.
    const expectedMap = r.kind === 'fd' ? symbol : (d.symbolSection.get(symbol) ?? symbol);
    assert.equal(r.map, expectedMap, `${p.name}: reference at ${r.instruction}`);
    assert.equal(insns.opcode(r.instruction), OP_LD_IMM64);
    assert.equal(insns.opcode(r.instruction + 1), 0, 'the second slot follows');
  });
}

/** Every instruction's fields, decoded: the same in both byte orders when the structure is the same. */
function decoded(p: ProgramSpec, littleEndian: boolean): number[][] {
  const insns = new Instructions(p.instructions, littleEndian);
  return Array.from({ length: insns.count }, (_, i) => [insns.opcode(i), insns.dstReg(i), insns.srcReg(i), insns.offset(i), insns.imm(i)]);
}

function structure(spec: BpfObjectSpec): unknown {
  return {
    programs: spec.programs.map((p) => ({ name: p.name, section: p.section, role: p.role, references: p.mapReferences, insns: decoded(p, spec.littleEndian) })),
    maps: spec.maps.map((m) => ({ ...m, data: m.data && { readOnly: m.data.readOnly, length: m.data.initial.length } })),
  };
}

const fd = (instruction: number, map: string): MapReference => ({ instruction, map, kind: 'fd', offset: 0 });
const value = (instruction: number, map: string, offset: number): MapReference => ({ instruction, map, kind: 'value', offset });

// ---------------------------------------------------------------------------------------------

describe('link_calls.c: a program calling two static functions, one calling the other', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: each function once, in the order first called; calls re-aimed`, () => {
      const spec = parseBpfObject(loadFixture(`link_calls${suffix}`));
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section]), [['lc_entry', 'kprobe/vfs_read']], 'static functions in .text are no programs');
      assert.deepEqual(spec.maps.map((m) => m.name), ['lc_counts']);
      const p = spec.programs[0]!;
      const insns = new Instructions(p.instructions, littleEndian);
      // lc_entry (9) + lc_pair (8) + lc_bump (13): lc_bump is called three times but copied once.
      assert.equal(insns.count, 30);
      // lc_entry calls lc_pair at 3 and lc_bump at 6; lc_pair (at 9) calls lc_bump at 1 and 5.
      assert.deepEqual(
        [3, 6, 10, 14].map((i) => [i, insns.opcode(i), insns.srcReg(i), insns.imm(i), i + insns.imm(i) + 1]),
        [
          [3, OP_CALL, 1, 5, 9],
          [6, OP_CALL, 1, 10, 17],
          [10, OP_CALL, 1, 6, 17],
          [14, OP_CALL, 1, 2, 17],
        ],
      );
      assert.deepEqual([insns.opcode(0), insns.srcReg(0), insns.imm(0)], [OP_CALL, 0, 14], 'the helper call bpf_get_current_pid_tgid is left alone');
      assert.deepEqual(p.mapReferences, [fd(20, 'lc_counts')], "lc_bump's map reference at 17 + 3");
      assert.deepEqual(p.role, { kind: 'kprobe', retprobe: false, function: 'vfs_read', syscall: false, fromCommandLine: false });
    });

    test(`${order}: checked against llvm-objdump`, () => {
      const d = dump(fixturePath(`link_calls${suffix}`));
      assert.deepEqual(
        ['lc_entry', 'lc_pair', 'lc_bump'].map((n) => d.functions.get(n)!.count),
        [9, 8, 13],
      );
      checkAgainstObjdump(d, parseBpfObject(loadFixture(`link_calls${suffix}`)).programs[0]!, [
        ['lc_entry', 0],
        ['lc_pair', 9],
        ['lc_bump', 17],
      ]);
    });
  }

  test('both byte orders give the same structure', () => {
    assert.deepEqual(structure(parseBpfObject(loadFixture('link_calls.bpfeb.o'))), structure(parseBpfObject(loadFixture('link_calls.o'))));
  });

  test('the map reference of a called function gets its fd once patched', () => {
    const spec = parseBpfObject(loadFixture('link_calls.o'));
    const p = spec.programs[0]!;
    const patched = new Instructions(applyMapReferences(p.instructions, true, p.mapReferences, () => 77), true);
    assert.deepEqual([patched.opcode(20), patched.srcReg(20), patched.dstReg(20), patched.imm(20), patched.imm(21)], [OP_LD_IMM64, BPF_PSEUDO_MAP_FD, 1, 77, 0]);
  });
});

describe('link_shared.c: two programs in different sections sharing a subprogram', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: each program has its own copy after its own code`, () => {
      const spec = parseBpfObject(loadFixture(`link_shared${suffix}`));
      assert.deepEqual(
        spec.programs.map((p) => [p.name, p.section, p.instructions.length / INSN_SIZE]),
        [
          ['ls_reads', 'kprobe/vfs_read', 4 + 11],
          ['ls_writes', 'kretprobe/vfs_write', 8 + 11],
        ],
      );
      const reads = new Instructions(program(spec, 'ls_reads').instructions, littleEndian);
      const writes = new Instructions(program(spec, 'ls_writes').instructions, littleEndian);
      assert.deepEqual([reads.imm(1), 1 + reads.imm(1) + 1], [2, 4]);
      assert.deepEqual([writes.imm(3), 3 + writes.imm(3) + 1], [4, 8]);
      assert.deepEqual(program(spec, 'ls_reads').mapReferences, [fd(7, 'ls_counts')]);
      assert.deepEqual(program(spec, 'ls_writes').mapReferences, [fd(11, 'ls_counts')]);
      // The two copies of ls_count are the same bytes.
      assert.deepEqual(program(spec, 'ls_reads').instructions.subarray(4 * 8), program(spec, 'ls_writes').instructions.subarray(8 * 8));
      assert.deepEqual(
        spec.programs.map((p) => p.role),
        [
          { kind: 'kprobe', retprobe: false, function: 'vfs_read', syscall: false, fromCommandLine: false },
          { kind: 'kprobe', retprobe: true, function: 'vfs_write', syscall: false, fromCommandLine: false },
        ],
      );
    });

    test(`${order}: checked against llvm-objdump`, () => {
      const d = dump(fixturePath(`link_shared${suffix}`));
      const spec = parseBpfObject(loadFixture(`link_shared${suffix}`));
      checkAgainstObjdump(d, program(spec, 'ls_reads'), [
        ['ls_reads', 0],
        ['ls_count', 4],
      ]);
      checkAgainstObjdump(d, program(spec, 'ls_writes'), [
        ['ls_writes', 0],
        ['ls_count', 8],
      ]);
    });
  }

  test('both byte orders give the same structure', () => {
    assert.deepEqual(structure(parseBpfObject(loadFixture('link_shared.bpfeb.o'))), structure(parseBpfObject(loadFixture('link_shared.o'))));
  });
});

describe('link_bcc.c: bcc-named functions in .text are programs, other functions there are not', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: three programs with roles from their names, each with lb_count appended`, () => {
      const spec = parseBpfObject(loadFixture(`link_bcc${suffix}`));
      assert.deepEqual(
        spec.programs.map((p) => [p.name, p.section, p.instructions.length / INSN_SIZE, p.role]),
        [
          ['kprobe__vfs_read', '.text', 15, { kind: 'kprobe', retprobe: false, function: 'vfs_read', syscall: false, fromCommandLine: false }],
          ['kretprobe__vfs_write', '.text', 15, { kind: 'kprobe', retprobe: true, function: 'vfs_write', syscall: false, fromCommandLine: false }],
          ['tracepoint__syscalls__sys_enter_bpf', '.text', 15, { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' }],
        ],
      );
      for (const p of spec.programs) {
        const insns = new Instructions(p.instructions, littleEndian);
        // Each calls lb_count (at .text index 0, symbol-relative) from its instruction 1; the copy is at 4.
        assert.deepEqual([insns.opcode(1), insns.srcReg(1), insns.imm(1)], [OP_CALL, BPF_PSEUDO_CALL, 2], p.name);
        assert.deepEqual(p.mapReferences, [fd(7, 'lb_counts')], p.name);
      }
      assert.deepEqual(
        spec.programs.map((p) => new Instructions(p.instructions, littleEndian).imm(0)),
        [0, 1, 2],
        'r1 = 0, 1, 2: each program is its own function, not the first one of .text',
      );
    });

    test(`${order}: checked against llvm-objdump`, () => {
      const d = dump(fixturePath(`link_bcc${suffix}`));
      const spec = parseBpfObject(loadFixture(`link_bcc${suffix}`));
      for (const name of ['kprobe__vfs_read', 'kretprobe__vfs_write', 'tracepoint__syscalls__sys_enter_bpf']) {
        checkAgainstObjdump(d, program(spec, name), [
          [name, 0],
          ['lb_count', 4],
        ]);
      }
    });

    test(`${order}: a bcc name on a static function makes no program`, () => {
      const bytes = loadFixture(`link_bcc${suffix}`);
      const at = symbolAt(bytes, symbolIndex(readElf(bytes), 'kretprobe__vfs_write'));
      bytes[at + ST.info] = (0 << 4) | 2; // STB_LOCAL, STT_FUNC
      assert.deepEqual(
        parseBpfObject(bytes).programs.map((p) => p.name),
        ['kprobe__vfs_read', 'tracepoint__syscalls__sys_enter_bpf'],
      );
    });
  }

  test('both byte orders give the same structure', () => {
    assert.deepEqual(structure(parseBpfObject(loadFixture('link_bcc.bpfeb.o'))), structure(parseBpfObject(loadFixture('link_bcc.o'))));
  });
});

describe('link_data.c: global data becomes one-entry array maps, referenced by value', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: the data maps: sizes, flags, initial bytes`, () => {
      const spec = parseBpfObject(loadFixture(`link_data${suffix}`));
      const u64 = (n: number): number[] => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(n), littleEndian);
        return [...b];
      };
      const u32 = (n: number): number[] => {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, n, littleEndian);
        return [...b];
      };
      const text = (s: string): number[] => [...new TextEncoder().encode(s)];
      assert.deepEqual(
        spec.maps.map((m) => ({ ...m, data: m.data && { readOnly: m.data.readOnly, initial: [...m.data.initial] } })),
        [
          // In the order first referenced: .text (ld_miss) comes before the program's section.
          { name: '.bss', type: 2, keySize: 4, valueSize: 16, maxEntries: 1, flags: 0, pinning: 0, data: { readOnly: false, initial: new Array<number>(16).fill(0) } },
          { name: '.data', type: 2, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, pinning: 0, data: { readOnly: false, initial: u32(3) } },
          {
            name: '.rodata',
            type: 2,
            keySize: 4,
            valueSize: 29,
            maxEntries: 1,
            flags: 0x80,
            pinning: 0,
            data: { readOnly: true, initial: [...u64(7), ...text('hits %llu over %llu\n\0')] },
          },
          { name: '.rodata.str1.1', type: 2, keySize: 4, valueSize: 6, maxEntries: 1, flags: 0x80, pinning: 0, data: { readOnly: true, initial: text('over\n\0') } },
        ],
      );
      // Private copies: the spec does not share the file's buffer.
      const bytes = loadFixture(`link_data${suffix}`);
      const again = parseBpfObject(bytes);
      bytes.fill(0xee, sectionNamed(readElf(bytes), '.data').offset, sectionNamed(readElf(bytes), '.data').offset + 4);
      assert.deepEqual([...again.maps[1]!.data!.initial], u32(3));
    });

    test(`${order}: value references carry the offset in the data`, () => {
      const spec = parseBpfObject(loadFixture(`link_data${suffix}`));
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.instructions.length / INSN_SIZE]), [['ld_count', 'kprobe/vfs_read', 25 + 5]]);
      const p = spec.programs[0]!;
      assert.deepEqual(p.mapReferences, [
        value(0, '.data', 0), // ld_step
        value(3, '.bss', 0), // ld_hits
        value(7, '.rodata', 0), // ld_limit
        value(12, '.rodata', 8), // fmt: the section symbol plus 8
        value(16, '.rodata.str1.1', 0), // "over\n"
        value(26, '.bss', 8), // ld_misses, in ld_miss (copied at 25)
      ]);
      const insns = new Instructions(p.instructions, littleEndian);
      assert.deepEqual([insns.imm(22), 22 + insns.imm(22) + 1], [2, 25], 'the call to ld_miss');
      const patched = new Instructions(applyMapReferences(p.instructions, littleEndian, p.mapReferences, (name) => spec.maps.findIndex((m) => m.name === name) + 10), littleEndian);
      assert.deepEqual(
        p.mapReferences.map((r) => [patched.srcReg(r.instruction), patched.imm(r.instruction), patched.imm(r.instruction + 1)]),
        [
          [BPF_PSEUDO_MAP_VALUE, 11, 0],
          [BPF_PSEUDO_MAP_VALUE, 10, 0],
          [BPF_PSEUDO_MAP_VALUE, 12, 0],
          [BPF_PSEUDO_MAP_VALUE, 12, 8],
          [BPF_PSEUDO_MAP_VALUE, 13, 0],
          [BPF_PSEUDO_MAP_VALUE, 10, 8],
        ],
      );
    });

    test(`${order}: checked against llvm-objdump`, () => {
      const d = dump(fixturePath(`link_data${suffix}`));
      checkAgainstObjdump(d, parseBpfObject(loadFixture(`link_data${suffix}`)).programs[0]!, [
        ['ld_count', 0],
        ['ld_miss', 25],
      ]);
    });

    test(`${order}: a data section that no code refers to is no map`, () => {
      const spec = parseBpfObject(loadFixture(`link_calls${suffix}`));
      assert.ok(spec.maps.every((m) => m.data === undefined));
      // elf_not_map has .rodata; examples/test_prog has none.
      assert.deepEqual(parseBpfObject(loadFixture(`elf_not_map${suffix}`)).maps.map((m) => m.name), ['nm_counter', '.rodata']);
    });
  }

  test('both byte orders give the same structure', () => {
    assert.deepEqual(structure(parseBpfObject(loadFixture('link_data.bpfeb.o'))), structure(parseBpfObject(loadFixture('link_data.o'))));
  });

  test('a .bss (no contents in the file) larger than a map value can be is refused before anything is allocated', () => {
    for (const littleEndian of [true, false]) {
      const bytes = loadFixture(littleEndian ? 'link_data.o' : 'link_data.bpfeb.o');
      const bss = sectionNamed(readElf(bytes), '.bss');
      const header = sectionHeaderAt(bytes, bss.index);
      setU64(bytes, header + SH.size, 1n << 40n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "data section '.bss' is 1099511627776 bytes, more than a map value can hold (4294967295)");
      setU64(bytes, header + SH.size, 0x100000000n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "data section '.bss' is 4294967296 bytes, more than a map value can hold (4294967295)");
      setU64(bytes, header + SH.size, 4096n);
      const map = parseBpfObject(bytes).maps.find((m) => m.name === '.bss')!;
      assert.equal(map.valueSize, 4096);
      assert.equal(map.data!.initial.length, 4096);
      assert.ok(map.data!.initial.every((b) => b === 0));
      // Too small for ld_misses (offset 8): that reference names no data.
      setU64(bytes, header + SH.size, 8n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "instruction 1 of section '.text' refers to 'ld_misses', which is not a map or global data");
    }
  });

  test('the data section of a value reference must exist in the file', () => {
    // .data made SHT_NULL: its size stays but the file holds nothing for it.
    const bytes = loadFixture('link_data.o');
    const data = sectionNamed(readElf(bytes), '.data');
    setU32(bytes, sectionHeaderAt(bytes, data.index) + SH.type, 0); // SHT_NULL: no contents
    assert.equal(objectError(() => parseBpfObject(bytes)).message, "data section '.data' has no contents in the file");
  });
});

describe('linkProgram on hand-made sections', () => {
  const fn = (name: string, start: number, count: number, sectionIndex = 1): CodeFunction => ({ sectionIndex, sectionName: sectionIndex === 1 ? 'p' : '.text', name, start, count, global: true });

  function section(index: number, name: string, insns: Uint8Array, functions: CodeFunction[], relocations: Array<[number, RelocationTarget]>): CodeSection {
    return { index, name, bytes: insns, functions, relocations: new Map(relocations) };
  }

  test('a recursive function and mutual calls are copied once each', () => {
    // .text: f (0..2) calls g, g (2..4) calls f.
    const text = encodeInstructions(
      [
        [0x85, 0, 1, 0, 1], // f: call g (pc-relative: 0 + 1 + 1 = 2)
        [0x95, 0, 0, 0, 0],
        [0x85, 0, 1, 0, -3], // g: call f (2 - 3 + 1 = 0)
        [0x95, 0, 0, 0, 0],
      ],
      true,
    );
    const prog = encodeInstructions(
      [
        [0x85, 0, 1, 0, -1], // call f (relocated against .text)
        [0x85, 0, 1, 0, -1], // call g (relocated, g)
        [0x95, 0, 0, 0, 0],
      ],
      true,
    );
    const f = fn('f', 0, 2, 2);
    const g = fn('g', 2, 2, 2);
    const entry = fn('entry', 0, 3);
    const sections = new Map([
      [1, section(1, 'p', prog, [entry], [
        [0, { kind: 'call', section: 2, instruction: 0 }],
        [1, { kind: 'call', section: 2, instruction: 2 }],
      ])],
      [2, section(2, '.text', text, [f, g], [
        [0, { kind: 'call', section: 2, instruction: 2 }],
        [2, { kind: 'call', section: 2, instruction: 0 }],
      ])],
    ]);
    const linked = linkProgram(entry, sections, true);
    const insns = new Instructions(linked.instructions, true);
    assert.equal(insns.count, 3 + 2 + 2);
    // entry at 0, f at 3, g at 5.
    assert.deepEqual([0, 1, 3, 5].map((i) => i + insns.imm(i) + 1), [3, 5, 5, 3]);
    assert.deepEqual(linked.mapReferences, []);
  });

  test('a program that calls itself is not copied again', () => {
    const prog = encodeInstructions([[0x85, 0, 1, 0, -1], [0x95, 0, 0, 0, 0]], false);
    const entry = fn('entry', 0, 2);
    const linked = linkProgram(entry, new Map([[1, section(1, 'p', prog, [entry], [[0, { kind: 'call', section: 1, instruction: 0 }]])]]), false);
    assert.equal(linked.instructions.length, 16);
    assert.equal(new Instructions(linked.instructions, false).imm(0), -1);
  });

  test('a call into a section without code, or not onto a function start, is an ObjectError naming the caller', () => {
    const prog = encodeInstructions([[0x85, 0, 1, 0, 0], [0x95, 0, 0, 0, 0]], true);
    const entry = fn('entry', 0, 2);
    const noCode = new Map([[1, section(1, 'p', prog, [entry], [[0, { kind: 'call', section: 7, instruction: 0 }]])]]);
    assert.equal(
      objectError(() => linkProgram(entry, noCode, true)).message,
      "instruction 0 of section 'p' (in function 'entry') calls into section 7, which holds no code",
    );
    const middle = new Map([[1, section(1, 'p', prog, [entry], [[0, { kind: 'call', section: 1, instruction: 1 }]])]]);
    assert.equal(
      objectError(() => linkProgram(entry, middle, true)).message,
      "instruction 0 of section 'p' (in function 'entry') calls instruction 1 of section 'p', which is not the start of a function",
    );
  });

  test('a reference on the last instruction of a function (half an ld_imm64) is refused', () => {
    const prog = encodeInstructions([[0xb7, 0, 0, 0, 0], [0x18, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0]], true);
    const entry = fn('entry', 0, 2); // ends between the two slots
    const sections = new Map([[1, section(1, 'p', prog, [entry], [[1, { kind: 'map', map: 'm' }]])]]);
    assert.equal(
      objectError(() => linkProgram(entry, sections, true)).message,
      "instruction 1 of section 'p' (in function 'entry') refers to 'm' but is a 64-bit immediate load cut short by the end of the function",
    );
  });
});

describe('parseBpfObject: function symbols that do not fit', () => {
  for (const littleEndian of [true, false]) {
    const order = littleEndian ? 'little-endian' : 'big-endian';
    test(`${order}: a symbol size ending inside an ld_imm64 (found by the fuzz test)`, () => {
      const bytes = craftedBpfObject(littleEndian);
      // 'crafted' is symbol 2: 8 instructions; 3 ends between the slots of the ld_imm64 at 2.
      const at = symbolAt(bytes, 2);
      setU64(bytes, at + ST.size, 24n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "instruction 2 of section 'kprobe/crafted' (in function 'crafted') refers to 'cr_hash' but is a 64-bit immediate load cut short by the end of the function",
      );
      setU64(bytes, at + ST.size, 0x2dn); // 45 bytes: 5 whole instructions, the last the first slot of r3 = cr_array
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^instruction 4 of section 'kprobe\/crafted' \(in function 'crafted'\) refers to 'cr_array' but is a 64-bit/);
      setU64(bytes, at + ST.size, 48n); // 6 instructions: all three loads whole
      assert.equal(parseBpfObject(bytes).programs[0]!.instructions.length, 48);
    });

    test(`${order}: a size past the section's end, a start off an instruction, or overlapping functions`, () => {
      const bytes = craftedBpfObject(littleEndian);
      const at = symbolAt(bytes, 2);
      setU64(bytes, at + ST.size, 72n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "function 'crafted' (offset 0, size 72) does not fit in section 'kprobe/crafted' or overlaps the next function",
      );
      setU64(bytes, at + ST.size, 4n);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "function 'crafted' (offset 0, size 4) does not fit in section 'kprobe/crafted' or overlaps the next function",
      );
      setU64(bytes, at + ST.size, 64n);
      setU64(bytes, at + ST.value, 4n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "function 'crafted' starts at offset 4 of section 'kprobe/crafted', not on one of its instructions");
      setU64(bytes, at + ST.value, 64n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "function 'crafted' starts at offset 64 of section 'kprobe/crafted', not on one of its instructions");
    });
  }
});

describe('mutations of the link fixtures: parsed and consistent, or refused with one ElfError', () => {
  // A small seeded fuzz of what elf-fuzz.test.ts does not reach: calls, bcc programs, global data.
  // Reproduce one case with LKB_LINK_FUZZ_ONLY=<file>:<iteration>.
  const ITERATIONS = Number(process.env.LKB_LINK_FUZZ_ITERATIONS ?? 2500);
  const only = process.env.LKB_LINK_FUZZ_ONLY?.split(':');
  const files = ['link_calls', 'link_shared', 'link_bcc', 'link_data', 'link_extern'].flatMap((n) => [`${n}.o`, `${n}.bpfeb.o`]);
  const VALUES = [0n, 4n, 8n, 16n, 24n, 0x40n, 0x58n, 0xffffffffn, 1n << 40n, 1n << 63n];

  /** What a parsed object promises the loader, or undefined when it keeps its promises. */
  function problem(spec: BpfObjectSpec): string | undefined {
    for (const p of spec.programs) {
      const insns = new Instructions(p.instructions, spec.littleEndian);
      if (p.instructions.length % INSN_SIZE !== 0 || insns.count === 0) return `${p.name}: ${p.instructions.length} bytes`;
      for (let i = 0; i < insns.count; i++) {
        if (insns.opcode(i) === OP_CALL && insns.srcReg(i) === BPF_PSEUDO_CALL) {
          const target = i + insns.imm(i) + 1;
          if (target < 0 || target >= insns.count) return `${p.name}: call at ${i} to ${target}, outside its ${insns.count} instructions`;
        }
        if (insns.opcode(i) === OP_LD_IMM64) i++;
      }
      for (const r of p.mapReferences) {
        if (r.instruction + 1 >= insns.count || insns.opcode(r.instruction) !== OP_LD_IMM64) return `${p.name}: reference at ${r.instruction} is not a whole ld_imm64`;
        const map = spec.maps.find((m) => m.name === r.map);
        if (!map) return `${p.name}: reference to unknown map '${r.map}'`;
        if (r.kind === 'value' && (!map.data || r.offset < 0 || r.offset >= map.valueSize)) return `${p.name}: value reference ${r.map}+${r.offset} outside the data`;
        if (r.kind === 'fd' && (map.data || r.offset !== 0)) return `${p.name}: fd reference to data map ${r.map}`;
      }
    }
    for (const m of spec.maps) if (m.data && m.data.initial.length !== m.valueSize) return `map ${m.name}: ${m.data.initial.length} initial bytes for ${m.valueSize}`;
    return undefined;
  }

  test(`${files.length} objects × ${ITERATIONS} mutations`, () => {
    const failures: string[] = [];
    let parsed = 0;
    for (const [f, file] of files.entries()) {
      if (only && only[0] !== file) continue;
      const base = loadFixture(file);
      const elf = readElf(base);
      const symtab = sectionNamed(elf, '.symtab');
      const rels = elf.sections.filter((s) => s.type === 9);
      const code = elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0);
      const bss = elf.sectionByName('.bss');
      for (let iteration = 0; iteration < ITERATIONS; iteration++) {
        if (only && Number(only[1]) !== iteration) continue;
        const random = prng(0x11e7 + f * 100_003 + iteration);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const bytes = base.slice();
        const done: string[] = [];
        for (let k = 1 + Math.floor(random() * 2); k > 0; k--) {
          const kind = random();
          if (kind < 0.25) {
            const at = symtab.offset + (1 + Math.floor(random() * (symtab.size / 24 - 1))) * 24 + pick([ST.value, ST.size]);
            const v = pick(VALUES);
            setU64(bytes, at, v);
            done.push(`symbol field @${at} := ${v}`);
          } else if (kind < 0.35) {
            const at = symtab.offset + (1 + Math.floor(random() * (symtab.size / 24 - 1))) * 24 + ST.info;
            bytes[at] = pick([0x12, 0x02, 0x11, 0x03, 0x10]);
            done.push(`st_info @${at} := ${bytes[at]}`);
          } else if (kind < 0.55 && rels.length > 0) {
            const rel = pick(rels);
            const at = rel.offset + Math.floor(random() * (rel.size / 16)) * 16;
            if (random() < 0.5) setU64(bytes, at, BigInt(Math.floor(random() * 32)) * 8n);
            else setU64(bytes, at + 8, (BigInt(Math.floor(random() * (symtab.size / 24))) << 32n) | BigInt(pick([0, 1, 10])));
            done.push(`relocation @${at}`);
          } else if (kind < 0.6 && bss) {
            const at = sectionHeaderAt(bytes, bss.index) + SH.size;
            setU64(bytes, at, pick(VALUES));
            done.push(`.bss size`);
          } else {
            const section = pick(code);
            const at = section.offset + Math.floor(random() * (section.size / 8)) * 8;
            const field = random();
            if (field < 0.4) setU32(bytes, at + 4, (Math.floor(random() * 48) - 24) >>> 0);
            else if (field < 0.7) bytes[at] = pick([OP_CALL, OP_LD_IMM64, 0x95, 0xb7, 0x05, 0x00]);
            else bytes[at + 1] = pick([0x10, 0x01, 0x00, 0x11, 0x20, 0x02, 0x40, 0x04]);
            done.push(`instruction @${at}`);
          }
        }
        const where = `${file}:${iteration} (${done.join('; ')})`;
        let spec: BpfObjectSpec;
        try {
          spec = parseBpfObject(bytes);
        } catch (error) {
          if (!(error instanceof ElfError)) failures.push(`${where}: threw ${String(error)}`);
          continue;
        }
        parsed++;
        const wrong = problem(spec);
        if (wrong) failures.push(`${where}: ${wrong}`);
      }
    }
    assert.deepEqual(failures.slice(0, 20), []);
    if (!only) assert.ok(parsed > files.length * ITERATIONS * 0.2, `only ${parsed} parsed: the mutations are too harsh to test anything`);
  });
});
