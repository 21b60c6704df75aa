// USDT probes through libbpf's usdt.bpf.h: usdt_target's lkb:fire has a semaphore and two sites
// (arguments in registers, and in stack memory); the records carry its three arguments of 1, 4 and
// 8 bytes. The semaphore is set only while the probe is attached; nothing is left afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { tracefsRoot } from '../../src/attach/tracefs.js';
import { RunningCli, detachedMaps, fixture, jsonEvents, runCli, runProgram, stopRunningClis } from '../support/cli.js';
import { programsGone } from '../support/kernel.js';

after(stopRunningClis);

const TARGET = fixture('usdt_target');
const ROUNDS = 6;

/** usdt_target's values of round i (see test/fixtures/user/usdt_target.c). */
const expected = (i: number): Record<string, unknown> => ({
  small: -5 - i,
  medium: -100000 * (i + 1),
  large: 0x1122334455667788n + BigInt(i),
  arg_count: 3,
});

/** The records of usdt_events from --json output, with `large` read exactly (it is past 2^53). */
function records(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{"event":"record"'))
    .map((line) => {
      const exact = JSON.parse(line.replace(/"large":(\d+)/, '"large":"$1"')) as { data: Record<string, unknown> };
      return { ...exact.data, large: BigInt(exact.data.large as string) };
    });
}

const uprobeEventsOf = (pid: number): string[] =>
  readFileSync(`${tracefsRoot()}/uprobe_events`, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`load_kp_bpf_${pid}_`));

describe('USDT probes', () => {
  for (const mode of ['auto', 'tracefs'] as const) {
    test(`--attach-mode ${mode}: both sites fire with their arguments, the semaphore is set only while attached, nothing is left`, async () => {
      assert.equal((await runProgram(TARGET, [String(ROUNDS)])).trim(), '0', 'without a tracer the semaphore is 0 and the probe does not fire');
      const cli = new RunningCli([fixture('usdt_args.o'), '--usdt', `usdt_fire=${TARGET}:lkb:fire`, '--attach-mode', mode, '--json']);
      await cli.waitFor(/"event":"attached"/);
      const attachments = jsonEvents(cli.stdout)[0]!.attachments as Array<Record<string, unknown>>;
      assert.deepEqual(
        attachments.map((a) => [a.program, a.kind, a.target, a.sites, a.source, a.binding]),
        [
          ['usdt_fire', 'usdt', `${TARGET}:lkb:fire`, 2, mode === 'tracefs' ? 'tracefs' : 'pmu', 'link'],
          ['usdt_count', 'usdt', 'test/fixtures/build/usdt_target:lkb:fire', 2, mode === 'tracefs' ? 'tracefs' : 'pmu', 'link'],
        ],
      );
      assert.match(String(attachments[0]!.resolved), /\(2 sites, semaphore at file offset 0x[0-9a-f]+\)$/);
      if (mode === 'tracefs') assert.equal(uprobeEventsOf(cli.pid).length, 4, 'an event per site and program');

      assert.equal((await runProgram(TARGET, [String(ROUNDS)])).trim(), String(ROUNDS), 'the kernel set the semaphore');
      await cli.waitFor(new RegExp(`"small":${-5 - (ROUNDS - 1)},`));
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(records(result.stdout), Array.from({ length: ROUNDS }, (_, i) => expected(i)));
      assert.equal(detachedMaps(result.stdout).usdt_hits!['0'], String(ROUNDS), 'usdt_count saw every round');

      assert.equal((await runProgram(TARGET, [String(ROUNDS)])).trim(), '0', 'the semaphore is back to 0');
      assert.deepEqual(uprobeEventsOf(cli.pid), [], 'no uprobe event left');
      await programsGone('usdt_fire', 'usdt_count');
    });
  }

  test("a shared library's probe without a semaphore, the library found by name: libstdc++'s libstdcxx:throw counts every throw", async () => {
    const cli = new RunningCli([fixture('usdt_args.o'), '--program', 'usdt_count', '--usdt', 'usdt_count=libstdc++.so.6:libstdcxx:throw', '--json']);
    await cli.waitFor(/"event":"attached"/);
    const [attachment] = jsonEvents(cli.stdout)[0]!.attachments as Array<Record<string, unknown>>;
    assert.equal(attachment!.target, 'libstdc++.so.6:libstdcxx:throw');
    assert.match(String(attachment!.resolved), /^\/\S+\/libstdc\+\+\.so\.6(\.[\d.]+)?:libstdcxx:throw \(\d+ sites?\)$/);
    assert.equal((await runProgram(fixture('usdt_throw'), ['7'])).trim(), '7');
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(detachedMaps(result.stdout).usdt_hits!['0'], '7', 'one hit per throw');
    await programsGone('usdt_count');
  });

  test('a probe the binary lacks is refused in one line with the closest names, before anything loads', async () => {
    const result = await runCli([fixture('usdt_args.o'), '--usdt', `usdt_fire=${TARGET}:lkb:fir`, '--program', 'usdt_fire']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `load-kp-bpf: ${TARGET} has no USDT probe lkb:fir; closest: lkb:fire\n`);
    await programsGone('usdt_fire');
  });

  test('a USDT probe for an object without usdt.bpf.h names what it lacks', async () => {
    const result = await runCli([fixture('tail_samples.o'), '--usdt', `${TARGET}:lkb:fire`, '--program', 'ts_entry']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^load-kp-bpf: a USDT program reads its arguments through the map __bpf_usdt_specs, which the object lacks: include <bpf\/usdt.bpf.h>/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });
});
