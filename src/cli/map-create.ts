// Making maps from the shell: map create (a new map, pinned) and map pin (an existing map at another path).
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { BpfMap } from '../kernel/maps.js';
import { pinMap, preparePinRoot } from '../kernel/pins.js';
import { mapTypeByName, mapTypeName, MAP_TYPE } from '../object/map-types.js';
import type { OpenedMap } from './map-ref.js';
import type { Output } from './output.js';

/** map pin MAP PATH: one more pin of an open map, the directories it needs made. */
export function mapPin(m: OpenedMap, args: string[], out: Output): number {
  if (args.length !== 1) throw new UsageError('map pin MAP PATH: give one path to pin the map at');
  const path = args[0]!;
  preparePinRoot(dirname(path));
  pinMap(m.map, path);
  out.verbose(`pinned map '${m.info.name}' (id ${m.info.id}) at ${path}`);
  return 0;
}

/** map create PATH --type TYPE --key BYTES --value BYTES --entries N: a new map, pinned at PATH (it lives only there). */
export function mapCreate(args: string[], options: Record<string, unknown>, out: Output): number {
  if (args.length !== 1) throw new UsageError('map create PATH --type TYPE --key BYTES --value BYTES --entries N: give one path to pin the new map at');
  const path = args[0]!;
  const typeName = String(options.type ?? '');
  const type = mapTypeByName(typeName);
  if (type === undefined) throw new UsageError(`--type ${JSON.stringify(typeName)} is not a map type (hash, array, percpu_hash, percpu_array, lru_hash, ...)`);
  const number = (name: string): number => {
    const text = options[name];
    if (text === undefined) throw new UsageError(`map create needs --${name}`);
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UsageError(`--${name} ${JSON.stringify(text)} must be a whole number`);
    return value;
  };
  const definition = {
    type,
    keySize: type === MAP_TYPE.RINGBUF ? 0 : number('key'),
    valueSize: type === MAP_TYPE.RINGBUF ? 0 : number('value'),
    maxEntries: number('entries'),
    flags: options.flags === undefined ? 0 : number('flags'),
  };
  preparePinRoot(dirname(path));
  const name = typeof options.name === 'string' ? options.name : path.split('/').pop()!;
  const map = BpfMap.create(name, definition);
  try {
    pinMap(map, path);
  } finally {
    map.close();
  }
  out.verbose(`created ${mapTypeName(type)} map '${name}' and pinned it at ${path}`);
  return 0;
}
