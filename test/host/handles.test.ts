// Host kernel: every handle (map, program, link, perf event) refuses use after close, even when its fd number is reused.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from '../support/test.js';
import { MAP_TYPE, PERF_TYPE, PROG_TYPE } from '../../src/abi.js';
import { ClosedError, KernelError } from '../../src/errors.js';
import { BpfLink } from '../../src/kernel/link.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { PerfEvent } from '../../src/kernel/perf-event.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { objPin } from '../../src/kernel/bpf.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { traceEventId, tracefsRoot } from '../../src/attach/tracefs.js';
import { fixture } from '../support/cli.js';
import { removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

after(removeScratchPinRoots);

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const openFds = (): number => readdirSync('/proc/self/fd').length;

function closedError(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ClosedError, `expected a ClosedError, got ${String(error)}`);
    assert.match((error as Error).message, what);
    return true;
  });
}

test('a closed map refuses every operation, and the map that got its fd number is untouched', () => {
  const a = BpfMap.create('handle_a', { type: MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  const number = a.fd.value;
  a.close();
  const b = BpfMap.create('handle_b', { type: MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  try {
    assert.equal(b.fd.value, number, 'the kernel gave the new map the closed number');
    closedError(() => a.update(u32(1), u64(99n)), /^map 'handle_a' is closed$/);
    closedError(() => a.lookup(u32(1)), /map 'handle_a' is closed/);
    closedError(() => a.delete(u32(1)), /map 'handle_a' is closed/);
    closedError(() => [...a.keys()], /map 'handle_a' is closed/);
    closedError(() => [...a.readBatches()], /map 'handle_a' is closed/);
    closedError(() => a.info(), /map 'handle_a' is closed/);
    assert.equal(a.closed, true);
    a.close(); // closing again is harmless and does not close map B's fd
    assert.deepEqual([...b.keys()], [], 'map B got nothing written through the stale handle');
    b.update(u32(2), u64(5n));
    assert.equal(b.lookup(u32(2))?.readBigUInt64LE(0), 5n, 'map B still works: its fd was not closed by the second close of A');
  } finally {
    b.close();
  }
});

test('a closed program, link and perf event refuse use; the program cannot be attached through a stale handle', () => {
  const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('tp_count.o'))), { programType: () => PROG_TYPE.TRACEPOINT });
  try {
    const program = loaded.program([...loaded.programs.keys()][0]!).program;
    const id = traceEventId(tracefsRoot(), 'syscalls', 'sys_enter_getpid');
    const event = PerfEvent.open({ type: PERF_TYPE.TRACEPOINT, config: BigInt(id) }, 'tracepoint syscalls/sys_enter_getpid');
    const link = BpfLink.forPerfEvent(program.fd.value, event.fd.value, 'the test tracepoint');
    link.close();
    closedError(() => link.fd.value, /BPF link of the test tracepoint is closed/);
    event.close();
    closedError(() => event.setBpf(program.fd.value), /perf event of the tracepoint syscalls\/sys_enter_getpid is closed/);
    closedError(() => event.enable(), /is closed/);
    program.close();
    closedError(() => program.fd.value, /^program '.+' is closed$/);
  } finally {
    loaded.close();
  }
});

test('BpfMap.fromPin of a pinned program closes the fd it opened and says what the pin is', () => {
  const pins = scratchPinRoot('handles');
  makeDirectories(pins);
  const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('tp_count.o'))), { programType: () => PROG_TYPE.TRACEPOINT });
  try {
    objPin(loaded.program([...loaded.programs.keys()][0]!).program.fd.value, `${pins}/prog`);
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      assert.throws(() => BpfMap.fromPin(`${pins}/prog`), (error: unknown) => {
        assert.ok(error instanceof KernelError);
        assert.equal((error as Error).message, `the pin ${pins}/prog is a program, not a map`);
        return true;
      });
    }
    assert.equal(openFds(), before, 'no fd leaked');
    assert.throws(() => BpfMap.fromPin(`${pins}/nothing`), { message: /^opening the pin .*\/nothing: ENOENT \(No such file or directory\)$/ });
    assert.equal(openFds(), before);
  } finally {
    loaded.close();
  }
});
