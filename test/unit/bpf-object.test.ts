// src/object/bpf-object.ts: the object model (programs, maps, license, version) and what is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, STT_NOTYPE, readElf } from '../../src/elf/reader.js';
import { ElfError, ObjectError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import {
  buildElf,
  craftedBpfObject,
  EH,
  encodeInstructions,
  fixturePath,
  loadFixture,
  objectError,
  ORDERS,
  REPO,
  renameSection,
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
  thrown,
} from './helpers.js';

describe('parseBpfObject on clang-built objects', () => {
  for (const { order, suffix, littleEndian } of ORDERS) {
    test(`${order}: examples/test_prog.c`, () => {
      const bytes = testProg(suffix);
      const spec = parseBpfObject(bytes);
      assert.equal(spec.littleEndian, littleEndian);
      assert.equal(spec.license, 'GPL');
      assert.equal(spec.licenseFromObject, true);
      assert.equal(spec.kernelVersion, undefined);
      assert.deepEqual(spec.notices, []);
      assert.deepEqual(spec.maps.map((m) => m.name), ['kp_bpf_calls', 'kp_bpf_cmds']);
      assert.equal(spec.programs.length, 1);
      const [program] = spec.programs;
      assert.equal(program!.name, 'count_bpf_calls');
      assert.equal(program!.section, 'prog');
      assert.deepEqual(program!.role, { kind: 'kprobe', retprobe: false, syscall: false, fromCommandLine: true }, 'the legacy prog: function from the command line');
      const prog = sectionNamed(readElf(bytes), 'prog');
      assert.deepEqual(program!.instructions, bytes.subarray(prog.offset, prog.offset + prog.size));
      // A private copy: later changes to the file's bytes do not reach the spec.
      bytes[prog.offset] = 0;
      assert.equal(program!.instructions[0], 0xbf, 'first instruction (mov64 r6, r1) kept');
    });

    test(`${order}: an object without a license section loads as GPL, with a notice`, () => {
      const spec = parseBpfObject(loadFixture(`no_license${suffix}`));
      assert.equal(spec.license, 'GPL');
      assert.equal(spec.licenseFromObject, false);
      assert.deepEqual(spec.notices, [`object has no 'license' section: loading it as "GPL"`]);
      assert.deepEqual(spec.programs.map((p) => p.name), ['no_license']);
      assert.deepEqual(spec.maps.map((m) => m.name), ['nl_counter']);
    });

    test(`${order}: a license section under another name is refused, not taken for "no license"`, () => {
      const bytes = loadFixture(`elf_short_maps${suffix}`).slice();
      renameSection(bytes, 'license', 'licence');
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        `the object has no section 'license' but has 'licence'; loaders read the license only from a section named exactly 'license' (SEC("license"))`,
      );
    });

    test(`${order}: a license section without contents in the file is refused`, () => {
      const bytes = loadFixture(`elf_short_maps${suffix}`).slice();
      const index = readElf(bytes).sectionByName('license')!.index;
      const header = sectionHeaderAt(bytes, index);
      setU32(bytes, header + SH.type, SHT_NOBITS);
      assert.match(objectError(() => parseBpfObject(bytes)).message, /^section 'license' has no contents in the file \(type 8, \d+ bytes\): the license cannot be read$/);
    });

    test(`${order}: the license string stops at its NUL`, () => {
      const spec = parseBpfObject(loadFixture(`elf_short_maps${suffix}`));
      assert.equal(spec.license, 'Dual BSD/GPL');
      assert.equal(spec.licenseFromObject, true);
    });

    test(`${order}: the version section and several programs`, () => {
      const spec = parseBpfObject(loadFixture(`elf_multi${suffix}`));
      assert.equal(spec.kernelVersion, 0x060177);
      assert.deepEqual(
        spec.programs.map((p) => [p.name, p.section, p.instructions.length / 8]),
        [
          ['first_prog', 'kprobe/first', 54],
          ['second_prog', 'kprobe/second', 27],
        ],
      );
      assert.deepEqual(
        spec.programs.map((p) => p.role),
        [
          { kind: 'kprobe', retprobe: false, function: 'first', syscall: false, fromCommandLine: false },
          { kind: 'kprobe', retprobe: false, function: 'second', syscall: false, fromCommandLine: false },
        ],
      );
    });

    test(`${order}: a tracepoint-style section name is kept as the section`, () => {
      const spec = parseBpfObject(loadFixture(`tp_count${suffix}`));
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section]), [['count_hits', 'tracepoint/syscalls/sys_enter_bpf']]);
      assert.deepEqual(spec.programs[0]!.role, { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' });
    });
  }
});

