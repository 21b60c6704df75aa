// USDT without a kernel: stapsdt notes and program headers against readelf on usdt_target, the
// x86-64 argument forms, the spec bytes against usdt.bpf.h's struct layout, the usdt sections,
// and the --usdt choices and refusals planAttachments makes before it looks at the kernel.
import { commandLineName } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { planAttachments, usdtRoles } from '../../src/attach/plan.js';
import { encodeUsdtSpec, parseUsdtArguments, prepareUsdt, refuseUsdtMachine, usdtSpecHasIndexRegister } from '../../src/attach/usdt.js';
import { BTF_KIND, BTF_LINKAGE } from '../../src/btf/btf.js';
import { placeUsdtSites, readStapsdtNotes } from '../../src/elf/stapsdt.js';
import { PT_LOAD, SHT_NOTE, fileOffsetOfAddress, readElf } from '../../src/elf/reader.js';
import { AttachError, ElfError, ObjectError, UsageError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { sectionMeaning } from '../../src/object/sections.js';
import { tool } from '../support/tools.js';
import { buildElf, fixturePath, loadFixture, thrown } from './helpers.js';

const TARGET = fixturePath('usdt_target');

function readelf(...args: string[]): string {
  return execFileSync(tool('readelf'), ['-W', ...args, TARGET], { encoding: 'utf8' });
}

describe('program headers and notes', () => {
  test('the PT_LOAD segments are the ones readelf -l lists', () => {
    const elf = readElf(readFileSync(TARGET));
    const expected = [...readelf('-l').matchAll(/^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3})/gm)].map((m) => ({
      offset: BigInt(`0x${m[1]}`),
      vaddr: BigInt(`0x${m[2]}`),
      fileSize: BigInt(`0x${m[3]}`),
      memorySize: BigInt(`0x${m[4]}`),
      executable: m[5]!.includes('E'),
    }));
    assert.ok(expected.length >= 2, 'readelf lists the LOAD segments');
    assert.deepEqual(
      elf.segments.filter((s) => s.type === PT_LOAD).map((s) => ({ offset: s.offset, vaddr: s.vaddr, fileSize: s.fileSize, memorySize: s.memorySize, executable: (s.flags & 1) === 1 })),
      expected,
    );
  });

  test('an address maps to a file offset only inside a segment (an executable one, when asked)', () => {
    const elf = readElf(readFileSync(TARGET));
    const code = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & 1) === 1)!;
    const data = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & 1) === 0 && s.fileSize > 0n)!;
    assert.equal(fileOffsetOfAddress(elf, code.vaddr + 4n, true), code.offset + 4n);
    assert.equal(fileOffsetOfAddress(elf, data.vaddr, true), undefined);
    assert.equal(fileOffsetOfAddress(elf, data.vaddr), data.offset);
    assert.equal(fileOffsetOfAddress(elf, 0xffff_ffff_0000n), undefined);
  });

  test('the stapsdt notes are the probes readelf -n shows, placed in the file', () => {
    const elf = readElf(readFileSync(TARGET));
    const shown = [...readelf('-n').matchAll(/Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: 0x([0-9a-f]+)\s+Arguments: (.*)/g)].map((m) => ({
      provider: m[1]!,
      name: m[2]!,
      address: BigInt(`0x${m[3]}`),
      semaphore: BigInt(`0x${m[4]}`),
      arguments: m[5]!.trim(),
    }));
    const all = readStapsdtNotes(elf);
    assert.deepEqual(all, shown);
    const notes = all.filter((n) => n.name === 'fire');
    assert.equal(notes.length, 2, 'two sites of lkb:fire');
    const sites = placeUsdtSites(elf, notes, TARGET);
    const semaphore = BigInt(`0x${/^\s*\d+: ([0-9a-f]+) .* lkb_fire_semaphore$/m.exec(readelf('-s'))![1]}`);
    const file = readFileSync(TARGET);
    const probes = /\] \.probes\s+PROGBITS\s+([0-9a-f]+) ([0-9a-f]+)/.exec(readelf('-S'))!;
    for (const site of sites) {
      // A probe site is a nop in the file, where the uprobe's breakpoint goes.
      assert.equal(file[Number(site.fileOffset)], 0x90, `the byte at file offset 0x${site.fileOffset.toString(16)}`);
      assert.equal(site.semaphore, semaphore, 'the note names the semaphore variable');
      // The semaphore lies in .probes: at the section's file offset plus its distance from the section's address.
      assert.equal(site.semaphoreFileOffset, BigInt(`0x${probes[2]}`) + semaphore - BigInt(`0x${probes[1]}`));
    }
    // One site holds its arguments in registers, the other (built without optimisation) on the stack.
    assert.ok(notes.some((n) => /^-1@%\w+ -4@%\w+ 8@%\w+$/.test(n.arguments)), notes.map((n) => n.arguments).join(' | '));
    assert.ok(notes.some((n) => /^-1@-?\d+\(%rbp\) -4@-?\d+\(%rbp\) 8@-?\d+\(%rbp\)$/.test(n.arguments)), notes.map((n) => n.arguments).join(' | '));
  });

  test('malformed notes are one ElfError each, never a loop or a RangeError', () => {
    const note = (nameSize: number, descSize: number, body: number[]): Uint8Array => {
      const bytes = Buffer.alloc(12 + body.length);
      bytes.writeUInt32LE(nameSize, 0);
      bytes.writeUInt32LE(descSize, 4);
      bytes.writeUInt32LE(3, 8);
      Buffer.from(body).copy(bytes, 12);
      return bytes;
    };
    const notesOf = (data: Uint8Array): unknown => {
      const elf = readElf(buildElf([{ name: '.note.stapsdt', type: SHT_NOTE, data, addralign: 4n }], { type: 3, machine: 62 }));
      return thrown(() => readStapsdtNotes(elf));
    };
    for (const [data, message] of [
      [note(0xfffffffd, 0, []), /runs past the end of the section/],
      [note(8, 0xffffffff, [0x73, 0x74, 0x61, 0x70, 0x73, 0x64, 0x74, 0]), /runs past the end of the section/],
      [Buffer.alloc(7), /is cut off by the end of the section/],
      [note(8, 8, [0x73, 0x74, 0x61, 0x70, 0x73, 0x64, 0x74, 0, 1, 2, 3, 4, 5, 6, 7, 8]), /descriptor is 8 bytes, too short/],
    ] as const) {
      const error = notesOf(data);
      assert.ok(error instanceof ElfError, String(error));
      assert.match(error.message, message);
    }
  });

  test('a binary without notes has no probes', () => {
    assert.deepEqual(readStapsdtNotes(readElf(readFileSync(fixturePath('emit_calls')))), []);
  });
});

