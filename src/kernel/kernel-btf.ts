// BTF in the kernel: the BTF object of a map (by its id), read back and parsed, to type what the map holds.
import { endianness } from 'node:os';
import { parseBtf, type Btf } from '../btf/btf.js';
import { btfData, btfFdById, type MapInfo } from './bpf.js';
import { Fd } from './fd.js';

/** A map's key and value types, from the BTF the kernel keeps for it. */
export interface MapTypes {
  btf: Btf;
  keyTypeId: number;
  valueTypeId: number;
}

const cache = new Map<number, Btf | undefined>();

/** The parsed BTF object with this id, or undefined when it cannot be read or parsed alone (split module BTF). */
export function kernelBtfById(id: number): Btf | undefined {
  if (cache.has(id)) return cache.get(id);
  let btf: Btf | undefined;
  try {
    const fd = new Fd(btfFdById(id), `BTF id ${id}`);
    try {
      btf = parseBtf(btfData(fd.value).data, endianness() === 'LE');
    } finally {
      fd.close();
    }
  } catch {
    btf = undefined;
  }
  cache.set(id, btf);
  return btf;
}

/** The types of a map's keys and values, when it was created with BTF. */
export function mapTypes(info: MapInfo): MapTypes | undefined {
  if (!info.btfId || (!info.btfKeyTypeId && !info.btfValueTypeId)) return undefined;
  const btf = kernelBtfById(info.btfId);
  return btf ? { btf, keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId } : undefined;
}
