// Joins a program with the BPF functions it calls (bpf-to-bpf calls), as the kernel wants one instruction stream.
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { BPF_PSEUDO_KFUNC_CALL, INSN_SIZE, Instructions } from '../insn/instructions.js';
import type { CoreRelocation } from '../btf/ext.js';
import type { RelocationTarget } from './relocations.js';
import type { CoreReference, ExternReference, FuncInfo, LineInfo, MapReference } from './spec.js';

export interface CodeFunction {
  sectionIndex: number;
  sectionName: string;
  name: string;
  /** First instruction, as an index into its section. */
  start: number;
  count: number;
  global: boolean;
}

export interface CodeSection {
  index: number;
  name: string;
  bytes: Uint8Array;
  functions: CodeFunction[];
  /** What relocated (and pc-relative call) instructions refer to, by instruction index in the section. */
  relocations: Map<number, RelocationTarget>;
  /** .BTF.ext records of the section, by instruction index in it (line info in instruction order). */
  funcInfo?: ReadonlyMap<number, number>;
  lineInfo?: readonly LineInfo[];
  coreRelocations?: ReadonlyMap<number, CoreRelocation>;
}

export interface LinkedProgram {
  instructions: Uint8Array;
  mapReferences: MapReference[];
  externReferences: ExternReference[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelocations: CoreReference[];
}

/**
 * The program's own instructions followed by each function it calls, directly or not, once;
 * calls are re-aimed at the copies, and map references are collected at their final indexes.
 */
export function linkProgram(entry: CodeFunction, sections: ReadonlyMap<number, CodeSection>, littleEndian: boolean): LinkedProgram {
  const placed = new Map<CodeFunction, number>([[entry, 0]]);
  const order: CodeFunction[] = [entry];
  let total = entry.count;
  const where = (fn: CodeFunction, index: number): string => `instruction ${index} of section '${printable(fn.sectionName)}' (in function '${printable(fn.name)}')`;
  const calleeOf = (caller: CodeFunction, index: number, target: { section: number; instruction: number }): CodeFunction => {
    const section = sections.get(target.section);
    if (!section) throw new ObjectError(`${where(caller, index)} calls into section ${target.section}, which holds no code`);
    const callee = section.functions.find((f) => f.start === target.instruction);
    if (!callee) throw new ObjectError(`${where(caller, index)} calls instruction ${target.instruction} of section '${printable(section.name)}', which is not the start of a function`);
    return callee;
  };
  // Place every function reachable from the entry, in the order first called.
  for (let q = 0; q < order.length; q++) {
    const fn = order[q]!;
    const relocations = sections.get(fn.sectionIndex)!.relocations;
    for (let i = fn.start; i < fn.start + fn.count; i++) {
      const target = relocations.get(i);
      // A function's symbol size can end between the two slots of an ld_imm64: only half would be copied.
      if ((target?.kind === 'map' || target?.kind === 'value') && i + 1 >= fn.start + fn.count) {
        throw new ObjectError(`${where(fn, i)} refers to '${printable(target.map)}' but is a 64-bit immediate load cut short by the end of the function`);
      }
      if (target?.kind !== 'call') continue;
      const callee = calleeOf(fn, i, target);
      if (!placed.has(callee)) {
        placed.set(callee, total);
        total += callee.count;
        order.push(callee);
      }
    }
  }

  const output = new Uint8Array(total * INSN_SIZE);
  const insns = new Instructions(output, littleEndian);
  const mapReferences: MapReference[] = [];
  const externReferences: ExternReference[] = [];
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelocations: CoreReference[] = [];
  // The kernel takes function and line records only whole: one at the start of every function.
  let functionsComplete = true;
  let linesComplete = true;
  for (const fn of order) {
    const base = placed.get(fn)!;
    const section = sections.get(fn.sectionIndex)!;
    const typeId = section.funcInfo?.get(fn.start);
    if (typeId === undefined) functionsComplete = false;
    else funcInfo.push({ instruction: base, typeId });
    const lines = (section.lineInfo ?? []).filter((l) => l.instruction >= fn.start && l.instruction < fn.start + fn.count);
    if (lines[0]?.instruction !== fn.start) linesComplete = false;
    for (const l of lines) lineInfo.push({ ...l, instruction: base + (l.instruction - fn.start) });
    for (const [i, relocation] of section.coreRelocations ?? []) {
      if (i >= fn.start && i < fn.start + fn.count) coreRelocations.push({ instruction: base + (i - fn.start), relocation });
    }
    output.set(section.bytes.subarray(fn.start * INSN_SIZE, (fn.start + fn.count) * INSN_SIZE), base * INSN_SIZE);
    for (let i = fn.start; i < fn.start + fn.count; i++) {
      const target = section.relocations.get(i);
      const at = base + (i - fn.start);
      if (target?.kind === 'call') {
        insns.setImm(at, placed.get(calleeOf(fn, i, target))! - at - 1);
      } else if (target?.kind === 'map') {
        mapReferences.push({ instruction: at, map: target.map, kind: 'fd', offset: 0 });
      } else if (target?.kind === 'value') {
        mapReferences.push({ instruction: at, map: target.map, kind: 'value', offset: target.offset });
      } else if (target?.kind === 'extern') {
        // A kfunc call, as libbpf marks it: the kernel function's BTF id replaces imm at load.
        if (target.call) {
          insns.setSrcReg(at, BPF_PSEUDO_KFUNC_CALL);
          insns.setImm(at, 0);
        }
        externReferences.push({ instruction: at, name: target.name, call: target.call });
      }
    }
  }
  coreRelocations.sort((a, b) => a.instruction - b.instruction);
  const increasing = lineInfo.every((l, i) => i === 0 || l.instruction > lineInfo[i - 1]!.instruction);
  return {
    instructions: output,
    mapReferences,
    externReferences,
    funcInfo: functionsComplete ? funcInfo : [],
    lineInfo: functionsComplete && linesComplete && increasing ? lineInfo : [],
    coreRelocations,
  };
}
