// The metrics configuration: YAML and JSON read alike, every mistake one line, and maps picked, renamed and relabelled.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { UsageError } from '../../src/errors.js';
import { checkMetricsConfig, configuredFamilies, mapIsShown, parseMetricsConfig } from '../../src/metrics/config.js';
import type { MetricFamily } from '../../src/metrics/exposition.js';

const YAML = `
only_listed: true
maps:
  calls_by_pid:
    name: bpf_calls
    help: bpf() calls of each process
    labels:
      key: pid
  size_dist:
  totals: false
`;

describe('parseMetricsConfig', () => {
  test('YAML and the same in JSON give one configuration', () => {
    const expected = {
      onlyListed: true,
      maps: { calls_by_pid: { name: 'bpf_calls', help: 'bpf() calls of each process', labels: { key: 'pid' } }, size_dist: {}, totals: false },
    };
    assert.deepEqual(parseMetricsConfig(YAML, 'f.yaml'), expected);
    const json = JSON.stringify({ only_listed: true, maps: { calls_by_pid: { name: 'bpf_calls', help: 'bpf() calls of each process', labels: { key: 'pid' } }, size_dist: null, totals: false } });
    assert.deepEqual(parseMetricsConfig(json, 'f.json'), expected);
    assert.deepEqual(parseMetricsConfig('', 'empty'), {});
    assert.deepEqual(parseMetricsConfig('prefix: web_opensnoop', 'f'), { prefix: 'web_opensnoop' });
  });

  test('each mistake is one line naming the file, the line or the key', () => {
    const cases: Array<[string, string]> = [
      ['maps: [a, b', 'f:1: not YAML or JSON: '],
      ['maps:\n  a: 1\n  a: 2\n', 'f:3: not YAML or JSON: '],
      ['- a\n', 'f: the top level: expected a mapping'],
      ['mapz: {}', 'f: mapz: unknown key; a configuration has "maps", "only_listed" and "prefix"'],
      ['prefix: 9lives', 'f: prefix: expected a metric name'],
      ['prefix: [a]', 'f: prefix: expected a metric name'],
      ['only_listed: yes please', 'f: only_listed: expected true or false'],
      ['maps: {a: {name: "9 lives"}}', 'f: maps.a.name: "9 lives" is not a metric name'],
      ['maps: {a: {labels: {key: le}}}', 'f: maps.a.labels.key: "le" is not a label name'],
      ['maps: {a: {labels: {key: __x}}}', 'f: maps.a.labels.key: "__x" is not a label name'],
      ['maps: {a: {colour: red}}', 'f: maps.a.colour: unknown key; a map has "name", "help" and "labels"'],
      ['maps: {a: 3}', 'f: maps.a: expected a mapping with "name", "help" and "labels", or false'],
    ];
    for (const [text, start] of cases) {
      assert.throws(() => parseMetricsConfig(text, 'f'), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.ok(error.message.startsWith(start), `${JSON.stringify(text)}: ${error.message}`);
        assert.ok(!error.message.includes('\n'), error.message);
        return true;
      });
    }
  });

  test('a map the object lacks is refused, naming those it has', () => {
    assert.throws(() => checkMetricsConfig({ maps: { nope: {} } }, ['counts', 'events']), /the object has no map 'nope'; it has 'counts', 'events'/);
    checkMetricsConfig({ maps: { counts: false } }, ['counts']);
  });
});

describe('maps as configured', () => {
  test('only listed maps, unless false; without only_listed, all but false', () => {
    const listed = parseMetricsConfig(YAML, 'f');
    assert.deepEqual(['calls_by_pid', 'size_dist', 'totals', 'events'].map((m) => mapIsShown(listed, m)), [true, true, false, false]);
    const all = { maps: { totals: false as const } };
    assert.deepEqual(['calls_by_pid', 'totals'].map((m) => mapIsShown(all, m)), [true, false]);
  });

  test('renamed, with new help; a renamed label; a dropped label adds up the samples it told apart, histograms by bucket', () => {
    const counter: MetricFamily = {
      name: 'obj_calls_total',
      help: 'old',
      type: 'counter',
      samples: [
        { labels: { key: '1', cpu: '0' }, value: 2n },
        { labels: { key: '1', cpu: '1' }, value: 3n },
        { labels: { key: '2', cpu: '0' }, value: 5n },
      ],
    };
    const [shown] = configuredFamilies([counter], 'obj_calls', { name: 'calls', help: 'new', labels: { key: 'pid', cpu: null } });
    assert.deepEqual(shown, {
      name: 'calls_total',
      help: 'new',
      type: 'counter',
      samples: [
        { labels: { pid: '1' }, value: 5n },
        { labels: { pid: '2' }, value: 5n },
      ],
    });
    const histogram: MetricFamily = {
      name: 'obj_lat',
      help: 'h',
      type: 'histogram',
      samples: [
        { suffix: '_bucket', labels: { cpu: '0', le: '1' }, value: 1 },
        { suffix: '_bucket', labels: { cpu: '1', le: '1' }, value: 2 },
        { suffix: '_sum', labels: { cpu: '0' }, value: 0.5 },
        { suffix: '_sum', labels: { cpu: '1' }, value: 1.5 },
      ],
    };
    assert.deepEqual(configuredFamilies([histogram], 'obj_lat', { labels: { cpu: null } })[0]!.samples, [
      { suffix: '_bucket', labels: { le: '1' }, value: 3 },
      { suffix: '_sum', labels: {}, value: 2 },
    ]);
    assert.deepEqual(configuredFamilies([counter], 'obj_calls', undefined), [counter], 'no configuration: as it was');
  });
});
