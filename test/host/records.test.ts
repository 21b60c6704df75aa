// Host kernel: records of objects shaped like the tools (struct only in a header, DWARF stripped or
// kept, of varying length, a legacy maps section without BTF) arrive typed from every type source,
// with each value's meaning shown, and untyped ones stay one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { fixture, jsonEvents, oneLine, runCli, RunningCli, stopRunningClis } from '../support/cli.js';
import { REPO } from '../support/cli.js';
import { join } from 'node:path';
import { parseBpfObject } from '../../src/object/bpf-object.js';

after(stopRunningClis);

const ATTACHED = /"event":"attached"|^attached$/m;
const STRIPPED = fixture('tool_records.o');
const WITH_DWARF = fixture('tool_records_dwarf.o');
const HEADER = join(REPO, 'test', 'fixtures', 'include', 'tool_records.h');
const CALLS = 4;
const LEGACY = fixture('legacy_records.o');
const VARIABLE = fixture('tool_exec.o');
const EXEC_HEADER = join(REPO, 'test', 'fixtures', 'include', 'tool_exec.h');
/** What bpf/tool_exec.c sends for call `who`: the first 9 * who bytes of its ARGS, no NUL. */
const argsOf = (who: number): string => '/usr/bin/emit_calls --count 4 --first 1 --then wait for stdin'.slice(0, 9 * who);

interface Run {
  stdout: string;
  stderr: string;
  /** emit_calls' pid: the records' pid. */
  pid: number;
}

/**
 * Runs the object with `args`, makes CALLS getpriority() calls with who = 1..CALLS, and stops once
 * CALLS lines match `last` (by default tool_records' conns records, which it sends after the others).
 */
async function run(object: string, args: string[], json = true, last = json ? /"event":"record","map":"conns"/g : /^conns /gm): Promise<Run> {
  const cli = new RunningCli([object, ...(json ? ['--json'] : []), ...args]);
  await cli.waitFor(ATTACHED);
  const emit = spawnSync(fixture('emit_calls'), [String(CALLS), '1'], { timeout: 60_000 });
  assert.equal(emit.status, 0);
  for (let i = 0; i < 100 && (cli.stdout.match(last) ?? []).length < CALLS; i++) await new Promise((r) => setTimeout(r, 100));
  const result = await cli.stop('SIGINT');
  assert.equal(result.code, 0, result.stderr);
  return { stdout: result.stdout, stderr: result.stderr, pid: emit.pid! };
}

type Formatted = Record<string, unknown>;
const formatted = (stdout: string, map: string): Formatted[] =>
  jsonEvents(stdout)
    .filter((e) => e.event === 'record' && e.map === map)
    .map((e) => e.formatted as Formatted);

/** What the program wrote for call `who`, as the value rules show it. */
function expectedEvent(who: number, pid: number): Formatted {
  return { pid, uid: 0, callers: [who, 0], ret: who % 2 === 1 ? '-2 ENOENT' : who, flags: who, mode: 420, comm: 'emit_calls', fname: '/etc/passwd' };
}
function expectedConn(who: number, pid: number): Formatted {
  return who % 2 === 1
    ? { saddr: '::1', daddr: `2001:db8::${who.toString(16)}`, task: 'emit_calls', af: 10, pid, uid: 0, dport: 8000 + who }
    : { saddr: '127.0.0.1', daddr: `192.168.0.${10 + who}`, task: 'emit_calls', af: 2, pid, uid: 0, dport: 8000 + who };
}

/** Checks every record of both maps against what the program wrote; times are checked for shape, not value. */
function checkRecords(stdout: string, pid: number): void {
  const events = formatted(stdout, 'events');
  assert.equal(events.length, CALLS, stdout);
  events.forEach((e, i) => {
    const { ts, ...rest } = e;
    assert.match(String(ts), /^\d+\.\d{6}$/, 'ts is seconds since boot');
    assert.deepEqual(rest, expectedEvent(i + 1, pid));
  });
  // The perf buffer's records come per CPU: compared by their port, which names the call.
  const conns = formatted(stdout, 'conns').sort((a, b) => Number(a.dport) - Number(b.dport));
  assert.equal(conns.length, CALLS, stdout);
  conns.forEach((c, i) => {
    const { ts_us: ts, ...rest } = c;
    assert.match(String(ts), /^\d+\.\d{6}$/);
    assert.deepEqual(rest, expectedConn(i + 1, pid));
  });
}

