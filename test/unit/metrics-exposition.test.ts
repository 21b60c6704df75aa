// The Prometheus text format as formatExposition writes it: escaping, names, histogram order, exact bigints.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { formatExposition, metricName, type MetricFamily } from '../../src/metrics/exposition.js';

describe('formatExposition', () => {
  test('HELP and TYPE before the samples; no text for no families', () => {
    const text = formatExposition([{ name: 'calls_total', help: 'Calls.', type: 'counter', samples: [{ labels: { pid: '1' }, value: 3 }, { labels: {}, value: 0 }] }]);
    assert.equal(text, '# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{pid="1"} 3\ncalls_total 0\n');
    assert.equal(formatExposition([]), '');
  });

  test('label values escape backslash, quote and newline; HELP escapes backslash and newline only', () => {
    const text = formatExposition([{ name: 'm', help: 'a "b" \\ c\nd', type: 'gauge', samples: [{ labels: { comm: 'x\\y"z\nw' }, value: 1 }] }]);
    assert.equal(text, '# HELP m a "b" \\\\ c\\nd\n# TYPE m gauge\nm{comm="x\\\\y\\"z\\nw"} 1\n');
  });

  test('metric and label names are sanitized: invalid characters, a leading digit, the reserved __ prefix', () => {
    const text = formatExposition([{ name: '1a-b.c:d', help: 'h', type: 'gauge', samples: [{ labels: { 'my-label': 'v', __name: 'n', 'a:b': 'c' }, value: 2 }] }]);
    assert.equal(text, '# HELP _1a_b_c:d h\n# TYPE _1a_b_c:d gauge\n_1a_b_c:d{my_label="v",_name="n",a_b="c"} 2\n');
  });

  test('bigints are exact; non-finite numbers as the format spells them', () => {
    const text = formatExposition([
      {
        name: 'big',
        help: 'h',
        type: 'gauge',
        samples: [
          { labels: { v: 'max' }, value: 0xffffffffffffffffn },
          { labels: { v: 'inf' }, value: Infinity },
          { labels: { v: 'ninf' }, value: -Infinity },
          { labels: { v: 'nan' }, value: NaN },
          { labels: { v: 'half' }, value: 0.5 },
        ],
      },
    ]);
    assert.deepEqual(text.split('\n').slice(2, -1), ['big{v="max"} 18446744073709551615', 'big{v="inf"} +Inf', 'big{v="ninf"} -Inf', 'big{v="nan"} NaN', 'big{v="half"} 0.5']);
  });

  test("a histogram's samples per label set: buckets in their order, then _sum, then _count", () => {
    const family: MetricFamily = {
      name: 'lat',
      help: 'h',
      type: 'histogram',
      samples: [
        { suffix: '_count', labels: { cpu: '0' }, value: 2 },
        { suffix: '_bucket', labels: { cpu: '0', le: '1' }, value: 1 },
        { suffix: '_sum', labels: { cpu: '0' }, value: 2.5 },
        { suffix: '_bucket', labels: { cpu: '1', le: '+Inf' }, value: 0 },
        { suffix: '_bucket', labels: { cpu: '0', le: '+Inf' }, value: 2 },
        { suffix: '_count', labels: { cpu: '1' }, value: 0 },
        { suffix: '_sum', labels: { cpu: '1' }, value: 0 },
      ],
    };
    assert.deepEqual(formatExposition([family]).split('\n').slice(2, -1), [
      'lat_bucket{cpu="0",le="1"} 1',
      'lat_bucket{cpu="0",le="+Inf"} 2',
      'lat_sum{cpu="0"} 2.5',
      'lat_count{cpu="0"} 2',
      'lat_bucket{cpu="1",le="+Inf"} 0',
      'lat_sum{cpu="1"} 0',
      'lat_count{cpu="1"} 0',
    ]);
  });

  test('families of one name are written once, the first help and type kept', () => {
    const text = formatExposition([
      { name: 'a-b', help: 'first', type: 'counter', samples: [{ labels: { k: '1' }, value: 1 }] },
      { name: 'a_b', help: 'second', type: 'gauge', samples: [{ labels: { k: '2' }, value: 2 }] },
    ]);
    assert.equal(text, '# HELP a_b first\n# TYPE a_b counter\na_b{k="1"} 1\na_b{k="2"} 2\n');
  });
});

describe('metricName', () => {
  test('snake_case parts joined by one underscore', () => {
    assert.equal(metricName('tcp-connect', 'ipv4Count', 'total'), 'tcp_connect_ipv4_count_total');
    assert.equal(metricName('obj', '.bss', '__x__'), 'obj_bss_x');
    assert.equal(metricName('a', '', 'b'), 'a_b');
  });

  test('no leading digit, no invalid character', () => {
    assert.equal(metricName('3d', 'map'), '_3d_map');
    assert.equal(metricName('été', 'x'), 't_x');
    assert.match(metricName('!!!'), /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  });
});
