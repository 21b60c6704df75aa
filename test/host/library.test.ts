// Host kernel: the package as Node programs import it (package.json's main, the built dist/): what the
// README's library section names is exported, and its example runs: parse, plan, start with a reader, close.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { pathToFileURL } from 'node:url';
import { REPO, fixture, runProgram } from '../support/cli.js';
import { programsGone } from '../support/kernel.js';

const manifest = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { main: string };
type Library = typeof import('../../src/index.js');
const library = (): Promise<Library> => import(pathToFileURL(`${REPO}${manifest.main}`).href) as Promise<Library>;

describe('the package main', () => {
  test('exports every name the README documents', async () => {
    const lib = await library();
    const readme = readFileSync(`${REPO}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## As a library'), readme.indexOf('\n## ', readme.indexOf('## As a library') + 1));
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

  test("the README's example: records arrive through a reader; close leaves no program", async () => {
    const { parseBpfObject, planAttachments, LoadedObject, RingBufferReader } = await library();
    const spec = parseBpfObject(readFileSync(fixture('ringbuf_output.o')));
    const plan = planAttachments(spec, { skipMissing: true });
    const seqs: number[] = [];
    const loaded = LoadedObject.start(spec, {
      attach: plan.attachments,
      beforeAttach: (l) => l.own(RingBufferReader.open(l.maps.get('records')!.map, { onRecord: (r) => seqs.push(r.data.readUInt32LE(4)) })),
    });
    try {
      await runProgram(fixture('emit_calls'), ['6']);
      for (let i = 0; i < 500 && seqs.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seqs, [1, 2, 3, 4, 6]);
    } finally {
      loaded.close();
    }
    await programsGone('emit_ringbuf');
  });
});
