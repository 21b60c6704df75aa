// Kernels with kprobes: a chain of three tail calls under a kprobe counts at every step, in each
// convention that fills program arrays; an empty slot falls through; nothing of ours stays.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { RunningCli, detachedMaps, fixture, jsonEvents, stopRunningClis } from '../support/cli.js';
import { loadedProgramIds, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});


const CONVENTIONS = [
  { name: "iproute2's ID/KEY sections", object: 'tail_iproute2.o', args: ['vfs_read'], jumps: 'ti_jumps', steps: 'ti_steps', prefix: 'ti' },
  { name: "the samples loader's kprobe/N sections", object: 'tail_samples.o', args: [], jumps: 'ts_jumps', steps: 'ts_steps', prefix: 'ts' },
  { name: "libbpf's .maps values initialiser", object: 'btf_tail_calls.o', args: [], jumps: 'tb_jumps', steps: 'tb_steps', prefix: 'tb' },
] as const;

describe('tail calls', () => {
  for (const c of CONVENTIONS) {
    test(`${c.name}: entry -> slot 0 -> slot 1 -> slot 2 each count every vfs_read, and the empty slot 3 falls through`, async () => {
      const root = scratchPinRoot(`tail-${c.prefix}`);
      const cli = new RunningCli([fixture(c.object), ...c.args, '--pin-root', root, '--json']);
      await cli.waitFor(/"event":"attached"/);
      const attached = jsonEvents(cli.stdout)[0]!;
      const steps = [1, 2, 3].map((n) => `${c.prefix}_step${n}`);
      assert.deepEqual(
        attached.tailCalls,
        steps.map((program, index) => ({ map: c.jumps, index, program })),
      );
      // Only the entry is attached: the steps are reached by tail call alone.
      assert.deepEqual(
        (attached.attachments as Array<{ program: string; target: string }>).map((a) => [a.program, a.target]),
        [[`${c.prefix}_entry`, 'vfs_read']],
      );
      for (let i = 0; i < 100; i++) readFileSync('/proc/self/stat');
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const counts = detachedMaps(result.stdout)[c.steps]!;
      const entry = BigInt(counts['0']!);
      assert.ok(entry >= 100n, `the entry ran ${entry} times, expected at least our 100 reads`);
      assert.deepEqual([1, 2, 3, 4].map((k) => BigInt(counts[String(k)]!)), [entry, entry, entry, entry], `keys 0-4: ${JSON.stringify(counts)}`);
      await programsGone(`${c.prefix}_entry`, ...steps);
    });
  }

  test('a pinned program array stays, emptied of our programs, which are then freed', async () => {
    const root = scratchPinRoot('tail-pinned');
    const cli = new RunningCli([fixture('tail_iproute2.o'), 'vfs_read', '--pin-root', root, '--json']);
    await cli.waitFor(/"event":"attached"/);
    const jumps = BpfMap.fromPin(`${root}/ti_jumps`);
    try {
      const slot = (index: number): number | undefined => {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(index);
        return jumps.lookup(key)?.readUInt32LE(0);
      };
      const ids = [0, 1, 2].map(slot);
      assert.deepEqual(ids, ['ti_step1', 'ti_step2', 'ti_step3'].map((n) => loadedProgramIds(n)[0]), 'the slots hold our programs, by id');
      assert.equal(slot(3), undefined);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual([0, 1, 2, 3].map(slot), [undefined, undefined, undefined, undefined]);
    } finally {
      jumps.close();
    }
    await programsGone('ti_entry', 'ti_step1', 'ti_step2', 'ti_step3');
  });
});
