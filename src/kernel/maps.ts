// BpfMap: a map handle with typed element operations (lookup, update, delete, iterate, batches); refused after close.
import { constants, openSync, readFileSync } from 'node:fs';
import { ERRNO, MAP_TYPE } from '../abi.js';
import { KernelError, LoaderError, SyscallError, kernelError, nodeErrno } from '../errors.js';
import { isPerCpuMapType, perCpuSlotSize, mapTypeName } from '../object/map-types.js';
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_NOEXIST,
  mapCreate,
  mapDelete,
  mapFdById,
  mapFreeze,
  mapGetNextKey,
  mapInfo,
  mapLookup,
  mapLookupBatch,
  mapUpdate,
  mapUpdateBatch,
  objGet,
  objPin,
  type MapBtf,
  type MapDefinition,
  type MapInfo,
} from './bpf.js';
import { machineCpuCount } from './cpus.js';
import { Fd } from './fd.js';

export { BPF_ANY, BPF_EXIST, BPF_NOEXIST };

/** What kind of BPF object an fd refers to, from /proc/self/fdinfo. */
export function fdKind(fd: number): 'map' | 'program' | 'link' | 'btf' | 'other' {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  if (/^map_type:/m.test(info)) return 'map';
  if (/^prog_type:/m.test(info)) return 'program';
  if (/^link_type:/m.test(info)) return 'link';
  if (/^btf_id:/m.test(info) && !/^(map|prog|link)_/m.test(info)) return 'btf';
  return 'other';
}

/** Bytes of a value as user space sees it: per-CPU maps hold one 8-byte-aligned slot per possible CPU. */
export function valueBufferSize(definition: MapDefinition, cpus: () => number = machineCpuCount): number {
  if (!isPerCpuMapType(definition.type)) return definition.valueSize;
  return perCpuSlotSize(definition.valueSize) * cpus();
}

/** What the slots of each fd-holding map type take, by path: the kind of object and how it is named to people. */
const SLOT_OBJECTS: Record<number, { kind: 'cgroup' | 'program' | 'map'; what: string }> = {
  [MAP_TYPE.CGROUP_ARRAY]: { kind: 'cgroup', what: 'a cgroup (v2) directory' },
  [MAP_TYPE.PROG_ARRAY]: { kind: 'program', what: 'a pinned program' },
  [MAP_TYPE.ARRAY_OF_MAPS]: { kind: 'map', what: 'a pinned map' },
  [MAP_TYPE.HASH_OF_MAPS]: { kind: 'map', what: 'a pinned map' },
};

/** What a slot of this map type holds when it holds an object's fd ("a pinned program"), or undefined. */
export function slotObjectKind(mapType: number): string | undefined {
  return SLOT_OBJECTS[mapType]?.what;
}

/**
 * Opens the object a slot of an fd-holding map is to refer to, named by path as user space names
 * it: a cgroup directory for a cgroup array, a pinned program for a program array, a pinned map
 * for a map of maps. The caller writes the fd into the slot (the kernel takes its own reference)
 * and closes it.
 */
export function openSlotObject(mapType: number, path: string): Fd {
  const slot = SLOT_OBJECTS[mapType];
  if (!slot) throw new LoaderError(`a ${mapTypeName(mapType)} map holds no file descriptors`);
  if (slot.kind === 'cgroup') {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (error) {
      throw kernelError(`opening cgroup ${path}`, error, nodeErrno(error) === ERRNO.ENOTDIR ? '; a cgroup array takes a cgroup directory, e.g. /sys/fs/cgroup/system.slice' : '');
    }
    return new Fd(fd, `cgroup ${path}`);
  }
  let fd: number;
  try {
    fd = objGet(path);
  } catch (error) {
    throw kernelError(`opening pinned ${slot.kind} ${path}`, error);
  }
  const handle = new Fd(fd, `pinned ${slot.kind} ${path}`);
  const kind = fdKind(handle.value);
  if (kind !== slot.kind) {
    handle.close();
    throw new KernelError(`${path} is a pinned ${kind === 'other' ? 'object' : kind}, not ${slot.what}`);
  }
  return handle;
}

