// The bpf() commands the loader uses: attribute layouts (union bpf_attr) and typed calls.
import { bpf, type PointerField } from '../native.js';

export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  LINK_CREATE: 28,
} as const;

const COMMAND_NAMES = Object.fromEntries(Object.entries(BPF_CMD).map(([name, value]) => [value, `BPF_${name}`])) as Record<number, string>;

function call(cmd: number, attr: Buffer, pointers: PointerField[] = []): number {
  return bpf(cmd, COMMAND_NAMES[cmd] ?? `bpf command ${cmd}`, attr, pointers);
}

/** A NUL-terminated copy of a string, for pointer fields. */
export function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/** Object names in the kernel: at most 15 characters of [A-Za-z0-9_.]. */
export const BPF_OBJ_NAME_LEN = 16;

export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, BPF_OBJ_NAME_LEN - 1);
}

export interface MapDefinition {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export function mapCreate(definition: MapDefinition, name: string, innerMapFd = 0): number {
  const attr = Buffer.alloc(72);
  attr.writeUInt32LE(definition.type, 0);
  attr.writeUInt32LE(definition.keySize, 4);
  attr.writeUInt32LE(definition.valueSize, 8);
  attr.writeUInt32LE(definition.maxEntries, 12);
  attr.writeUInt32LE(definition.flags, 16);
  attr.writeUInt32LE(innerMapFd, 20);
  attr.write(kernelObjectName(name), 28, BPF_OBJ_NAME_LEN - 1, 'latin1');
  return call(BPF_CMD.MAP_CREATE, attr);
}

function elemAttr(mapFd: number, flags = 0n): Buffer {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(mapFd, 0);
  attr.writeBigUInt64LE(flags, 24);
  return attr;
}

export function mapLookup(mapFd: number, key: Buffer, value: Buffer): void {
  call(BPF_CMD.MAP_LOOKUP_ELEM, elemAttr(mapFd), [
    [8, key],
    [16, value],
  ]);
}

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export function mapUpdate(mapFd: number, key: Buffer, value: Buffer, flags: number): void {
  call(BPF_CMD.MAP_UPDATE_ELEM, elemAttr(mapFd, BigInt(flags)), [
    [8, key],
    [16, value],
  ]);
}

export function mapDelete(mapFd: number, key: Buffer): void {
  call(BPF_CMD.MAP_DELETE_ELEM, elemAttr(mapFd), [[8, key]]);
}

/** Fills nextKey with the key after `key` (or the first key when key is undefined). */
export function mapGetNextKey(mapFd: number, key: Buffer | undefined, nextKey: Buffer): void {
  const pointers: PointerField[] = [[16, nextKey]];
  if (key) pointers.push([8, key]);
  call(BPF_CMD.MAP_GET_NEXT_KEY, elemAttr(mapFd), pointers);
}

export interface ProgramLoadRequest {
  type: number;
  /** Instructions in the machine's byte order, map fds already patched in. */
  instructions: Uint8Array;
  license: string;
  kernelVersion: number;
  name: string;
  expectedAttachType?: number;
  /** 0 for no log; 1 or 2 to have the verifier explain itself into logBuffer. */
  logLevel?: number;
  logBuffer?: Buffer;
}

export interface ProgramLoadAttr {
  attr: Buffer;
  pointers: PointerField[];
}

/** The attribute buffer for BPF_PROG_LOAD; after the call, `logTrueSize` reads what the kernel wanted (6.4+). */
export function programLoadAttr(request: ProgramLoadRequest): ProgramLoadAttr {
  const attr = Buffer.alloc(144);
  const insns = Buffer.from(request.instructions.buffer, request.instructions.byteOffset, request.instructions.byteLength);
  attr.writeUInt32LE(request.type, 0);
  attr.writeUInt32LE(insns.length / 8, 4);
  const pointers: PointerField[] = [
    [8, insns],
    [16, cString(request.license)],
  ];
  if (request.logLevel && request.logBuffer) {
    attr.writeUInt32LE(request.logLevel, 24);
    attr.writeUInt32LE(request.logBuffer.length, 28);
    pointers.push([32, request.logBuffer]);
  }
  attr.writeUInt32LE(request.kernelVersion, 40);
  attr.write(kernelObjectName(request.name), 48, BPF_OBJ_NAME_LEN - 1, 'latin1');
  attr.writeUInt32LE(request.expectedAttachType ?? 0, 68);
  return { attr, pointers };
}

export function programLoad(load: ProgramLoadAttr): number {
  return call(BPF_CMD.PROG_LOAD, load.attr, load.pointers);
}

/** log_true_size of a BPF_PROG_LOAD attr after a failed call; 0 on kernels that do not report it. */
export function logTrueSize(load: ProgramLoadAttr): number {
  return load.attr.readUInt32LE(140);
}

export function objPin(fd: number, path: string): void {
  const attr = Buffer.alloc(16);
  attr.writeUInt32LE(fd, 8);
  call(BPF_CMD.OBJ_PIN, attr, [[0, cString(path)]]);
}

export function objGet(path: string): number {
  return call(BPF_CMD.OBJ_GET, Buffer.alloc(16), [[0, cString(path)]]);
}

function infoByFd(fd: number, size: number): Buffer {
  const info = Buffer.alloc(size);
  const attr = Buffer.alloc(16);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  call(BPF_CMD.OBJ_GET_INFO_BY_FD, attr, [[8, info]]);
  return info;
}

export interface MapInfo extends MapDefinition {
  id: number;
  name: string;
}

export function mapInfo(fd: number): MapInfo {
  const info = infoByFd(fd, 88);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: info.toString('latin1', 24, 40).replace(/\0.*$/s, ''),
  };
}

export interface ProgramInfo {
  type: number;
  id: number;
  tag: string;
  name: string;
}

export function programInfo(fd: number): ProgramInfo {
  const info = infoByFd(fd, 80);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    tag: info.toString('hex', 8, 16),
    name: info.toString('latin1', 64, 80).replace(/\0.*$/s, ''),
  };
}

/** The id after `startId` among loaded programs (or maps), or undefined at the end. */
function nextId(cmd: number, startId: number): number | undefined {
  const attr = Buffer.alloc(12);
  attr.writeUInt32LE(startId, 0);
  try {
    call(cmd, attr);
  } catch (error) {
    if ((error as { errno?: number }).errno === 2 /* ENOENT */) return undefined;
    throw error;
  }
  return attr.readUInt32LE(4);
}

export function programIds(): number[] {
  const ids: number[] = [];
  for (let id = nextId(BPF_CMD.PROG_GET_NEXT_ID, 0); id !== undefined; id = nextId(BPF_CMD.PROG_GET_NEXT_ID, id)) ids.push(id);
  return ids;
}

export function programFdById(id: number): number {
  const attr = Buffer.alloc(12);
  attr.writeUInt32LE(id, 0);
  return call(BPF_CMD.PROG_GET_FD_BY_ID, attr);
}

export const BPF_PERF_EVENT = 41;

/** BPF_LINK_CREATE for a perf event (kprobe, uprobe, tracepoint): the link owns the attachment. */
export function linkCreatePerfEvent(programFd: number, perfEventFd: number): number {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(programFd, 0);
  attr.writeUInt32LE(perfEventFd, 4);
  attr.writeUInt32LE(BPF_PERF_EVENT, 8);
  return call(BPF_CMD.LINK_CREATE, attr);
}