describe('parseUsdtArguments (x86-64)', () => {
  test('constants, registers at every width, and memory at a register plus an offset', () => {
    assert.deepEqual(parseUsdtArguments('-4@$-5 8@$0x10 1@%al -2@%r9w 4@%edx 8@%rip -8@-16(%rbp) 4@(%rsp) 8@24(%r12)', 'p'), [
      { kind: 'const', size: 4, signed: true, value: -5n },
      { kind: 'const', size: 8, signed: false, value: 16n },
      { kind: 'reg', size: 1, signed: false, register: 'ax' },
      { kind: 'reg', size: 2, signed: true, register: 'r9' },
      { kind: 'reg', size: 4, signed: false, register: 'dx' },
      { kind: 'reg', size: 8, signed: false, register: 'ip' },
      { kind: 'deref', size: 8, signed: true, register: 'bp', offset: -16n },
      { kind: 'deref', size: 4, signed: false, register: 'sp', offset: 0n },
      { kind: 'deref', size: 8, signed: false, register: 'r12', offset: 24n },
    ]);
    assert.deepEqual(parseUsdtArguments('  ', 'p'), []);
  });

  test('base + index * scale, with and without offset and scale', () => {
    assert.deepEqual(parseUsdtArguments('-8@(%rsp,%rdx,8) 1@-96(%rbp,%rax) 4@16(%r8,%r9d,4)', 'p'), [
      { kind: 'sib', size: 8, signed: true, register: 'sp', index: 'dx', scale: 8, offset: 0n },
      { kind: 'sib', size: 1, signed: false, register: 'bp', index: 'ax', scale: 1, offset: -96n },
      { kind: 'sib', size: 4, signed: false, register: 'r8', index: 'r9', scale: 4, offset: 16n },
    ]);
  });

  test('what usdt.bpf.h cannot read is refused naming the argument', () => {
    const refused = (text: string): string => {
      const error = thrown(() => parseUsdtArguments(text, 'USDT probe a:b'));
      assert.ok(error instanceof AttachError, String(error));
      return error.message;
    };
    assert.equal(refused('8@%rax 3@%ebx'), "USDT probe a:b: argument 1 ('3@%ebx') has size 3; sizes are 1, 2, 4 or 8 bytes");
    assert.equal(refused('8@(%rdx,%rax,3)'), "USDT probe a:b: argument 0 ('8@(%rdx,%rax,3)') has scale 3; scales are 1, 2, 4 or 8");
    assert.equal(refused('1@%ah'), "USDT probe a:b: argument 0 ('1@%ah') names register 'ah', which is not one usdt.bpf.h can read from pt_regs");
    assert.equal(refused('%rax'), "USDT probe a:b: argument 0 ('%rax') is not [-]size@location");
    assert.equal(refused('4@counter(%rip)'), "USDT probe a:b: argument 0 ('4@counter(%rip)') has a location that is neither $constant, %register, offset(%register) nor offset(%base,%index,scale)");
    assert.equal(refused(Array(13).fill('8@%rax').join(' ')), 'USDT probe a:b has 13 arguments; usdt.bpf.h reads at most 12');
  });
});