describe('parseBpfObject refuses what it cannot load', () => {
  test('a non-ELF file is an ElfError, not an ObjectError', () => {
    const source = new Uint8Array(readFileSync(`${REPO}/examples/test_prog.c`));
    const error = thrown(() => parseBpfObject(source));
    assert.ok(error instanceof ElfError);
    assert.ok(!(error instanceof ObjectError));
    assert.equal(error.message, 'not an ELF file (bad magic number at offset 0)');
  });

  test('an executable (/bin/true) is not a BPF object', () => {
    const error = objectError(() => parseBpfObject(new Uint8Array(readFileSync('/bin/true'))));
    assert.match(error.message, /^not a BPF object: ELF type [23], expected 1 \(relocatable, as clang -c produces\)$/);
  });

  for (const { order, suffix } of ORDERS) {
    test(`${order}: an object for another machine`, () => {
      const bytes = testProg(suffix);
      setU16(bytes, EH.machine, 62);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        'not a BPF object: ELF machine 62, expected 247 (BPF); was it compiled with -target bpf?',
      );
      setU16(bytes, EH.machine, 0); // EM_NONE: old LLVM wrote it
      assert.equal(parseBpfObject(bytes).programs.length, 1);
    });

    test(`${order}: a version section of the wrong size or without contents`, () => {
      const bytes = loadFixture(`elf_multi${suffix}`);
      const version = sectionNamed(readElf(bytes), 'version');
      const header = sectionHeaderAt(bytes, version.index);
      setU64(bytes, header + SH.size, 3n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'version' is 3 bytes, expected 4");
      setU64(bytes, header + SH.size, 4n);
      setU32(bytes, header + SH.type, SHT_NOBITS);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'version' has no contents in the file (section type 8)");
      setU32(bytes, header + SH.type, 0);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'version' has no contents in the file (section type 0)");
    });

    test(`${order}: an empty license`, () => {
      const bytes = testProg(suffix);
      const license = sectionNamed(readElf(bytes), 'license');
      bytes[license.offset] = 0;
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'license' is empty");
    });

    test(`${order}: a program section that is not a whole number of instructions`, () => {
      const bytes = testProg(suffix);
      setU64(bytes, sectionHeaderAt(bytes, sectionNamed(readElf(bytes), 'prog').index) + SH.size, 404n);
      assert.equal(objectError(() => parseBpfObject(bytes)).message, "section 'prog' is 404 bytes, not a whole number of 8-byte instructions");
    });

    test(`${order}: an executable section without contents (SHT_NOBITS)`, () => {
      const bytes = testProg(suffix);
      setU32(bytes, sectionHeaderAt(bytes, sectionNamed(readElf(bytes), 'prog').index) + SH.type, SHT_NOBITS);
      assert.equal(
        objectError(() => parseBpfObject(bytes)).message,
        "section 'prog' is executable but of type 8, not SHT_PROGBITS: it has no instructions in the file",
      );
    });

    test(`${order}: without a function symbol the program is named after its section`, () => {
      const bytes = testProg(suffix);
      const at = symbolAt(bytes, symbolIndex(readElf(bytes), 'count_bpf_calls'));
      bytes[at + ST.info] = (1 << 4) | STT_NOTYPE;
      assert.deepEqual(parseBpfObject(bytes).programs.map((p) => [p.name, p.section]), [['prog', 'prog']]);
    });
  }

  test('code only in .text is refused with what to do', () => {
    const code = encodeInstructions([[0xb7, 0, 0, 0, 0], [0x95, 0, 0, 0, 0]], true);
    const bytes = buildElf([
      { name: '.text', type: SHT_PROGBITS, flags: 2n | SHF_EXECINSTR, data: code },
      { name: 'license', type: SHT_PROGBITS, flags: 3n, data: new TextEncoder().encode('GPL\0') },
    ]);
    assert.equal(
      objectError(() => parseBpfObject(bytes)).message,
      `the object's code is all in '.text' and no function there has a bcc program name (kprobe__<fn>, kretprobe__<fn>, tracepoint__<category>__<event>); put each program in its own section, e.g. SEC("prog")`,
    );
  });

  test('an object without executable sections has no program', () => {
    const bytes = buildElf([{ name: 'license', type: SHT_PROGBITS, flags: 3n, data: new TextEncoder().encode('GPL\0') }]);
    assert.equal(objectError(() => parseBpfObject(bytes)).message, 'the object has no program: no executable section with code');
  });

  test('a minimal hand-made object without symbols or maps parses', () => {
    for (const littleEndian of [true, false]) {
      const code = encodeInstructions([[0xb7, 0, 0, 0, 0], [0x95, 0, 0, 0, 0]], littleEndian);
      const spec = parseBpfObject(
        buildElf(
          [
            { name: 'kprobe/x', type: SHT_PROGBITS, flags: 2n | SHF_EXECINSTR, data: code },
            { name: 'license', type: SHT_PROGBITS, flags: 3n, data: new TextEncoder().encode('MIT\0junk') },
          ],
          { littleEndian },
        ),
      );
      assert.deepEqual(
        { ...spec, programs: spec.programs.map((p) => ({ ...p, instructions: [...p.instructions] })) },
        {
          littleEndian,
          license: 'MIT',
          licenseFromObject: true,
          kernelVersion: undefined,
          maps: [],
          externs: [],
          programSlots: [],
          programs: [
            {
              name: 'kprobe/x',
              section: 'kprobe/x',
              instructions: [...code],
              mapReferences: [],
              externReferences: [],
              funcInfo: [],
              lineInfo: [],
              coreRelocations: [],
              role: { kind: 'kprobe', retprobe: false, function: 'x', syscall: false, fromCommandLine: false },
              programType: 2,
              expectedAttachType: 0,
              flags: 0,
            },
          ],
          notices: [],
        },
      );
    }
  });
});

