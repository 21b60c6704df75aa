// Metrics configuration: which maps become metrics, under which names, help and labels; read from YAML or JSON and checked.
import { isRecord, parseConfigText } from '../config-text.js';
import { UsageError } from '../errors.js';
import { printable } from '../text.js';
import type { MetricFamily, MetricSample } from './exposition.js';

/** How one map's metrics are shown. */
export interface MapMetricsConfig {
  /** The family's name in place of `<object>_<map>` (suffixes such as `_total` are kept). */
  name?: string;
  /** The HELP text of the map's families. */
  help?: string;
  /** Labels renamed (`key: pid`), or dropped (`cpu: null`): samples that then share their labels are added up. */
  labels?: Readonly<Record<string, string | null>>;
}

/** What a user chooses about the metrics, as ebpf_exporter's configuration does; everything else is automatic. */
export interface MetricsConfig {
  /** Per map: how it is shown, or false to leave it out. */
  maps?: Readonly<Record<string, MapMetricsConfig | false>>;
  /** Only the maps named in `maps` (not false) are exported. */
  onlyListed?: boolean;
  /** The first part of every metric name in place of the object's file name (two objects served under one name need it). */
  prefix?: string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Reads a configuration (YAML, of which JSON is a part); every mistake is one line naming the file, the line where known, and the key. */
export function parseMetricsConfig(text: string, source: string): MetricsConfig {
  const value = parseConfigText(text, source);
  const bad = (path: string, what: string): never => {
    throw new UsageError(`${source}: ${path}: ${what}`);
  };
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) return bad('the top level', 'expected a mapping with "maps", "only_listed" and "prefix"');
  const config: { maps?: Record<string, MapMetricsConfig | false>; onlyListed?: boolean; prefix?: string } = {};
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'only_listed') {
      if (typeof entry !== 'boolean') bad(key, 'expected true or false');
      config.onlyListed = entry as boolean;
    } else if (key === 'prefix') {
      if (typeof entry !== 'string' || !METRIC_NAME.test(entry)) bad(key, 'expected a metric name: letters, digits, _ and :, not starting with a digit');
      config.prefix = entry as string;
    } else if (key === 'maps') {
      if (!isRecord(entry)) return bad(key, 'expected a mapping of map names');
      config.maps = {};
      for (const [map, shown] of Object.entries(entry)) config.maps[map] = mapConfig(`maps.${map}`, shown, bad);
    } else {
      bad(key, 'unknown key; a configuration has "maps", "only_listed" and "prefix"');
    }
  }
  return config;
}

function mapConfig(path: string, value: unknown, bad: (path: string, what: string) => never): MapMetricsConfig | false {
  if (value === false) return false;
  if (value === null || value === true) return {};
  if (!isRecord(value)) return bad(path, 'expected a mapping with "name", "help" and "labels", or false');
  const shown: { name?: string; help?: string; labels?: Record<string, string | null> } = {};
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'name') {
      if (typeof entry !== 'string' || !METRIC_NAME.test(entry)) bad(`${path}.name`, `${JSON.stringify(entry)} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
      shown.name = entry as string;
    } else if (key === 'help') {
      if (typeof entry !== 'string') bad(`${path}.help`, 'expected text');
      shown.help = entry as string;
    } else if (key === 'labels') {
      if (!isRecord(entry)) return bad(`${path}.labels`, 'expected a mapping of label names to new names (or null to drop)');
      shown.labels = {};
      for (const [label, renamed] of Object.entries(entry)) {
        if (renamed !== null && (typeof renamed !== 'string' || !LABEL_NAME.test(renamed) || renamed.startsWith('__') || renamed === 'le')) {
          bad(`${path}.labels.${label}`, `${JSON.stringify(renamed)} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not __* nor le), nor null to drop it`);
        }
        shown.labels[label] = renamed as string | null;
      }
    } else {
      bad(`${path}.${key}`, 'unknown key; a map has "name", "help" and "labels"');
    }
  }
  return shown;
}


/** Refuses a configuration that names a map the object lacks, before anything is loaded. */
export function checkMetricsConfig(config: MetricsConfig, maps: readonly string[]): void {
  const unknown = Object.keys(config.maps ?? {}).find((m) => !maps.includes(m));
  if (unknown !== undefined) throw new UsageError(`metrics configuration: the object has no map '${printable(unknown)}'; it has ${maps.map((m) => `'${printable(m)}'`).join(', ')}`);
}

/** Whether a map's metrics are exported under this configuration. */
export function mapIsShown(config: MetricsConfig, map: string): boolean {
  const shown = config.maps?.[map];
  return shown !== false && (!config.onlyListed || shown !== undefined);
}

/** A map's families as its configuration shows them: `base` (`<object>_<map>`) renamed, help replaced, labels renamed or dropped. */
export function configuredFamilies(families: readonly MetricFamily[], base: string, shown: MapMetricsConfig | undefined): MetricFamily[] {
  if (!shown) return [...families];
  return families.map((family) => ({
    ...family,
    name: shown.name !== undefined && family.name.startsWith(base) ? shown.name + family.name.slice(base.length) : family.name,
    help: shown.help ?? family.help,
    samples: shown.labels ? relabelled(family.samples, shown.labels) : family.samples,
  }));
}

/** Samples with labels renamed or dropped; samples whose labels then coincide are added up (in first-seen order). */
function relabelled(samples: readonly MetricSample[], labels: Readonly<Record<string, string | null>>): MetricSample[] {
  const merged = new Map<string, MetricSample>();
  for (const sample of samples) {
    const renamed: Record<string, string> = {};
    for (const [label, value] of Object.entries(sample.labels)) {
      const to = label in labels ? labels[label] : label;
      if (to !== null && to !== undefined) renamed[to] = value;
    }
    const key = `${sample.suffix ?? ''}\0${JSON.stringify(Object.entries(renamed).sort())}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, value: added(seen.value, sample.value) } : { ...sample, labels: renamed });
  }
  return [...merged.values()];
}

function added(a: number | bigint, b: number | bigint): number | bigint {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b);
}