describe('which machines USDT arguments are read on', () => {
  test('x86-64 binaries on x86-64; arm64, its binaries and unknown machines are refused by name', () => {
    assert.doesNotThrow(() => refuseUsdtMachine('/bin/t', 62, 'x64'));
    const refusal = (machine: number, arch: string): string => {
      try {
        refuseUsdtMachine('/bin/t', machine, arch);
      } catch (error) {
        assert.ok(error instanceof AttachError);
        return error.message;
      }
      assert.fail('not refused');
    };
    assert.equal(refusal(183, 'arm64'), 'USDT arguments are read for x86-64 only: /bin/t is for arm64 and this machine is arm64');
    assert.equal(refusal(62, 'arm64'), 'USDT arguments are read for x86-64 only: /bin/t is for x86-64 and this machine is arm64');
    assert.equal(refusal(183, 'x64'), 'USDT arguments are read for x86-64 only: /bin/t is for arm64 and this machine is x64');
    assert.equal(refusal(9999, 'x64'), 'USDT arguments are read for x86-64 only: /bin/t is for ELF machine 9999 and this machine is x64');
  });
});

describe('encodeUsdtSpec', () => {
  const spec = parseBpfObject(loadFixture('usdt_args.o'));
  const valueType = spec.maps.find((m) => m.name === '__bpf_usdt_specs')!.btf!.valueTypeId;

  test("lays out struct __bpf_usdt_spec as usdt.bpf.h declares it (16-byte args, cookie at 192, count at 200)", () => {
    const args = parseUsdtArguments('-1@%dil -4@-8(%rbp) 8@$7', 'p');
    const bytes = encodeUsdtSpec(spec.btf!, valueType, args);
    assert.equal(bytes.length, 208);
    // arg 0: a signed byte in rdi (pt_regs offset 112): REG, shift 56.
    assert.deepEqual([bytes.readBigUInt64LE(0), bytes.readUInt32LE(8), bytes.readInt16LE(12), bytes[14], bytes[15]], [0n, 1, 112, 1, 56]);
    // arg 1: a signed int at rbp - 8 (rbp at 32): REG_DEREF, offset -8 as a u64.
    assert.deepEqual([bytes.readBigInt64LE(16), bytes.readUInt32LE(24), bytes.readInt16LE(28), bytes[30], bytes[31]], [-8n, 2, 32, 1, 32]);
    // arg 2: the constant 7: CONST, no shift.
    assert.deepEqual([bytes.readBigUInt64LE(32), bytes.readUInt32LE(40), bytes[46], bytes[47]], [7n, 0, 0, 0]);
    assert.ok(bytes.subarray(48, 192).every((b) => b === 0), 'unused args are zero');
    assert.equal(bytes.readBigUInt64LE(192), 0n, 'usdt_cookie');
    assert.equal(bytes.readInt16LE(200), 3);
  });

  test("follows libbpf 1.7's layout too, where base + index * scale arguments have an index register and scale shift", () => {
    const newer = parseBpfObject(loadFixture('usdt_sib_layout.o'));
    const type = newer.maps.find((m) => m.name === '__bpf_usdt_specs')!.btf!.valueTypeId;
    assert.equal(usdtSpecHasIndexRegister(newer.btf!, type), true);
    assert.equal(usdtSpecHasIndexRegister(spec.btf!, valueType), false);
    const bytes = encodeUsdtSpec(newer.btf!, type, parseUsdtArguments('-8@-96(%rbp,%rax,8) 4@%esi', 'p'));
    // Each arg is 24 bytes here: arg_type a byte at 8, idx_reg_off (12 bits) and scale_bitshift (4) in the u16 at 10, reg_off at 14.
    assert.equal(newer.btf!.sizeOf(type), bytes.length);
    const packed = bytes.readUInt16LE(10);
    assert.deepEqual([bytes.readBigInt64LE(0), bytes[8], packed & 0xfff, packed >> 12, bytes.readInt16LE(14), bytes[16], bytes[17]], [-96n, 3, 80, 3, 32, 1, 0]);
    assert.deepEqual([bytes[24 + 8], bytes.readUInt16LE(24 + 10), bytes.readInt16LE(24 + 14), bytes[24 + 17]], [1, 0, 104, 32]);
    assert.equal(bytes.readInt16LE(12 * 24 + 8), 2, 'arg_cnt after the 12 args and the cookie');
  });

  test("an object built with an older usdt.bpf.h is refused for a base + index * scale argument, naming it", () => {
    const error = thrown(() => prepareUsdt({ binary: TARGET, provider: 'lkb', name: 'indexed' }, { object: spec }));
    assert.ok(error instanceof AttachError, String(error));
    assert.match(error.message, /^USDT probe lkb:indexed of \S+usdt_target at 0x[0-9a-f]+: argument 0 \('-8@\(%rsp,%r\w+,8\)'\) is at base \+ index \* scale, which usdt.bpf.h reads from libbpf 1.7 on; the object was built with an older one$/);
  });

  test("a map value that is not usdt.bpf.h's struct is refused by the encoder", () => {
    const hits = spec.maps.find((m) => m.name === 'usdt_hits')!.btf!.valueTypeId;
    assert.throws(() => encodeUsdtSpec(spec.btf!, hits, []), { name: 'EncodeError', message: '__bpf_usdt_specs: expected a whole number, got {"args":[],"usdt_cookie":"0","arg_cnt":0}' });
  });

  test("usdt.bpf.h's hidden global helpers are static in the BTF the kernel gets, as libbpf makes them", () => {
    for (const name of ['bpf_usdt_arg', 'bpf_usdt_arg_cnt', 'bpf_usdt_cookie']) {
      const funcs = spec.btf!.typesNamed(name, BTF_KIND.FUNC);
      assert.equal(funcs.length, 1, name);
      assert.equal(funcs[0]!.kind === BTF_KIND.FUNC && funcs[0]!.linkage, BTF_LINKAGE.STATIC, name);
    }
    const program = spec.btf!.typesNamed('usdt_fire', BTF_KIND.FUNC)[0]!;
    assert.equal(program.kind === BTF_KIND.FUNC && program.linkage, BTF_LINKAGE.GLOBAL, 'programs stay global');
  });
});

