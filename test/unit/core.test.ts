// src/btf/ext.ts and src/btf/core.ts. The .BTF.ext records of clang-built objects checked against the C source, the
// DWARF line table, bpftool and llvm-objdump; malformed .BTF.ext refused with one ObjectError. CO-RE relocations of the
// libbpf-style fixtures (test/fixtures/bpf/core_*.c, built against a vmlinux.h of Debian's 6.1 kernel) resolved against
// the BTF of three kernels (Debian 6.1 and 6.12, the host) and patched into the instructions, the results checked
// against the kernels' types as bpftool dumps them, bitfields by reading one the way the program would; the rules
// libbpf has for ambiguity, load sizes, flexible arrays and poisoning on hand-made BTF.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { describe, test } from '../support/test.js';
import { BTF_KIND, parseBtf, type Btf } from '../../src/btf/btf.js';
import {
  applyCoreRelocation,
  CORE_POISON_HELPER,
  CoreTarget,
  essentialName,
  resolveCoreRelocation,
  type CorePatch,
  type CoreResolution,
} from '../../src/btf/core.js';
import { BPF_CORE_KIND, coreKindName, coreRelocationCount, parseBtfExt, type BpfCoreKind, type BtfExt, type CoreRelocation } from '../../src/btf/ext.js';
import { readElf, type ElfFile } from '../../src/elf/reader.js';
import { ObjectError } from '../../src/errors.js';
import { INSN_SIZE, Instructions, OP_CALL, OP_LD_IMM64 } from '../../src/insn/instructions.js';
import { tool } from '../support/tools.js';
import {
  bpftoolTypes,
  BtfBuilder,
  encodeWords,
  fixturePath,
  HOST_KERNEL_BTF,
  kernelBtfPaths,
  loadFixture,
  objectError,
  ORDERS,
  prng,
  REPO,
  sectionNamed,
  thrown,
  type Json,
} from './helpers.js';

const K = BPF_CORE_KIND;

// ---------------------------------------------------------------------------------------------
// Fixtures and kernels.

interface Fixture {
  readonly name: string;
  readonly elf: ElfFile;
  readonly btf: Btf;
  readonly ext: BtfExt;
  readonly littleEndian: boolean;
}

function openFixture(name: string): Fixture {
  const elf = readElf(loadFixture(name));
  const btf = parseBtf(elf.sectionData(sectionNamed(elf, '.BTF')), elf.littleEndian);
  const ext = parseBtfExt(elf.sectionData(sectionNamed(elf, '.BTF.ext')), elf.littleEndian, btf);
  return { name, elf, btf, ext, littleEndian: elf.littleEndian };
}

type BpftoolType = Record<string, Json>;

/** A kernel's types as bpftool dumps them: the independent view the resolutions are checked against. */
class KernelTypes {
  private readonly byId = new Map<number, BpftoolType>();

  constructor(readonly types: readonly BpftoolType[]) {
    for (const t of types) this.byId.set(t.id as number, t);
  }

  named(name: string, kind: string): BpftoolType[] {
    return this.types.filter((t) => t.name === name && t.kind === kind);
  }

  /** The one type of that name and kind (the kernel's task_struct, ...). */
  only(name: string, kind: string): BpftoolType {
    const found = this.named(name, kind);
    assert.equal(found.length, 1, `${kind} ${name}: ${found.length} types`);
    return found[0]!;
  }

  type(id: number): BpftoolType {
    return this.byId.get(id)!;
  }

  resolve(id: number): BpftoolType {
    let t = this.type(id);
    while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind as string)) t = this.type(t.type_id as number);
    return t;
  }

  size(id: number): number {
    const t = this.resolve(id);
    if (t.kind === 'PTR') return 8;
    if (t.kind === 'ARRAY') return (t.nr_elems as number) * this.size(t.type_id as number);
    return t.size as number;
  }

  /** The member at `path` of struct `root`, found through anonymous members: its bit offset from the start of root. */
  field(root: string, path: readonly string[]): { bits: number; bitfieldSize: number; typeId: number } | undefined {
    let holder = this.only(root, 'STRUCT');
    let bits = 0;
    let found: { bits: number; member: BpftoolType } | undefined;
    for (const name of path) {
      found = this.member(holder, name);
      if (!found) return undefined;
      bits += found.bits;
      holder = this.resolve(found.member.type_id as number);
    }
    return { bits, bitfieldSize: (found!.member.bitfield_size as number | undefined) ?? 0, typeId: found!.member.type_id as number };
  }

  private member(holder: BpftoolType, name: string): { bits: number; member: BpftoolType } | undefined {
    for (const m of (holder.members as BpftoolType[] | undefined) ?? []) {
      if (m.name === name) return { bits: m.bits_offset as number, member: m };
      if (m.name === '(anon)') {
        const inner = this.member(this.resolve(m.type_id as number), name);
        if (inner) return { bits: (m.bits_offset as number) + inner.bits, member: inner.member };
      }
    }
    return undefined;
  }

  enumerator(enumName: string, name: string): bigint | undefined {
    for (const t of this.types) {
      if ((t.kind === 'ENUM' || t.kind === 'ENUM64') && t.name === enumName) {
        const value = (t.values as BpftoolType[]).find((v) => v.name === name);
        if (value) return BigInt(value.val as string);
      }
    }
    return undefined;
  }

  signed(id: number): boolean {
    const t = this.resolve(id);
    return t.encoding === 'SIGNED';
  }
}

interface Kernel {
  readonly name: string;
  readonly path: string;
  readonly target: CoreTarget;
  readonly types: KernelTypes;
}

const kernels: Kernel[] = kernelBtfPaths().map(({ kernel, path }) => ({
  name: kernel,
  path,
  target: new CoreTarget(parseBtf(new Uint8Array(readFileSync(path)), true)),
  types: new KernelTypes(bpftoolTypes(path)),
}));
const kernel = (name: string): Kernel => kernels.find((k) => k.name === name)!;

interface Relocated {
  readonly relocation: CoreRelocation;
  readonly index: number;
  readonly resolution: CoreResolution;
  readonly patch: CorePatch;
}

/** Every relocation of a fixture resolved against a kernel and applied to a copy of its section. */
function relocate(fixture: Fixture, target: CoreTarget): { results: Relocated[]; before: Map<string, Instructions>; after: Map<string, Instructions> } {
  const before = new Map<string, Instructions>();
  const after = new Map<string, Instructions>();
  const results: Relocated[] = [];
  for (const [section, relocations] of fixture.ext.coreRelocations) {
    const bytes = fixture.elf.sectionData(sectionNamed(fixture.elf, section));
    before.set(section, new Instructions(bytes, fixture.littleEndian));
    const insns = new Instructions(bytes.slice(), fixture.littleEndian);
    after.set(section, insns);
    for (const relocation of relocations) {
      const index = relocation.insnOff / INSN_SIZE;
      const resolution = resolveCoreRelocation(fixture.btf, relocation, target);
      results.push({ relocation, index, resolution, patch: applyCoreRelocation(insns, index, resolution) });
    }
  }
  return { results, before, after };
}

/** The value an instruction holds where relocations patch it: an ALU immediate, a memory offset, a 64-bit immediate. */
function valueAt(insns: Instructions, index: number): bigint {
  const opcode = insns.opcode(index);
  if (opcode === OP_LD_IMM64) return (BigInt(insns.imm(index + 1) >>> 0) << 32n) | BigInt(insns.imm(index) >>> 0);
  const cls = opcode & 7;
  if (cls === 1 || cls === 2 || cls === 3) return BigInt(insns.offset(index));
  return BigInt.asUintN(64, BigInt(insns.imm(index)));
}

/** Bytes a load or store accesses: from its size bits. */
function accessSize(insns: Instructions, index: number): number {
  return { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 }[insns.opcode(index) & 0x18]!;
}

function isPoisoned(insns: Instructions, index: number): boolean {
  return (
    insns.opcode(index) === OP_CALL &&
    insns.imm(index) === CORE_POISON_HELPER &&
    insns.srcReg(index) === 0 &&
    insns.dstReg(index) === 0 &&
    insns.offset(index) === 0
  );
}

/** "struct task_struct.se.on_rq" -> its root type's name and the member path. */
function parseSubject(subject: string): { root: string; path: string[] } {
  const match = /^struct (\w+)((?:\.\w+)*)$/.exec(subject);
  assert.ok(match, subject);
  return { root: match[1]!, path: match[2]!.split('.').filter(Boolean) };
}

/**
 * Reads a bitfield the way the fixtures do (libbpf's BPF_CORE_READ_BITFIELD_PROBED): BYTE_SIZE bytes
 * at BYTE_OFFSET into the low-order bytes of a u64, shifted left by LSHIFT and back right by RSHIFT,
 * arithmetically when SIGNED. The struct is random bytes with `value` in the field's bits, which the
 * kernel's BTF places at bit `bits` (bit 0 the lowest of byte 0 on little-endian, the highest on big-endian).
 */
