// Names of BPF map types and flags, for messages and output.

const MAP_TYPE_NAMES: Record<number, string> = {
  0: 'unspec',
  1: 'hash',
  2: 'array',
  3: 'prog_array',
  4: 'perf_event_array',
  5: 'percpu_hash',
  6: 'percpu_array',
  7: 'stack_trace',
  8: 'cgroup_array',
  9: 'lru_hash',
  10: 'lru_percpu_hash',
  11: 'lpm_trie',
  12: 'array_of_maps',
  13: 'hash_of_maps',
  14: 'devmap',
  15: 'sockmap',
  16: 'cpumap',
  17: 'xskmap',
  18: 'sockhash',
  19: 'cgroup_storage',
  20: 'reuseport_sockarray',
  21: 'percpu_cgroup_storage',
  22: 'queue',
  23: 'stack',
  24: 'sk_storage',
  25: 'devmap_hash',
  26: 'struct_ops',
  27: 'ringbuf',
  28: 'inode_storage',
  29: 'task_storage',
  30: 'bloom_filter',
  31: 'user_ringbuf',
  32: 'cgrp_storage',
  33: 'arena',
};

export const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  RINGBUF: 27,
} as const;

export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

/** Map types whose values are stored once per possible CPU. */
export function isPerCpuMapType(type: number): boolean {
  return type === 5 || type === 6 || type === 10 || type === 21;
}
