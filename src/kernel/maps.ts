// BpfMap: a map fd with typed element operations (lookup, update, delete, iterate).
import { readFileSync } from 'node:fs';
import { KernelError, SyscallError, kernelError } from '../errors.js';
import { isPerCpuMapType, mapTypeName } from '../object/map-types.js';
import { closeFd } from '../native.js';
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_NOEXIST,
  mapCreate,
  mapDelete,
  mapFreeze,
  mapGetNextKey,
  mapInfo,
  mapLookup,
  mapUpdate,
  objGet,
  type MapDefinition,
  type MapInfo,
} from './bpf.js';

export { BPF_ANY, BPF_EXIST, BPF_NOEXIST };

const ENOENT = 2;

/** Number of possible CPUs (per-CPU maps hold one value slot for each). */
export function possibleCpuCount(text = readFileSync('/sys/devices/system/cpu/possible', 'utf8')): number {
  let count = 0;
  for (const part of text.trim().split(',')) {
    const [first, last] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (first === undefined || Number.isNaN(first)) throw new KernelError(`cannot parse the possible CPUs ${JSON.stringify(text.trim())} (/sys/devices/system/cpu/possible)`);
    count += last === undefined ? 1 : last - first + 1;
  }
  return count;
}

let cpuCount: number | undefined;

/** possibleCpuCount() of this machine, read once: it cannot change while the system runs. */
export function machineCpuCount(): number {
  return (cpuCount ??= possibleCpuCount());
}

/** What kind of BPF object an fd refers to, from /proc/self/fdinfo. */
export function fdKind(fd: number): 'map' | 'program' | 'link' | 'other' {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  if (/^map_type:/m.test(info)) return 'map';
  if (/^prog_type:/m.test(info)) return 'program';
  if (/^link_type:/m.test(info)) return 'link';
  return 'other';
}

export class BpfMap {
  private open = true;

  constructor(
    readonly fd: number,
    readonly name: string,
    readonly definition: MapDefinition,
  ) {}

  /** Creates a map in the kernel; the caller owns the returned map's fd. */
  static create(name: string, definition: MapDefinition): BpfMap {
    try {
      return new BpfMap(mapCreate(definition, name), name, definition);
    } catch (error) {
      throw kernelError(`creating map '${name}' (${mapTypeName(definition.type)}, key ${definition.keySize} B, value ${definition.valueSize} B, max entries ${definition.maxEntries})`, error, createHint(error));
    }
  }

  /** Opens a pinned map; refuses a pin that is not a map. */
  static fromPin(path: string): BpfMap {
    let fd: number;
    try {
      fd = objGet(path);
    } catch (error) {
      throw kernelError(`opening pinned map ${path}`, error);
    }
    const kind = fdKind(fd);
    if (kind !== 'map') {
      closeFd(fd);
      throw new KernelError(`${path} is pinned, but it is a ${kind}, not a map`);
    }
    const info = mapInfo(fd);
    return new BpfMap(fd, info.name, info);
  }

  info(): MapInfo {
    return mapInfo(this.fd);
  }

  /** Bytes of a value as user space sees it: per-CPU maps return one 8-byte-aligned slot per possible CPU. */
  get valueBufferSize(): number {
    if (!isPerCpuMapType(this.definition.type)) return this.definition.valueSize;
    return Math.ceil(this.definition.valueSize / 8) * 8 * machineCpuCount();
  }

  lookup(key: Buffer): Buffer | undefined {
    this.checkKey(key);
    const value = Buffer.alloc(this.valueBufferSize);
    try {
      mapLookup(this.fd, key, value);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ENOENT) return undefined;
      throw kernelError(`looking up a key in map '${this.name}'`, error);
    }
    return value;
  }

  update(key: Buffer, value: Buffer, flags: number = BPF_ANY): void {
    this.checkKey(key);
    if (value.length !== this.valueBufferSize) {
      throw new KernelError(`map '${this.name}' values are ${this.valueBufferSize} bytes, got ${value.length}`);
    }
    try {
      mapUpdate(this.fd, key, value, flags);
    } catch (error) {
      throw kernelError(`updating map '${this.name}'`, error);
    }
  }

  /** Deletes a key; returns false when it was not there. */
  delete(key: Buffer): boolean {
    this.checkKey(key);
    try {
      mapDelete(this.fd, key);
      return true;
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ENOENT) return false;
      throw kernelError(`deleting a key of map '${this.name}'`, error);
    }
  }

  /** Every key, in the kernel's iteration order. */
  *keys(): Generator<Buffer> {
    let key: Buffer | undefined;
    for (;;) {
      const next = Buffer.alloc(this.definition.keySize);
      try {
        mapGetNextKey(this.fd, key, next);
      } catch (error) {
        if (error instanceof SyscallError && error.errno === ENOENT) return;
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

  /** Forbids further changes from user space (read-only global data). */
  freeze(): void {
    try {
      mapFreeze(this.fd);
    } catch (error) {
      throw kernelError(`freezing map '${this.name}'`, error);
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeFd(this.fd);
  }

  private checkKey(key: Buffer): void {
    if (key.length !== this.definition.keySize) {
      throw new KernelError(`map '${this.name}' keys are ${this.definition.keySize} bytes, got ${key.length}`);
    }
  }
}

function createHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === 22 /* EINVAL */) {
    return '; the kernel refused this map definition (unknown type for this kernel, a size of 0, or flags it does not support)';
  }
  return '';
}