function readBitfield(
  littleEndian: boolean,
  field: { bits: number; size: number },
  read: { byteOffset: number; byteSize: number; lshift: number; rshift: number; signed: boolean },
  value: bigint,
  random: () => number,
): bigint {
  const image = Uint8Array.from({ length: Math.ceil((field.bits + field.size) / 8) + read.byteSize + 8 }, () => Math.floor(random() * 256));
  for (let k = 0; k < field.size; k++) {
    const position = littleEndian ? field.bits + k : field.bits + field.size - 1 - k;
    const mask = littleEndian ? 1 << (position & 7) : 0x80 >> (position & 7);
    if ((value >> BigInt(k)) & 1n) image[position >> 3]! |= mask;
    else image[position >> 3]! &= ~mask;
  }
  let loaded = 0n;
  for (let i = 0; i < read.byteSize; i++) {
    const byte = BigInt(image[read.byteOffset + i]!);
    loaded |= littleEndian ? byte << BigInt(8 * i) : byte << BigInt(8 * (read.byteSize - 1 - i));
  }
  const shifted = BigInt.asUintN(64, loaded << BigInt(read.lshift));
  return read.signed ? BigInt.asIntN(64, shifted) >> BigInt(read.rshift) : shifted >> BigInt(read.rshift);
}

// ---------------------------------------------------------------------------------------------
// .BTF.ext of the fixtures.

/** The relocations clang wrote for core_task.c (little-endian), in order: [section, kind, access in C terms]. */
const CORE_TASK_RELOCATIONS: ReadonlyArray<readonly [string, BpfCoreKind, string]> = [
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.comm'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.real_parent'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.tgid'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.pid'],
  ['kprobe/do_nanosleep', K.FIELD_EXISTS, 'struct task_struct.saved_state'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.saved_state'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_SIZE, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.FIELD_LSHIFT_U64, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.FIELD_SIGNED, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.FIELD_RSHIFT_U64, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.FIELD_RSHIFT_U64, 'struct task_struct.in_iowait'],
  ['kprobe/do_nanosleep', K.ENUMVAL_EXISTS, 'enum bpf_map_type::BPF_MAP_TYPE_ARENA'],
  ['kprobe/do_nanosleep', K.ENUMVAL_VALUE, 'enum bpf_map_type::BPF_MAP_TYPE_ARENA'],
  ['kprobe/do_nanosleep', K.ENUMVAL_VALUE, 'enum pageflags::PG_swapbacked'],
  ['kprobe/do_nanosleep', K.ENUMVAL_VALUE, 'enum cgroup_subsys_id::CGROUP_SUBSYS_COUNT'],
  ['kprobe/do_nanosleep', K.TYPE_SIZE, 'struct task_struct'],
  ['kprobe/do_nanosleep', K.TYPE_ID_LOCAL, 'struct task_struct'],
  ['kprobe/do_nanosleep', K.TYPE_ID_TARGET, 'struct task_struct'],
  ['kprobe/do_nanosleep', K.TYPE_EXISTS, 'struct bpf_token'],
  ['kprobe/do_nanosleep', K.TYPE_EXISTS, 'struct task_struct'],
  ['kprobe/do_nanosleep', K.TYPE_EXISTS, 'struct task_struct'],
  ['kprobe/do_nanosleep', K.FIELD_BYTE_OFFSET, 'struct task_struct.no_such_field'],
  ['kprobe/ip6_datagram_connect', K.FIELD_BYTE_OFFSET, 'struct pt_regs.di'],
  ['kprobe/ip6_datagram_connect', K.FIELD_BYTE_OFFSET, 'struct ipv6_pinfo.hop_limit'],
  ['kprobe/ip6_datagram_connect', K.FIELD_BYTE_SIZE, 'struct ipv6_pinfo.hop_limit'],
  ['kprobe/ip6_datagram_connect', K.FIELD_LSHIFT_U64, 'struct ipv6_pinfo.hop_limit'],
  ['kprobe/ip6_datagram_connect', K.FIELD_SIGNED, 'struct ipv6_pinfo.hop_limit'],
  ['kprobe/ip6_datagram_connect', K.FIELD_RSHIFT_U64, 'struct ipv6_pinfo.hop_limit'],
  ['kprobe/ip6_datagram_connect', K.FIELD_RSHIFT_U64, 'struct ipv6_pinfo.hop_limit'],
  ['tp_btf/sched_switch', K.FIELD_BYTE_OFFSET, 'struct task_struct.pid'],
  ['tp_btf/sched_switch', K.FIELD_BYTE_OFFSET, 'struct task_struct.pid'],
  ['tp_btf/sched_switch', K.FIELD_BYTE_OFFSET, 'struct task_struct.real_parent'],
  ['tp_btf/sched_switch', K.FIELD_BYTE_OFFSET, 'struct task_struct.tgid'],
  ['fentry/security_file_open', K.FIELD_BYTE_OFFSET, 'struct task_struct.se.on_rq'],
  ['fentry/security_file_open', K.FIELD_BYTE_OFFSET, 'struct file.f_inode'],
  ['fentry/security_file_open', K.FIELD_BYTE_OFFSET, 'struct inode.i_state'],
  ['fentry/security_file_open', K.FIELD_BYTE_OFFSET, 'struct sock.sk_gso_type'],
];

/** llvm-objdump's disassembly of a section: one line per instruction index (a 64-bit load's second slot has none). */
function disassembly(path: string, section: string): Map<number, string> {
  const out = execFileSync(tool('llvm-objdump', 'LLVM_OBJDUMP'), ['-d', '--no-show-raw-insn', `--section=${section}`, path], { encoding: 'utf8' });
  const lines = new Map<number, string>();
  for (const line of out.split('\n')) {
    const match = /^\s*(\d+):\t(.*)$/.exec(line);
    if (match) lines.set(Number(match[1]), match[2]!);
  }
  return lines;
}

