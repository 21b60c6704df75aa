// Host kernel: run --metrics serves a running object's maps, and a real Prometheus (Debian's) scrapes and queries them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { RunningCli, fixture, runCli } from '../support/cli.js';
import { PrometheusServer, freePort, listening } from '../support/prometheus.js';
import { tool } from '../support/tools.js';
import { makeBpfCalls, programsGone } from '../support/kernel.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { MAP_TYPE } from '../../src/object/map-types.js';

const CALLS = 2000;
const SERVING = /serving the maps for Prometheus at (http:\/\/127\.0\.0\.1:(\d+)\/metrics)/;
const SERVING_OBJECTS = /serving the maps of (\d+) objects? for Prometheus at (http:\/\/127\.0\.0\.1:(\d+)\/metrics)/;

/** Non-cumulative counts per bucket bound, from Prometheus's cumulative _bucket series. */
function perBucket(samples: Array<{ metric: Record<string, string>; value: number }>): Map<string, number> {
  const sorted = samples.map((s) => ({ le: s.metric.le!, value: s.value })).sort((a, b) => (a.le === '+Inf' ? 1 : b.le === '+Inf' ? -1 : Number(a.le) - Number(b.le)));
  return new Map(sorted.map((s, i) => [s.le, s.value - (i === 0 ? 0 : sorted[i - 1]!.value)]));
}

