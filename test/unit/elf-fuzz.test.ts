// Robustness of src/elf/reader.ts and src/object/bpf-object.ts (and of src/btf and src/object/btf-maps.ts on objects
// with BTF-defined maps): every truncation of real objects and seeded random mutations (biased to
// headers, section headers, symbols, relocations, instructions, map records, names and .BTF words)
// must either parse or throw one ElfError with a one-line message; never a TypeError/RangeError,
// never a hang.
//
// The work runs in worker threads so that a hang (a synchronous endless loop) is caught by a
// watchdog, which then names the iteration being run. Reproduce a failure with the seed and
// iteration it prints: LKB_FUZZ_SEED=<seed> LKB_FUZZ_ONLY=<target>:<iteration> node --import tsx --test test/unit/elf-fuzz.test.ts
// Tune with LKB_FUZZ_ITERATIONS (mutations per target, default 10000).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from '../support/test.js';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, readElf, type ElfFile } from '../../src/elf/reader.js';
import { ElfError } from '../../src/errors.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { coreRelocationCount } from '../../src/btf/ext.js';
import { parseBtfMaps } from '../../src/object/btf-maps.js';
import { applyMapReferences } from '../../src/object/relocations.js';
import type { BpfObjectSpec } from '../../src/object/spec.js';
import { EXAMPLE_OBJECT, craftedBpfObject, fixturePath, prng } from './helpers.js';

const SEED = Number(process.env.LKB_FUZZ_SEED ?? 0x5eed_b9f);
const ITERATIONS = Number(process.env.LKB_FUZZ_ITERATIONS ?? 10_000);
/** How long one input may take before it counts as a hang. */
const HANG_MS = 10_000;

const CRAFTED_LE = 'crafted-le';
const CRAFTED_BE = 'crafted-be';

function targetBytes(path: string): Uint8Array {
  if (path === CRAFTED_LE || path === CRAFTED_BE) return craftedBpfObject(path === CRAFTED_LE);
  return new Uint8Array(readFileSync(path));
}

/** Each worker mutates one object; together they cover both byte orders and both map layouts. */
const TARGETS = [
  EXAMPLE_OBJECT,
  fixturePath('example_test_prog.bpfeb.o'),
  fixturePath('elf_multi.o'),
  fixturePath('elf_multi.bpfeb.o'),
  fixturePath('elf_short_maps.bpfeb.o'),
  // Hand-made (helpers.ts): extended numbering, SHT_SYMTAB_SHNDX, RELA, NOBITS.
  CRAFTED_LE,
  CRAFTED_BE,
  // BTF-defined maps (.maps described by .BTF), and CO-RE records in .BTF.ext.
  fixturePath('btf_maps.o'),
  fixturePath('btf_maps.bpfeb.o'),
  fixturePath('btf_kinds.o'),
  fixturePath('btf_core.bpfeb.o'),
];
/** Every prefix of these is tried. */
const TRUNCATED = [EXAMPLE_OBJECT, fixturePath('example_test_prog.bpfeb.o'), fixturePath('elf_multi.bpfeb.o'), CRAFTED_BE, fixturePath('btf_maps.o')];

interface Job {
  path: string;
  seed: number;
  iterations: number;
  truncate: boolean;
  /** Only this iteration (for reproducing one failure). */
  only?: number;
}

interface Failure {
  input: string;
  problem: string;
}

interface JobResult {
  path: string;
  inputs: number;
  /** Of the inputs, how many were truncations. */
  truncations: number;
  accepted: number;
  /** Inputs that still had a `.maps` section, and how many of those parseBtfMaps accepted. */
  btfMapsInputs: number;
  btfMapsParsed: number;
  failures: Failure[];
  milliseconds: number;
}

// ---------------------------------------------------------------------------------------------
// Worker side: building inputs and checking what the parsers do with them.

interface Mutation {
  at: number;
  width: 1 | 2 | 4 | 8;
  value: bigint;
  label: string;
}

function describe(mutations: readonly Mutation[]): string {
  return mutations.map((m) => `${m.label} @${m.at}/${m.width}B := 0x${m.value.toString(16)}`).join('; ');
}

