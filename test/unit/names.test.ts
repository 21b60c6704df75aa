// Names checked before they reach the kernel or a file system: kernel function names
// (src/attach/kernel-functions.ts), pin names and paths (src/kernel/pins.ts), probe event names and
// listings (src/attach/probe-events.ts), tracepoint names (src/attach/tracepoint.ts).
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { validateKernelFunctionName } from '../../src/attach/kernel-functions.js';
import { EVENT_PREFIX, MAX_EVENT_NAME, parseProbeEvents, probeEventName } from '../../src/attach/probe-events.js';
import { parseTracepointName } from '../../src/attach/tracepoint.js';
import { UsageError } from '../../src/errors.js';
import { pinPath, validatePinName } from '../../src/kernel/pins.js';
import { printable } from '../../src/text.js';
import { thrown } from './helpers.js';

function usageError(fn: () => unknown): UsageError {
  const error = thrown(fn);
  assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
  return error;
}

describe('validateKernelFunctionName', () => {
  test('accepts kernel symbol names, including compiler suffixes', () => {
    for (const name of ['__x64_sys_bpf', 'vfs_read', 'do_sys_openat2', 'tcp_v4_connect.cold', 'foo.isra.0', '_stext', 'A']) {
      assert.doesNotThrow(() => validateKernelFunctionName(name), name);
    }
  });

  test('refuses an empty name', () => {
    assert.equal(usageError(() => validateKernelFunctionName('')).message, 'the kernel function name is empty');
  });

  test('names the offending character and its position', () => {
    const cases: Array<[string, string]> = [
      ['sys bpf', `kernel function name "sys bpf" contains a space at position 4; use only [A-Za-z0-9_.]`],
      ['vfs_read\np:kprobes/evil do_exit', `kernel function name "vfs_read\\np:kprobes/evil do_exit" contains a line break at position 9; use only [A-Za-z0-9_.]`],
      ['vfs_read\r', `kernel function name "vfs_read\\r" contains a line break at position 9; use only [A-Za-z0-9_.]`],
      ['a\tb', `kernel function name "a\\tb" contains a tab at position 2; use only [A-Za-z0-9_.]`],
      ['../etc/passwd', `kernel function name "../etc/passwd" contains '/' at position 3; use only [A-Za-z0-9_.]`],
      ['vfs_read;reboot', `kernel function name "vfs_read;reboot" contains ';' at position 9; use only [A-Za-z0-9_.]`],
      ['$(reboot)', `kernel function name "$(reboot)" contains '$' at position 1; use only [A-Za-z0-9_.]`],
      ['vfs_read+0x10', `kernel function name "vfs_read+0x10" contains '+' at position 9; use only [A-Za-z0-9_.]`],
      ['a\u0001b', `kernel function name "a\\u0001b" contains control character 0x01 at position 2; use only [A-Za-z0-9_.]`],
      ['a\u007fb', `kernel function name "a\u007fb" contains control character 0x7f at position 2; use only [A-Za-z0-9_.]`],
    ];
    for (const [name, message] of cases) assert.equal(usageError(() => validateKernelFunctionName(name)).message, message);
  });

  test('refuses a leading digit or dot', () => {
    assert.equal(usageError(() => validateKernelFunctionName('9p_read')).message, `kernel function name "9p_read" must start with a letter or '_'`);
    assert.equal(usageError(() => validateKernelFunctionName('.cold')).message, `kernel function name ".cold" must start with a letter or '_'`);
  });

  test('refuses names as long as KSYM_NAME_LEN (512)', () => {
    assert.doesNotThrow(() => validateKernelFunctionName('f'.repeat(511)));
    assert.equal(
      usageError(() => validateKernelFunctionName('f'.repeat(512))).message,
      'the kernel function name is 512 characters; kernel symbols have fewer than 512',
    );
  });
});

describe('validatePinName and pinPath', () => {
  test('accepts 1 to 255 characters of [A-Za-z0-9_.] not starting with a dot', () => {
    for (const name of ['kp_bpf_calls', 'a', '_x', 'map.v2', 'A9', 'x'.repeat(255)]) assert.doesNotThrow(() => validatePinName(name), name);
  });

  test('refuses what could escape the pin directory or is not a file name', () => {
    const bad = ['', '.', '..', '.hidden', 'a/b', '../x', '/abs', 'a b', 'a\nb', 'tc/globals/x', 'x'.repeat(256), 'é'];
    for (const name of bad) {
      assert.equal(
        usageError(() => validatePinName(name)).message,
        `map name ${JSON.stringify(name)} cannot be pinned: use 1 to 255 characters of [A-Za-z0-9_.], not starting with '.'`,
        JSON.stringify(name),
      );
    }
  });

  test('pinning 1 pins under the root, pinning 2 under tc/globals', () => {
    assert.equal(pinPath('/sys/fs/bpf', 'kp_bpf_calls', 1), '/sys/fs/bpf/kp_bpf_calls');
    assert.equal(pinPath('/sys/fs/bpf', 'pg_shared', 2), '/sys/fs/bpf/tc/globals/pg_shared');
    assert.equal(pinPath('/tmp/pins/', 'm', 1), '/tmp/pins/m');
  });

  test('pinPath validates the name', () => {
    assert.throws(() => pinPath('/sys/fs/bpf', '..', 1), UsageError);
    assert.throws(() => pinPath('/sys/fs/bpf', 'a/b', 2), UsageError);
  });
});

