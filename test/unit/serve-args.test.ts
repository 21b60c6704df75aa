// serve's command line: objects split where an ELF file starts one, option values never mistaken for objects; the configuration file's mistakes in one line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { fixture } from '../support/cli.js';
import { UsageError } from '../../src/errors.js';
import { readServeConfig, splitObjects } from '../../src/cli/serve-args.js';

describe('splitObjects', () => {
  const a = fixture('btf_metrics.o');
  const b = fixture('tp_count.o');

  test('an ELF file that is no option value starts the next object; other words are the function', () => {
    assert.deepEqual(splitObjects([a, '--max-entries', 'calls_by_pid=64', '-q', b, 'sys_bpf', '--retprobe']), [
      [a, '--max-entries', 'calls_by_pid=64', '-q'],
      [b, 'sys_bpf', '--retprobe'],
    ]);
    assert.deepEqual(splitObjects([a, 'sys_bpf', b]), [[a, 'sys_bpf'], [b]]);
  });

  test("an option's value stays the option's even when it names an ELF file", () => {
    assert.deepEqual(splitObjects([a, '--types', b, '--types=' + b]), [[a, '--types', b, '--types=' + b]]);
  });

  test('options before the first object are refused, naming them', () => {
    assert.throws(() => splitObjects(['--raw', a]), (e: unknown) => e instanceof UsageError && e.message === "serve: --raw: an object's options go after its path (serve's own go before the first object)");
    assert.deepEqual(splitObjects([]), []);
  });
});

describe('readServeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkb-serve-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'serve.yaml');
  const read = (text: string) => {
    writeFileSync(file, text);
    return readServeConfig(file);
  };

  test('listen and objects with their arguments, numbers read as words', () => {
    assert.deepEqual(read('listen: 9435\nobjects:\n  - object: a.o\n    args: [--max-entries, counts=1024, --perf-pages, 8]\n  - object: b.o\n'), {
      listen: '9435',
      objects: [
        { object: 'a.o', args: ['--max-entries', 'counts=1024', '--perf-pages', '8'] },
        { object: 'b.o', args: [] },
      ],
    });
  });

  test('each mistake is one line naming the file and the key', () => {
    const cases: Array<[string, string]> = [
      ['objects: [', `--config ${file}:1: not YAML or JSON: `],
      ['- a.o\n', `--config ${file}: the top level: expected a mapping with "listen" and "objects"`],
      ['listen: 1\n', `--config ${file}: objects: missing: the configuration names no object`],
      ['objects: []\n', `--config ${file}: objects: expected a list of {object, args}`],
      ['objects:\n  - path: a.o\n', `--config ${file}: objects[0].path: unknown key; an object has "object" and "args"`],
      ['objects:\n  - object: a.o\n    args: --raw\n', `--config ${file}: objects[0].args: expected a list of the arguments`],
      ['object: a.o\n', `--config ${file}: object: unknown key; a configuration has "listen" and "objects"`],
    ];
    for (const [text, start] of cases) {
      assert.throws(() => read(text), (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.ok(e.message.startsWith(start), `${JSON.stringify(text)}: ${e.message}`);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
  });
});