function applyMutations(base: Uint8Array, littleEndian: boolean, mutations: readonly Mutation[]): Uint8Array {
  const bytes = base.slice();
  const view = new DataView(bytes.buffer);
  for (const m of mutations) {
    if (m.at < 0 || m.at + m.width > bytes.length) continue;
    if (m.width === 1) view.setUint8(m.at, Number(m.value & 0xffn));
    else if (m.width === 2) view.setUint16(m.at, Number(m.value & 0xffffn), littleEndian);
    else if (m.width === 4) view.setUint32(m.at, Number(m.value & 0xffffffffn), littleEndian);
    else view.setBigUint64(m.at, BigInt.asUintN(64, m.value), littleEndian);
  }
  return bytes;
}

/** Where the interesting fields of the unmutated object are. */
interface Layout {
  length: number;
  littleEndian: boolean;
  shoff: number;
  sectionCount: number;
  symtab?: { offset: number; count: number };
  relEntries: number[];
  /** File offsets of the instructions that relocations point at. */
  relocatedInstructions: number[];
  strtabs: Array<{ offset: number; size: number }>;
  maps?: { offset: number; size: number };
  /** .BTF, and .BTF.ext when there is one. */
  btf?: { offset: number; size: number; ext?: { offset: number; size: number } };
  read(at: number, width: 1 | 2 | 4 | 8): bigint;
}

function layoutOf(bytes: Uint8Array, elf: ElfFile): Layout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.littleEndian;
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  const relEntries: number[] = [];
  const relocatedInstructions: number[] = [];
  for (const rel of elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA)) {
    const size = rel.type === SHT_REL ? 16 : 24;
    for (let at = rel.offset; at < rel.offset + rel.size; at += size) relEntries.push(at);
    const target = elf.sections[rel.info]!;
    for (const r of elf.relocations(rel)) relocatedInstructions.push(target.offset + Number(r.offset));
  }
  const maps = elf.sectionByName('maps');
  const btf = elf.sectionByName('.BTF');
  const btfExt = elf.sectionByName('.BTF.ext');
  return {
    length: bytes.length,
    littleEndian: le,
    shoff: Number(view.getBigUint64(40, le)),
    sectionCount: elf.sections.length,
    symtab: symtab ? { offset: symtab.offset, count: symtab.size / 24 } : undefined,
    relEntries,
    relocatedInstructions,
    strtabs: elf.sections.filter((s) => s.type === SHT_STRTAB).map((s) => ({ offset: s.offset, size: s.size })),
    maps: maps ? { offset: maps.offset, size: maps.size } : undefined,
    btf: btf ? { offset: btf.offset, size: btf.size, ext: btfExt ? { offset: btfExt.offset, size: btfExt.size } : undefined } : undefined,
    read: (at, width) =>
      width === 1 ? BigInt(view.getUint8(at)) : width === 2 ? BigInt(view.getUint16(at, le)) : width === 4 ? BigInt(view.getUint32(at, le)) : view.getBigUint64(at, le),
  };
}

const SECTION_FIELDS: Array<[string, number, 4 | 8]> = [
  ['sh_name', 0, 4],
  ['sh_type', 4, 4],
  ['sh_flags', 8, 8],
  ['sh_offset', 24, 8],
  ['sh_size', 32, 8],
  ['sh_link', 40, 4],
  ['sh_info', 44, 4],
  ['sh_entsize', 56, 8],
];
const HEADER_FIELDS: Array<[string, number, 1 | 2 | 4 | 8]> = [
  ['EI_CLASS', 4, 1],
  ['EI_DATA', 5, 1],
  ['EI_VERSION', 6, 1],
  ['e_type', 16, 2],
  ['e_machine', 18, 2],
  ['e_shoff', 40, 8],
  ['e_shentsize', 58, 2],
  ['e_shnum', 60, 2],
  ['e_shstrndx', 62, 2],
];
const SYMBOL_FIELDS: Array<[string, number, 1 | 2 | 4 | 8]> = [
  ['st_name', 0, 4],
  ['st_info', 4, 1],
  ['st_shndx', 6, 2],
  ['st_value', 8, 8],
  ['st_size', 16, 8],
];
const SECTION_TYPES = [0n, 1n, 2n, 3n, 4n, 8n, 9n, 11n, 18n, 0x6fff4c03n];

