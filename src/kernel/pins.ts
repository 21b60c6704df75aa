// Pinned maps on bpffs: where a map is pinned, reusing a compatible pin, creating and pinning a new one.
import { existsSync, lstatSync, mkdirSync, statfsSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KernelError, SyscallError, UsageError, kernelError } from '../errors.js';
import { mapTypeName } from '../object/map-types.js';
import type { PinningMode } from '../object/spec.js';
import { mount } from '../native.js';
import { mapInfo, objGet, objPin, type MapDefinition } from './bpf.js';
import { BpfMap } from './maps.js';
import { closeFd } from '../native.js';
import type { ResourceScope } from './scope.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf';
const BPF_FS_MAGIC = 0xcafe4a11;

/** A map name that is safe to use as one path component under the pin root. */
export function validatePinName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.]{0,254}$/.test(name)) {
    throw new UsageError(`map name ${JSON.stringify(name)} cannot be pinned: use 1 to 255 characters of [A-Za-z0-9_.], not starting with '.'`);
  }
}

/** Where a map with this pinning mode lives: <root>/<name> or <root>/tc/globals/<name>. */
export function pinPath(root: string, name: string, pinning: Exclude<PinningMode, 0>): string {
  validatePinName(name);
  return pinning === 1 ? join(root, name) : join(root, 'tc', 'globals', name);
}

function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Creates each missing directory of `path` in turn. Node 20's mkdirSync({recursive}) spins
 * forever when a kernel filesystem answers ENOENT (as sysfs does under /sys/fs/bpf when bpffs
 * is not mounted), so the walk is done here, one mkdir at a time.
 */
export function makeDirectories(path: string): void {
  const missing: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if (!existsSync(dir)) throw kernelError(`creating directory ${dir}`, error);
    }
  }
}

function nearestExisting(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir)) dir = dirname(dir);
  return dir;
}

/**
 * Makes sure the pin root is on a BPF filesystem: mounts bpffs on /sys/fs/bpf when the root lies
 * under it and it is not mounted (as tc does), or on the root itself when it lies elsewhere.
 */
export function ensureBpffs(root: string): void {
  if (isBpffs(root)) return;
  const absolute = resolve(root);
  const standard = absolute === DEFAULT_PIN_ROOT || absolute.startsWith(`${DEFAULT_PIN_ROOT}/`);
  const mountPoint = standard && !isBpffs(DEFAULT_PIN_ROOT) ? DEFAULT_PIN_ROOT : absolute;
  if (!isBpffs(nearestExisting(absolute)) || mountPoint === DEFAULT_PIN_ROOT) {
    makeDirectories(mountPoint);
    try {
      mount('bpf', mountPoint, 'bpf');
    } catch (error) {
      throw kernelError(`mounting the BPF filesystem on ${mountPoint} (needed to pin maps)`, error);
    }
  }
  makeDirectories(absolute);
}

export type PinState = 'created' | 'reused';

export interface PinnedMap {
  map: BpfMap;
  path: string;
  state: PinState;
}

/** Field-by-field differences between what the object asks for and what is pinned. */
export function mapDefinitionDiff(wanted: MapDefinition, pinned: MapDefinition): string[] {
  const differences: string[] = [];
  const compare = (field: string, a: number, b: number, show: (n: number) => string = String): void => {
    if (a !== b) differences.push(`${field}: pinned ${show(b)}, object ${show(a)}`);
  };
  compare('type', wanted.type, pinned.type, mapTypeName);
  compare('key size', wanted.keySize, pinned.keySize);
  compare('value size', wanted.valueSize, pinned.valueSize);
  compare('max entries', wanted.maxEntries, pinned.maxEntries);
  compare('flags', wanted.flags, pinned.flags, (n) => `0x${n.toString(16)}`);
  return differences;
}

/**
 * Reuses the map pinned at `path` if its definition matches, otherwise creates the map and pins
 * it. The scope owns the fd; a pin created here is removed again if the scope fails.
 */
export function openOrCreatePinnedMap(
  scope: ResourceScope,
  name: string,
  definition: MapDefinition,
  path: string,
): PinnedMap {
  for (let attempt = 0; ; attempt++) {
    if (existsSync(path)) return reusePin(scope, name, definition, path);
    makeDirectories(dirname(path));
    const map = BpfMap.create(name, definition);
    scope.defer(`close map '${name}'`, () => map.close());
    try {
      objPin(map.fd, path);
    } catch (error) {
      // Another loader pinned the same name between our check and our pin: use theirs.
      if (error instanceof SyscallError && error.errno === 17 /* EEXIST */ && attempt === 0) continue;
      throw kernelError(`pinning map '${name}' at ${path}`, error);
    }
    const id = map.info().id;
    scope.undoOnFailure(`unpin ${path}`, () => unpinIfSameMap(path, id));
    return { map, path, state: 'created' };
  }
}

function reusePin(scope: ResourceScope, name: string, definition: MapDefinition, path: string): PinnedMap {
  const map = BpfMap.fromPin(path);
  scope.defer(`close map '${name}'`, () => map.close());
  const differences = mapDefinitionDiff(definition, map.definition);
  if (differences.length > 0) {
    throw new KernelError(
      `the map pinned at ${path} does not match map '${name}' of the object (${differences.join('; ')}); remove the pin or rename the map`,
    );
  }
  return { map, path, state: 'reused' };
}

/** Removes a pin only while it still refers to the map this run created. */
function unpinIfSameMap(path: string, id: number): void {
  if (!lstatSync(path, { throwIfNoEntry: false })) return;
  const fd = objGet(path);
  try {
    if (mapInfo(fd).id !== id) return;
  } finally {
    closeFd(fd);
  }
  unlinkSync(path);
}
