// Flame graphs: folded stacks drawn as one self-contained, interactive SVG (hover for name and share, click to zoom, search), as flamegraph.pl draws them.

/** A frame of the merged tree: its samples, and its children by name in first-seen order. */
interface Node {
  name: string;
  count: bigint;
  children: Map<string, Node>;
}

export interface FlameGraphOptions {
  title?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
}

const FRAME_HEIGHT = 16;
const TOP = 44;
const BOTTOM = 12;
const SIDE = 10;
const FONT_WIDTH = 6.6;

/** The tree of folded lines ("a;b;c 12"); lines that do not parse are left out. */
function mergeFolded(lines: readonly string[]): Node {
  const root: Node = { name: 'all', count: 0n, children: new Map() };
  for (const line of lines) {
    const match = /^(.*) (\d+)$/.exec(line.trimEnd());
    if (!match || match[1] === '') continue;
    const count = BigInt(match[2]!);
    root.count += count;
    let node = root;
    for (const name of match[1]!.split(';')) {
      let child = node.children.get(name);
      if (!child) node.children.set(name, (child = { name, count: 0n, children: new Map() }));
      child.count += count;
      node = child;
    }
  }
  return root;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** flamegraph.pl's warm palette, a frame's colour fixed by its name; kernel frames (_[k]) orange. */
function colour(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (Math.imul(hash, 31) + name.charCodeAt(i)) >>> 0;
  const v = (hash % 1000) / 1000;
  if (name.endsWith('_[k]')) return `rgb(${230 + Math.round(25 * v)},${130 + Math.round(60 * v)},40)`;
  return `rgb(${205 + Math.round(50 * v)},${Math.round(230 * ((hash >>> 10) % 1000) / 1000)},${Math.round(55 * ((hash >>> 20) % 1000) / 1000)})`;
}

/** The label that fits a width, cut with ".." as flamegraph.pl cuts it; empty when not even 3 characters fit. */
function label(name: string, width: number): string {
  const fits = Math.floor(width / FONT_WIDTH);
  if (fits < 3) return '';
  return name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
}

/**
 * The SVG of folded stacks: root at the bottom, each frame as wide as its share of the samples.
 * Every frame carries its sample range (data-s, data-n, in samples) and depth (data-d), from
 * which the embedded script redraws a zoomed view; the file needs nothing else to open.
 */
export function flameGraphSvg(lines: readonly string[], options: FlameGraphOptions = {}): string {
  const width = options.width ?? 1200;
  const root = mergeFolded(lines);
  const frames: string[] = [];
  let depthMax = 0;
  const total = root.count === 0n ? 1n : root.count;
  const scale = (width - 2 * SIDE) / Number(total);
  const walk = (node: Node, start: bigint, depth: number): void => {
    depthMax = Math.max(depthMax, depth);
    const x = SIDE + Number(start) * scale;
    const w = Number(node.count) * scale;
    const share = ((Number(node.count) / Number(total)) * 100).toFixed(2);
    const title = `${node.name} (${node.count} sample${node.count === 1n ? '' : 's'}, ${share}%)`;
    frames.push(
      `<g class="f" data-s="${start}" data-n="${node.count}" data-d="${depth}"><title>${escapeXml(title)}</title>` +
        `<rect x="${x.toFixed(1)}" y="Y${depth}" width="${w.toFixed(1)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${depth === 0 ? 'rgb(240,140,70)' : colour(node.name)}"/>` +
        `<text x="${(x + 3).toFixed(1)}" y="T${depth}">${escapeXml(label(node.name, w))}</text></g>`,
    );
    let at = start;
    for (const child of node.children.values()) {
      walk(child, at, depth + 1);
      at += child.count;
    }
  };
  if (root.count > 0n) walk(root, 0n, 0);
  const height = TOP + (depthMax + 1) * FRAME_HEIGHT + BOTTOM;
  // Depth 0 at the bottom: the y of each depth is known only once the deepest frame is.
  const placed = frames.map((f) => f.replace(/y="Y(\d+)"/, (_, d: string) => `y="${height - BOTTOM - (Number(d) + 1) * FRAME_HEIGHT}"`).replace(/y="T(\d+)"/, (_, d: string) => `y="${height - BOTTOM - Number(d) * FRAME_HEIGHT - 4}"`));
  const title = escapeXml(options.title ?? 'Flame Graph');
  return `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" data-total="${root.count}" data-width="${width}">
<style>
text { font-family: Verdana, sans-serif; font-size: 11px; fill: rgb(0,0,0); }
.f:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; cursor: pointer; }
.f text { pointer-events: none; }
#title { font-size: 17px; text-anchor: middle; }
.button { cursor: pointer; fill: rgb(60,60,160); }
.hidden { display: none; }
</style>
<rect x="0" y="0" width="${width}" height="${height}" fill="rgb(248,248,248)"/>
<text id="title" x="${width / 2}" y="24">${title}</text>
<text id="details" x="${SIDE}" y="${height - 2}"> </text>
<text id="reset" class="button hidden" x="${SIDE}" y="24">Reset Zoom</text>
<text id="search" class="button" x="${width - SIDE - 110}" y="24">Search</text>
<text id="matched" x="${width - SIDE - 110}" y="${height - 2}"> </text>
<g id="frames">
${placed.join('\n')}
</g>
<script type="text/ecmascript"><![CDATA[
${FLAME_SCRIPT}
]]></script>
</svg>
`;
}

/** Zoom, search and details: every frame redrawn from its sample range, so zooming loses nothing. */
const FLAME_SCRIPT = `(function () {
  var svg = document.documentElement;
  var total = Number(svg.getAttribute('data-total')) || 1;
  var width = Number(svg.getAttribute('data-width'));
  var side = ${SIDE}, fontWidth = ${FONT_WIDTH};
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var reset = document.getElementById('reset');
  var matched = document.getElementById('matched');
  var names = frames.map(function (g) { return g.querySelector('title').textContent.replace(/ \\([^()]*\\)$/, ''); });
  function fit(name, w) {
    var n = Math.floor(w / fontWidth);
    return n < 3 ? '' : name.length <= n ? name : name.slice(0, n - 2) + '..';
  }
  function draw(start, count, depth) {
    var scale = (width - 2 * side) / count;
    frames.forEach(function (g, i) {
      var s = Number(g.getAttribute('data-s')), n = Number(g.getAttribute('data-n')), d = Number(g.getAttribute('data-d'));
      var inside = s + n > start && s < start + count;
      // Below the focus (its callers) stay full width, as flamegraph.pl keeps them.
      var x0 = d < depth ? start : Math.max(s, start), x1 = d < depth ? start + count : Math.min(s + n, start + count);
      g.classList.toggle('hidden', !inside);
      if (!inside) return;
      var rect = g.querySelector('rect'), text = g.querySelector('text');
      var x = side + (x0 - start) * scale, w = (x1 - x0) * scale;
      rect.setAttribute('x', x.toFixed(1));
      rect.setAttribute('width', w.toFixed(1));
      text.setAttribute('x', (x + 3).toFixed(1));
      text.textContent = fit(names[i], w);
    });
    reset.classList.toggle('hidden', count === total && start === 0);
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { draw(Number(g.getAttribute('data-s')), Number(g.getAttribute('data-n')), Number(g.getAttribute('data-d'))); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', function () { draw(0, total, 0); });
  function search(term) {
    var re = null;
    try { re = term ? new RegExp(term) : null; } catch (e) { re = null; }
    // A sample counts once however many of its frames match: only outermost matches are added.
    var sum = 0, covered = [];
    frames.forEach(function (g, i) {
      var hit = re !== null && re.test(names[i]);
      g.querySelector('rect').style.fill = hit ? 'rgb(230,0,230)' : '';
      g.classList.toggle('match', hit);
      if (!hit) return;
      var s = Number(g.getAttribute('data-s')), n = Number(g.getAttribute('data-n'));
      if (covered.some(function (c) { return s >= c[0] && s + n <= c[0] + c[1]; })) return;
      covered.push([s, n]);
      sum += n;
    });
    matched.textContent = re ? 'Matched: ' + (100 * sum / total).toFixed(1) + '%' : ' ';
  }
  document.getElementById('search').addEventListener('click', function () { search(window.prompt('Search (a regular expression)', '')); });
  // Links can carry a view, as flamegraph.pl's do: ?f=FRAME zooms to the first frame so named, ?s=REGEX searches.
  var params = new URLSearchParams(window.location.search);
  var focus = params.get('f');
  var zoomed = focus === null ? -1 : names.indexOf(focus);
  if (zoomed >= 0) frames[zoomed].dispatchEvent(new Event('click'));
  if (params.get('s')) search(params.get('s'));
  svg.setAttribute('data-ready', 'true');
})();`;