/** A value likely to reach an edge of the code reading a field of this width. */
function interestingValue(random: () => number, original: bigint, width: 1 | 2 | 4 | 8, fileLength: number, label: string): bigint {
  const bits = BigInt(width * 8);
  const max = (1n << bits) - 1n;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const L = BigInt(fileLength);
  const candidates: Array<() => bigint> = [
    () => 0n,
    () => 1n,
    () => original + 1n,
    () => original - 1n,
    () => original + BigInt(pick([8, 16, 24, 36, 64, -8, -16, -64])),
    () => original ^ (1n << BigInt(Math.floor(random() * Number(bits)))),
    () => max,
    () => max - BigInt(Math.floor(random() * 4)),
    () => 1n << (bits - 1n),
    () => L,
    () => L - BigInt(Math.floor(random() * 16)),
    () => L + BigInt(Math.floor(random() * 16)),
    () => BigInt(Math.floor(random() * fileLength)),
    () => BigInt(Math.floor(random() * 64)),
    () => BigInt(Math.floor(random() * 2 ** 32)) * (width === 8 ? BigInt(Math.floor(random() * 2 ** 32)) : 1n),
  ];
  if (width === 2) candidates.push(() => pick([0xff00n, 0xfff1n, 0xfff2n, 0xffffn]));
  if (label === 'sh_type') candidates.push(() => pick(SECTION_TYPES), () => pick(SECTION_TYPES));
  if (label === 'sh_entsize') candidates.push(() => pick([0n, 16n, 24n, 23n, 25n]));
  if (label === 'r_type') candidates.push(() => pick([0n, 1n, 2n, 3n, 10n, 11n]));
  // In .BTF: type ids (a few dozen in the fixtures) and struct btf_type info words (kind << 24 | vlen).
  if (label === 'btf word') {
    candidates.push(
      () => BigInt(Math.floor(random() * 80)),
      () => BigInt(Math.floor(random() * 80)),
      () => BigInt((((Math.floor(random() * 21) << 24) | Math.floor(random() * 8)) >>> 0) | (random() < 0.1 ? 0x80000000 : 0)),
    );
  }
  return BigInt.asUintN(Number(bits), pick(candidates)()) & max;
}

