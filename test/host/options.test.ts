// Host kernel: the run options that change what is attached or shown, each doing its job: --attach
// moves a program, binary:function+offset probes inside a function, --retprobe=PROG moves one to the
// return, --map picks the snapshot's maps, --record-type picks the struct records are decoded as.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { REPO, RunningCli, detachedMaps, fixture, jsonEvents, runCli, runProgram, stopRunningClis } from '../support/cli.js';
import { makeBpfCalls, programsGone } from '../support/kernel.js';
import { tool } from '../support/tools.js';

after(stopRunningClis);

const ATTACHED = /"event":"attached"/;
const UPROBE_TARGET = `${REPO}examples/uprobe_target`;
const attachments = (cli: RunningCli) => jsonEvents(cli.stdout)[0]!.attachments as Array<{ kind: string; program: string; target: string; resolved: string }>;

/** The offset of the second instruction of a function of a binary, as objdump disassembles it. */
function secondInstructionOffset(binary: string, fn: string): number {
  const text = execFileSync(tool('objdump'), ['-d', '--no-show-raw-insn', binary], { encoding: 'utf8' });
  const body = text.slice(text.indexOf(`<${fn}>:\n`));
  const addresses = [...body.matchAll(/^\s+([0-9a-f]+):/gm)].slice(0, 2).map((m) => parseInt(m[1]!, 16));
  assert.equal(addresses.length, 2, `objdump shows two instructions of ${fn}`);
  return addresses[1]! - addresses[0]!;
}

describe('--attach', () => {
  test('PROG=category/event moves a tracepoint program: it counts that event, not its section\'s', async () => {
    const cli = new RunningCli([fixture('tp_count.o'), '--attach', 'count_hits=syscalls/sys_enter_getpriority', '--json']);
    await cli.waitFor(ATTACHED);
    assert.deepEqual(attachments(cli).map((a) => [a.kind, a.program, a.target]), [['tracepoint', 'count_hits', 'syscalls/sys_enter_getpriority']]);
    const scratch = BpfMap.create('lkb_test_calls', { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    makeBpfCalls(scratch, 1000);
    scratch.close();
    await runProgram(fixture('emit_calls'), ['300']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const hits = BigInt(detachedMaps(result.stdout).tp_hits!['0']!);
    // 300 getpriority() calls, and few enough more that the 1000 bpf() calls cannot be among them.
    assert.ok(hits >= 300n && hits < 1000n, `counted ${hits}`);
    await programsGone('count_hits');
  });

  test('PROG=binary:function+offset probes an instruction inside the function, once per call', async () => {
    const offset = secondInstructionOffset(UPROBE_TARGET, 'lkb_example_add');
    const cli = new RunningCli([`${REPO}examples/uprobe_count.o`, '-p', 'count_call', '--attach', `count_call=${UPROBE_TARGET}:lkb_example_add+${offset}`, '--json']);
    await cli.waitFor(ATTACHED);
    assert.match(attachments(cli)[0]!.resolved, new RegExp(`lkb_example_add\\+0x${offset.toString(16)} \\(file offset 0x[0-9a-f]+\\)$`));
    await runProgram(UPROBE_TARGET, ['17']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(detachedMaps(result.stdout).uprobe_calls!['0'], '17');
  });

  test('an offset past the end of the function, or on a return probe, is refused', async () => {
    let result = await runCli([`${REPO}examples/uprobe_count.o`, '-p', 'count_call', '--attach', `count_call=${UPROBE_TARGET}:lkb_example_add+4096`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^load-kp-bpf: uprobe target .*uprobe_target:lkb_example_add\+0x1000: offset 4096 is past the end of 'lkb_example_add', which is \d+ bytes$/);
    result = await runCli([`${REPO}examples/uprobe_count.o`, '-p', 'record_return', '--attach', `record_return=${UPROBE_TARGET}:lkb_example_add+1`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /: a return probe takes no offset/);
  });
});

describe('--retprobe=PROG', () => {
  test("attaches that program to the function's return instead of its entry", async () => {
    const cli = new RunningCli([`${REPO}examples/uprobe_count.o`, '--retprobe=count_call', '--json']);
    await cli.waitFor(ATTACHED);
    assert.deepEqual(attachments(cli).map((a) => [a.program, a.kind]).sort(), [['count_call', 'uretprobe'], ['record_return', 'uretprobe']]);
    await runProgram(UPROBE_TARGET, ['9']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(detachedMaps(result.stdout).uprobe_calls!['0'], '9');
  });
});

describe('--map', () => {
  test('the --interval snapshots show only the maps named', async () => {
    const result = await new RunningCli([`${REPO}examples/uprobe_count.o`, '--interval', '0.3', '--map', 'uprobe_calls', '--duration', '1.5', '--json']).result();
    assert.equal(result.code, 0, result.stderr);
    const snapshots = jsonEvents(result.stdout).filter((e) => e.event === 'maps');
    assert.ok(snapshots.length >= 1, result.stdout);
    for (const s of snapshots) assert.deepEqual((s.maps as Array<{ name: string }>).map((m) => m.name), ['uprobe_calls']);
  });
});

describe('--record-type', () => {
  test("MAP=STRUCT decodes the map's records as that struct of the object's BTF", async () => {
    const cli = new RunningCli([fixture('ringbuf_output.o'), '--record-type', 'records=event_words', '--json']);
    await cli.waitFor(ATTACHED);
    await runProgram(fixture('emit_calls'), ['4']);
    await cli.waitFor(/"event":"record".*"value":12\b/);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const records = jsonEvents(result.stdout).filter((e) => e.event === 'record').map((e) => e.data as Record<string, number>);
    // struct event_words: the pid and seq share the first word; value is the call number times 3.
    assert.deepEqual(records.map((r) => Object.keys(r)), Array(4).fill(['ids', 'comm_low', 'comm_high', 'value', 'tail']));
    assert.deepEqual(records.map((r) => [Math.floor(r.ids! / 2 ** 32), r.value]).sort(), [1, 2, 3, 4].map((seq) => [seq, seq * 3]));
  });
});
