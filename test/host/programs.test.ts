// Host kernel: programs load with their maps, the verifier's refusals are explained, and a
// program attached through the perf-event path (tracepoint syscalls/sys_enter_bpf) really runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { prepareTracepoint } from '../../src/attach/tracepoint.js';
import { VerifierError } from '../../src/errors.js';
import { PROG_TYPE } from '../../src/kernel/program.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { fixture } from '../support/cli.js';
import { loadedProgramIds, makeBpfCalls, programIdsGone, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

const spec = (path: string) => parseBpfObject(readFileSync(path));
const pins = scratchPinRoot('programs');
after(removeScratchPinRoots);

describe('verifier', () => {
  test('a rejected program reports the verifier log and the failing line', async () => {
    assert.throws(
      () => LoadedObject.load(spec(fixture('verifier_reject.o')), { pinRoot: pins, programType: () => PROG_TYPE.KPROBE }),
      (error: unknown) => {
        assert.ok(error instanceof VerifierError);
        assert.match(error.message, /^loading program 'unchecked_lookup': the verifier rejected it \(EACCES\): R0 invalid mem access 'map_value_or_null'$/);
        assert.match(error.log, /call bpf_map_lookup_elem#1/);
        assert.match(error.log, /R0 invalid mem access 'map_value_or_null'/);
        return true;
      },
    );
    await programsGone('unchecked_lookup');
  });

  test('an object without a license section loads as GPL and says so', async () => {
    const object = spec(fixture('no_license.o'));
    assert.equal(object.license, 'GPL');
    assert.deepEqual(object.notices, [`object has no 'license' section: loading it as "GPL"`]);
    const loaded = LoadedObject.load(object, { pinRoot: pins, programType: () => PROG_TYPE.KPROBE });
    assert.equal(loadedProgramIds('no_license').length, 1);
    loaded.close();
    await programsGone('no_license');
  });
});

describe('tracepoint attach (the perf event path the kprobe attach shares)', () => {
  test('a program on syscalls/sys_enter_bpf counts our bpf() calls, and is gone after close', async () => {
    const loaded = LoadedObject.load(spec(fixture('tp_count.o')), { pinRoot: pins, programType: () => PROG_TYPE.TRACEPOINT });
    const attachment = loaded.attach('count_hits', prepareTracepoint('syscalls/sys_enter_bpf'));
    assert.equal(attachment.attachment.kind, 'tracepoint');
    const hits = loaded.maps.get('tp_hits')!.map;
    const read = (): bigint => hits.lookup(Buffer.alloc(4))!.readBigUInt64LE(0);
    const before = read();
    makeBpfCalls(hits, 100);
    const counted = read() - before;
    // Our 100 lookups, plus the one read, plus whatever else on the machine calls bpf().
    assert.ok(counted >= 101n, `counted ${counted} bpf() calls, expected at least 101`);
    const id = loaded.program('count_hits').id;
    loaded.close();
    await programIdsGone(id);
  });

  test('an unknown tracepoint is refused with the closest names', () => {
    assert.throws(() => prepareTracepoint('syscalls/sys_enter_bfp'), /tracepoint syscalls\/sys_enter_bfp does not exist in this kernel; closest: syscalls\/sys_enter_bpf/);
  });

  test('a kprobe program cannot be bound to a tracepoint: the error says why', async () => {
    const loaded = LoadedObject.load(spec(fixture('tp_count.o')), { pinRoot: pins, programType: () => PROG_TYPE.KPROBE });
    const id = loaded.program('count_hits').id;
    assert.throws(
      () => loaded.attach('count_hits', prepareTracepoint('syscalls/sys_enter_bpf')),
      /attaching the program to the tracepoint syscalls\/sys_enter_bpf \(PERF_EVENT_IOC_SET_BPF\): EINVAL \(Invalid argument\); the program type does not fit this event/,
    );
    // A failed attach undoes only itself: the program is still loaded until the object closes.
    assert.ok(loadedProgramIds('count_hits').includes(id));
    loaded.close();
    // By id: another program of this name may be the previous test's, still being freed.
    await programIdsGone(id);
  });
});