function randomMutation(random: () => number, layout: Layout): Mutation {
  const int = (n: number): number => Math.floor(random() * n);
  const field = (label: string, at: number, width: 1 | 2 | 4 | 8): Mutation => {
    const original = at + width <= layout.length ? layout.read(at, width) : 0n;
    return { at, width, value: interestingValue(random, original, width, layout.length, label), label };
  };
  // Objects with BTF: a good part of the mutations go to .BTF (and .BTF.ext) words. Other objects
  // draw no extra number, so their mutations stay those of their seeds.
  if (layout.btf && random() < 0.4) {
    const ext = layout.btf.ext && random() < 0.2 ? layout.btf.ext : undefined;
    const region = ext ?? layout.btf;
    const word = int(Math.max(1, Math.floor(region.size / 4)));
    return { ...field('btf word', region.offset + word * 4, 4), label: `${ext ? '.BTF.ext' : '.BTF'} word ${word}` };
  }
  const r = random();
  if (r < 0.08) {
    return { at: int(layout.length), width: 1, value: BigInt(int(256)), label: 'random byte' };
  }
  if (r < 0.12) {
    const at = int(layout.length);
    return { at, width: 1, value: layout.read(at, 1) ^ (1n << BigInt(int(8))), label: 'bit flip' };
  }
  if (r < 0.22) {
    const [label, at, width] = HEADER_FIELDS[int(HEADER_FIELDS.length)]!;
    return field(label, at, width);
  }
  if (r < 0.5) {
    const index = int(layout.sectionCount);
    const [label, offset, width] = SECTION_FIELDS[int(SECTION_FIELDS.length)]!;
    return { ...field(label, layout.shoff + index * 64 + offset, width), label: `section ${index} ${label}` };
  }
  if (r < 0.65 && layout.symtab) {
    const index = int(layout.symtab.count);
    const [label, offset, width] = SYMBOL_FIELDS[int(SYMBOL_FIELDS.length)]!;
    return { ...field(label, layout.symtab.offset + index * 24 + offset, width), label: `symbol ${index} ${label}` };
  }
  if (r < 0.78 && layout.relEntries.length > 0) {
    const entry = int(layout.relEntries.length);
    const at = layout.relEntries[entry]!;
    const which = int(3);
    if (which === 0) return { ...field('r_offset', at, 8), label: `rel entry ${entry} r_offset` };
    // r_info's halves: the symbol index and the type (the order in the file depends on the byte order).
    const symbolHalf = layout.littleEndian ? at + 12 : at + 8;
    const typeHalf = layout.littleEndian ? at + 8 : at + 12;
    if (which === 1) return { ...field('r_sym', symbolHalf, 4), label: `rel entry ${entry} r_info symbol` };
    return { ...field('r_type', typeHalf, 4), label: `rel entry ${entry} r_info type` };
  }
  if (r < 0.88 && layout.relocatedInstructions.length > 0) {
    const insn = layout.relocatedInstructions[int(layout.relocatedInstructions.length)]!;
    const which = int(3);
    if (which === 0) return { at: insn, width: 1, value: BigInt([0x18, 0x85, 0x95, 0xb7, 0x00, int(256)][int(6)]!), label: 'relocated insn opcode' };
    if (which === 1) return { at: insn + 1, width: 1, value: BigInt(int(256)), label: 'relocated insn registers' };
    return { ...field('imm', insn + 4, 4), label: 'relocated insn imm' };
  }
  if (r < 0.95 && layout.maps) {
    const word = int(Math.max(1, Math.floor(layout.maps.size / 4)));
    return { ...field('map word', layout.maps.offset + word * 4, 4), label: `maps word ${word}` };
  }
  const table = layout.strtabs[int(layout.strtabs.length)];
  if (table) {
    const at = table.offset + int(table.size);
    return { at, width: 1, value: BigInt([0x0a, 0x0d, 0x00, 0x2e, 0x2f, 0x27, 0xff, int(256)][int(8)]!), label: 'string table byte' };
  }
  return { at: int(layout.length), width: 1, value: BigInt(int(256)), label: 'random byte' };
}

/** The checks: success, or an ElfError with a one-line, non-empty message. */
function check(bytes: Uint8Array): { accepted: boolean; btfMapsParsed?: boolean; problem?: string } {
  let accepted = true;
  const expectElfError = (step: string, fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (error) {
      accepted = false;
      if (!(error instanceof ElfError)) {
        const e = error as Error;
        return `${step} threw ${e?.name ?? typeof error} instead of an ElfError: ${e?.stack ?? String(error)}`;
      }
      if (error.message === '' || /[\r\n]/.test(error.message)) return `${step}: message is not one line: ${JSON.stringify(error.message)}`;
      return undefined;
    }
  };
  let elf: ElfFile | undefined;
  let spec: BpfObjectSpec | undefined;
  let btfMapsParsed: boolean | undefined;
  const problem =
    expectElfError('readElf', () => {
      elf = readElf(bytes);
      // Relocations are read on demand: read every table, as a loader would.
      for (const s of elf.sections) {
        elf.sectionData(s);
        if (s.type === SHT_REL || s.type === SHT_RELA) {
          elf.relocations(s);
          elf.relocationSectionsFor(elf.sections[s.info]!);
        }
      }
    }) ??
    expectElfError('parseBpfObject', () => void (spec = parseBpfObject(bytes))) ??
    btfProblem();
  return { accepted: accepted && problem === undefined, btfMapsParsed, problem: problem ?? (spec && acceptedObjectProblem(spec)) };

  /** BTF-defined maps and the CO-RE count, on whatever ELF file was read. */
  function btfProblem(): string | undefined {
    const file = elf;
    if (!file) return undefined;
    const maps = file.sectionByName('.maps');
    const ext = file.sectionByName('.BTF.ext');
    const mapsProblem = maps
      ? expectElfError('parseBtfMaps', () => {
          btfMapsParsed = false;
          parseBtfMaps(file, maps);
          btfMapsParsed = true;
        })
      : undefined;
    return mapsProblem ?? (ext ? expectElfError('coreRelocationCount', () => void coreRelocationCount(file.sectionData(ext), file.littleEndian)) : undefined);
  }
}

