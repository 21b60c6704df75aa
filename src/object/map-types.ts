// Names of BPF map types, for messages and output; which types hold a value per CPU.
import { MAP_TYPE } from '../abi.js';

export { MAP_TYPE };

const MAP_TYPE_NAMES = Object.fromEntries(Object.entries(MAP_TYPE).map(([name, value]) => [value, name.toLowerCase()])) as Record<number, string>;

/** A map type's name as bpftool says it ("percpu_hash"), or its number. */
export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

/** The map type with this name (as bpftool writes them: "hash", "percpu_array"), if any. */
export function mapTypeByName(name: string): number | undefined {
  const key = name.toUpperCase().replace(/-/g, '_') as keyof typeof MAP_TYPE;
  return Object.hasOwn(MAP_TYPE, key) ? MAP_TYPE[key] : undefined;
}

/**
 * Bytes of one CPU's slot in a per-CPU value as user space reads and writes it: the value rounded up
 * to 8 bytes (at least 8, so a walk over the slots always moves on).
 */
export function perCpuSlotSize(valueSize: number): number {
  return Math.max(1, Math.ceil(valueSize / 8)) * 8;
}

/** Map types whose values are stored once per possible CPU. */
export function isPerCpuMapType(type: number): boolean {
  return type === MAP_TYPE.PERCPU_HASH || type === MAP_TYPE.PERCPU_ARRAY || type === MAP_TYPE.LRU_PERCPU_HASH || type === MAP_TYPE.PERCPU_CGROUP_STORAGE;
}

/** Hash map types: keys chosen by the programs (not an array's slots). */
export const HASH_MAP_TYPES: ReadonlySet<number> = new Set([MAP_TYPE.HASH, MAP_TYPE.PERCPU_HASH, MAP_TYPE.LRU_HASH, MAP_TYPE.LRU_PERCPU_HASH]);