describe('probeEventName', () => {
  test('prefix, pid, counter, then the target', () => {
    assert.equal(probeEventName('__x64_sys_bpf', 1234, 0), 'load_kp_bpf_1234_0___x64_sys_bpf');
    assert.equal(probeEventName('vfs_read', 99, 17), 'load_kp_bpf_99_17_vfs_read');
  });

  test('only [A-Za-z0-9_] and at most 63 characters', () => {
    const name = probeEventName('tcp_v4_connect.cold/../$x y', 4194304, 123456);
    assert.equal(name, 'load_kp_bpf_4194304_123456_tcp_v4_connect_cold_____x_y');
    const long = probeEventName('a'.repeat(200), 4194304, 99999);
    assert.equal(long.length, MAX_EVENT_NAME);
    assert.equal(MAX_EVENT_NAME, 63);
    assert.ok(long.startsWith('load_kp_bpf_4194304_99999_aaaa'));
    for (const target of ['x', 'sys_bpf', 'ä.b-c', 'z'.repeat(100)]) assert.match(probeEventName(target), /^[A-Za-z0-9_]{1,63}$/);
  });

  test('unique within a process (counter) and across processes (pid)', () => {
    const a = probeEventName('vfs_read');
    const b = probeEventName('vfs_read');
    assert.notEqual(a, b);
    assert.ok(a.startsWith(`${EVENT_PREFIX}${process.pid}_`), a);
    assert.ok(b.startsWith(`${EVENT_PREFIX}${process.pid}_`), b);
    assert.notEqual(probeEventName('f', 1, 0), probeEventName('f', 2, 0));
    // The pid and counter are delimited: pid 1/counter 10 and pid 11/counter 0 differ.
    assert.notEqual(probeEventName('f', 1, 10), probeEventName('f', 11, 0));
    // Even when the target is cut off, the identifying head is kept.
    assert.notEqual(probeEventName('x'.repeat(100), 5, 1), probeEventName('x'.repeat(100), 5, 2));
  });

  test('the owner pid can be read back from the name', () => {
    const [event] = parseProbeEvents(`p:kprobes/${probeEventName('vfs_read', 31337, 4)} vfs_read`);
    assert.equal(event!.ownerPid, 31337);
  });
});

describe('parseProbeEvents', () => {
  test('tells our events (with owner pid) from other tools\' ones', () => {
    const listing = [
      'p:kprobes/load_kp_bpf_1234_0___x64_sys_bpf __x64_sys_bpf',
      'r4:kprobes/load_kp_bpf_99_3_vfs_read vfs_read',
      'r:kprobes/load_kp_bpf_77_0_ret do_exit',
      'p:perf/other_event do_sys_open',
      'p:kprobes/load_kp_bpf_nopid_0_x x',
      'p:uprobes/load_kp_bpf_555_1__bin_true /bin/true:0x0000000000001040',
      'p:kprobes/mine_load_kp_bpf_1_0_x x',
      '',
      'garbage line',
      '-:kprobes/removed',
    ].join('\n');
    assert.deepEqual(parseProbeEvents(listing), [
      { group: 'kprobes', event: 'load_kp_bpf_1234_0___x64_sys_bpf', ownerPid: 1234 },
      { group: 'kprobes', event: 'load_kp_bpf_99_3_vfs_read', ownerPid: 99 },
      { group: 'kprobes', event: 'load_kp_bpf_77_0_ret', ownerPid: 77 },
      { group: 'perf', event: 'other_event' },
      { group: 'kprobes', event: 'load_kp_bpf_nopid_0_x' },
      { group: 'uprobes', event: 'load_kp_bpf_555_1__bin_true', ownerPid: 555 },
      { group: 'kprobes', event: 'mine_load_kp_bpf_1_0_x' },
    ]);
  });

  test('an empty listing has no events', () => {
    assert.deepEqual(parseProbeEvents(''), []);
    assert.deepEqual(parseProbeEvents('\n\n'), []);
  });
});

describe('parseTracepointName', () => {
  test('category/event and category:event', () => {
    assert.deepEqual(parseTracepointName('syscalls/sys_enter_bpf'), { category: 'syscalls', event: 'sys_enter_bpf' });
    assert.deepEqual(parseTracepointName('sched:sched_switch'), { category: 'sched', event: 'sched_switch' });
    assert.deepEqual(parseTracepointName('drm/drm_vblank_event-1.x'), { category: 'drm', event: 'drm_vblank_event-1.x' });
  });

  test('anything else is a UsageError with an example', () => {
    for (const name of ['', 'sys_enter_bpf', 'a/b/c', 'a/', '/b', 'a b/c', 'a/b\n', 'a/b;x', 'a::b']) {
      assert.equal(
        usageError(() => parseTracepointName(name)).message,
        `tracepoint ${JSON.stringify(printable(name))} is not of the form category/event (e.g. syscalls/sys_enter_bpf)`,
        JSON.stringify(name),
      );
    }
  });

  test('the name is passed through printable, so a control character cannot break the line', () => {
    const message = usageError(() => parseTracepointName('a/b\n\u001b[2J')).message;
    assert.equal(message, String.raw`tracepoint "a/b\\n\\x1b[2J" is not of the form category/event (e.g. syscalls/sys_enter_bpf)`);
    assert.ok(!/[\n\u001b]/.test(message));
  });
});
