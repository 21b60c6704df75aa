// Host kernel: the package as Node programs import it (package.json's main, the built dist/): what the
// README's library section names is exported, and its example runs: parse, plan, start with a reader, close.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from '../support/test.js';
import { REPO, fixture, runNode } from '../support/cli.js';
import type { BpfMap } from '../../src/kernel/maps.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { loadedProgramIds, makeBpfCalls, programIdsGone, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

const manifest = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { main: string };
type Library = typeof import('../../src/index.js');
const library = (): Promise<Library> => import(pathToFileURL(`${REPO}${manifest.main}`).href) as Promise<Library>;

/** The README's library section. */
function librarySection(): string {
  const readme = readFileSync(`${REPO}README.md`, 'utf8');
  const start = readme.indexOf('## As a library');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

/** The code of the README's library example. */
function readmeExample(): string {
  return /```ts\n([^]*?)```/.exec(librarySection())![1]!;
}

describe('the package main', () => {
  test('exports every name the README documents', async () => {
    const lib = await library();
    const section = librarySection();
    const named = new Set([...section.matchAll(/`([A-Z][A-Za-z]+|[a-z][A-Za-z]+)(?:\.\w+\(path\))?`/g)].map((m) => m[1]!));
    const imported = /import \{ ([^}]+) \} from 'load-kp-bpf'/.exec(section)![1]!.split(',').map((n) => n.trim());
    // Classes and parse functions; the lower-case rest are methods and fields (`lookup`, `errno`).
    const exported = [...imported, ...[...named].filter((n) => /^([A-Z]|parse)/.test(n))];
    assert.ok(exported.length >= 15, exported.join(' '));
    const missing = [...new Set(exported)].filter((name) => !(name in lib));
    assert.deepEqual(missing, [], `the README names these, the package does not export them`);
    for (const error of ['ElfError', 'ObjectError', 'KernelError', 'VerifierError', 'AttachError', 'UsageError'] as const) {
      assert.ok(lib[error].prototype instanceof lib.LoaderError, `${error} is a LoaderError`);
    }
    assert.deepEqual([lib.BPF_ANY, lib.BPF_NOEXIST, lib.BPF_EXIST], [0n, 1n, 2n].map(Number));
  });

  test("the README's example, run as it is: records arrive, detaching one program stops them while the other counts on, close leaves nothing", async () => {
    const example = readmeExample()
      .replace("from 'load-kp-bpf'", `from ${JSON.stringify(pathToFileURL(`${REPO}${manifest.main}`).href)}`)
      .replace("readFileSync('lib_detach.o')", `readFileSync(${JSON.stringify(fixture('lib_detach.o'))})`);
    const dir = mkdtempSync(join(tmpdir(), 'lkb-readme-'));
    try {
      writeFileSync(join(dir, 'example.mts'), example);
      const result = await runNode(['--import', 'tsx', join(dir, 'example.mts')]);
      assert.equal(result.stderr, '');
      const match = /^bpf\(\) calls seen: (\d+), after detaching on_bpf: (\d+) more; syscalls: (\d+)\n$/.exec(result.stdout);
      assert.ok(match, result.stdout);
      // Its ten map reads at least; none once on_bpf is detached, while count_syscalls saw them all.
      assert.ok(Number(match[1]) >= 10, `saw ${match[1]} bpf() calls`);
      assert.equal(match[2], '0');
      assert.ok(Number(match[3]) >= 20, `counted ${match[3]} syscalls`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await programsGone('on_bpf', 'count_syscalls');
  });
});

describe('attachments as handles', () => {
  const pins = scratchPinRoot('library');
  makeDirectories(pins);
  after(removeScratchPinRoots);
  const counter = (map: BpfMap): bigint => map.lookup(Buffer.alloc(4))!.readBigUInt64LE(0);

  test('a pinned link keeps its program counting after the object closes; removing the pin frees it', async () => {
    const { parseBpfObject, LoadedObject, prepareRawTracepoint, BpfMap } = await library();
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('lib_detach.o'))), { programs: ['count_syscalls'] });
    const linkPath = join(pins, 'count_syscalls_link');
    const mapPath = join(pins, 'counts');
    let id: number;
    try {
      loaded.attach('count_syscalls', prepareRawTracepoint('sys_enter')).pin(linkPath);
      loaded.maps.get('counts')!.map.pin(mapPath);
      id = loaded.program('count_syscalls').id;
    } finally {
      loaded.close();
    }
    const counts = BpfMap.fromPin(mapPath);
    try {
      const before = counter(counts);
      makeBpfCalls(counts, 10);
      assert.ok(counter(counts) - before >= 10n, 'the pinned link still counts');
    } finally {
      counts.close();
    }
    assert.ok(loadedProgramIds('count_syscalls').includes(id));
    rmSync(linkPath);
    await programIdsGone(id);
  });

  test('an attachment that is no BPF link cannot be pinned, and says so', async () => {
    const { parseBpfObject, LoadedObject, prepareTracepoint, UsageError } = await library();
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('lib_detach.o'))), { programs: ['on_bpf'] });
    try {
      const attached = loaded.attach('on_bpf', prepareTracepoint('syscalls/sys_enter_bpf', { mode: 'pmu' }));
      assert.throws(() => attached.pin(join(pins, 'on_bpf_link')), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.message, "program 'on_bpf' on syscalls/sys_enter_bpf cannot be pinned: its attachment holds no BPF link");
        return true;
      });
    } finally {
      loaded.close();
    }
    await programsGone('on_bpf');
  });
});