describe('a hand-made object with extended numbering, SHT_SYMTAB_SHNDX and RELA', () => {
  for (const littleEndian of [true, false]) {
    test(littleEndian ? 'little-endian' : 'big-endian', () => {
      const spec = parseBpfObject(craftedBpfObject(littleEndian));
      assert.equal(spec.littleEndian, littleEndian);
      assert.equal(spec.kernelVersion, 0x040f00);
      assert.deepEqual(
        spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning]),
        [
          ['cr_array', 2, 4, 8, 1, 0, 0],
          ['cr_hash', 1, 4, 4, 32, 1, 2],
        ],
      );
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section]), [['crafted', 'kprobe/crafted']]);
      assert.deepEqual(spec.programs[0]!.mapReferences, [
        { instruction: 0, map: 'cr_hash', kind: 'fd', offset: 0 },
        { instruction: 2, map: 'cr_hash', kind: 'fd', offset: 0 },
        { instruction: 4, map: 'cr_array', kind: 'fd', offset: 0 },
      ]);
      assert.deepEqual(spec.programs[0]!.role, { kind: 'kprobe', retprobe: false, function: 'crafted', syscall: false, fromCommandLine: false });
    });
  }
});

test("a DATASEC whose section clang named but did not make (.rodata for a function's static string in .rodata.str1.1) gets its variables' sizes, not 0", () => {
  const btf = parseBpfObject(loadFixture('tool_records.o')).btf!;
  const rodata = btf.datasec('.rodata');
  assert.ok(rodata, 'clang wrote a .rodata DATASEC');
  assert.deepEqual(
    rodata.vars.map((v) => [v.offset, v.size]),
    [[0, 12]],
  );
  assert.equal(rodata.size, 12);
});

describe("parseBpfObject leaves the caller's bytes as they were", () => {
  // Legacy maps, global data whose DATASECs get their layout, __kconfig and __ksym externs whose
  // BTF is rewritten, hidden functions made static, subprograms linked: each changes something.
  const fixtures = ['link_calls', 'link_data', 'core_externs', 'btf_maps', 'usdt_args'];
  for (const { order, suffix } of ORDERS) {
    for (const name of [...fixtures.map((f) => `${f}${suffix}`), suffix === '.o' ? 'examples/test_prog.o' : 'example_test_prog.bpfeb.o']) {
      test(`${order}: ${name} parsed from a Buffer`, () => {
        const bytes = readFileSync(fixturePath(name));
        const before = Buffer.from(bytes);
        parseBpfObject(bytes);
        assert.ok(bytes.equals(before), 'the buffer is byte-identical after parsing');
      });
    }

    test(`${order}: what is read from a Buffer is the same, and the spec keeps none of its memory`, () => {
      // A Buffer's slice() is a view, not a copy: the version and global data were read through it.
      assert.equal(parseBpfObject(readFileSync(fixturePath(`elf_multi${suffix}`))).kernelVersion, 0x060177);
      const data = readFileSync(fixturePath(`link_data${suffix}`));
      const withData = parseBpfObject(data);
      const initial = withData.maps.filter((m) => m.data).map((m) => Buffer.from(m.data!.initial));
      assert.ok(initial.length > 0);
      data.fill(0xff);
      assert.deepEqual(withData.maps.filter((m) => m.data).map((m) => Buffer.from(m.data!.initial)), initial);
      const typed = readFileSync(fixturePath(`btf_maps${suffix}`));
      const withBtf = parseBpfObject(typed);
      const btf = Buffer.from(withBtf.btf!.bytes());
      typed.fill(0xff);
      assert.ok(Buffer.from(withBtf.btf!.bytes()).equals(btf));
    });
  }
});
