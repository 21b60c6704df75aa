// The Prometheus text exposition format (version 0.0.4): metric families to the text a scrape returns.

/** One sample of a family: its name suffix (histograms), its labels and its value. */
export interface MetricSample {
  /** '_bucket', '_sum' or '_count' for a histogram's samples; none for counters and gauges. */
  suffix?: string;
  labels: Readonly<Record<string, string>>;
  /** Bigints are written exactly (a u64 counter beyond 2^53). */
  value: number | bigint;
}

/** A metric family: one name, its help and type, and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: MetricSample[];
}

/** A metric name from parts: snake_case, other characters '_', no double underscores, no leading digit. */
export function metricName(...parts: string[]): string {
  const snake = parts
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9_:]/g, '_'))
    .join('_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  return sanitized(snake, false);
}

/** A name the format takes: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, no ':' for labels; '__' is Prometheus's own prefix. */
function sanitized(name: string, label: boolean): string {
  let result = name.replace(label ? /[^a-zA-Z0-9_]/g : /[^a-zA-Z0-9_:]/g, '_');
  if (result === '' || /^[0-9]/.test(result)) result = `_${result}`;
  return result.replace(/^__+/, '_');
}

const NEEDS_ESCAPE = /[\\"\n]/;
// Most values (numbers, names) need no escaping: one test instead of three replaces.
const escapeLabelValue = (value: string): string => (NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value);
const escapeHelp = (help: string): string => help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function valueText(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Label names seen, sanitized once: a scrape writes the same few names on every sample. */
const labelNames = new Map<string, string>();

function labelsText(labels: Readonly<Record<string, string>>): string {
  let text = '';
  for (const name in labels) {
    let shown = labelNames.get(name);
    if (shown === undefined) labelNames.set(name, (shown = sanitized(name, true)));
    text += `${text === '' ? '{' : ','}${shown}="${escapeLabelValue(labels[name]!)}"`;
  }
  return text === '' ? '' : `${text}}`;
}

const SUFFIX_ORDER = ['_bucket', '_sum', '_count'];

/** A histogram's samples by label set (le aside), each set's buckets first, then _sum, then _count: the order parsers expect. */
function histogramOrder(samples: readonly MetricSample[]): MetricSample[] {
  const groups = new Map<string, MetricSample[]>();
  for (const sample of samples) {
    const key = labelsText(Object.fromEntries(Object.entries(sample.labels).filter(([name]) => name !== 'le')));
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(sample);
  }
  const rank = (s: MetricSample): number => {
    const at = SUFFIX_ORDER.indexOf(s.suffix ?? '');
    return at < 0 ? SUFFIX_ORDER.length : at;
  };
  return [...groups.values()].flatMap((group) => group.map((s, i) => ({ s, i })).sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i).map(({ s }) => s));
}

/** The families as a scrape returns them (Content-Type: text/plain; version=0.0.4); families of one name are merged, the first's help and type kept. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const family of families) {
    const name = sanitized(family.name, false);
    const seen = merged.get(name);
    // One by one: a spread of a 100,000-entry map's samples would overflow the stack.
    if (seen) for (const sample of family.samples) seen.samples.push(sample);
    else merged.set(name, { ...family, name, samples: [...family.samples] });
  }
  const lines: string[] = [];
  for (const family of merged.values()) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    const samples = family.type === 'histogram' ? histogramOrder(family.samples) : family.samples;
    for (const s of samples) lines.push(`${family.name}${s.suffix ?? ''}${labelsText(s.labels)} ${valueText(s.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