/** Opens an fd through `open` and checks it is a map; the fd is closed again on any failure. */
function openMap(open: () => number, what: string): BpfMap {
  let fd: number;
  try {
    fd = open();
  } catch (error) {
    throw kernelError(`opening ${what}`, error);
  }
  const handle = new Fd(fd, what);
  try {
    const kind = fdKind(handle.value);
    if (kind !== 'map') throw new KernelError(`${what} is a ${kind === 'other' ? 'file that is not a BPF object' : kind}, not a map`);
    const info = mapInfo(handle.value);
    return new BpfMap(handle, info.name, info);
  } catch (error) {
    handle.close();
    throw kernelError(`reading ${what}`, error);
  }
}

/** A batch of entries from readBatches(): keys and values laid out back to back. */
export interface MapBatch {
  count: number;
  keys: Buffer;
  values: Buffer;
}

/** A BPF map handle: lookups, updates, deletes, iteration and batched reads, on a map created, pinned or found by id. */
export class BpfMap {
  /** The fd, as a handle: every operation goes through it, so none runs after close(). */
  readonly fd: Fd;

  constructor(
    fd: Fd | number,
    readonly name: string,
    readonly definition: MapDefinition,
  ) {
    this.fd = typeof fd === 'number' ? new Fd(fd, `map '${name}'`) : fd;
  }

  /** Creates a map in the kernel; the caller owns the returned map. */
  static create(name: string, definition: MapDefinition, options: { btf?: MapBtf } = {}): BpfMap {
    try {
      return new BpfMap(mapCreate(definition, name, options), name, definition);
    } catch (error) {
      throw kernelError(`creating map '${name}' (${mapTypeName(definition.type)}, key ${definition.keySize} B, value ${definition.valueSize} B, max entries ${definition.maxEntries})`, error, createHint(error));
    }
  }

  /** Opens a pinned map; refuses a pin that is not a map. */
  static fromPin(path: string): BpfMap {
    return openMap(() => objGet(path), `the pin ${path}`);
  }

  /** Opens the map with this id. */
  static fromId(id: number): BpfMap {
    return openMap(() => mapFdById(id), `map id ${id}`);
  }

  /** What the kernel says about the map now (id, name, definition, BTF ids). */
  info(): MapInfo {
    try {
      return mapInfo(this.fd.value);
    } catch (error) {
      throw kernelError(`reading the info of map '${this.name}'`, error);
    }
  }

  /** What the kernel says of the map beyond info(), from /proc/self/fdinfo: whether it is frozen, and the bytes it charges to memlock (undefined where the kernel does not say). */
  status(): { frozen: boolean; memlock: number | undefined } {
    let fdinfo: string;
    try {
      fdinfo = readFileSync(`/proc/self/fdinfo/${this.fd.value}`, 'utf8');
    } catch (error) {
      throw kernelError(`reading the fdinfo of map '${this.name}'`, error);
    }
    const memlock = /^memlock:\s*(\d+)/m.exec(fdinfo)?.[1];
    return { frozen: /^frozen:\s*1/m.test(fdinfo), memlock: memlock === undefined ? undefined : Number(memlock) };
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.fd.closed;
  }

  /** Bytes of a value as user space sees it: per-CPU maps return one 8-byte-aligned slot per possible CPU. */
  get valueBufferSize(): number {
    return valueBufferSize(this.definition);
  }

  /** The value at `key` (every CPU's, one after another, for per-CPU maps); undefined when the key is not there. */
  lookup(key: Buffer): Buffer | undefined {
    this.checkKey(key);
    const fd = this.fd.value;
    const value = Buffer.alloc(this.valueBufferSize);
    try {
      mapLookup(fd, key, value);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return undefined;
      throw kernelError(`looking up a key in map '${this.name}'`, error);
    }
    return value;
  }