/** What a parsed object promises the loader: every reference is an ld_imm64 naming one of its maps. */
function acceptedObjectProblem(spec: BpfObjectSpec): string | undefined {
  for (const program of spec.programs) {
    if (program.instructions.length % 8 !== 0) return `program '${program.name}' has ${program.instructions.length} bytes of instructions`;
    for (const reference of program.mapReferences) {
      const at = reference.instruction * 8;
      if (at + 16 > program.instructions.length || program.instructions[at] !== 0x18) {
        return `program '${program.name}': map reference at instruction ${reference.instruction} is not on an ld_imm64`;
      }
      if (!spec.maps.some((m) => m.name === reference.map)) return `program '${program.name}' refers to unknown map '${reference.map}'`;
    }
    try {
      applyMapReferences(program.instructions, spec.littleEndian, program.mapReferences, () => 3);
    } catch (error) {
      return `applyMapReferences on program '${program.name}' threw ${String(error)}`;
    }
  }
  return undefined;
}

function runJob(job: Job, progress: Int32Array): JobResult {
  const started = performance.now();
  const base = targetBytes(job.path);
  const layout = layoutOf(base, readElf(base));
  const failures: Failure[] = [];
  let inputs = 0;
  let truncations = 0;
  let accepted = 0;
  let btfMapsInputs = 0;
  let btfMapsParsed = 0;
  const record = (input: string, bytes: Uint8Array, reproduce: string): void => {
    inputs++;
    const result = check(bytes);
    if (result.accepted) accepted++;
    if (result.btfMapsParsed !== undefined) btfMapsInputs++;
    if (result.btfMapsParsed) btfMapsParsed++;
    if (result.problem && failures.length < 10) failures.push({ input: `${input} [reproduce: ${reproduce}]`, problem: result.problem });
  };
  if (job.truncate && job.only === undefined) {
    for (let length = 0; length <= base.length; length++) {
      Atomics.store(progress, 0, -2 - length);
      truncations++;
      record(`truncated to ${length} bytes`, base.subarray(0, length), `parseBpfObject(${job.path.startsWith('crafted') ? `craftedBpfObject(${job.path === CRAFTED_LE})` : `readFileSync('${job.path}')`}.subarray(0, ${length}))`);
    }
  }
  const first = job.only ?? 0;
  const last = job.only ?? job.iterations - 1;
  for (let iteration = first; iteration <= last; iteration++) {
    Atomics.store(progress, 0, iteration);
    const { mutations } = mutationsFor(job.seed, iteration, layout);
    record(
      `seed ${job.seed} iteration ${iteration}: ${describe(mutations)}`,
      applyMutations(base, layout.littleEndian, mutations),
      `LKB_FUZZ_SEED=${job.seed} LKB_FUZZ_ONLY=${basename(job.path)}:${iteration}`,
    );
  }
  return { path: job.path, inputs, truncations, accepted, btfMapsInputs, btfMapsParsed, failures, milliseconds: performance.now() - started };
}

