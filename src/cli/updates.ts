// --update MAP:KEY=VALUE: entries a run writes into its maps after load and before attach, as a tool's user space fills its filters.
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';
import { openSlotObject, slotObjectKind } from '../kernel/maps.js';
import { hostU32Bytes } from '../kernel/records.js';
import type { LoadedObject } from '../loader.js';
import type { BpfObjectSpec, MapSpec } from '../object/spec.js';
import { printable } from '../text.js';
import { parseMapValue, valueOnEveryCpu, withWhere, type ValueShape } from './map-values.js';

export interface MapUpdate {
  map: string;
  key: string;
  value: string;
  /** The option as given, for messages. */
  given: string;
}

/** Splits "MAP:KEY=VALUE": the map name up to the first ':', the key up to the next '='. */
export function parseUpdate(text: string): MapUpdate {
  const match = /^([^:]+):([^=]+)=(.*)$/s.exec(text);
  if (!match) throw new UsageError(`--update ${printable(text)}: expected MAP:KEY=VALUE, e.g. --update cgroup_map:0=/sys/fs/cgroup/system.slice`);
  return { map: match[1]!, key: match[2]!, value: match[3]!, given: text };
}

/** Refuses, before anything is loaded, an update of a map the object does not have. */
export function checkUpdates(spec: BpfObjectSpec, updates: readonly MapUpdate[]): void {
  for (const u of updates) {
    if (!spec.maps.some((m) => m.name === u.map)) {
      throw new UsageError(`--update ${printable(u.given)}: the object has no map '${printable(u.map)}'; it has ${spec.maps.map((m) => `'${printable(m.name)}'`).join(', ')}`);
    }
  }
}

/** The shape of a map's keys or values as the object's BTF types them. */
function shape(spec: BpfObjectSpec, map: MapSpec, what: 'key' | 'value', size: number): ValueShape {
  const typeId = what === 'key' ? map.btf?.keyTypeId : map.btf?.valueTypeId;
  return { what, size, ...(spec.btf && typeId ? { btf: spec.btf, typeId } : {}) };
}

/**
 * Writes each update into its map of a loaded object: keys and values as `map update` takes them,
 * typed by the object's BTF; for maps that hold file descriptors, the value is a path (a cgroup
 * directory, a pinned program or map) whose fd is written.
 */
export function applyUpdates(loaded: LoadedObject, updates: readonly MapUpdate[]): void {
  for (const u of updates) {
    const { map, spec } = loaded.maps.get(u.map)!;
    const where = `--update ${printable(u.given)}`;
    const key = withWhere(where, () => parseMapValue([u.key], shape(loaded.spec, spec, 'key', map.definition.keySize)).bytes);
    const slot = slotObjectKind(spec.type);
    if (slot !== undefined) {
      if (!isAbsolute(u.value) || !existsSync(u.value)) {
        throw new UsageError(`${where}: map '${printable(u.map)}' holds file descriptors: its value is the path of ${slot}, which ${printable(u.value)} is not`);
      }
      withWhere(where, () => {
        const fd = openSlotObject(spec.type, u.value);
        try {
          map.update(key, hostU32Bytes(fd.value));
        } finally {
          fd.close();
        }
      });
      continue;
    }
    const value = withWhere(where, () => parseMapValue([u.value], shape(loaded.spec, spec, 'value', map.definition.valueSize)).bytes);
    withWhere(where, () => map.update(key, valueOnEveryCpu(spec.type, map.definition.valueSize, value)));
  }
}
