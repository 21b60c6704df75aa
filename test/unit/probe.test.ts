// src/attach/kprobe.ts and src/attach/probe.ts, the parts that need no kernel: parseKprobeTarget,
// chooseAttachMethod for each mode given what the kernel offers, and tracefsLocation.
import { say } from '../../src/wording.js';
import { commandLineName } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { parseKprobeTarget } from '../../src/attach/kprobe.js';
import type { ProbePmu } from '../../src/attach/pmu.js';
import { ATTACH_MODES, chooseAttachMethod, tracefsLocation, type AttachMethod, type ProbeLocation, type ProbeSupport } from '../../src/attach/probe.js';
import { pmuProbeRequest } from '../../src/attach/pmu.js';
import { AttachError, UsageError } from '../../src/errors.js';
import { thrown } from './helpers.js';

describe('parseKprobeTarget', () => {
  test('a function, with or without an offset in decimal or 0x hex', () => {
    assert.deepEqual(parseKprobeTarget('vfs_read'), { name: 'vfs_read', offset: 0n });
    assert.deepEqual(parseKprobeTarget('vfs_read+16'), { name: 'vfs_read', offset: 16n });
    assert.deepEqual(parseKprobeTarget('vfs_read+0x10'), { name: 'vfs_read', offset: 16n });
    assert.deepEqual(parseKprobeTarget('vfs_read+0xFF'), { name: 'vfs_read', offset: 255n });
    assert.deepEqual(parseKprobeTarget('do_sys_open+0'), { name: 'do_sys_open', offset: 0n });
    assert.deepEqual(parseKprobeTarget('f+0xffffffffffffffff'), { name: 'f', offset: 0xffffffffffffffffn });
    // The offset follows the last '+'; what comes before is the name, checked elsewhere.
    assert.deepEqual(parseKprobeTarget('a+b+8'), { name: 'a+b', offset: 8n });
    assert.deepEqual(parseKprobeTarget('__x64_sys_bpf.cold'), { name: '__x64_sys_bpf.cold', offset: 0n });
  });

  test('an offset that is not a number is a UsageError quoting the target', () => {
    for (const text of ['vfs_read+', 'vfs_read+0x', 'vfs_read+x10', 'vfs_read+-1', 'vfs_read+1a', 'vfs_read+0X10', 'vfs_read+ 1', 'f+1\n']) {
      const error = thrown(() => parseKprobeTarget(text));
      assert.ok(error instanceof UsageError, text);
      assert.equal(error.message, `kprobe target ${JSON.stringify(text)}: the offset after '+' must be a number (decimal or 0x hex)`);
    }
    assert.equal(
      (thrown(() => parseKprobeTarget('vfs_read+x')) as Error).message,
      `kprobe target "vfs_read+x": the offset after '+' must be a number (decimal or 0x hex)`,
    );
  });
});

const PMU: ProbePmu = { type: 8, retprobeBit: 0 };
const UPMU: ProbePmu = { type: 9, retprobeBit: 3 };
const TRACEFS = '/sys/kernel/tracing';

function attachError(fn: () => unknown): AttachError {
  const error = thrown(fn);
  assert.ok(error instanceof AttachError, `expected an AttachError, got ${String(error)}`);
  return error;
}

/** A method with its reason said as the command says it. */
const said = (method: AttachMethod): AttachMethod => ({ ...method, reason: say(method.reason, commandLineName) });

