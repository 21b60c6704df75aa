// .BTF.ext records through linking (src/object/program-linker.ts): each program's func_info and
// line_info follow its copies of the functions it calls, as the kernel checks them (one func_info
// at the start of every function, line_info starting each function, offsets increasing); CO-RE
// records move with their instructions; incomplete records are dropped, never passed half.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { readElf, STT_FUNC } from '../../src/elf/reader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { linkProgram, type CodeFunction, type CodeSection } from '../../src/object/program-linker.js';
import type { LineInfo } from '../../src/object/spec.js';
import { encodeInstructions, loadFixture, ORDERS } from './helpers.js';

describe('func_info and line_info of btf_calls.c, through linking', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: every copied function starts with its own FUNC and its own first line`, () => {
      const bytes = loadFixture(`btf_calls${suffix}`);
      const spec = parseBpfObject(bytes);
      const sizes = new Map(
        readElf(bytes)
          .symbols.filter((s) => s.type === STT_FUNC)
          .map((s) => [s.name, Number(s.size) / 8]),
      );
      for (const program of spec.programs) {
        const names = program.funcInfo.map((f) => spec.btf!.type(f.typeId).name);
        // The program first, then what it calls, each once, back to back.
        assert.equal(names[0], program.name);
        assert.deepEqual([...names].sort(), [program.name, 'bcl_plus_one', 'bcl_twice'].sort());
        program.funcInfo.forEach((f, i) => {
          const end = program.funcInfo[i + 1]?.instruction ?? program.instructions.length / 8;
          assert.equal(end - f.instruction, sizes.get(names[i]!), `${program.name}: ${names[i]} at ${f.instruction}`);
          const lines = program.lineInfo.filter((l) => l.instruction >= f.instruction && l.instruction < end);
          assert.equal(lines[0]?.instruction, f.instruction, `${program.name}: ${names[i]} has a line at its start`);
          // Each function's lines are its own source: the body's comment names it.
          assert.ok(lines.some((l) => l.line.includes(`${names[i]} body`)), `${program.name}: ${names[i]}: ${lines.map((l) => l.line).join(' | ')}`);
          for (const l of lines) assert.equal(l.fileName.endsWith('btf_calls.c'), true);
        });
        assert.ok(
          program.lineInfo.every((l, i) => i === 0 || l.instruction > program.lineInfo[i - 1]!.instruction),
          'line offsets increase',
        );
      }
    });
  }
});

describe('linkProgram with hand-made records', () => {
  const littleEndian = true;
  // entry: r0 = 0; call +1 (sub); exit | sub: r0 = 1; exit
  const code = encodeInstructions(
    [
      [0xb7, 0, 0, 0, 0],
      [0x85, 0, 1, 0, 1],
      [0x95, 0, 0, 0, 0],
      [0xb7, 0, 0, 0, 1],
      [0x95, 0, 0, 0, 0],
    ],
    littleEndian,
  );
  const fn = (name: string, start: number, count: number): CodeFunction => ({ sectionIndex: 1, sectionName: 'prog', name, start, count, global: true });
  const entry = fn('entry', 0, 3);
  const sub = fn('sub', 3, 2);
  const line = (instruction: number, lineNumber: number): LineInfo => ({ instruction, fileNameOff: 1, lineOff: 2, lineCol: lineNumber << 10, fileName: 'x.c', line: `line ${lineNumber}`, lineNumber, column: 0 });
  const section = (records: Partial<CodeSection>): Map<number, CodeSection> =>
    new Map([[1, { index: 1, name: 'prog', bytes: code, functions: [entry, sub], relocations: new Map([[1, { kind: 'call', section: 1, instruction: 3 }]]), ...records }]]);
  const relocation = { section: 'prog', insnOff: 32, typeId: 5, accessStrOff: 0, accessStr: '0:1', kind: 0 as const };

  test('complete records follow the code; CO-RE records keep their instruction', () => {
    const linked = linkProgram(
      entry,
      section({ funcInfo: new Map([[0, 7], [3, 8]]), lineInfo: [line(0, 10), line(2, 11), line(3, 20)], coreRelocations: new Map([[3, relocation]]) }),
      littleEndian,
    );
    assert.deepEqual(linked.funcInfo, [
      { instruction: 0, typeId: 7 },
      { instruction: 3, typeId: 8 },
    ]);
    assert.deepEqual(linked.lineInfo.map((l) => [l.instruction, l.lineNumber]), [
      [0, 10],
      [2, 11],
      [3, 20],
    ]);
    assert.deepEqual(linked.coreRelocations, [{ instruction: 3, relocation }]);
  });

  test('a called function without func_info: neither func_info nor line_info is passed', () => {
    const linked = linkProgram(entry, section({ funcInfo: new Map([[0, 7]]), lineInfo: [line(0, 10), line(3, 20)] }), littleEndian);
    assert.deepEqual([linked.funcInfo, linked.lineInfo], [[], []]);
  });

  test('a function whose first instruction has no line: func_info stays, line_info goes', () => {
    const linked = linkProgram(entry, section({ funcInfo: new Map([[0, 7], [3, 8]]), lineInfo: [line(0, 10), line(4, 20)] }), littleEndian);
    assert.equal(linked.funcInfo.length, 2);
    assert.deepEqual(linked.lineInfo, []);
  });

  test('an object without .BTF.ext links with no records', () => {
    const linked = linkProgram(entry, section({}), littleEndian);
    assert.deepEqual([linked.funcInfo, linked.lineInfo, linked.coreRelocations], [[], [], []]);
  });
});
