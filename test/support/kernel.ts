// Kernel-side checks for tests: pinned counters, our programs still loaded, scratch pin roots.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { BpfMap } from '../../src/kernel/maps.js';
import { programFdById, programIds, programInfo } from '../../src/kernel/bpf.js';
import { closeFd } from '../../src/native.js';

const scratchRoots: string[] = [];
let staleRootsRemoved = false;

/** Whether a process of this pid still runs (a signal 0 reaches it, or it is someone else's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Scratch roots of test processes that are gone: a run killed midway leaves its maps pinned, and
 * their names would then be found twice by the next run's lookups by name.
 */
function removeStaleScratchRoots(): void {
  for (const entry of readdirSync('/sys/fs/bpf')) {
    const pid = /^lkb-test-.*-(\d+)-\d+$/.exec(entry)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) rmSync(`/sys/fs/bpf/${entry}`, { recursive: true, force: true });
  }
}

/** A fresh directory on bpffs for one test's pins; removeScratchPinRoots() removes them all. */
export function scratchPinRoot(label: string): string {
  if (!staleRootsRemoved) {
    staleRootsRemoved = true;
    removeStaleScratchRoots();
  }
  const root = `/sys/fs/bpf/lkb-test-${label}-${process.pid}-${scratchRoots.length}`;
  scratchRoots.push(root);
  return root;
}

export function removeScratchPinRoots(): void {
  for (const root of scratchRoots.splice(0)) rmSync(root, { recursive: true, force: true });
}

/** The u64 stored under a u32 key of a pinned map, or undefined when the key is absent. */
export function pinnedCounter(path: string, key = 0): bigint | undefined {
  const map = BpfMap.fromPin(path);
  try {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(key);
    return map.lookup(k)?.readBigUInt64LE(0);
  } finally {
    map.close();
  }
}

/** The sum of all u64 values of a pinned map. */
export function pinnedTotal(path: string): bigint {
  const map = BpfMap.fromPin(path);
  try {
    let total = 0n;
    for (const [, value] of map.entries()) total += value.readBigUInt64LE(0);
    return total;
  } finally {
    map.close();
  }
}

/** Ids of loaded programs with this name (the kernel keeps at most 15 characters of it). */
export function loadedProgramIds(name: string): number[] {
  const kernelName = name.slice(0, 15);
  const ids: number[] = [];
  for (const id of programIds()) {
    let fd: number;
    try {
      fd = programFdById(id);
    } catch {
      continue; // went away meanwhile
    }
    try {
      if (programInfo(fd).name === kernelName) ids.push(id);
    } finally {
      closeFd(fd);
    }
  }
  return ids;
}


/** Fills a u32 -> u64 map with `count` entries in one batch: keys 1, 8, 15, ... (never 0), values i * 1000003; big maps for dumps and scrapes. */
export function fillSpacedEntries(map: BpfMap, count: number): void {
  const keys = Buffer.alloc(4 * count);
  const values = Buffer.alloc(8 * count);
  for (let i = 0; i < count; i++) {
    keys.writeUInt32LE(i * 7 + 1, i * 4);
    values.writeBigUInt64LE(BigInt(i) * 1000003n, i * 8);
  }
  map.updateBatch(keys, values, count);
}
/** Makes `count` bpf() system calls of command BPF_MAP_LOOKUP_ELEM (1) on a map. */
export function makeBpfCalls(map: BpfMap, count: number): void {
  const key = Buffer.alloc(map.definition.keySize);
  for (let i = 0; i < count; i++) map.lookup(key);
}

export function tracefsFile(name: string): string | undefined {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(`${root}/${name}`)) return readFileSync(`${root}/${name}`, 'utf8');
  }
  return undefined;
}

/** Waits up to 5 s for `left()` to be empty (closing the last fd frees a program after an RCU grace period), then asserts it. */
async function waitGone(left: () => string[]): Promise<void> {
  for (let i = 0; i < 50 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(left(), [], `still loaded: ${left().join(', ')}`);
}

/** Waits until no program of these names is loaded, then asserts it. */
export function programsGone(...names: string[]): Promise<void> {
  return waitGone(() => names.filter((n) => loadedProgramIds(n).length > 0).map((n) => `program '${n}'`));
}

/** Waits until none of these program ids is loaded (another program of the same name may be), then asserts it. */
export function programIdsGone(...ids: number[]): Promise<void> {
  return waitGone(() => {
    const loaded = new Set(programIds());
    return ids.filter((id) => loaded.has(id)).map((id) => `program id ${id}`);
  });
}