describe('chooseAttachMethod', () => {
  const both: ProbeSupport = { family: 'kprobe', pmu: PMU, tracefs: TRACEFS };
  const pmuOnly: ProbeSupport = { family: 'kprobe', pmu: PMU };
  const tracefsOnly: ProbeSupport = { family: 'kprobe', tracefs: TRACEFS };

  test('the modes', () => {
    assert.deepEqual([...ATTACH_MODES], ['auto', 'pmu', 'tracefs', 'link']);
  });

  test('auto: the PMU when there is one, else tracefs; the binding left to the kernel', () => {
    const withPmu: AttachMethod = { source: 'pmu', binding: 'auto', pmu: PMU, reason: 'the kprobe PMU leaves no tracefs event behind; a BPF link where the kernel has them' };
    assert.deepEqual(said(chooseAttachMethod('auto', both)), withPmu);
    assert.deepEqual(said(chooseAttachMethod('auto', pmuOnly)), withPmu);
    assert.deepEqual(said(chooseAttachMethod('auto', tracefsOnly)), { source: 'tracefs', binding: 'auto', reason: 'this kernel has no kprobe PMU, so a kprobe_events event' });
  });

  test('pmu: the PMU with the ioctl, or an AttachError without one', () => {
    const method: AttachMethod = { source: 'pmu', binding: 'ioctl', pmu: PMU, reason: '--attach-mode pmu: a kprobe PMU perf event bound with PERF_EVENT_IOC_SET_BPF' };
    assert.deepEqual(said(chooseAttachMethod('pmu', both)), method);
    assert.deepEqual(said(chooseAttachMethod('pmu', pmuOnly)), method);
    assert.equal(attachError(() => chooseAttachMethod('pmu', tracefsOnly)).describe(commandLineName), '--attach-mode pmu: this kernel has no kprobe PMU (it needs 4.17)');
  });

  test('tracefs: a tracefs event with the ioctl even when there is a PMU, or an AttachError without tracefs', () => {
    const method: AttachMethod = { source: 'tracefs', binding: 'ioctl', reason: '--attach-mode tracefs: a kprobe_events event bound with PERF_EVENT_IOC_SET_BPF' };
    assert.deepEqual(said(chooseAttachMethod('tracefs', both)), method);
    assert.deepEqual(said(chooseAttachMethod('tracefs', tracefsOnly)), method);
    assert.ok(!('pmu' in chooseAttachMethod('tracefs', both)), 'no PMU in a tracefs method');
    assert.equal(attachError(() => chooseAttachMethod('tracefs', pmuOnly)).describe(commandLineName), '--attach-mode tracefs: this kernel has no kprobe_events in tracefs');
  });

  test('link: always a BPF link, over the PMU when there is one', () => {
    const withPmu: AttachMethod = { source: 'pmu', binding: 'link', pmu: PMU, reason: '--attach-mode link: a kprobe PMU perf event owned by a BPF link' };
    assert.deepEqual(said(chooseAttachMethod('link', both)), withPmu);
    assert.deepEqual(said(chooseAttachMethod('link', pmuOnly)), withPmu);
    assert.deepEqual(said(chooseAttachMethod('link', tracefsOnly)), {
      source: 'tracefs',
      binding: 'link',
      reason: '--attach-mode link: no kprobe PMU, so a kprobe_events event owned by a BPF link',
    });
  });

  test('uprobes: their own PMU and uprobe_events', () => {
    const ub: ProbeSupport = { family: 'uprobe', pmu: UPMU, tracefs: TRACEFS };
    const ut: ProbeSupport = { family: 'uprobe', tracefs: TRACEFS };
    const up: ProbeSupport = { family: 'uprobe', pmu: UPMU };
    assert.deepEqual(said(chooseAttachMethod('auto', ub)), { source: 'pmu', binding: 'auto', pmu: UPMU, reason: 'the uprobe PMU leaves no tracefs event behind; a BPF link where the kernel has them' });
    assert.deepEqual(said(chooseAttachMethod('auto', ut)), { source: 'tracefs', binding: 'auto', reason: 'this kernel has no uprobe PMU, so a uprobe_events event' });
    assert.deepEqual(said(chooseAttachMethod('tracefs', ub)), { source: 'tracefs', binding: 'ioctl', reason: '--attach-mode tracefs: a uprobe_events event bound with PERF_EVENT_IOC_SET_BPF' });
    assert.deepEqual(said(chooseAttachMethod('pmu', ub)), { source: 'pmu', binding: 'ioctl', pmu: UPMU, reason: '--attach-mode pmu: a uprobe PMU perf event bound with PERF_EVENT_IOC_SET_BPF' });
    assert.deepEqual(said(chooseAttachMethod('link', ut)), { source: 'tracefs', binding: 'link', reason: '--attach-mode link: no uprobe PMU, so a uprobe_events event owned by a BPF link' });
    assert.equal(attachError(() => chooseAttachMethod('pmu', ut)).describe(commandLineName), '--attach-mode pmu: this kernel has no uprobe PMU (it needs 4.17)');
    assert.equal(attachError(() => chooseAttachMethod('tracefs', up)).describe(commandLineName), '--attach-mode tracefs: this kernel has no uprobe_events in tracefs');
  });
});

