// Map sizes a tool's user space sets before load (bpf_map__set_max_entries), applied to a copy of the spec.
import { UsageError } from '../errors.js';
import { printable } from '../text.js';
import type { BpfObjectSpec } from './spec.js';

/**
 * The spec with these maps' max entries replaced (--max-entries MAP=N), as the tools' options do
 * (memleak -T, the many tools' MAX_ENTRIES); the given spec is left as it was.
 */
export function withMaxEntries(spec: BpfObjectSpec, sizes: ReadonlyMap<string, number>): BpfObjectSpec {
  if (sizes.size === 0) return spec;
  for (const [name, entries] of sizes) {
    const map = spec.maps.find((m) => m.name === name);
    if (!map) throw new UsageError((n) => `${n('maxEntries', printable(name))}: the object has no map '${printable(name)}'; it has ${spec.maps.map((m) => `'${printable(m.name)}'`).join(', ')}`);
    if (map.data) throw new UsageError((n) => `${n('maxEntries', printable(name))}: map '${printable(name)}' holds the object's global data (one entry, the section)`);
    if (!Number.isInteger(entries) || entries < 1 || entries > 0xffffffff) throw new UsageError((n) => `${n('maxEntries', `${printable(name)}=${entries}`)}: a map's max entries are a whole number from 1 to 4294967295`);
  }
  return { ...spec, maps: spec.maps.map((m) => (sizes.has(m.name) ? { ...m, maxEntries: sizes.get(m.name)! } : m)) };
}
