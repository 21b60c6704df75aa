// Kernels with kprobes: one program on every function a pattern matches, through one kprobe.multi
// link or a PMU event each; counts per function by cookie; nothing left afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { tracefsRoot } from '../../src/attach/tracefs.js';
import { linkIds } from '../../src/kernel/bpf.js';
import { kernelConfig } from '../../src/kernel/kconfig.js';
import { RunningCli, detachedMaps, fixture, jsonEvents, runCli, stopRunningClis } from '../support/cli.js';
import { programsGone } from '../support/kernel.js';

after(stopRunningClis);

/** kprobe.multi links need fprobe: Debian's 6.12 has it, its 6.1 does not (there 'link' is refused and 'auto' uses PMU events). */
const HAS_MULTI = kernelConfig()?.values.get('CONFIG_FPROBE') === 'y';

interface MultiAttachment {
  kind: string;
  program: string;
  target: string;
  source: string;
  binding: string;
  functions: string[];
}


/** The count a cookie-keyed map holds for a function of the attachment's cookie table. */
function countFor(counts: Record<string, string>, attachment: MultiAttachment, name: string): bigint {
  const cookie = attachment.functions.indexOf(name);
  assert.ok(cookie >= 0, `${name} is not among the ${attachment.functions.length} functions attached`);
  return BigInt(counts[String(cookie)] ?? '0');
}

describe('one program on many functions', () => {
  const modes = HAS_MULTI ? (['link', 'pmu', 'auto'] as const) : (['pmu', 'auto'] as const);
  for (const mode of modes) {
    const source = mode === 'pmu' || !HAS_MULTI ? 'pmu' : 'multi';
    test(`--attach-mode ${mode}: 'vfs_*' from the command line and a kretprobe.multi section count each function under its cookie (${source})`, async () => {
      const linksBefore = new Set(linkIds());
      const cli = new RunningCli([fixture('kprobe_multi.o'), 'vfs_*', '--attach-mode', mode, '--json']);
      await cli.waitFor(/"event":"attached"/);
      const attachments = jsonEvents(cli.stdout)[0]!.attachments as MultiAttachment[];
      const [entry, ret] = attachments;
      assert.deepEqual(
        attachments.map((a) => [a.program, a.kind, a.target, a.source, a.binding]),
        [
          ['km_entry', 'kprobe', 'vfs_*', source, 'link'],
          ['km_return', 'kretprobe', 'vfs_rea*', source, 'link'],
        ],
      );
      assert.ok(entry!.functions.length >= 20 && entry!.functions.every((f) => f.startsWith('vfs_')), `vfs_* matched ${entry!.functions.join(' ')}`);
      assert.ok(entry!.functions.includes('vfs_read') && entry!.functions.includes('vfs_write'));
      assert.deepEqual([...entry!.functions].sort(), entry!.functions, 'cookies follow the sorted names');
      assert.ok(ret!.functions.includes('vfs_read') && ret!.functions.every((f) => f.startsWith('vfs_rea')));
      if (source === 'multi') assert.equal(linkIds().filter((id) => !linksBefore.has(id)).length, 2, 'one link per program');

      for (let i = 0; i < 100; i++) readFileSync('/proc/self/stat');
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const maps = detachedMaps(result.stdout);
      assert.ok(countFor(maps.km_entries!, entry!, 'vfs_read') >= 100n, `vfs_read: ${JSON.stringify(maps.km_entries)}`);
      assert.ok(countFor(maps.km_returns!, ret!, 'vfs_read') >= 100n, `vfs_read returns: ${JSON.stringify(maps.km_returns)}`);
      // A function nobody calls here keeps no count: the cookies tell the functions apart.
      const cookies = Object.keys(maps.km_entries!).map(Number);
      assert.ok(cookies.every((c) => c < entry!.functions.length), 'every key is a cookie of the table');
      assert.ok(cookies.length < entry!.functions.length, 'not every function was called');

      assert.deepEqual(linkIds().filter((id) => !linksBefore.has(id)), [], 'no link left');
      assert.doesNotMatch(readFileSync(`${tracefsRoot()}/kprobe_events`, 'utf8'), new RegExp(`load_kp_bpf_${cli.pid}_`));
      await programsGone('km_entry', 'km_return');
    });
  }

  if (!HAS_MULTI) {
    test('without fprobe, --attach-mode link is refused in one line naming what is missing', async () => {
      const result = await runCli([fixture('kprobe_multi.o'), 'vfs_*', '--attach-mode', 'link']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^load-kp-bpf: --attach-mode link: this kernel has no kprobe.multi links \(they need 5.18 and CONFIG_FPROBE\) for 'vfs_\*'; use --attach-mode pmu/);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      await programsGone('km_entry');
    });
  }

  test('text output prints the cookie table of each program', async () => {
    const cli = new RunningCli([fixture('kprobe_multi.o'), 'vfs_rea?', '--program', 'km_entry']);
    await cli.waitFor(/press Ctrl-C to detach/);
    assert.match(cli.stdout, /^cookies of km_entry \(bpf_get_attach_cookie\(\) -> function\)$/m);
    assert.match(cli.stdout, /^ {2}\d+ +vfs_read$/m);
    assert.match(cli.stdout, new RegExp(`^ {2}kprobe +vfs_rea\\? -> 1 function +${HAS_MULTI ? 'multi' : 'pmu'}, link +program km_entry`, 'm'));
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    await programsGone('km_entry');
  });

  test('a pattern nothing matches is refused with the closest names, before anything is loaded', async () => {
    const result = await runCli([fixture('kprobe_multi.o'), 'vfs_raed*', '--program', 'km_entry']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^load-kp-bpf: no kernel function that can be probed matches 'vfs_raed\*'; closest: .*vfs_read/m);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    await programsGone('km_entry');
  });
});