describe('tracefsLocation', () => {
  const kprobe = (target: string, offset: bigint, retprobe = false): ProbeLocation => ({
    family: 'kprobe',
    retprobe,
    target,
    offset,
    requested: target,
    resolved: target,
  });
  const uprobe = (target: string, offset: bigint, retprobe = false): ProbeLocation => ({
    family: 'uprobe',
    retprobe,
    target,
    offset,
    requested: `${target}:main`,
    resolved: target,
  });

  test('kprobes: the function, and +0x<offset> when there is one', () => {
    assert.equal(tracefsLocation(kprobe('vfs_read', 0n)), 'vfs_read');
    assert.equal(tracefsLocation(kprobe('vfs_read', 16n)), 'vfs_read+0x10');
    assert.equal(tracefsLocation(kprobe('__x64_sys_bpf', 255n, true)), '__x64_sys_bpf+0xff');
    assert.equal(tracefsLocation(kprobe('vfs_read', 0n, true)), 'vfs_read', 'the return probe is the event type, not part of the location');
  });

  test('uprobes: path:0x<file offset>, always with the offset', () => {
    assert.equal(tracefsLocation(uprobe('/usr/bin/true', 0x1139n)), '/usr/bin/true:0x1139');
    assert.equal(tracefsLocation(uprobe('/lib/x.so', 0n, true)), '/lib/x.so:0x0');
  });

  test("a USDT semaphore goes in parentheses after the offset (the kernel's ref_ctr_offset)", () => {
    assert.equal(tracefsLocation({ ...uprobe('/usr/bin/app', 0x1184n), refCtrOffset: 0x3020n }), '/usr/bin/app:0x1184(0x3020)');
  });

  test('a uprobe path with white space cannot be written to uprobe_events', () => {
    for (const path of ['/tmp/a b', '/tmp/a\tb', '/tmp/a\nb']) {
      assert.equal(
        attachError(() => tracefsLocation(uprobe(path, 1n))).describe(commandLineName),
        `uprobe path ${JSON.stringify(path)} contains white space, which tracefs cannot take; use --attach-mode pmu`,
      );
    }
  });
});

describe('pmuProbeRequest', () => {
  const pmu = { type: 9, retprobeBit: 0, refCtrShift: 32 };

  test('the retprobe bit and a semaphore offset share config; the path and offset go in config1 and config2', () => {
    assert.deepEqual(pmuProbeRequest(pmu, '/bin/app', 0x1184n, false), { type: 9, config: 0n, config1String: '/bin/app', config2: 0x1184n });
    assert.deepEqual(pmuProbeRequest(pmu, '/bin/app', 0x1184n, true, 0x3020n), { type: 9, config: (0x3020n << 32n) | 1n, config1String: '/bin/app', config2: 0x1184n });
  });

  test('a PMU without ref_ctr_offset in its format refuses a semaphore', () => {
    assert.equal(
      attachError(() => pmuProbeRequest({ type: 9, retprobeBit: 0 }, '/bin/app', 0n, false, 8n)).message,
      "this kernel's uprobe PMU takes no semaphore offset (ref_ctr_offset needs 4.20)",
    );
  });
});
