// Naming a map on the command line: parsing MAP (pin path, "id N", "name NAME") and opening it with its types and presenter.
import { KernelError, UsageError } from '../errors.js';
import { mapIds, type MapInfo } from '../kernel/bpf.js';
import { mapTypes, type MapTypes } from '../kernel/kernel-btf.js';
import { BpfMap } from '../kernel/maps.js';
import { printable } from '../text.js';
import { MapPresenter } from './map-view.js';
import type { ValueShape } from './map-values.js';

/** How a map is named on the command line: a pin path, "id N", or "name NAME". */
export type MapRef = { kind: 'path'; path: string } | { kind: 'id'; id: number } | { kind: 'name'; name: string };

/** Reads MAP from the start of the arguments; returns it and the rest. */
export function parseMapRef(args: readonly string[]): { ref: MapRef; rest: string[] } {
  const [first, second] = args;
  if (first === undefined) throw new UsageError('no map given: a pin path, "id N" or "name NAME"');
  if (first === 'id') {
    if (!second || !/^\d+$/.test(second)) throw new UsageError(`"id" must be followed by a map id, got ${JSON.stringify(second ?? '')}`);
    return { ref: { kind: 'id', id: Number(second) }, rest: args.slice(2) };
  }
  if (first === 'name') {
    if (!second) throw new UsageError('"name" must be followed by a map name');
    return { ref: { kind: 'name', name: second }, rest: args.slice(2) };
  }
  // bpftool's word for a path.
  if (first === 'pinned') {
    if (!second) throw new UsageError('"pinned" must be followed by a path');
    return { ref: { kind: 'path', path: second }, rest: args.slice(2) };
  }
  return { ref: { kind: 'path', path: first }, rest: args.slice(1) };
}

/** Opens the map a reference names; a name must name exactly one loaded map. */
export function openMapRef(ref: MapRef): BpfMap {
  if (ref.kind === 'path') return BpfMap.fromPin(ref.path);
  if (ref.kind === 'id') return BpfMap.fromId(ref.id);
  const found: BpfMap[] = [];
  for (const id of mapIds()) {
    let map: BpfMap;
    try {
      map = BpfMap.fromId(id);
    } catch {
      continue; // gone meanwhile
    }
    if (map.name === ref.name || map.name === ref.name.slice(0, 15)) found.push(map);
    else map.close();
  }
  if (found.length === 1) return found[0]!;
  const ids = found.map((m) => m.info().id);
  found.forEach((m) => m.close());
  if (ids.length === 0) throw new KernelError(`no loaded map is named '${printable(ref.name)}' (names are cut to 15 characters in the kernel)`);
  throw new KernelError(`${ids.length} maps are named '${printable(ref.name)}' (ids ${ids.join(', ')}): name one with "id N"`);
}

/** An open map with what the subcommands need of it: the kernel's info, its BTF types and how to show its entries. */
export interface OpenedMap {
  map: BpfMap;
  info: MapInfo;
  types: MapTypes | undefined;
  presenter: MapPresenter;
}

/** Opens the map a reference names, with its info and presenter; the caller closes `map`. */
export function opened(ref: MapRef, options: { hist?: boolean; raw?: boolean } = {}): OpenedMap {
  const map = openMapRef(ref);
  try {
    const info = map.info();
    const types = mapTypes(info);
    const presenter = new MapPresenter(
      { name: info.name, type: info.type, keySize: info.keySize, valueSize: info.valueSize, ...(types ?? {}) },
      { histogram: options.hist ?? false, raw: options.raw ?? false },
    );
    return { map, info, types, presenter };
  } catch (error) {
    map.close();
    throw error;
  }
}

/** How keys and values of the map are read from the command line: their sizes, and their BTF types when it has them. */
export function shapes(m: OpenedMap): { key: ValueShape; value: ValueShape } {
  return {
    key: { what: 'key', size: m.info.keySize, ...(m.types?.keyTypeId ? { btf: m.types.btf, typeId: m.types.keyTypeId } : {}) },
    value: { what: 'value', size: m.info.valueSize, ...(m.types?.valueTypeId ? { btf: m.types.btf, typeId: m.types.valueTypeId } : {}) },
  };
}