describe('usdt sections and --usdt', () => {
  test('SEC("usdt/<binary>:<provider>:<name>") splits at the last two colons; bare SEC("usdt") waits for --usdt', () => {
    assert.deepEqual(sectionMeaning('usdt/./a:b/c:prov:probe_1')?.role, { kind: 'usdt', target: { binary: './a:b/c', provider: 'prov', name: 'probe_1' } });
    assert.deepEqual(sectionMeaning('usdt')?.role, { kind: 'usdt' });
    assert.deepEqual(sectionMeaning('usdt.s/libc.so.6:libc:setjmp')?.role, { kind: 'usdt', target: { binary: 'libc.so.6', provider: 'libc', name: 'setjmp' }, sleepable: true });
    const error = thrown(() => sectionMeaning('usdt/bin:probe'));
    assert.ok(error instanceof ObjectError);
    assert.equal(error.message, `section 'usdt/bin:probe': expected <binary>:<provider>:<name>, got "bin:probe"`);
  });

  const spec = parseBpfObject(loadFixture('usdt_args.o'));
  const refusal = (usdt: Array<{ program?: string; target: string }>, programs?: string[]): string => {
    const error = thrown(() => planAttachments(spec, { usdt, ...(programs ? { programs } : {}) }));
    assert.ok(error instanceof UsageError, String(error));
    return error.describe(commandLineName);
  };

  test('--usdt without PROG= goes to the one bare usdt program; a missing one is asked for', () => {
    assert.equal(
      refusal([], ['usdt_fire']),
      "program 'usdt_fire' (section 'usdt') needs a USDT probe: give it with --usdt usdt_fire=BINARY:PROVIDER:NAME, or leave the program out with --exclude usdt_fire (--skip-missing leaves out every program without a target)",
    );
    assert.equal(
      refusal([{ program: 'nope', target: 'a:b:c' }]),
      "--usdt nope=a:b:c: no program 'nope' is chosen; the programs are 'usdt_fire', 'usdt_count'",
    );
    const several = parseBpfObject(loadFixture('tail_samples.o'));
    const error = thrown(() => planAttachments(several, { usdt: [{ target: 'a:b:c' }] }));
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.describe(commandLineName), "--usdt a:b:c: which program? name it: --usdt PROG=a:b:c (the programs are 'ts_entry', 'ts_step1', 'ts_step2', 'ts_step3')");
  });

  test('--usdt picks the bare usdt program, a named one, or a kprobe-type program it turns into a USDT one', () => {
    const roles = (probes: Array<{ program?: string; target: string }>): Array<[string, unknown]> => usdtRoles(spec.programs, probes).map((r) => [r.program.name, r.role]);
    const target = { binary: '/bin/app', provider: 'p', name: 'n' };
    assert.deepEqual(roles([{ target: '/bin/app:p:n' }]), [['usdt_fire', { kind: 'usdt', target }]]);
    assert.deepEqual(roles([{ program: 'usdt_count', target: '/bin/app:p:n' }]), [['usdt_count', { kind: 'usdt', target }]]);
    const samples = parseBpfObject(loadFixture('tail_samples.o'));
    assert.deepEqual(usdtRoles(samples.programs, [{ program: 'ts_entry', target: '/bin/app:p:n' }]).map((r) => r.role), [{ kind: 'usdt', target }]);
  });

  test('a program takes one target: a second --usdt, or --usdt with --attach, is refused', () => {
    const twice = thrown(() => usdtRoles(spec.programs, [{ target: '/bin/a:p:n' }, { program: 'usdt_fire', target: '/bin/b:p:n' }]));
    assert.ok(twice instanceof UsageError);
    assert.equal(twice.describe(commandLineName), "--usdt usdt_fire=/bin/b:p:n: program 'usdt_fire' already attaches with --usdt /bin/a:p:n; a program takes one target per run");
    const both = thrown(() => usdtRoles(spec.programs, [{ program: 'usdt_count', target: '/bin/b:p:n' }], new Map([['usdt_count', '/bin/a:p:n']])));
    assert.ok(both instanceof UsageError);
    assert.equal(both.describe(commandLineName), "--usdt usdt_count=/bin/b:p:n: program 'usdt_count' already attaches with --attach usdt_count=/bin/a:p:n; a program takes one target per run");
  });

  test('a program of another type cannot take a USDT probe', () => {
    const tracepoint = parseBpfObject(loadFixture('tp_count.o'));
    const error = thrown(() => planAttachments(tracepoint, { usdt: [{ target: 'a:b:c' }] }));
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.describe(commandLineName), /^--usdt a:b:c: program '\w+' is tracepoint [^;]+; a USDT probe takes a usdt, uprobe or kprobe program$/);
  });
});
