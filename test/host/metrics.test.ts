// Host kernel (tracepoints, ring buffers): ObjectMetrics exports a running object's maps, globals and programs with no configuration, and promtool accepts the text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { fixture } from '../support/cli.js';
import { makeBpfCalls, programsGone } from '../support/kernel.js';
import { tool } from '../support/tools.js';
import { LoadedObject, ObjectMetrics, RingBufferReader, formatExposition, parseBpfObject, planAttachments, type MetricFamily, type MetricSample } from '../../src/index.js';

const CALLS = 50;
const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

function family(families: readonly MetricFamily[], name: string): MetricFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `no family ${name}; there are ${families.map((f) => f.name).join(', ')}`);
  return found;
}

function sample(f: MetricFamily, labels: Record<string, string>, suffix?: string): MetricSample | undefined {
  return f.samples.find((s) => s.suffix === suffix && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

const numeric = (s: MetricSample | undefined): bigint => (s === undefined ? 0n : BigInt(s.value));

/** A histogram's _count is the +Inf bucket and the sum of what each bucket adds; buckets never go down. */
function assertConsistent(f: MetricFamily, labels: Record<string, string>): bigint {
  const buckets = f.samples.filter((s) => s.suffix === '_bucket' && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(buckets.at(-1)?.labels.le, '+Inf');
  let previous = 0n;
  let added = 0n;
  for (const b of buckets.slice(0, -1)) {
    assert.ok(BigInt(b.value) >= previous, `${f.name} buckets are cumulative`);
    added += BigInt(b.value) - previous;
    previous = BigInt(b.value);
  }
  const count = numeric(sample(f, labels, '_count'));
  assert.equal(count, added, `${f.name}_count is the sum of its buckets`);
  assert.equal(count, BigInt(buckets.at(-1)!.value));
  assert.equal(typeof sample(f, labels, '_sum')?.value, 'number');
  return count;
}

describe('ObjectMetrics on a running object', () => {
  test('counts per pid, histograms, a global, ring buffer records and attachments, in an exposition promtool accepts', async () => {
    const spec = parseBpfObject(readFileSync(fixture('btf_metrics.o')));
    let metrics!: ObjectMetrics;
    let reader!: RingBufferReader;
    const loaded = LoadedObject.start(spec, {
      attach: planAttachments(spec).attachments,
      beforeAttach: (l) => {
        metrics = new ObjectMetrics(l, { object: 'btf_metrics' });
        reader = l.own(RingBufferReader.open(l.maps.get('events')!.map, { onRecord: () => metrics.countRecords('events', 1), onLost: (lost) => metrics.countLost('events', Number(lost.count)) }));
      },
    });
    try {
      const pid = { key: String(process.pid) };
      const before = metrics.collect();
      const pidBefore = numeric(sample(family(before, 'btf_metrics_calls_by_pid_total'), pid));
      makeBpfCalls(loaded.maps.get('calls_by_pid')!.map, CALLS);
      reader.poll();
      const after = metrics.collect();

      const pidAfter = numeric(sample(family(after, 'btf_metrics_calls_by_pid_total'), pid));
      assert.ok(pidAfter - pidBefore >= BigInt(CALLS), `this process's counter moved by ${pidAfter - pidBefore}, not ${CALLS}`);
      // Nothing left out below the cap; every other map's calls are of all processes, at least ours.
      assert.equal(sample(family(after, 'btf_metrics_series_dropped_total'), { map: 'calls_by_pid' })?.value, 0);
      const dist = family(after, 'btf_metrics_size_dist');
      assert.equal(dist.type, 'histogram');
      assert.match(dist.help, /sum estimated from bucket midpoints/);
      assert.ok(assertConsistent(dist, {}) >= BigInt(CALLS));
      const hist = family(after, 'btf_metrics_size_hist');
      assert.ok(assertConsistent(hist, { index: '0' }) >= BigInt(CALLS));
      const global = numeric(sample(family(after, 'btf_metrics_total_calls'), {}));
      assert.ok(global >= pidAfter, `total_calls ${global} counts at least this process's ${pidAfter}`);
      assert.equal(family(after, 'btf_metrics_total_calls').type, 'gauge');
      assert.ok(numeric(sample(family(after, 'btf_metrics_totals_calls_total'), { index: '0' })) >= BigInt(CALLS));
      assert.ok(numeric(sample(family(after, 'btf_metrics_totals_size_sum_total'), { index: '0' })) > 0n);
      // Every CPU's count added up: at least this process's calls, wherever they ran.
      const percpu = numeric(sample(family(after, 'btf_metrics_percpu_calls_total'), { index: '0' }));
      assert.ok(percpu - numeric(sample(family(before, 'btf_metrics_percpu_calls_total'), { index: '0' })) >= BigInt(CALLS), `percpu_calls moved by less than ${CALLS}`);
      assert.ok(numeric(sample(family(after, 'btf_metrics_events_records_total'), {})) >= BigInt(CALLS));
      assert.equal(sample(family(after, 'btf_metrics_events_lost_total'), {})?.value, 0n);
      assert.equal(sample(family(after, 'btf_metrics_programs_attached'), {})?.value, 1);
      const statsEnabled = readFileSync(BPF_STATS, 'utf8').trim() === '1';
      assert.equal(after.some((f) => f.name === 'btf_metrics_program_run_total'), statsEnabled);

      const text = formatExposition(after);
      const check = spawnSync(tool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
      assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}\n${text}`);

      // A cap of 0 keeps no entry of a map and counts them all as dropped.
      const capped = new ObjectMetrics(loaded, { object: 'btf_metrics', maxSeries: 0 }).collect();
      assert.deepEqual(family(capped, 'btf_metrics_calls_by_pid_total').samples, []);
      assert.ok(numeric(sample(family(capped, 'btf_metrics_series_dropped_total'), { map: 'calls_by_pid' })) >= 1n);
    } finally {
      loaded.close();
    }
    await programsGone('count_bpf');
  });

  test('a legacy object without BTF types: its maps are left out, no error', () => {
    const spec = parseBpfObject(readFileSync(fixture('tp_count.o')));
    const loaded = LoadedObject.load(spec);
    try {
      const families = new ObjectMetrics(loaded, { object: 'tp_count' }).collect();
      assert.deepEqual(
        families.map((f) => f.name),
        ['tp_count_series_dropped_total', 'tp_count_programs_attached', ...(readFileSync(BPF_STATS, 'utf8').trim() === '1' ? ['tp_count_program_run_total', 'tp_count_program_run_seconds_total'] : [])],
      );
    } finally {
      loaded.close();
    }
  });

  test('with kernel.bpf_stats_enabled=1, each program\'s runs and run time', async () => {
    // The sysctl is the machine's: set for this test only, as it was found afterwards.
    const was = readFileSync(BPF_STATS, 'utf8').trim();
    writeFileSync(BPF_STATS, '1');
    const spec = parseBpfObject(readFileSync(fixture('btf_metrics.o')));
    const loaded = LoadedObject.start(spec, { attach: planAttachments(spec).attachments });
    try {
      const metrics = new ObjectMetrics(loaded, { object: 'btf_metrics' });
      makeBpfCalls(loaded.maps.get('calls_by_pid')!.map, CALLS);
      const families = metrics.collect();
      const runs = family(families, 'btf_metrics_program_run_total');
      assert.equal(runs.type, 'counter');
      assert.ok(numeric(sample(runs, { program: 'count_bpf' })) >= BigInt(CALLS));
      const seconds = sample(family(families, 'btf_metrics_program_run_seconds_total'), { program: 'count_bpf' })?.value;
      assert.ok(typeof seconds === 'number' && seconds > 0 && seconds < 60, `ran for ${String(seconds)} s`);
    } finally {
      loaded.close();
      writeFileSync(BPF_STATS, was);
    }
    await programsGone('count_bpf');
  });

  test('a struct key: one label per member, char arrays as text; stack trace maps and .rodata left out', () => {
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('tool_profile.o'))));
    try {
      const key = Buffer.alloc(28);
      key.writeUInt32LE(42, 0);
      key.writeInt32LE(-14, 4);
      key.writeInt32LE(7, 8);
      key.write('a "b"\\', 12, 'latin1');
      const value = Buffer.alloc(8);
      value.writeBigUInt64LE(0xffffffffffffffffn);
      loaded.maps.get('counts')!.map.update(key, value);
      const families = new ObjectMetrics(loaded, { object: 'profile' }).collect();
      const counts = family(families, 'profile_counts_total');
      assert.deepEqual(counts.samples, [{ labels: { pid: '42', user_stack_id: '-14', kern_stack_id: '7', name: 'a "b"\\' }, value: 0xffffffffffffffffn }]);
      assert.ok(formatExposition(families).includes('profile_counts_total{pid="42",user_stack_id="-14",kern_stack_id="7",name="a \\"b\\"\\\\"} 18446744073709551615\n'));
      assert.ok(!families.some((f) => /stackmap|targ_pid/.test(f.name)), families.map((f) => f.name).join(' '));
    } finally {
      loaded.close();
    }
  });
});