describe('--metrics', () => {
  // The driver's own bpf() calls: a map of this test process.
  const driver = BpfMap.create('lkb_prom_drv', { type: MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  after(() => driver.close());

  test('Prometheus scrapes the running object: counters rise by what the driver did, the histogram is whole, records are counted; nothing listens after exit', async () => {
    const port = await freePort();
    const cli = new RunningCli([fixture('btf_metrics.o'), '--metrics', `127.0.0.1:${port}`]);
    let prometheus: PrometheusServer | undefined;
    try {
      await cli.waitFor(SERVING, 60_000, 'stderr');
      const url = SERVING.exec(cli.stderr)![1]!;
      const body = await (await fetch(url)).text();
      const check = spawnSync(tool('promtool'), ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
      assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}\n${body}`);

      prometheus = await PrometheusServer.start(`127.0.0.1:${port}`);
      const server = prometheus;
      const value = async (promql: string): Promise<number | undefined> => (await server.query(promql))[0]?.value;
      await server.until(async () => (await value('up{job="lkb"}')) === 1, 30_000, 'the first scrape');
      const mine = `btf_metrics_calls_by_pid_total{key="${process.pid}"}`;
      const before = (await value(mine)) ?? 0;
      const bucketsBefore = perBucket(await server.query('btf_metrics_size_dist_bucket'));
      const recordsBefore = (await value('btf_metrics_events_records_total')) ?? 0;

      makeBpfCalls(driver, CALLS);
      await server.until(async () => ((await value(mine)) ?? 0) - before >= CALLS, 30_000, `${mine} to rise by ${CALLS}`);
      await server.until(async () => ((await value('btf_metrics_events_records_total')) ?? 0) - recordsBefore >= CALLS, 30_000, 'the ring buffer records to be counted');
      await server.until(async () => ((await value('btf_metrics_total_calls')) ?? 0) >= before + CALLS, 30_000, 'the .bss global');

      // Every driver call has the same attr size: one bucket holds them all.
      const buckets = await server.query('btf_metrics_size_dist_bucket');
      const grown = [...perBucket(buckets)].filter(([le, n]) => le !== '+Inf' && n - (bucketsBefore.get(le) ?? 0) >= CALLS);
      assert.equal(grown.length, 1, `one bucket took the ${CALLS} calls: ${JSON.stringify(buckets)}`);
      const count = await value('btf_metrics_size_dist_count');
      assert.equal(buckets.find((b) => b.metric.le === '+Inf')?.value, count, '_count is the +Inf bucket');
      // The median lies in a bucket Prometheus has: at most its largest bound.
      const median = await value('histogram_quantile(0.5, btf_metrics_size_dist_bucket)');
      assert.ok(median !== undefined && Number.isFinite(median) && median > 0, `median ${median}`);
      assert.ok(median <= Math.max(...buckets.map((b) => Number(b.metric.le)).filter(Number.isFinite)));
      assert.equal(await value('btf_metrics_programs_attached'), 1);

      const ended = await cli.stop('SIGINT');
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(await listening(port), false, 'nothing listens after the run');
      await server.until(async () => (await value('up{job="lkb"}')) === 0, 30_000, 'the target to be down');
    } finally {
      await cli.stop('SIGKILL');
      await prometheus?.stop();
    }
    await programsGone('count_bpf');
  });

  test('a port in use is one line, before anything is loaded', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await runCli([fixture('btf_metrics.o'), '--metrics', String(port)]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `load-kp-bpf: --metrics 127.0.0.1:${port}: cannot listen (the port is in use)\n`);
    } finally {
      taken.close();
    }
    await programsGone('count_bpf');
  });

  test('--metrics-max-series caps a map and counts what it left out', async () => {
    const cli = new RunningCli([fixture('btf_metrics.o'), '--metrics', '0', '--metrics-max-series', '1', '--json']);
    try {
      await cli.waitFor(/"event":"attached"/);
      // --json says where, for scripts; the note on stderr says it for people.
      const url = (JSON.parse(cli.stdout.split('\n').find((l) => l.includes('"event":"attached"'))!) as { metrics: string }).metrics;
      assert.equal(url, SERVING.exec(cli.stderr)![1]);
      makeBpfCalls(driver, 10);
      // This process's calls and the scrapes' own: at least two pids, one exported.
      const deadline = Date.now() + 30_000;
      let body = '';
      while (!/btf_metrics_series_dropped_total\{map="calls_by_pid"\} [1-9]/.test(body)) {
        assert.ok(Date.now() < deadline, `nothing counted as dropped:\n${body}`);
        body = await (await fetch(url)).text();
      }
      assert.equal(body.split('\n').filter((l) => l.startsWith('btf_metrics_calls_by_pid_total{')).length, 1);
    } finally {
      await cli.stop('SIGINT');
    }
    await programsGone('count_bpf');
  });

  test('--metrics-config picks, renames and relabels maps; a map the object lacks is refused before loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-metrics-config-'));
    try {
      const config = join(dir, 'metrics.yaml');
      writeFileSync(config, 'only_listed: true\nmaps:\n  calls_by_pid:\n    name: bpf_calls\n    help: bpf() calls of each process\n    labels: {key: pid}\n  events:\n');
      const cli = new RunningCli([fixture('btf_metrics.o'), '--metrics', '0', '--metrics-config', config]);
      try {
        await cli.waitFor(SERVING, 60_000, 'stderr');
        const url = SERVING.exec(cli.stderr)![1]!;
        makeBpfCalls(driver, 10);
        const body = await (await fetch(url)).text();
        assert.match(body, /^# HELP bpf_calls_total bpf\(\) calls of each process$/m);
        assert.match(body, new RegExp(`^bpf_calls_total\\{pid="${process.pid}"\\} (\\d+)$`, 'm'));
        assert.match(body, /^btf_metrics_events_records_total \d+$/m);
        assert.doesNotMatch(body, /size_dist|btf_metrics_totals|calls_by_pid_total/, 'maps not listed are left out');
        assert.match(body, /^btf_metrics_total_calls \d+$/m, 'globals and health stay');
      } finally {
        await cli.stop('SIGINT');
      }
      writeFileSync(config, 'maps:\n  calls_by_pids: {}\n');
      const refused = await runCli([fixture('btf_metrics.o'), '--metrics', '0', '--metrics-config', config]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^load-kp-bpf: metrics configuration: the object has no map 'calls_by_pids'; it has /);
      writeFileSync(config, 'maps: [\n');
      const broken = await runCli([fixture('btf_metrics.o'), '--metrics', '0', '--metrics-config', config]);
      assert.equal(broken.code, 1);
      assert.equal(broken.stderr.split('\n').length, 2, broken.stderr);
      assert.match(broken.stderr, new RegExp(`^load-kp-bpf: --metrics-config ${config}:\\d+: not YAML or JSON: `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await programsGone('count_bpf');
  });

  test('--quiet: nothing on stdout while the records are still read and counted; --interval with it is refused', async () => {
    const cli = new RunningCli([fixture('btf_metrics.o'), '--metrics', '0', '--quiet']);
    try {
      await cli.waitFor(SERVING, 60_000, 'stderr');
      const url = SERVING.exec(cli.stderr)![1]!;
      const records = async (): Promise<number> => Number(/^btf_metrics_events_records_total (\d+)$/m.exec(await (await fetch(url)).text())?.[1]);
      const before = await records();
      makeBpfCalls(driver, 100);
      const deadline = Date.now() + 30_000;
      while ((await records()) - before < 100) assert.ok(Date.now() < deadline, 'the ring buffer records were not counted');
      const ended = await cli.stop('SIGINT');
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(ended.stdout, '', 'nothing on stdout');
    } finally {
      await cli.stop('SIGKILL');
    }
    const refused = await runCli([fixture('btf_metrics.o'), '--quiet', '--interval', '1']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'load-kp-bpf: --interval 1: it prints the maps, and --quiet prints nothing\n');
    await programsGone('count_bpf');
  });

  test('a bad address is a usage line', async () => {
    const result = await runCli([fixture('btf_metrics.o'), '--metrics', 'localhost']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^load-kp-bpf: --metrics "localhost": expected \[ADDRESS:\]PORT/);
    const alone = await runCli([fixture('btf_metrics.o'), '--metrics-max-series', '5']);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /^load-kp-bpf: --metrics-max-series 5: it caps what --metrics serves; give --metrics too/);
  });

  test('serve: one endpoint for several objects, each with its options; Prometheus sees both count the same calls; nothing stays after Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-serve-'));
    const port = await freePort();
    let prometheus: PrometheusServer | undefined;
    // The same object twice, the second under another prefix from its --metrics-config, given by a --config file.
    const metricsConfig = join(dir, 'second.yaml');
    writeFileSync(metricsConfig, 'prefix: second\nonly_listed: true\nmaps:\n  calls_by_pid:\n');
    const serveConfig = join(dir, 'serve.yaml');
    writeFileSync(serveConfig, `objects:\n  - object: ${fixture('btf_metrics.o')}\n    args: [--metrics-config, ${metricsConfig}, --quiet]\n`);
    const cli = new RunningCli(['serve', '--metrics', `127.0.0.1:${port}`, '--config', serveConfig, fixture('btf_metrics.o'), '--max-entries', 'calls_by_pid=64', fixture('tp_count.o')]);
    try {
      await cli.waitFor(SERVING_OBJECTS, 60_000, 'stderr');
      assert.equal(SERVING_OBJECTS.exec(cli.stderr)![1], '3');
      // Each object's lines begin with its name; the quiet one prints none.
      await cli.waitFor(/^tp_count: press Ctrl-C to detach$/m);
      assert.match(cli.stdout, /^btf_metrics:   calls_by_pid +hash +key 4 +value 8 +max 64 /m, '--max-entries reached its object');
      prometheus = await PrometheusServer.start(`127.0.0.1:${port}`);
      const server = prometheus;
      const value = async (promql: string): Promise<number> => (await server.query(promql))[0]?.value ?? 0;
      await server.until(async () => (await value('up{job="lkb"}')) === 1, 30_000, 'the first scrape');
      const first = `btf_metrics_calls_by_pid_total{key="${process.pid}"}`;
      const second = `second_calls_by_pid_total{key="${process.pid}"}`;
      const before = { first: await value(first), second: await value(second) };
      makeBpfCalls(driver, CALLS);
      await server.until(async () => (await value(first)) - before.first >= CALLS, 30_000, `${first} to rise by ${CALLS}`);
      await server.until(async () => (await value(second)) - before.second >= CALLS, 30_000, `${second} to rise by ${CALLS}`);
      assert.equal(await value('tp_count_programs_attached'), 1, 'the legacy object is served too: its health');
      assert.equal((await server.query('{__name__=~"second_.*"}')).filter((s) => !/^second_(calls_by_pid_total|programs_attached|series_dropped_total|total_calls|events_(records|lost)_total|program_.*)$/.test(s.metric.__name__!)).length, 0, 'only_listed left the other maps out');

      const ended = await cli.stop('SIGINT');
      assert.equal(ended.code, 0, ended.stderr);
      assert.match(ended.stdout, /^tp_count: detached \(SIGINT\)$/m);
      assert.doesNotMatch(ended.stdout, /^second|^btf_metrics: .*second/m);
      assert.equal(await listening(port), false, 'nothing listens after serve');
    } finally {
      await cli.stop('SIGKILL');
      await prometheus?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    await programsGone('count_bpf');
    await programsGone('count_hits');
  });

  test('serve refuses, in one line and before loading anything: no address, no object, two objects under one prefix, a run option it owns after an object', async () => {
    const object = fixture('btf_metrics.o');
    const cases: Array<[string[], RegExp]> = [
      [['serve', object], /^load-kp-bpf: serve: where to serve\? give --metrics \[ADDRESS:\]PORT/],
      [['serve', '--metrics', '0'], /^load-kp-bpf: serve: name the objects to serve/],
      [['serve', '--metrics', '0', object, object], /would both name their metrics btf_metrics_\*: give one a prefix in its --metrics-config \(prefix: NAME\)$/m],
      [['serve', '--metrics', '0', object, '--json'], /^load-kp-bpf: serve .*btf_metrics\.o: --json is serve's, for all the objects: give it before the first object$/m],
      [['serve', '--metrics', '0', object, '--bogus'], /^load-kp-bpf: serve .*btf_metrics\.o: unknown option '--bogus'/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    }
    await programsGone('count_bpf');
  });
});