describe('records whose struct is only in the tool header, as opensnoop and tcpconnect build them', () => {
  test('with no type anywhere, each record is one line: its length, leading integers and strings; the note names --types', async () => {
    const { stdout, stderr } = await run(STRIPPED, [], false);
    const lines = stdout.split('\n').filter((l) => /^events /.test(l));
    assert.equal(lines.length, CALLS, stdout);
    for (const line of lines) {
      assert.ok(line.length < 200, `one short line: ${line}`);
      assert.match(line, /^events\s+320 bytes, u32 \d+ \d+ \d+ 0 \d 0 0 0, "emit_calls" "\/etc\/passwd", \d+ zero bytes at the end$/);
    }
    assert.match(stderr, /map 'events': no known struct is 320 bytes, so records are shown untyped; give the tool's header with --types FILE/);
    const raw = await run(STRIPPED, ['--raw'], false);
    assert.match(raw.stdout, /^events\s+0x[0-9a-f]{640}$/m, '--raw shows all 320 bytes');
  });

  test("--types HEADER: the header's structs decode both maps, chosen by size and said once", async () => {
    const { stdout, stderr, pid } = await run(STRIPPED, ['--types', HEADER]);
    checkRecords(stdout, pid);
    assert.match(stderr, /map 'events': records of 320 bytes are decoded as struct event \(from tool_records\.h\)/);
    assert.match(stderr, /map 'conns': records of 76 bytes are decoded as struct conn_event \(from tool_records\.h\)/);
    assert.equal(stderr.match(/are decoded as/g)?.length, 2, 'said once per map');
  });

  test("the object's own DWARF (built with -g, not stripped) types them with no option", async () => {
    const { stdout, stderr, pid } = await run(WITH_DWARF, []);
    checkRecords(stdout, pid);
    assert.match(stderr, /records of 320 bytes are decoded as struct event \(from the object's DWARF\)/);
  });

  test("--types ELF: another build's DWARF types the stripped object", async () => {
    const { stdout, stderr, pid } = await run(STRIPPED, ['--types', WITH_DWARF]);
    checkRecords(stdout, pid);
    assert.match(stderr, /\(from tool_records_dwarf\.o's DWARF\)/);
  });

  test('text: a table like the tool\'s own, header of field names, the path last; each connection with the address its family says', async () => {
    const { stdout, pid } = await run(STRIPPED, ['--types', HEADER], false);
    const headers = stdout.split('\n').filter((l) => l.startsWith('MAP '));
    assert.equal(headers.length, 2, 'one header per map');
    assert.match(headers[0]!, /^MAP\s+TS\s+PID\s+UID\s+CALLERS\s+RET\s+FLAGS\s+MODE\s+COMM\s+FNAME$/);
    assert.match(stdout, /^events\s+\d+\.\d{6}\s+\d+\s+0\s+\[1,0\]\s+"-2 ENOENT"\s+1\s+420\s+emit_calls\s+\/etc\/passwd$/m);
    assert.match(headers[1]!, /^MAP\s+CPU\s+SADDR\s+DADDR\s+TASK\s+TS_US\s+AF\s+PID\s+UID\s+DPORT$/);
    // The perf buffer's records come per CPU: sorted by their port, which names the call.
    const conns = stdout.split('\n').filter((l) => l.startsWith('conns ')).map((l) => l.split(/\s+/)).sort((a, b) => Number(a.at(-1)) - Number(b.at(-1)));
    assert.equal(conns.length, CALLS, stdout);
    conns.forEach(([map, cpu, saddr, daddr, task, ts, ...rest], i) => {
      const c = expectedConn(i + 1, pid);
      assert.deepEqual([map, saddr, daddr, task, ...rest], ['conns', c.saddr, c.daddr, c.task, String(c.af), String(pid), String(c.uid), String(c.dport)]);
      assert.match(cpu!, /^\d+$/);
      assert.match(ts!, /^\d+\.\d{6}$/, 'ts_us is seconds since boot');
    });
  });

  test('--record-type names a struct of any source; an unknown one is refused listing those known', async () => {
    const { stdout, pid } = await run(STRIPPED, ['--types', HEADER, '--record-type', 'events=event', '--record-type', 'conns=conn_event']);
    checkRecords(stdout, pid);
    const refused = await runCli([STRIPPED, '--types', HEADER, '--record-type', 'events=nope']);
    assert.equal(refused.code, 1);
    assert.match(oneLine(refused.stderr), /^load-kp-bpf: --record-type events=nope: no struct 'nope' in the object's BTF, tool_records\.h; they have .*struct event.*struct conn_event/);
  });

  test('a header that cannot be read is refused in one line naming the file and line', async () => {
    const refused = await runCli([STRIPPED, '--types', join(REPO, 'test', 'fixtures', 'bpf', 'tool_records.c')]);
    assert.equal(refused.code, 1);
    assert.match(oneLine(refused.stderr), /^load-kp-bpf: .*tool_records\.c:\d+: /);
  });

  test('--types for an object that sends no records is refused in one line', async () => {
    const refused = await runCli([join(REPO, 'examples', 'bpf_cmds_tp.o'), '--types', HEADER]);
    assert.equal(refused.code, 1);
    assert.match(oneLine(refused.stderr), /^load-kp-bpf: --types \S+tool_records\.h: the object has no perf event array or ring buffer whose records it would type$/);
  });
});

describe('records of varying length, a header struct ending in a flexible array (char args[]), matched by its prefix', () => {
  test('--types HEADER: each length arrives whole, args exactly as long as the record; the choice said once', async () => {
    const { stdout, stderr, pid } = await run(VARIABLE, ['--types', EXEC_HEADER], true, /"event":"record"/g);
    const records = jsonEvents(stdout).filter((e) => e.event === 'record');
    const expected = [1, 2, 3, 4].map((who) => ({ pid, len: 9 * who, args: argsOf(who) }));
    assert.deepEqual(records.map((e) => e.data), expected, stdout);
    assert.deepEqual(records.map((e) => e.formatted), expected);
    assert.match(stderr, /map 'events': records of 8 bytes or more are decoded as struct exec_event \(from tool_exec\.h\), its flexible array holding the rest of each record/);
    assert.equal(stderr.match(/are decoded as/g)?.length, 1, 'said once, not once per length');
  });

  test('text: one aligned line per record, args last, quoted where they hold spaces', async () => {
    const { stdout, pid } = await run(VARIABLE, ['--types', EXEC_HEADER], false, /^\d+ /gm);
    const rows = stdout.slice(stdout.indexOf('PID '), stdout.indexOf('detached')).trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
    assert.deepEqual(rows, [['PID', 'LEN', 'ARGS'], ...[1, 2, 3, 4].map((who) => [String(pid), String(9 * who), / /.test(argsOf(who)) ? JSON.stringify(argsOf(who)) : argsOf(who)])], stdout);
    assert.equal(new Set(stdout.split('\n').filter((l) => /^(PID|\d+) /.test(l)).map((l) => l.lastIndexOf(l.split(/\s{2,}/)[2]!))).size, 1, 'ARGS starts in one column');
  });
});

describe('records of a legacy bpf_map_def object built with -g and without BTF, as the older collections are', () => {
  test("no option: the perf buffer's records (perf_output's struct event) are typed by the object's DWARF", async () => {
    assert.equal(parseBpfObject(readFileSync(LEGACY)).btf, undefined, 'no BTF: the DWARF is the only type source');
    const { stdout, stderr, pid } = await run(LEGACY, [], true, /"event":"record"/g);
    // The perf buffer's records come per CPU: sorted by seq, the call's who.
    const records = jsonEvents(stdout).filter((e) => e.event === 'record' && e.map === 'calls').sort((a, b) => Number((a.data as Formatted).seq) - Number((b.data as Formatted).seq));
    const expected = [1, 2, 3, 4].map((seq) => ({ pid, seq, comm: 'emit_calls', value: 3 * seq, delta: -seq, pad: [0, 0, 0, 0, 0, 0] }));
    assert.deepEqual(records.map((e) => e.data), expected, stdout);
    assert.deepEqual(records.map((e) => e.formatted), expected);
    // 40 bytes of struct event and 4 of the perf buffer's padding.
    assert.match(stderr, /^load-kp-bpf: map 'calls': records of 44 bytes are decoded as struct event \(from the object's DWARF\)$/m);
  });
});

describe("execsnoop's shape: perf buffer records sent only as far as their arguments, typed by the object's BTF beside the kernel structs CO-RE brought", () => {
  const EXECSNOOP = fixture('tool_execsnoop.o');
  const MISSING = '/nonexistent/lkb-no-such-program';

  /** Runs tool_execsnoop on this process's children, which exec emit_calls 0 1 and then a missing file; resolves once both records came. */
  async function execs(json: boolean): Promise<Run> {
    const cli = new RunningCli([EXECSNOOP, ...(json ? ['--json'] : []), '--set', `targ_ppid=${process.pid}`, '--set', 'ignore_failed=false']);
    await cli.waitFor(ATTACHED);
    const ok = spawnSync(fixture('emit_calls'), ['0', '1'], { timeout: 60_000 });
    assert.equal(ok.status, 0);
    const failed = spawnSync(MISSING, ['a b', 'c'], { timeout: 60_000 });
    assert.equal((failed.error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
    const record = json ? /"event":"record"/g : /lkb-no-such-program/g;
    for (let i = 0; i < 100 && (cli.stdout.match(record) ?? []).length < (json ? 2 : 1); i++) await new Promise((r) => setTimeout(r, 100));
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    return { stdout: result.stdout, stderr: result.stderr, pid: ok.pid! };
  }

  test('JSON: each exec with its arguments joined as execsnoop prints them, the failed one with its errno; no kernel struct of the same size chosen', async () => {
    const { stdout, stderr, pid } = await execs(true);
    const records = jsonEvents(stdout).filter((e) => e.event === 'record');
    const uid = process.getuid!();
    const args = `${fixture('emit_calls')} 0 1`;
    assert.equal(records.length, 2, stdout);
    // A perf buffer's records come per CPU: the two execs may come in either order.
    const [succeeded, failed] = [...records].sort((a, b) => ((a.data as Formatted).retval === 0 ? -1 : 1) - ((b.data as Formatted).retval === 0 ? -1 : 1));
    assert.deepEqual(succeeded!.formatted, { pid, ppid: process.pid, uid, retval: 0, args_count: 3, args_size: args.length + 1, comm: 'emit_calls', args });
    const missing = failed!.formatted as Formatted;
    assert.deepEqual(
      [missing.ppid, missing.retval, missing.args_count, missing.args],
      [process.pid, '-2 ENOENT', 3, `${MISSING} a b c`],
    );
    assert.equal((failed!.data as Formatted).retval, -2);
    assert.match(stderr, /^load-kp-bpf: map 'events': records shorter than struct event \(2600 bytes\) are decoded as it \(from the object's BTF\), each ending inside its last member args$/m);
    assert.doesNotMatch(stderr, /are decoded as struct (?!event)/, 'a kernel struct (task_struct and what it holds, in the BTF for CO-RE) chosen for a record');
  });

  test('text: one line per exec, the arguments last', async () => {
    const { stdout, pid } = await execs(false);
    const header = stdout.split('\n').find((l) => l.startsWith('CPU '));
    assert.match(header ?? '', /^CPU\s+PID\s+PPID\s+UID\s+RETVAL\s+ARGS_COUNT\s+ARGS_SIZE\s+COMM\s+ARGS$/, stdout);
    const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(stdout, new RegExp(`^\\d+\\s+${pid}\\s+${process.pid}\\s+\\d+\\s+0\\s+3\\s+\\d+\\s+emit_calls\\s+"${literal(fixture('emit_calls'))} 0 1"$`, 'm'));
    assert.match(stdout, new RegExp(`^\\d+\\s+\\d+\\s+${process.pid}\\s+\\d+\\s+"-2 ENOENT"\\s+3\\s+\\d+\\s+\\S+\\s+"${literal(MISSING)} a b c"$`, 'm'));
  });
});
