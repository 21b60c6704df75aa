// src/stacks/flamegraph.ts: folded stacks to an SVG flame graph; frames merged by path, each as wide
// as its share, root at the bottom, names escaped. (Opening it in a browser: test/host/profile.test.ts.)
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { flameGraphSvg } from '../../src/stacks/flamegraph.js';

interface DrawnFrame {
  name: string;
  samples: number;
  start: number;
  depth: number;
  x: number;
  y: number;
  width: number;
}

function drawnFrames(svg: string): DrawnFrame[] {
  const pattern = /<g class="f" data-s="(\d+)" data-n="(\d+)" data-d="(\d+)"><title>(.*?) \(\d+ samples?, [\d.]+%\)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g;
  return [...svg.matchAll(pattern)].map((m) => ({ name: m[4]!, samples: Number(m[2]), start: Number(m[1]), depth: Number(m[3]), x: Number(m[5]), y: Number(m[6]), width: Number(m[7]) }));
}

describe('flameGraphSvg', () => {
  test('frames merge by their path; widths are shares of the samples; callers sit below their callees', () => {
    const svg = flameGraphSvg(['app;main;work 3', 'app;main;idle 1', 'app;main;work 2', 'other;run 4', 'not a folded line'], { width: 1020 });
    const frames = drawnFrames(svg);
    assert.deepEqual(
      frames.map((f) => [f.name, f.samples, f.start, f.depth]),
      [['all', 10, 0, 0], ['app', 6, 0, 1], ['main', 6, 0, 2], ['work', 5, 0, 3], ['idle', 1, 5, 3], ['other', 4, 6, 1], ['run', 4, 6, 2]],
    );
    // 1000 pixels between the margins for 10 samples: 100 a sample.
    const byName = Object.fromEntries(frames.map((f) => [f.name, f]));
    assert.deepEqual([byName.all!.width, byName.work!.width, byName.idle!.x, byName.other!.x], [1000, 500, 510, 610]);
    assert.ok(byName.all!.y > byName.app!.y && byName.app!.y > byName.main!.y && byName.main!.y > byName.work!.y);
    assert.match(svg, /data-total="10"/);
  });

  test('names are escaped and cut to fit; the title is escaped', () => {
    const svg = flameGraphSvg(['a;operator<<&"x" 1', `a;${'long_function_name_'.repeat(10)} 99`], { title: 'x < y' });
    assert.match(svg, /<title>operator&lt;&lt;&amp;&quot;x&quot; \(1 sample, 1\.00%\)<\/title>/);
    assert.match(svg, /<text id="title"[^>]*>x &lt; y<\/text>/);
    assert.match(svg, />long_function_name_long_function_name_[a-z_]*\.\.<\/text>/);
    assert.doesNotMatch(svg, /<text [^>]*>operator/, 'a frame 11 pixels wide has no label');
  });

  test('no samples: an empty graph that still opens', () => {
    const svg = flameGraphSvg([]);
    assert.deepEqual(drawnFrames(svg), []);
    assert.match(svg, /^<\?xml[^]*<svg [^]*<\/svg>\n$/);
  });
});