describe('without the native addon', () => {
  test('objects, BTF and record types parse; the first kernel call names what is missing', async () => {
    const script = `
      process.dlopen = () => { throw new Error('no addon here'); };
      const lib = await import(${JSON.stringify(pathToFileURL(`${REPO}${manifest.main}`).href)});
      const spec = lib.parseBpfObject((await import('node:fs')).readFileSync(${JSON.stringify(fixture('lib_detach.o'))}));
      console.log(spec.programs.map((p) => p.name).join(' '), lib.findRecordType ? 'types' : '');
      try { lib.LoadedObject.load(spec); } catch (error) { console.log(error.name, error.message); }`;
    const result = await runNode(['--input-type=module', '-e', script]);
    assert.equal(result.stderr, '');
    const [parsed, failure] = result.stdout.split('\n');
    assert.equal(parsed, 'on_bpf count_syscalls types');
    const build = `build it with npm run build:addon --prefix ${REPO.replace(/\/$/, '')} (needs g++, make and Python)`;
    assert.match(failure!, /^LoaderError the native addon \/\S+\.node does not load \(no addon here\); /);
    assert.ok(failure!.endsWith(build), failure);
  });
});

describe('options and failures as data', () => {
  test('a failed attach says which program and target it concerns, with its errno; the object stays whole', async () => {
    const { parseBpfObject, LoadedObject, prepareRawTracepoint, prepareTracepoint, KernelError } = await library();
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('lib_detach.o'))), { programs: ['on_bpf'] });
    try {
      // A tracepoint program on a raw tracepoint: the kernel refuses the program's type.
      assert.throws(() => loaded.attach('on_bpf', prepareRawTracepoint('sys_enter')), (error: unknown) => {
        assert.ok(error instanceof KernelError, String(error));
        assert.equal(error.program, 'on_bpf');
        assert.equal(error.target, 'sys_enter');
        assert.equal(error.map, undefined);
        assert.equal(typeof error.errno, 'number');
        return true;
      });
      assert.equal(loaded.attached.length, 0);
      assert.equal(loaded.attach('on_bpf', prepareTracepoint('syscalls/sys_enter_bpf')).attachment.target, 'syscalls/sys_enter_bpf');
    } finally {
      loaded.close();
    }
    await programsGone('on_bpf');
  });

  test('a plan that cannot be made names the program', async () => {
    const { parseBpfObject, planAttachments, AttachError } = await library();
    const spec = parseBpfObject(readFileSync(fixture('lib_detach.o')));
    assert.throws(() => planAttachments(spec, { targets: new Map([['on_bpf', 'syscalls/sys_enter_bfp']]) }), (error: unknown) => {
      assert.ok(error instanceof AttachError, String(error));
      assert.equal(error.program, 'on_bpf');
      assert.match(error.message, /tracepoint syscalls\/sys_enter_bfp does not exist in this kernel/);
      return true;
    });
  });

  test('the kernel BTF is whatever kernelBtfFile names, for that call only', async () => {
    const { parseBpfObject, prepareRawTracepoint, readElf } = await library();
    const dir = mkdtempSync(join(tmpdir(), 'lkb-btf-'));
    try {
      // BTF that has no btf_trace_sys_enter: the object's own.
      const objectBtf = join(dir, 'object.btf');
      const elf = readElf(readFileSync(fixture('lib_detach.o')));
      writeFileSync(objectBtf, elf.sectionData(elf.sectionByName('.BTF')!));
      assert.ok(parseBpfObject(readFileSync(fixture('lib_detach.o'))).btf);
      assert.throws(() => prepareRawTracepoint('sys_enter', { kernelBtfFile: objectBtf }), /raw tracepoint 'sys_enter' does not exist in this kernel/);
      assert.equal(prepareRawTracepoint('sys_enter').tracepoint, 'sys_enter');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