/** The DWARF line table's rows, per sequence (one per function here): "address line column". */
function dwarfLineRows(path: string): Array<Set<string>> {
  const out = execFileSync(tool('llvm-dwarfdump', 'LLVM_DWARFDUMP'), ['--debug-line', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const sequences: Array<Set<string>> = [new Set()];
  for (const line of out.split('\n')) {
    const match = /^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s.*?(end_sequence)?$/.exec(line);
    if (!match) continue;
    sequences.at(-1)!.add(`${parseInt(match[1]!, 16)} ${match[2]} ${match[3]}`);
    if (match[4]) sequences.push(new Set());
  }
  return sequences.filter((s) => s.size > 0);
}

describe('parseBtfExt on the fixtures', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: func_info names each program's function, as bpftool and the ELF symbols do`, () => {
      for (const name of [`core_task${suffix}`, `core_ambiguous${suffix}`, `btf_core${suffix}`, `btf_prog_array${suffix}`]) {
        const fixture = openFixture(name);
        const funcs = new Map(bpftoolTypes(fixturePath(name)).filter((t) => t.kind === 'FUNC').map((t) => [t.id as number, t.name as string]));
        const programs = fixture.elf.sections.filter((s) => (s.flags & 4n) !== 0n && s.size > 0);
        assert.deepEqual([...fixture.ext.funcInfo.keys()].sort(), programs.map((s) => s.name).sort(), name);
        for (const [section, records] of fixture.ext.funcInfo) {
          const index = sectionNamed(fixture.elf, section).index;
          const symbols = fixture.elf.symbols.filter((s) => s.sectionIndex === index && s.type === 2);
          assert.deepEqual(
            records.map((r) => [r.insnOff, funcs.get(r.typeId)]),
            symbols.map((s) => [Number(s.value), s.name]).sort((a, b) => (a[0] as number) - (b[0] as number)),
            `${name} ${section}`,
          );
        }
      }
    });

    test(`${order}: line_info gives the source line's text, and the DWARF line table has the same rows`, () => {
      // The core_* fixtures have their DWARF stripped; the others keep it.
      for (const name of [`core_task${suffix}`, `core_ambiguous${suffix}`, `btf_core${suffix}`, `btf_prog_array${suffix}`]) {
        const fixture = openFixture(name);
        const sequences = fixture.elf.sectionByName('.debug_line') ? dwarfLineRows(fixturePath(name)) : undefined;
        assert.equal(sequences === undefined, name.startsWith('core_'), name);
        let checked = 0;
        for (const [section, records] of fixture.ext.lineInfo) {
          assert.ok(records.length > 0);
          // Column 0 marks where a function starts (BTF gives the line its declaration starts on, DWARF the
          // one its name is on) and code of no line (line 0, whose DWARF rows keep a column).
          const rows = records.filter((r) => r.column > 0).map((r) => `${r.insnOff} ${r.lineNumber} ${r.column}`);
          if (sequences) {
            assert.ok(
              sequences.some((sequence) => rows.every((row) => sequence.has(row))),
              `${name} ${section}: no DWARF sequence has all of ${rows.join(', ')}`,
            );
          }
          for (const record of records) {
            assert.equal(record.lineCol, record.lineNumber * 1024 + record.column);
            if (record.lineNumber === 0) continue;
            const file = isAbsolute(record.fileName) ? record.fileName : join(REPO, 'test', 'fixtures', record.fileName);
            const source = readFileSync(file, 'utf8').split('\n')[record.lineNumber - 1]!;
            assert.equal(record.line.trim(), source.trim(), `${name} ${section} insn ${record.insnOff / 8}`);
            assert.ok(record.column <= source.length + 1, `column ${record.column} of ${source}`);
            checked++;
          }
        }
        assert.ok(checked >= 3, `${name}: ${checked} lines`);
      }
    });

    test(`${order}: core_task's CO-RE records, with the values llvm-objdump shows in their instructions`, () => {
      const name = `core_task${suffix}`;
      const fixture = openFixture(name);
      const all = [...fixture.ext.coreRelocations.values()].flat();
      assert.equal(coreRelocationCount(fixture.elf.sectionData(sectionNamed(fixture.elf, '.BTF.ext')), fixture.littleEndian), all.length);
      // Big-endian bitfield reads need the field size once more, for where the bytes go in the u64.
      const expected = fixture.littleEndian
        ? CORE_TASK_RELOCATIONS
        : CORE_TASK_RELOCATIONS.flatMap((r) => (r[1] === K.FIELD_BYTE_SIZE ? [r, r] : [r]));
      const debian61 = kernel('6.1').target;
      const resolved = all.map((r) => ({ relocation: r, resolution: resolveCoreRelocation(fixture.btf, r, debian61) }));
      assert.deepEqual(
        resolved.map(({ relocation, resolution }) => [relocation.section, relocation.kind, resolution.subject]),
        expected.map(([section, kind, subject]) => [section, kind, subject]),
      );
      for (const section of fixture.ext.coreRelocations.keys()) {
        const lines = disassembly(fixturePath(name), section);
        for (const { relocation, resolution } of resolved.filter((r) => r.relocation.section === section)) {
          const text = lines.get(relocation.insnOff / 8);
          assert.ok(text, `${section}: no instruction ${relocation.insnOff / 8}`);
          if (!resolution.validate) continue;
          // The local value is what the compiler wrote: an immediate, a memory offset or a 64-bit immediate.
          const value = resolution.localValue;
          const shown = value >= 1n << 63n ? String(BigInt.asIntN(64, value)) : String(value);
          assert.match(text, new RegExp(`(= ${shown}( ll)?|[-+]= ${shown}|[<>]= ${shown}| \\+ ${shown}\\))$`), `${section} ${relocation.insnOff / 8}: ${text} for ${resolution.subject}`);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// CO-RE against three kernels.

/**
 * What a whole-field load or store becomes on a kernel, from bpftool's types and libbpf's rule for
 * resizing. `local` is the object's own types, where the root may have a flavor.
 */
function expectedAccess(types: KernelTypes, local: KernelTypes, localRoot: string, path: string[]): { offset: number; size: number } | 'poisoned' {
  const target = types.field(essentialName(localRoot), path);
  const before = local.field(localRoot, path)!;
  if (!target) return 'poisoned';
  const from = local.resolve(before.typeId);
  const to = types.resolve(target.typeId);
  const size = types.size(target.typeId);
  // Only the same kind of thing can be read at all; a size change only for unsigned integers and pointers.
  if (from.kind !== to.kind) return 'poisoned';
  if (size !== local.size(before.typeId) && !(from.kind === 'PTR' || (from.kind === 'INT' && from.encoding !== 'SIGNED' && to.encoding !== 'SIGNED'))) return 'poisoned';
  return { offset: target.bits / 8, size };
}

describe('CO-RE relocations of core_task against the kernels', () => {
  test('the kernels: Debian 6.1 and 6.12 from the cache of test/vm/kernel-btf.sh, and the host', () => {
    assert.deepEqual(
      kernels.map((k) => [k.name, basename(k.path).split('.').slice(0, 2).join('.')]),
      [['6.1', '6.1'], ['6.12', '6.12'], ...(existsSync(HOST_KERNEL_BTF) ? [['host', 'vmlinux']] : [])],
    );
  });

  for (const { order, suffix } of ORDERS) {
    const fixture = openFixture(`core_task${suffix}`);
    // The object's own types, flavors and all, as bpftool sees them.
    const localTypes = new KernelTypes(bpftoolTypes(fixturePath(`core_task${suffix}`)));
    const localRoot = (r: Relocated): string => fixture.btf.type(r.relocation.typeId).name;

    for (const k of kernels) {
      const { results, before, after } = relocate(fixture, k.target);
      const at = (section: string, subject: string, kind: BpfCoreKind): Relocated[] =>
        results.filter((r) => r.relocation.section === section && r.resolution.subject === subject && r.relocation.kind === kind);

      test(`${order}, ${k.name}: whole fields and pointer chases land on the kernel's offsets`, () => {
        let checked = 0;
        for (const r of results) {
          if (r.relocation.kind !== K.FIELD_BYTE_OFFSET) continue;
          const { root, path } = parseSubject(r.resolution.subject);
          const field = k.types.field(root, path);
          if (!field || field.bitfieldSize > 0 || localTypes.field(localRoot(r), path)!.bitfieldSize > 0) continue;
          const expected = expectedAccess(k.types, localTypes, localRoot(r), path);
          if (expected === 'poisoned') continue;
          assert.equal(valueAt(after.get(r.relocation.section)!, r.index), BigInt(expected.offset), `${r.resolution.subject} at ${r.index}`);
          assert.equal(r.resolution.targetTypeId, k.types.only(root, 'STRUCT').id);
          checked++;
        }
        assert.ok(checked >= 12, `${checked} field offsets`);
        // task->real_parent->tgid: two relocations, both against task_struct.
        for (const section of ['kprobe/do_nanosleep', 'tp_btf/sched_switch']) {
          assert.equal(at(section, 'struct task_struct.real_parent', K.FIELD_BYTE_OFFSET).length, 1);
          assert.equal(at(section, 'struct task_struct.tgid', K.FIELD_BYTE_OFFSET).length, 1);
        }
      });

      test(`${order}, ${k.name}: loads of fields whose size changed change size, or are poisoned`, () => {
        const loads = results.filter((r) => r.relocation.section === 'fentry/security_file_open' || r.relocation.section === 'tp_btf/sched_switch');
        assert.equal(loads.length, 8);
        for (const r of loads) {
          const insns = after.get(r.relocation.section)!;
          const original = before.get(r.relocation.section)!;
          const expected = expectedAccess(k.types, localTypes, localRoot(r), parseSubject(r.resolution.subject).path);
          if (expected === 'poisoned') {
            assert.ok(isPoisoned(insns, r.index), `${r.resolution.subject} on ${k.name}`);
            assert.equal(r.patch.poisoned, true);
            continue;
          }
          assert.equal(r.patch.poisoned, false, r.resolution.subject);
          assert.equal(valueAt(insns, r.index), BigInt(expected.offset), r.resolution.subject);
          assert.equal(accessSize(insns, r.index), expected.size, r.resolution.subject);
          // The load keeps its class, mode and registers.
          assert.equal(insns.opcode(r.index) & ~0x18, original.opcode(r.index) & ~0x18);
          assert.equal(insns.dstReg(r.index), original.dstReg(r.index));
          assert.equal(insns.srcReg(r.index), original.srcReg(r.index));
        }
        // The facts the fixture was written for.
        const access = (subject: string): string => {
          const [r] = at('fentry/security_file_open', subject, K.FIELD_BYTE_OFFSET);
          const insns = after.get('fentry/security_file_open')!;
          return isPoisoned(insns, r!.index) ? 'poisoned' : `${accessSize(insns, r!.index)} bytes`;
        };
        const facts: Record<string, string[]> = { '6.1': ['4 bytes', '8 bytes', '4 bytes'], '6.12': ['1 bytes', '4 bytes', 'poisoned'] };
        const fields = ['struct task_struct.se.on_rq', 'struct inode.i_state', 'struct sock.sk_gso_type'];
        if (facts[k.name]) assert.deepEqual(fields.map(access), facts[k.name]);
        if (k.name === '6.12') {
          const [gso] = at('fentry/security_file_open', 'struct sock.sk_gso_type', K.FIELD_BYTE_OFFSET);
          assert.deepEqual(gso!.patch, {
            poisoned: true,
            reason: 'struct sock.sk_gso_type: its size changes from 4 to 2 bytes and it is not an unsigned integer or a pointer',
          });
        }
      });

      test(`${order}, ${k.name}: bitfields read back what the kernel stores in them`, () => {
        const random = prng(0x5eed);
        const cases = [
          { section: 'kprobe/do_nanosleep', root: 'task_struct', field: 'in_iowait', values: [0n, 1n] },
          { section: 'kprobe/ip6_datagram_connect', root: 'ipv6_pinfo', field: 'hop_limit', values: [-3n, 255n, -256n, 0n, 64n] },
        ];
        for (const { section, root, field, values } of cases) {
          const subject = `struct ${root}.${field}`;
          const insns = after.get(section)!;
          const one = (kind: BpfCoreKind): number => {
            const found = at(section, subject, kind).map((r) => valueAt(insns, r.index));
            assert.ok(found.length > 0 && found.every((v) => v === found[0]), `${subject} ${coreKindName(kind)}: ${found.join(', ')}`);
            return Number(found[0]);
          };
          const read = {
            byteOffset: one(K.FIELD_BYTE_OFFSET),
            byteSize: one(K.FIELD_BYTE_SIZE),
            lshift: one(K.FIELD_LSHIFT_U64),
            rshift: one(K.FIELD_RSHIFT_U64),
            signed: one(K.FIELD_SIGNED) === 1,
          };
          const truth = k.types.field(root, [field])!;
          assert.equal(read.signed, k.types.signed(truth.typeId), `${subject} signedness`);
          const size = truth.bitfieldSize || k.types.size(truth.typeId) * 8;
          assert.ok([1, 2, 4, 8].includes(read.byteSize), `${subject}: ${read.byteSize} bytes`);
          for (const value of values) {
            const stored = read.signed ? value : BigInt.asUintN(size, value);
            assert.equal(readBitfield(fixture.littleEndian, { bits: truth.bits, size }, read, BigInt.asUintN(size, value), random), stored, `${subject} = ${value} on ${k.name}: ${JSON.stringify(read)}`);
          }
        }
        // hop_limit is a 9-bit bitfield in 6.1 and a whole __s16 since.
        if (k.name === '6.1') assert.equal(k.types.field('ipv6_pinfo', ['hop_limit'])!.bitfieldSize, 9);
        if (k.name === '6.12') assert.equal(k.types.field('ipv6_pinfo', ['hop_limit'])!.bitfieldSize, 0);
      });

      test(`${order}, ${k.name}: existence, enum values, type size and ids`, () => {
        const section = 'kprobe/do_nanosleep';
        const insns = after.get(section)!;
        const value = (kind: BpfCoreKind, subject: string): bigint | 'poisoned' => {
          const [r, ...more] = at(section, subject, kind);
          assert.ok(r && more.length === 0, `${coreKindName(kind)} ${subject}`);
          return isPoisoned(insns, r.index) ? 'poisoned' : valueAt(insns, r.index);
        };
        const savedState = k.types.field('task_struct', ['saved_state']);
        assert.equal(value(K.FIELD_EXISTS, 'struct task_struct.saved_state'), savedState ? 1n : 0n);
        assert.equal(value(K.FIELD_BYTE_OFFSET, 'struct task_struct.saved_state'), savedState ? BigInt(savedState.bits / 8) : 'poisoned');
        const arena = k.types.enumerator('bpf_map_type', 'BPF_MAP_TYPE_ARENA');
        assert.equal(value(K.ENUMVAL_EXISTS, 'enum bpf_map_type::BPF_MAP_TYPE_ARENA'), arena === undefined ? 0n : 1n);
        assert.equal(value(K.ENUMVAL_VALUE, 'enum bpf_map_type::BPF_MAP_TYPE_ARENA'), arena ?? 'poisoned');
        assert.equal(value(K.ENUMVAL_VALUE, 'enum pageflags::PG_swapbacked'), k.types.enumerator('pageflags', 'PG_swapbacked'));
        assert.equal(value(K.ENUMVAL_VALUE, 'enum cgroup_subsys_id::CGROUP_SUBSYS_COUNT'), k.types.enumerator('cgroup_subsys_id', 'CGROUP_SUBSYS_COUNT'));
        const task = k.types.only('task_struct', 'STRUCT');
        assert.equal(value(K.TYPE_SIZE, 'struct task_struct'), BigInt(task.size as number));
        assert.equal(value(K.TYPE_ID_TARGET, 'struct task_struct'), BigInt(task.id as number));
        assert.equal(value(K.TYPE_ID_LOCAL, 'struct task_struct'), BigInt(localTypes.only('task_struct', 'STRUCT').id as number));
        assert.equal(value(K.TYPE_EXISTS, 'struct bpf_token'), k.types.named('bpf_token', 'STRUCT').length > 0 ? 1n : 0n);
        assert.equal(value(K.FIELD_BYTE_OFFSET, 'struct task_struct.no_such_field'), 'poisoned');
        // The facts the fixture was written for.
        const facts: Record<string, [boolean, boolean]> = { '6.1': [false, false], '6.12': [true, true] };
        if (facts[k.name]) assert.deepEqual([savedState !== undefined, arena !== undefined], facts[k.name]);
        // The poisoned 64-bit load of BPF_MAP_TYPE_ARENA's value takes both of its slots.
        const [arenaValue] = at(section, 'enum bpf_map_type::BPF_MAP_TYPE_ARENA', K.ENUMVAL_VALUE);
        assert.equal(before.get(section)!.opcode(arenaValue!.index), OP_LD_IMM64);
        assert.equal(isPoisoned(insns, arenaValue!.index + 1), arena === undefined);
      });

      test(`${order}, ${k.name}: poisoned reads say what is missing; nothing else in the program changed`, () => {
        const missing = results.find((r) => r.resolution.subject === 'struct task_struct.no_such_field')!;
        assert.deepEqual(missing.patch, { poisoned: true, reason: 'struct task_struct.no_such_field not found in kernel BTF' });
        assert.equal(missing.resolution.missing, 'not found in kernel BTF');
        for (const [section, insns] of after) {
          const original = before.get(section)!;
          const patched = new Set(results.filter((r) => r.relocation.section === section).flatMap((r) => (original.opcode(r.index) === OP_LD_IMM64 ? [r.index, r.index + 1] : [r.index])));
          for (let i = 0; i < insns.count; i++) {
            if (patched.has(i)) continue;
            assert.deepEqual(insns.bytes.subarray(i * 8, i * 8 + 8), original.bytes.subarray(i * 8, i * 8 + 8), `${section} instruction ${i}`);
          }
        }
      });

      test(`${order}, ${k.name}: TYPE_MATCHES, which clang 14 cannot emit, on records written here`, () => {
        const local = (name: string): number => fixture.btf.typesNamed(name).find((t) => t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.ENUM)!.id;
        const match = (name: string): bigint => {
          const relocation: CoreRelocation = { section: 'test', insnOff: 0, typeId: local(name), accessStrOff: 0, accessStr: '0', kind: K.TYPE_MATCHES };
          const insns = instruction(fixture.littleEndian, MOV64_K, 0, 0, 0, 1);
          applyCoreRelocation(insns, 0, resolveCoreRelocation(fixture.btf, relocation, k.target));
          return valueAt(insns, 0);
        };
        // pid_t pid, tgid; struct task_struct *real_parent: in every kernel.
        assert.equal(match('task_struct___match'), 1n);
        assert.equal(match('task_struct___mismatch'), 0n, 'long pid');
        assert.equal(match('bpf_map_type___arena'), k.types.enumerator('bpf_map_type', 'BPF_MAP_TYPE_ARENA') === undefined ? 0n : 1n);
        // Integers must have the same name too: clang's "unsigned long long" is gcc's "long long unsigned int", and char
        // is signed for BPF but not in the kernel's BTF. So, as with libbpf, most of the kernel's own structs match
        // nothing: not even 6.1's task_struct or sched_entity matches 6.1. A struct of pointers does.
        assert.equal(match('task_struct'), 0n);
        assert.equal(match('sched_entity'), 0n);
        assert.equal(match('list_head'), 1n);
      });
    }
  }

  test('a kernel type with a flavored twin: candidates that agree resolve, a type id is ambiguous', () => {
    for (const k of kernels) {
      for (const { suffix } of ORDERS) {
        const fixture = openFixture(`core_ambiguous${suffix}`);
        const relocations = [...fixture.ext.coreRelocations.values()].flat();
        const resolve = (kind: BpfCoreKind): CoreResolution => resolveCoreRelocation(fixture.btf, relocations.find((r) => r.kind === kind)!, k.target);
        const nfConn = k.types.only('nf_conn', 'STRUCT');
        assert.equal(k.types.only('nf_conn___init', 'STRUCT').size, nfConn.size);
        assert.equal(resolve(K.TYPE_SIZE).targetValue, BigInt(nfConn.size as number));
        assert.equal(resolve(K.TYPE_EXISTS).targetValue, 1n);
        const status = resolveCoreRelocation(fixture.btf, fixture.ext.coreRelocations.get('.text')![0]!, k.target);
        assert.equal(status.subject, 'struct nf_conn.status');
        assert.equal(status.targetValue, BigInt(k.types.field('nf_conn', ['status'])!.bits / 8));
        assert.equal(status.targetTypeId, nfConn.id);
        const twin = k.types.only('nf_conn___init', 'STRUCT').id;
        assert.equal(
          objectError(() => resolve(K.TYPE_ID_TARGET)).message,
          `CO-RE target_type_id relocation at instruction ${relocations.find((r) => r.kind === K.TYPE_ID_TARGET)!.insnOff / 8} of section 'kprobe/nf_conntrack_free' (struct nf_conn): ` +
            `ambiguous: kernel BTF type ${nfConn.id} (struct 'nf_conn') gives ${nfConn.id} and type ${twin} (struct 'nf_conn___init') gives ${twin}`,
        );
      }
    }
  });

  test('candidates are looked up once per local type, and per object', () => {
    const target = kernel('6.12').target;
    const a = openFixture('core_task.o');
    const b = openFixture('core_task.bpfeb.o');
    const struct = (btf: Btf, name: string): number => btf.typesNamed(name, BTF_KIND.STRUCT)[0]!.id;
    const first = target.candidates(a.btf, struct(a.btf, 'task_struct'));
    assert.equal(target.candidates(a.btf, struct(a.btf, 'task_struct')), first);
    assert.deepEqual(first, [kernel('6.12').types.only('task_struct', 'STRUCT').id]);
    assert.notEqual(target.candidates(b.btf, struct(b.btf, 'task_struct')), first);
    // A flavor finds the kernel's type.
    assert.deepEqual(target.candidates(a.btf, struct(a.btf, 'task_struct___flavor')), first);
    // The kernel's own flavored type is a candidate too.
    const nf = openFixture('core_ambiguous.o');
    assert.deepEqual(
      target.candidates(nf.btf, struct(nf.btf, 'nf_conn')),
      [kernel('6.12').types.only('nf_conn', 'STRUCT').id as number, kernel('6.12').types.only('nf_conn___init', 'STRUCT').id as number].sort((x, y) => x - y),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// libbpf's rules on hand-made BTF.

/** A local and a target BTF written by `define`. */
function handMade(define: (local: BtfBuilder, target: BtfBuilder) => void, littleEndian = true): { local: Btf; target: CoreTarget } {
  const local = new BtfBuilder(littleEndian);
  const target = new BtfBuilder(true);
  define(local, target);
  return { local: parseBtf(local.bytes(), littleEndian), target: new CoreTarget(parseBtf(target.bytes(), true), 'target BTF') };
}

/** A struct or union with members at the given byte offsets. */
function laidOut(b: BtfBuilder, name: string, size: number, members: ReadonlyArray<readonly [string, number, number]>, union = false): number {
  return b.raw(name, union ? 5 : 4, members.length, size, members.flatMap(([member, type, offset]) => [b.strings.add(member), type, offset * 8]));
}

const relo = (typeId: number, accessStr: string, kind: BpfCoreKind): CoreRelocation => ({ section: 'kprobe/x', insnOff: 0, typeId, accessStrOff: 0, accessStr, kind });

/** One instruction (or two, for a 64-bit load: `next` is the second one's immediate) built from its fields. */
function instruction(littleEndian: boolean, opcode: number, dst: number, src: number, off: number, imm: number, next?: number): Instructions {
  const insns = new Instructions(new Uint8Array(next === undefined ? 8 : 16), littleEndian);
  insns.setOpcode(0, opcode);
  insns.setDstReg(0, dst);
  insns.setSrcReg(0, src);
  insns.setOffset(0, off);
  insns.setImm(0, imm);
  if (next !== undefined) insns.setImm(1, next);
  return insns;
}

const LDX_W = 0x61;
const LDX_B = 0x71;
const LDX_DW = 0x79;
const STX_W = 0x63;
const STX_DW = 0x7b;
const ADD64_K = 0x07;
const MOV64_K = 0xb7;
const MOV64_X = 0xbf;
const JA = 0x05;

describe('CO-RE rules on hand-made BTF', () => {
  /** struct foo { u32 a; u32 x; } locally (type 2), and the target's as `target` writes it. */
  const foo = (target: (t: BtfBuilder) => void, littleEndian = true): { local: Btf; target: CoreTarget } =>
    handMade((l, t) => {
      const u32 = l.int('unsigned int', 4);
      laidOut(l, 'foo', 8, [
        ['a', u32, 0],
        ['x', u32, 4],
      ]);
      target(t);
    }, littleEndian);
  const fooX = relo(2, '0:1', K.FIELD_BYTE_OFFSET);

  for (const { order, littleEndian } of ORDERS) {
    test(`${order}: a load of an unsigned field that grew becomes a wider load; a signed one is poisoned`, () => {
      const grown = foo((t) => {
        const u64 = t.int('unsigned long', 8);
        laidOut(t, 'foo', 24, [
          ['a', u64, 0],
          ['x', u64, 16],
        ]);
      }, littleEndian);
      const resolution = resolveCoreRelocation(grown.local, fooX, grown.target);
      assert.deepEqual([resolution.localValue, resolution.targetValue, resolution.localSize, resolution.targetSize], [4n, 16n, 4, 8]);
      const load = instruction(littleEndian, LDX_W, 3, 1, 4, 0);
      assert.deepEqual(applyCoreRelocation(load, 0, resolution), { poisoned: false });
      assert.deepEqual([load.opcode(0), load.dstReg(0), load.srcReg(0), load.offset(0)], [LDX_DW, 3, 1, 16]);
      const store = instruction(littleEndian, STX_W, 1, 3, 4, 0);
      applyCoreRelocation(store, 0, resolution);
      assert.deepEqual([store.opcode(0), store.offset(0)], [STX_DW, 16]);

      const signed = foo((t) => {
        const s8 = t.int('signed char', 1, true);
        laidOut(t, 'foo', 2, [
          ['a', s8, 0],
          ['x', s8, 1],
        ]);
      }, littleEndian);
      const poisoned = resolveCoreRelocation(signed.local, fooX, signed.target);
      assert.equal(poisoned.sizeConflict, 'its size changes from 4 to 1 bytes and it is not an unsigned integer or a pointer');
      const load2 = instruction(littleEndian, LDX_W, 3, 1, 4, 0);
      assert.deepEqual(applyCoreRelocation(load2, 0, poisoned), {
        poisoned: true,
        reason: 'struct foo.x: its size changes from 4 to 1 bytes and it is not an unsigned integer or a pointer',
      });
      assert.ok(isPoisoned(load2, 0));
      // The conflict is only about loads and stores: an address computation takes the offset.
      const add = instruction(littleEndian, ADD64_K, 1, 0, 0, 4);
      applyCoreRelocation(add, 0, poisoned);
      assert.equal(add.imm(0), 1);
    });

    test(`${order}: a field no load can read, or beyond a load's 16-bit offset: ObjectError when a load reads it`, () => {
      const huge = foo((t) => {
        const u128 = t.int('unsigned __int128', 16);
        laidOut(t, 'foo', 32, [
          ['a', u128, 0],
          ['x', u128, 16],
        ]);
      }, littleEndian);
      const resolution = resolveCoreRelocation(huge.local, fooX, huge.target);
      const prefix = "CO-RE byte_off relocation of struct foo.x at instruction 0 of section 'kprobe/x': ";
      assert.equal(
        objectError(() => applyCoreRelocation(instruction(littleEndian, LDX_W, 3, 1, 4, 0), 0, resolution)).message,
        `${prefix}the field is 16 bytes on the target, which no load or store can access`,
      );
      assert.equal(
        objectError(() => applyCoreRelocation(instruction(littleEndian, LDX_B, 3, 1, 4, 0), 0, resolution)).message,
        `${prefix}the instruction accesses 1 bytes, but the field is 4`,
      );
      const far = foo((t) => {
        const u32 = t.int('unsigned int', 4);
        laidOut(t, 'foo', 0x8004, [
          ['a', u32, 0],
          ['x', u32, 0x8000],
        ]);
      }, littleEndian);
      const farOff = resolveCoreRelocation(far.local, fooX, far.target);
      assert.equal(
        objectError(() => applyCoreRelocation(instruction(littleEndian, LDX_W, 3, 1, 4, 0), 0, farOff)).message,
        `${prefix}the target offset 32768 does not fit the instruction's 16-bit offset`,
      );
      const add = instruction(littleEndian, ADD64_K, 1, 0, 0, 4);
      applyCoreRelocation(add, 0, farOff);
      assert.equal(add.imm(0), 0x8000);
    });

    test(`${order}: the instruction must hold the local value, in a form a relocation patches`, () => {
      const same = foo((t) => {
        const u32 = t.int('unsigned int', 4);
        laidOut(t, 'foo', 8, [
          ['a', u32, 0],
          ['x', u32, 4],
        ]);
      }, littleEndian);
      const resolution = resolveCoreRelocation(same.local, fooX, same.target);
      const prefix = "CO-RE byte_off relocation of struct foo.x at instruction 0 of section 'kprobe/x': ";
      const secondHalf = instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 4, 0);
      secondHalf.setOffset(1, 2);
      const cases: Array<[Instructions, string]> = [
        [instruction(littleEndian, LDX_W, 3, 1, 8, 0), "the instruction's offset is 8, but the object's BTF gives 4"],
        [instruction(littleEndian, MOV64_K, 1, 0, 0, 5), "the instruction's immediate is 5, but the object's BTF gives 4"],
        [instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 4, 1), "the instruction's immediate is 4294967300, but the object's BTF gives 4"],
        [instruction(littleEndian, MOV64_X, 1, 2, 0, 4), 'opcode 0xbf takes a register, not an immediate'],
        [instruction(littleEndian, JA, 0, 0, 4, 0), 'opcode 0x05 is not an ALU, load, store or 64-bit immediate instruction, which relocations patch'],
        [instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 4), 'a 64-bit immediate load is missing its second half'],
        [instruction(littleEndian, OP_LD_IMM64, 1, 1, 0, 4, 0), 'opcode 0x18 is not a plain 64-bit immediate load'],
        [instruction(littleEndian, 0x20, 1, 0, 0, 4), 'opcode 0x20 is not a plain 64-bit immediate load'],
        [secondHalf, 'the second half of the 64-bit immediate load is not blank'],
      ];
      for (const [insns, message] of cases) {
        assert.equal(objectError(() => applyCoreRelocation(insns, 0, resolution)).message, prefix + message);
      }
      assert.equal(
        objectError(() => applyCoreRelocation(instruction(littleEndian, MOV64_K, 1, 0, 0, 4), 1, resolution)).message,
        "CO-RE byte_off relocation of struct foo.x at instruction 1 of section 'kprobe/x': the section has 1 instructions",
      );
      const ldImm64 = instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 4, 0);
      applyCoreRelocation(ldImm64, 0, resolution);
      assert.equal(valueAt(ldImm64, 0), 4n);
    });

    test(`${order}: 64-bit values: a 32-bit enumerator widens with its sign (as libbpf has it), an enum64 one is whole`, () => {
      const enums = handMade((l, t) => {
        l.enum('e', 4, [['E_BIG', 1]]);
        l.enum('f', 8, [['F_HUGE', 1]]);
        t.enum('e', 4, [['E_BIG', -2]]);
        t.enum64('f', [['F_HUGE', 0x1_2345_6789n]]);
      }, littleEndian);
      const big = resolveCoreRelocation(enums.local, relo(1, '0', K.ENUMVAL_VALUE), enums.target);
      assert.equal(big.targetValue, 0xffff_ffff_ffff_fffen);
      const load = instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 1, 0);
      applyCoreRelocation(load, 0, big);
      assert.equal(valueAt(load, 0), 0xffff_ffff_ffff_fffen);
      const huge = resolveCoreRelocation(enums.local, relo(2, '0', K.ENUMVAL_VALUE), enums.target);
      assert.equal(huge.subject, 'enum f::F_HUGE');
      const load2 = instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 1, 0);
      applyCoreRelocation(load2, 0, huge);
      assert.equal(valueAt(load2, 0), 0x1_2345_6789n);
      // A mov takes the sign-extended value, not one of 33 bits.
      const mov = instruction(littleEndian, MOV64_K, 1, 0, 0, 1);
      applyCoreRelocation(mov, 0, big);
      assert.equal(mov.imm(0), -2);
      assert.match(objectError(() => applyCoreRelocation(instruction(littleEndian, MOV64_K, 1, 0, 0, 1), 0, huge)).message, /: the target value 4886718345 does not fit a 32-bit immediate$/);
    });

    test(`${order}: poisoning a 64-bit load takes both slots; existence checks and type kinds resolve to 0 instead`, () => {
      const missing = handMade((l, t) => {
        l.enum('e', 4, [['E_GONE', 7]]);
        const u32 = l.int('unsigned int', 4);
        l.struct('gone', 4, [['x', u32]]);
        t.enum('e', 4, [['E_OTHER', 1]]);
        t.int('unsigned int', 4);
      }, littleEndian);
      const value = resolveCoreRelocation(missing.local, relo(1, '0', K.ENUMVAL_VALUE), missing.target);
      assert.deepEqual([value.poisoned, value.missing], [true, 'not found in target BTF']);
      const load = instruction(littleEndian, OP_LD_IMM64, 1, 0, 0, 7, 0);
      assert.deepEqual(applyCoreRelocation(load, 0, value), { poisoned: true, reason: 'enum e::E_GONE not found in target BTF' });
      assert.ok(isPoisoned(load, 0) && isPoisoned(load, 1));
      for (const [typeId, accessStr, kind, local] of [
        [1, '0', K.ENUMVAL_EXISTS, 1n],
        [3, '0:0', K.FIELD_EXISTS, 1n],
        [3, '0', K.TYPE_EXISTS, 1n],
        [3, '0', K.TYPE_SIZE, 4n],
        [3, '0', K.TYPE_ID_TARGET, 3n],
        [3, '0', K.TYPE_MATCHES, 1n],
      ] as const) {
        const resolution = resolveCoreRelocation(missing.local, relo(typeId, accessStr, kind), missing.target);
        assert.deepEqual([resolution.poisoned, resolution.localValue, resolution.targetValue], [false, local, 0n], coreKindName(kind));
        const mov = instruction(littleEndian, MOV64_K, 1, 0, 0, Number(local));
        assert.deepEqual(applyCoreRelocation(mov, 0, resolution), { poisoned: false });
        assert.equal(mov.imm(0), 0);
      }
      // The local type id needs no target and is not checked against the instruction.
      const local = resolveCoreRelocation(missing.local, relo(3, '0', K.TYPE_ID_LOCAL), missing.target);
      const mov = instruction(littleEndian, MOV64_K, 1, 0, 0, 99);
      applyCoreRelocation(mov, 0, local);
      assert.equal(mov.imm(0), 3);
    });
  }

  test('candidates that agree are fine; ones that put the field elsewhere are ambiguous', () => {
    const withTwin = (twinOffset: number): { local: Btf; target: CoreTarget } =>
      foo((t) => {
        const u32 = t.int('unsigned int', 4);
        laidOut(t, 'foo', 12, [
          ['a', u32, 0],
          ['x', u32, 8],
        ]);
        laidOut(t, 'foo___v2', 12, [
          ['x', u32, twinOffset],
          ['a', u32, 4],
        ]);
      });
    const agreeing = withTwin(8);
    const resolution = resolveCoreRelocation(agreeing.local, fooX, agreeing.target);
    assert.deepEqual([resolution.targetValue, resolution.targetTypeId], [8n, 2]);
    const conflicting = withTwin(0);
    assert.equal(
      objectError(() => resolveCoreRelocation(conflicting.local, fooX, conflicting.target)).message,
      "CO-RE byte_off relocation at instruction 0 of section 'kprobe/x' (struct foo.x): ambiguous: target BTF type 2 (struct 'foo') puts it at bit 64 and type 3 (struct 'foo___v2') at bit 0",
    );
    // A field of an incompatible type is not found there; a type with the name but of another kind is no candidate.
    const incompatible = foo((t) => {
      const u32 = t.int('unsigned int', 4);
      const ptr = t.ptr(u32);
      laidOut(t, 'foo', 16, [
        ['a', u32, 0],
        ['x', ptr, 8],
      ]);
      t.typedef('foo', u32);
    });
    assert.deepEqual(incompatible.target.candidates(incompatible.local, 2), [3]);
    const none = resolveCoreRelocation(incompatible.local, fooX, incompatible.target);
    assert.deepEqual([none.poisoned, none.missing], [true, 'is of an incompatible type in target BTF']);
  });

  test('TYPE_MATCHES: member names, kinds, sizes and signs; enumerator names; a struct behind a pointer matches its declaration', () => {
    const ids: Record<string, number> = {};
    const btf = handMade((l, t) => {
      const int = l.int('int', 4, true);
      const uint = l.int('unsigned int', 4);
      const inner = l.struct('inner', 4, [['v', int]]);
      const color = l.enum('color', 4, [
        ['RED', 0],
        ['BLUE', 1],
      ]);
      const purple = l.enum('color___purple', 4, [['PURPLE', 2]]);
      const member = (name: string, members: ReadonlyArray<readonly [string, number, number]>): void => {
        ids[name] = laidOut(l, name, 24, members);
      };
      member('m', [
        ['a', int, 0],
        ['p', l.ptr(inner), 8],
        ['c', color, 16],
      ]);
      member('m___unsigned', [['a', uint, 0]]);
      member('m___array', [['a', l.array(int, 2, int), 0]]);
      member('m___purple', [['c', purple, 16]]);
      member('m___by_value', [['p', inner, 8]]);
      member('m___extra', [['z', int, 0]]);
      // The target's m has more members, in another order, and inner is only declared.
      const tint = t.int('int', 4, true);
      const fwd = t.fwd('inner');
      const tcolor = t.enum('color', 4, [
        ['GREEN', 0],
        ['BLUE', 5],
        ['RED', 9],
      ]);
      laidOut(t, 'm', 32, [
        ['extra', tint, 0],
        ['c', tcolor, 4],
        ['a', tint, 8],
        ['p', t.ptr(fwd), 16],
      ]);
    });
    const match = (name: string): bigint => resolveCoreRelocation(btf.local, relo(ids[name]!, '0', K.TYPE_MATCHES), btf.target).targetValue;
    assert.deepEqual(
      ['m', 'm___unsigned', 'm___array', 'm___purple', 'm___by_value', 'm___extra'].map(match),
      [1n, 0n, 0n, 0n, 0n, 0n],
    );
    // TYPE_EXISTS is content with the name and kind.
    assert.equal(resolveCoreRelocation(btf.local, relo(ids.m___extra!, '0', K.TYPE_EXISTS), btf.target).targetValue, 1n);
  });

  test('members inside anonymous structs and unions; arrays, flexible arrays and their bounds', () => {
    const nested = handMade((l, t) => {
      const u32 = l.int('unsigned int', 4);
      const ten = l.array(u32, 10, u32);
      const flex = l.array(u32, 0, u32);
      laidOut(l, 's', 44, [
        ['n', u32, 0],
        ['a', ten, 4],
        ['tail', flex, 44],
      ]);
      // struct s { u32 n; union { struct { u32 pad; u32 a[4]; }; }; u32 tail[]; }
      const tu32 = t.int('unsigned int', 4);
      const four = t.array(tu32, 4, tu32);
      const tflex = t.array(tu32, 0, tu32);
      const inner = laidOut(t, '', 20, [
        ['pad', tu32, 0],
        ['a', four, 4],
      ]);
      const union = laidOut(t, '', 20, [['', inner, 0]], true);
      laidOut(t, 's', 28, [
        ['n', tu32, 0],
        ['', union, 4],
        ['tail', tflex, 24],
      ]);
    });
    const at = (subject: string, accessStr: string, kind: BpfCoreKind = K.FIELD_BYTE_OFFSET): CoreResolution => {
      const resolution = resolveCoreRelocation(nested.local, relo(4, accessStr, kind), nested.target);
      assert.equal(resolution.subject, subject);
      return resolution;
    };
    // s.a[2]: through the anonymous union and struct, at 4 + 0 + 4 + 2 * 4.
    assert.equal(at('struct s.a[2]', '0:1:2').targetValue, 16n);
    assert.equal(at('struct s.a[2]', '0:1:2', K.FIELD_BYTE_SIZE).targetValue, 4n);
    assert.equal(at('struct s.a', '0:1', K.FIELD_BYTE_SIZE).targetValue, 16n);
    // a[7] is past the target's four elements.
    const past = at('struct s.a[7]', '0:1:7');
    assert.deepEqual([past.poisoned, past.missing], [true, 'has 4 elements, not 8 in target BTF']);
    // A flexible array takes any index, locally and in the target.
    assert.equal(at('struct s.tail[100]', '0:2:100').targetValue, 24n + 400n);
    // The root's index steps over whole structs: (&s[1])->n.
    assert.equal(at('struct s[1].n', '1:0').targetValue, 28n);
    assert.equal(
      objectError(() => at('', '0:1:10')).message,
      "CO-RE byte_off relocation at instruction 0 of section 'kprobe/x': index 10 of '0:1:10' is past the 10 elements of type 2 (array)",
    );
    assert.match(objectError(() => at('', '0:1:2', K.FIELD_SIGNED)).message, /\(struct s\.a\[2\]\): signed does not apply to an array element$/);
  });

  test('malformed relocations: one ObjectError naming the relocation', () => {
    const btf = handMade((l, t) => {
      const u32 = l.int('unsigned int', 4);
      l.struct('foo', 4, [['x', u32]]);
      l.struct('', 4, [['x', u32]]);
      l.typedef('foo_t', 2);
      l.struct('bar\x1b[2J', 4, [['y\n', u32]]);
      t.int('unsigned int', 4);
    });
    const prefix = "CO-RE byte_off relocation at instruction 0 of section 'kprobe/x'";
    const deep = Array(65).fill(0).join(':');
    const cases: Array<[number, string, BpfCoreKind, string]> = [
      [2, '', K.FIELD_BYTE_OFFSET, `${prefix}: access string '' is not indexes separated by ':'`],
      [2, ':0', K.FIELD_BYTE_OFFSET, `${prefix}: access string ':0' is not indexes separated by ':'`],
      [2, '0:-1', K.FIELD_BYTE_OFFSET, `${prefix}: access string '0:-1' is not indexes separated by ':'`],
      [2, '0:1', K.FIELD_BYTE_OFFSET, `${prefix}: index 1 of '0:1' is past the 1 members of type 2 (struct 'foo')`],
      [2, '0:0:0', K.FIELD_BYTE_OFFSET, `${prefix}: index 2 of '0:0:0' reaches type 1 (int 'unsigned int'), which is not a struct, union or array`],
      [2, '0:2147483648', K.FIELD_BYTE_OFFSET, `${prefix}: access string '0:2147483648' has an index of 2^31 or more`],
      [2, deep, K.FIELD_BYTE_OFFSET, `${prefix}: access string '${deep}' has 65 indexes, more than 64`],
      [3, '0:0', K.FIELD_BYTE_OFFSET, `${prefix} ((anonymous struct).x): relocations against anonymous types are not supported`],
      [9, '0:0', K.FIELD_BYTE_OFFSET, `${prefix}: BTF type 9 does not exist (the last type is 5)`],
      [2, '1', K.TYPE_SIZE, "CO-RE type_size relocation at instruction 0 of section 'kprobe/x': the access string of a type relocation must be \"0\", not '1'"],
      [2, '0', K.ENUMVAL_VALUE, "CO-RE enumval_value relocation at instruction 0 of section 'kprobe/x': type 2 (struct 'foo') is not an enum"],
    ];
    for (const [typeId, accessStr, kind, message] of cases) {
      assert.equal(objectError(() => resolveCoreRelocation(btf.local, relo(typeId, accessStr, kind), btf.target)).message, message);
    }
    // A typedef root is fine, and named as C names it; control characters in names are escaped.
    assert.equal(resolveCoreRelocation(btf.local, relo(4, '0:0', K.FIELD_EXISTS), btf.target).subject, 'foo_t.x');
    assert.equal(resolveCoreRelocation(btf.local, relo(5, '0:0', K.FIELD_EXISTS), btf.target).subject, 'struct bar\\x1b[2J.y\\n');
  });

  test('essential names drop the last flavor only', () => {
    const cases: Array<[string, string]> = [
      ['task_struct', 'task_struct'],
      ['task_struct___old', 'task_struct'],
      ['a___b___c', 'a___b'],
      ['___x', '___x'],
      ['x____y', 'x____y'],
      ['x___', 'x___'],
      ['nf_conn___init', 'nf_conn'],
      ['', ''],
    ];
    assert.deepEqual(
      cases.map(([name]) => essentialName(name)),
      cases.map(([, essential]) => essential),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed .BTF.ext.

/** .BTF.ext with the given func_info, line_info and core_relo words (each region: record size, then sections). */
function extBytes(regions: { func?: number[]; line?: number[]; core?: number[] }, littleEndian = true): Uint8Array {
  const func = encodeWords(regions.func ?? [], littleEndian);
  const line = encodeWords(regions.line ?? [], littleEndian);
  const core = encodeWords(regions.core ?? [], littleEndian);
  const out = new Uint8Array(32 + func.length + line.length + core.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, littleEndian);
  out[2] = 1;
  v.setUint32(4, 32, littleEndian);
  v.setUint32(8, 0, littleEndian);
  v.setUint32(12, func.length, littleEndian);
  v.setUint32(16, func.length, littleEndian);
  v.setUint32(20, line.length, littleEndian);
  v.setUint32(24, func.length + line.length, littleEndian);
  v.setUint32(28, core.length, littleEndian);
  out.set(func, 32);
  out.set(line, 32 + func.length);
  out.set(core, 32 + func.length + line.length);
  return out;
}

describe('parseBtfExt refuses malformed .BTF.ext with one ObjectError', () => {
  /** An object's .BTF: a function, a struct, and the strings the records name. */
  const objectBtf = (littleEndian: boolean) => {
    const b = new BtfBuilder(littleEndian);
    const u32 = b.int('unsigned int', 4);
    const func = b.func('prog', b.funcProto(u32, []));
    const foo = b.struct('foo', 4, [['x', u32]]);
    const strings = { section: b.strings.add('kprobe/x'), file: b.strings.add('prog.c'), text: b.strings.add('return 0;'), access: b.strings.add('0:0') };
    return { btf: parseBtf(b.bytes(), littleEndian), u32, func, foo, ...strings };
  };
  const { btf, u32, func, section, file, text, access } = objectBtf(true);
  const bad = 0xffff;

  for (const { order, littleEndian } of ORDERS) {
    test(`${order}: a well-formed one, with bigger records stepped over`, () => {
      const o = objectBtf(littleEndian);
      const ext = parseBtfExt(
        extBytes(
          {
            func: [12, o.section, 1, 8, o.func, 0xdead],
            line: [16, o.section, 2, 0, o.file, o.text, (7 << 10) | 3, 8, o.file, o.text, 8 << 10],
            core: [20, o.section, 1, 16, o.foo, o.access, K.FIELD_BYTE_OFFSET, 0xdead],
          },
          littleEndian,
        ),
        littleEndian,
        o.btf,
      );
      assert.deepEqual(ext.funcInfo.get('kprobe/x'), [{ insnOff: 8, typeId: o.func }]);
      assert.deepEqual(
        ext.lineInfo.get('kprobe/x')!.map((r) => [r.insnOff, r.fileName, r.line, r.lineNumber, r.column]),
        [
          [0, 'prog.c', 'return 0;', 7, 3],
          [8, 'prog.c', 'return 0;', 8, 0],
        ],
      );
      assert.deepEqual(ext.coreRelocations.get('kprobe/x'), [{ section: 'kprobe/x', insnOff: 16, typeId: o.foo, accessStrOff: o.access, accessStr: '0:0', kind: 0 }]);
      assert.equal(coreRelocationCount(extBytes({ core: [20, o.section, 1, 16, o.foo, o.access, 0, 0] }, littleEndian), littleEndian), 1);
    });
  }

  const cases: Array<[string, Parameters<typeof extBytes>[0], string]> = [
    ['func_info records of 4 bytes', { func: [4, section, 1, 0] }, 'BTF.ext func_info at offset 32: record size 4 is not a multiple of 4 of at least 8'],
    ['line_info records of 12 bytes', { line: [12, section, 1, 0, file, text] }, 'BTF.ext line_info at offset 32: record size 12 is not a multiple of 4 of at least 16'],
    ['core_relo records of 18 bytes', { core: [18, section, 1, 0, 0, 0, 0] }, 'BTF.ext core_relo at offset 32: record size 18 is not a multiple of 4 of at least 16'],
    ['a func_info section without records', { func: [8, section, 0] }, 'BTF.ext func_info at offset 32: section at offset 36 has no records'],
    ['line_info records past the end', { line: [16, section, 2, 0, file, text, 1 << 10] }, 'BTF.ext line_info at offset 32: section at offset 36 has 2 records of 16 bytes, past the end (offset 60)'],
    ['a section name outside the strings', { func: [8, bad, 1, 0, func] }, `BTF.ext func_info section at offset 36: its name: BTF string: string offset ${bad} is outside the BTF string section (${btf.header.strLen} bytes)`],
    ['a section twice', { func: [8, section, 1, 0, func, section, 1, 8, func] }, "BTF.ext func_info section at offset 52: section 'kprobe/x' appears twice"],
    ['an insn_off inside an instruction', { func: [8, section, 1, 4, func] }, "BTF.ext func_info record 0 of section 'kprobe/x' at offset 44: insn_off 4 is not a multiple of the 8-byte instruction size"],
    ['a func_info type that is not a FUNC', { func: [8, section, 1, 0, u32] }, "BTF.ext func_info record 0 of section 'kprobe/x' at offset 44: type 1 (int 'unsigned int') is not a FUNC"],
    ['a func_info type past the last', { func: [8, section, 1, 0, 99] }, "BTF.ext func_info record 0 of section 'kprobe/x' at offset 44: BTF type 99 does not exist (the last type is 4)"],
    ['a line_info file name outside the strings', { line: [16, section, 1, 0, bad, text, 0] }, `BTF.ext line_info record 0 of section 'kprobe/x' at offset 44: file name: BTF string: string offset ${bad} is outside the BTF string section (${btf.header.strLen} bytes)`],
    ['a line_info line outside the strings', { line: [16, section, 1, 0, file, bad, 0] }, `BTF.ext line_info record 0 of section 'kprobe/x' at offset 44: line: BTF string: string offset ${bad} is outside the BTF string section (${btf.header.strLen} bytes)`],
    ['an unknown CO-RE kind', { core: [16, section, 1, 0, 4, access, 13] }, "BTF.ext core_relo record 0 of section 'kprobe/x' at offset 44: unknown CO-RE relocation kind 13"],
    ['a CO-RE type of id 0', { core: [16, section, 1, 0, 0, access, 0] }, "BTF.ext core_relo record 0 of section 'kprobe/x' at offset 44: BTF type 0 is void and has no record"],
    ['a CO-RE access string outside the strings', { core: [16, section, 1, 0, 4, bad, 0] }, `BTF.ext core_relo record 0 of section 'kprobe/x' at offset 44: access string: BTF string: string offset ${bad} is outside the BTF string section (${btf.header.strLen} bytes)`],
  ];
  for (const [what, regions, message] of cases) {
    test(`refused: ${what}`, () => {
      assert.equal(objectError(() => parseBtfExt(extBytes(regions), true, btf)).message, message);
    });
  }

  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: every truncation of core_task's .BTF.ext, and seeded mutations, give an ObjectError or a parse`, () => {
      const fixture = openFixture(`core_task${suffix}`);
      const data = fixture.elf.sectionData(sectionNamed(fixture.elf, '.BTF.ext'));
      // Bytes after the last region (alignment padding) are not part of it.
      const { header } = fixture.ext;
      const end = header.hdrLen + Math.max(header.funcInfoOff + header.funcInfoLen, header.lineInfoOff + header.lineInfoLen, header.coreReloOff + header.coreReloLen);
      assert.ok(end <= data.length);
      for (let length = 0; length < end; length++) {
        const error = thrown(() => parseBtfExt(data.subarray(0, length), littleEndian, fixture.btf));
        assert.ok(error instanceof ObjectError && !/[\r\n]/.test(error.message), `length ${length}: ${String(error)}`);
      }
      const random = prng(littleEndian ? 1 : 2);
      const outcomes = { parsed: 0, refused: 0 };
      for (let round = 0; round < 3000; round++) {
        const mutated = data.slice();
        const view = new DataView(mutated.buffer);
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
          const at = Math.floor((random() * mutated.length) / 4) * 4;
          const choice = random();
          const word = choice < 0.3 ? Math.floor(random() * 64) : choice < 0.6 ? view.getUint32(at, littleEndian) ^ (1 << Math.floor(random() * 32)) : Math.floor(random() * 2 ** 32);
          view.setUint32(at, word >>> 0, littleEndian);
        }
        try {
          const ext = parseBtfExt(mutated, littleEndian, fixture.btf);
          outcomes.parsed++;
          // What parses must be usable: CO-RE resolution refuses bad records with an ObjectError too.
          for (const relocation of [...ext.coreRelocations.values()].flat().slice(0, 3)) {
            try {
              resolveCoreRelocation(fixture.btf, relocation, kernel('6.1').target);
            } catch (error) {
              assert.ok(error instanceof ObjectError, String(error));
            }
          }
        } catch (error) {
          assert.ok(error instanceof ObjectError && !/[\r\n]/.test(error.message), String(error));
          outcomes.refused++;
        }
      }
      assert.ok(outcomes.parsed > 300 && outcomes.refused > 300, JSON.stringify(outcomes));
    });
  }
});