  /** Sets the value at `key`: BPF_ANY, or BPF_NOEXIST / BPF_EXIST to require the key's absence or presence. */
  update(key: Buffer, value: Buffer, flags: number = BPF_ANY): void {
    this.checkKey(key);
    if (value.length !== this.valueBufferSize) {
      throw new KernelError(`map '${this.name}' values are ${this.valueBufferSize} bytes, got ${value.length}`);
    }
    const fd = this.fd.value;
    try {
      mapUpdate(fd, key, value, flags);
    } catch (error) {
      throw kernelError(`updating map '${this.name}'`, error, updateHint(error, flags, this.definition.type));
    }
  }

  /** Deletes a key; returns false when it was not there. */
  delete(key: Buffer): boolean {
    this.checkKey(key);
    const fd = this.fd.value;
    try {
      mapDelete(fd, key);
      return true;
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return false;
      throw kernelError(`deleting a key of map '${this.name}'`, error, deleteHint(error, this.definition.type));
    }
  }

  /** Every key, in the kernel's iteration order. */
  *keys(): Generator<Buffer> {
    let key: Buffer | undefined;
    for (;;) {
      const next = Buffer.alloc(this.definition.keySize);
      try {
        mapGetNextKey(this.fd.value, key, next);
      } catch (error) {
        if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return;
        throw kernelError(`iterating map '${this.name}'`, error);
      }
      yield next;
      key = next;
    }
  }

  /** Every entry that still exists when it is read. */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) yield [key, value];
    }
  }

  /**
   * All entries in batches of up to `batchSize` with BPF_MAP_LOOKUP_BATCH (5.6+), a few system
   * calls for the whole map; where the kernel or map type has no batch lookup, get-next-key and
   * lookup, one entry at a time.
   */
  *readBatches(batchSize = 4096): Generator<MapBatch> {
    const keySize = this.definition.keySize;
    const valueSize = this.valueBufferSize;
    // The batch token is a key for hash maps and a u32 index for arrays.
    const token = () => Buffer.alloc(Math.max(keySize, 4));
    let inBatch: Buffer | undefined;
    let size = batchSize;
    for (;;) {
      const outBatch = token();
      const keys = Buffer.alloc(keySize * size);
      const values = Buffer.alloc(valueSize * size);
      let result: { count: number; done: boolean };
      try {
        result = mapLookupBatch({ mapFd: this.fd.value, inBatch, outBatch, keys, values, count: size });
      } catch (error) {
        if (error instanceof SyscallError && error.errno === ERRNO.ENOSPC && size < 1 << 20) {
          // A hash bucket holds more entries than the batch: try again with room for them.
          size *= 2;
          continue;
        }
        if (inBatch === undefined && error instanceof SyscallError && (error.errno === ERRNO.EINVAL || error.errno === ERRNO.ENOTSUP || error.errno === 524 /* ENOTSUPP */)) {
          yield* this.readOneByOne(size);
          return;
        }
        throw kernelError(`reading map '${this.name}' in batches (BPF_MAP_LOOKUP_BATCH)`, error);
      }
      if (result.count > 0) yield { count: result.count, keys: keys.subarray(0, result.count * keySize), values: values.subarray(0, result.count * valueSize) };
      if (result.done) return;
      inBatch = outBatch;
    }
  }

  private *readOneByOne(batchSize: number): Generator<MapBatch> {
    const keySize = this.definition.keySize;
    const valueSize = this.valueBufferSize;
    let keys = Buffer.alloc(keySize * batchSize);
    let values = Buffer.alloc(valueSize * batchSize);
    let count = 0;
    for (const [key, value] of this.entries()) {
      key.copy(keys, count * keySize);
      value.copy(values, count * valueSize);
      if (++count === batchSize) {
        yield { count, keys, values };
        keys = Buffer.alloc(keySize * batchSize);
        values = Buffer.alloc(valueSize * batchSize);
        count = 0;
      }
    }
    if (count > 0) yield { count, keys: keys.subarray(0, count * keySize), values: values.subarray(0, count * valueSize) };
  }

  /**
   * Writes `count` entries (keys and values back to back) with BPF_MAP_UPDATE_BATCH where the
   * kernel has it, else one update per entry.
   */
  updateBatch(keys: Buffer, values: Buffer, count: number, flags: number = BPF_ANY): void {
    const keySize = this.definition.keySize;
    const valueSize = this.valueBufferSize;
    if (keys.length !== count * keySize || values.length !== count * valueSize) {
      throw new KernelError(`map '${this.name}': a batch of ${count} needs ${count * keySize} bytes of keys and ${count * valueSize} of values`);
    }
    if (count === 0) return;
    try {
      mapUpdateBatch(this.fd.value, keys, values, count, flags);
      return;
    } catch (error) {
      const unsupported = error instanceof SyscallError && (error.errno === ERRNO.EINVAL || error.errno === ERRNO.ENOTSUP || error.errno === 524);
      const done = (error as { done?: number }).done ?? 0;
      if (!unsupported || done !== 0) throw kernelError(`updating map '${this.name}' in a batch (BPF_MAP_UPDATE_BATCH)`, error, updateHint(error, flags, this.definition.type));
    }
    for (let i = 0; i < count; i++) this.update(keys.subarray(i * keySize, (i + 1) * keySize), values.subarray(i * valueSize, (i + 1) * valueSize), flags);
  }

  /** Forbids further changes from user space (read-only global data). */
  freeze(): void {
    try {
      mapFreeze(this.fd.value);
    } catch (error) {
      throw kernelError(`freezing map '${this.name}'`, error);
    }
  }

  /** Pins the map at `path` on a BPF filesystem (the directory must exist): it outlives every fd until the pin is removed. */
  pin(path: string): void {
    try {
      objPin(this.fd.value, path);
    } catch (error) {
      throw kernelError(`pinning map '${this.name}' at ${path}`, error, error instanceof SyscallError && error.errno === ERRNO.EEXIST ? '; something is pinned there already' : '');
    }
  }

  /** The description of a release, for reports. */
  get releaseDescription(): string {
    return `close map '${this.name}'`;
  }

  /** Closes the map's fd; the map goes when no program, pin or other fd holds it. */
  close(): void {
    this.fd.close();
  }

  private checkKey(key: Buffer): void {
    if (key.length !== this.definition.keySize) {
      throw new KernelError(`map '${this.name}' keys are ${this.definition.keySize} bytes, got ${key.length}`);
    }
  }
}

function createHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === ERRNO.EINVAL) {
    return '; the kernel refused this map definition (unknown type for this kernel, a size of 0, or flags it does not support)';
  }
  return '';
}

/** Arrays whose every index always exists (fd arrays, such as prog arrays, have empty slots). */
const ARRAY_TYPES = new Set<number>([MAP_TYPE.ARRAY, MAP_TYPE.PERCPU_ARRAY]);

function updateHint(error: unknown, flags: number, type: number): string {
  if (!(error instanceof SyscallError)) return '';
  if (error.errno === ERRNO.EEXIST && flags === BPF_NOEXIST) {
    return ARRAY_TYPES.has(type) ? '; every index of an array exists, so BPF_NOEXIST always fails on one' : '; the key exists and BPF_NOEXIST was asked';
  }
  if (error.errno === ERRNO.ENOENT && flags === BPF_EXIST) return '; the key does not exist and BPF_EXIST was asked';
  if (error.errno === ERRNO.E2BIG) return `; the map is full (${type === MAP_TYPE.HASH ? 'hash maps do not evict: delete entries or use an LRU hash' : 'no room for a new key'})`;
  if (error.errno === ERRNO.EPERM && ARRAY_TYPES.has(type)) return '; the map is frozen or read-only for user space';
  return '';
}

function deleteHint(error: unknown, type: number): string {
  if (error instanceof SyscallError && error.errno === ERRNO.EINVAL && ARRAY_TYPES.has(type)) {
    return '; array entries cannot be deleted (every index always exists): update it to zero instead';
  }
  return '';
}