/** The mutations of one iteration depend only on the seed and the iteration number. */
function mutationsFor(seed: number, iteration: number, layout: Layout): { mutations: Mutation[] } {
  const random = prng((seed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0);
  const count = random() < 0.6 ? 1 : random() < 0.7 ? 2 : 4;
  return { mutations: Array.from({ length: count }, () => randomMutation(random, layout)) };
}

if (!isMainThread) {
  const { job, progress } = workerData as { job: Job; progress: SharedArrayBuffer };
  parentPort!.postMessage(runJob(job, new Int32Array(progress)));
}

// ---------------------------------------------------------------------------------------------
// Main thread: one worker per target, two at a time, each watched for hangs.

function runInWorker(job: Job): Promise<JobResult> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  Atomics.store(counter, 0, -1);
  const worker = new Worker(boot, { eval: true, workerData: { job, progress } });
  return new Promise((resolve, reject) => {
    let lastSeen = Atomics.load(counter, 0);
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(counter, 0);
      if (now !== lastSeen) {
        lastSeen = now;
        lastChange = Date.now();
        return;
      }
      if (Date.now() - lastChange > HANG_MS) {
        clearInterval(watchdog);
        void worker.terminate();
        const where =
          now === -1
            ? 'its start'
            : now < -1
            ? `the first ${-2 - now} bytes of ${job.path}`
            : `seed ${job.seed} iteration ${now}; reproduce with LKB_FUZZ_SEED=${job.seed} LKB_FUZZ_ONLY=${basename(job.path)}:${now}`;
        reject(new Error(`${basename(job.path)}: no progress for ${HANG_MS} ms on ${where} (a hang)`));
      }
    }, 250);
    worker.once('message', (result: JobResult) => {
      clearInterval(watchdog);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
  });
}

async function runAll(jobs: Job[], parallel: number): Promise<JobResult[]> {
  const results: JobResult[] = [];
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) results.push(await runInWorker(job));
    }),
  );
  return results;
}

if (isMainThread) {
  test('truncations and mutations of real objects: parsed, or refused with one ElfError', { timeout: 120_000 }, async (t) => {
    const only = process.env.LKB_FUZZ_ONLY?.split(':');
    const jobs: Job[] = TARGETS.filter((path) => !only || basename(path) === only[0]).map((path, i) => ({
      path,
      seed: SEED + i,
      iterations: ITERATIONS,
      truncate: TRUNCATED.includes(path),
      ...(only ? { only: Number(only[1]), seed: SEED } : {}),
    }));
    assert.ok(jobs.length > 0, `LKB_FUZZ_ONLY=${process.env.LKB_FUZZ_ONLY} names no target`);
    const started = performance.now();
    const results = await runAll(jobs, 2);
    const seconds = (performance.now() - started) / 1000;
    const inputs = results.reduce((n, r) => n + r.inputs, 0);
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    const truncations = results.reduce((n, r) => n + r.truncations, 0);
    t.diagnostic(`${inputs} inputs (${truncations} truncations, ${inputs - truncations} mutations; ${accepted} parsed, ${inputs - accepted} refused with ElfError) in ${seconds.toFixed(1)} s`);
    for (const r of results) {
      const btf = r.btfMapsInputs > 0 ? ` (parseBtfMaps: ${r.btfMapsParsed} of ${r.btfMapsInputs} parsed)` : '';
      t.diagnostic(`${basename(r.path)}: ${r.inputs} inputs, ${r.accepted} parsed${btf}, ${(r.milliseconds / 1000).toFixed(1)} s`);
    }

    const failures = results.flatMap((r) => r.failures.map((f) => `${basename(r.path)}: ${f.input}\n    ${f.problem}`));
    assert.deepEqual(failures, [], `inputs that broke the parsers:\n${failures.join('\n')}`);
    if (!only) {
      assert.ok(inputs - truncations >= 10_000, `only ${inputs - truncations} mutated inputs were tried`);
      // The mutations must reach past the header checks: a fair share of inputs still parse.
      assert.ok(accepted > inputs / 10, `only ${accepted} of ${inputs} inputs parsed: the mutations are too blunt to test much`);
      assert.ok(accepted < inputs - inputs / 10, `${accepted} of ${inputs} inputs parsed: the mutations miss the fields that matter`);
      // The same for the maps of the objects with BTF: the .BTF mutations reach past its header.
      for (const r of results.filter((result) => result.btfMapsInputs > 0)) {
        const share = r.btfMapsParsed / r.btfMapsInputs;
        assert.ok(share > 0.1 && share < 0.9, `${basename(r.path)}: parseBtfMaps accepted ${r.btfMapsParsed} of ${r.btfMapsInputs} inputs`);
      }
      assert.equal(results.filter((r) => r.btfMapsInputs > 0).length, 4, 'every object with BTF-defined maps was fuzzed');
    }
  });
}
