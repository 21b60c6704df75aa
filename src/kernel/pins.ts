// Pinned maps on bpffs: the pin root (never mounted over a user's directory), reusing a compatible pin, publishing new pins atomically.
import { existsSync, lstatSync, mkdirSync, readdirSync, rmdirSync, statfsSync, type Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BPFFS_ROOT, ERRNO } from '../abi.js';
import { KernelError, UsageError, kernelError } from '../errors.js';
import { mapTypeName } from '../object/map-types.js';
import type { PinningMode } from '../object/spec.js';
import { mount } from '../native.js';
import { printable } from '../text.js';
import { mapInfo, objGet, type MapDefinition } from './bpf.js';
import { Fd } from './fd.js';
import { BpfMap, fdKind } from './maps.js';

export const DEFAULT_PIN_ROOT = BPFFS_ROOT;
const BPF_FS_MAGIC = 0xcafe4a11;

/** Names of filesystems by statfs magic, for the message that refuses a pin root. */
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x62656572: 'sysfs',
  0x9fa0: 'procfs',
  0x74726163: 'tracefs',
  0x64626720: 'debugfs',
  0x6969: 'nfs',
  0x01021997: '9p',
};

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

function filesystemOf(path: string): number | undefined {
  try {
    return statfsSync(path).type;
  } catch {
    return undefined;
  }
}

function nearestExisting(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir) && dir !== dirname(dir)) dir = dirname(dir);
  return dir;
}

/**
 * Checks that pins can go under `root`, and returns it as an absolute path. bpffs is mounted
 * only where tc and libbpf expect it, at /sys/fs/bpf, and only when nothing is mounted there
 * (it stays: other tools use it). Anywhere else, the root must already lie on a bpffs: the tool
 * never mounts over a user's directory.
 */
export function preparePinRoot(root: string): string {
  if (root.trim() === '') throw new UsageError((n) => `${n('pinRoot')} is empty; give a directory on a BPF filesystem, e.g. /sys/fs/bpf`);
  const absolute = resolve(root);
  const standard = absolute === DEFAULT_PIN_ROOT || absolute.startsWith(`${DEFAULT_PIN_ROOT}/`);
  if (standard && filesystemOf(DEFAULT_PIN_ROOT) !== BPF_FS_MAGIC) {
    if (!existsSync(DEFAULT_PIN_ROOT)) {
      throw new KernelError(`${DEFAULT_PIN_ROOT} does not exist, so the BPF filesystem cannot be mounted there (is sysfs mounted on /sys?)`);
    }
    try {
      mount('bpf', DEFAULT_PIN_ROOT, 'bpf');
    } catch (error) {
      throw kernelError(`mounting the BPF filesystem on ${DEFAULT_PIN_ROOT} (needed to pin maps)`, error);
    }
  }
  const existing = nearestExisting(absolute);
  const type = filesystemOf(existing);
  if (type !== BPF_FS_MAGIC) {
    const on = type === undefined ? '' : ` (${existing} is on ${FILESYSTEMS[type] ?? `a filesystem with magic 0x${type.toString(16)}`})`;
    throw new UsageError(
      (n) => `${n('pinRoot', printable(absolute))} is not on a BPF filesystem${on}; choose a directory under ${DEFAULT_PIN_ROOT}, or mount one first: mount -t bpf bpf ${printable(absolute)}`,
    );
  }
  return absolute;
}

/**
 * Creates the missing directories of `path`, one level at a time (Node 20's recursive mkdirSync
 * spins when a kernel filesystem answers ENOENT), and returns those it created, outermost first.
 */
export function makeDirectories(path: string): string[] {
  const missing: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  const created: string[] = [];
  for (const dir of missing) {
    try {
      mkdirSync(dir);
      created.push(dir);
    } catch (error) {
      if (!existsSync(dir)) {
        removeEmptyDirectories(created);
        throw kernelError(`creating directory ${dir}`, error);
      }
    }
  }
  return created;
}

/** Removes directories this run created (innermost first) while they are empty; others keep theirs. */
function removeEmptyDirectories(created: readonly string[]): void {
  for (const dir of [...created].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (someone pinned there meanwhile) or gone: leave the rest too
    }
  }
}

/** What loading did with a map's pin: pinned the new map there, or reused the map already pinned. */
export type PinState = 'created' | 'reused';

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
 * The map pinned at `path`, checked against the definition the object wants; undefined when
 * nothing is pinned there (now: the answer may change the next moment, see publishPin).
 */
export function openPinnedMap(name: string, definition: MapDefinition, path: string): BpfMap | undefined {
  if (!lstatSync(path, { throwIfNoEntry: false })) return undefined;
  let map: BpfMap;
  try {
    map = BpfMap.fromPin(path);
  } catch (error) {
    // Removed between the look and the open.
    if (error instanceof KernelError && error.errno === ERRNO.ENOENT) return undefined;
    throw error;
  }
  const differences = mapDefinitionDiff(definition, map.definition);
  if (differences.length > 0) {
    map.close();
    throw new KernelError(
      `the map pinned at ${path} does not match map '${printable(name)}' of the object (${differences.join('; ')}); remove the pin or rename the map`,
    );
  }
  return map;
}

/** Another map was pinned at the path first; the loader starts over and reuses it. */
export class PinTakenError extends KernelError {
  override name = 'PinTakenError';
}

/** Pins a map at `path`, making the directories it needs; those are removed again if the pin fails. */
export function pinMap(map: BpfMap, path: string): void {
  const created = makeDirectories(dirname(path));
  try {
    map.pin(path);
  } catch (error) {
    removeEmptyDirectories(created);
    throw error;
  }
}

/**
 * Pins a map at `path` only if nothing is there: BPF_OBJ_PIN creates the file or fails with
 * EEXIST, so two loaders can never both think they created the pin.
 */
export function publishPin(map: BpfMap, path: string): void {
  try {
    pinMap(map, path);
  } catch (error) {
    if (error instanceof KernelError && error.errno === ERRNO.EEXIST) {
      throw new PinTakenError(`another map was pinned at ${path} while this one was being loaded`, error.errno, { cause: error });
    }
    throw error;
  }
}

/** The id of the map pinned at `path` now, or undefined when nothing (or no map) is pinned there. */
export function pinnedMapId(path: string): number | undefined {
  let fd: Fd;
  try {
    fd = new Fd(objGet(path), `pin ${path}`);
  } catch {
    return undefined;
  }
  try {
    // OBJ_GET_INFO_BY_FD answers for programs and links too, in their own layout: check first.
    return fdKind(fd.value) === 'map' ? mapInfo(fd.value).id : undefined;
  } catch {
    return undefined;
  } finally {
    fd.close();
  }
}

/**
 * The pins of maps under `root` (bpffs), by map id: what `map list` and `map show` report. Looks
 * a few directories deep, as tc's and libbpf's layouts are; programs and links pinned there are skipped.
 */
export function mapPins(root: string = DEFAULT_PIN_ROOT, maxDepth = 6): Map<number, string[]> {
  const pins = new Map<number, string[]>();
  const walk = (dir: string, depth: number): void => {
    let names: Dirent[];
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of names) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth) walk(path, depth + 1);
        continue;
      }
      const id = pinnedMapId(path);
      if (id !== undefined) pins.set(id, [...(pins.get(id) ?? []), path]);
    }
  };
  if (filesystemOf(root) === BPF_FS_MAGIC) walk(root, 0);
  return pins;
}
