// The bpf() commands the loader uses: attribute layouts (union bpf_attr) and typed calls.
import { bpf, type PointerField } from '../native.js';
import { Attr } from './attr.js';

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
  MAP_FREEZE: 22,
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
  const attr = new Attr(72)
    .u32(0, definition.type)
    .u32(4, definition.keySize)
    .u32(8, definition.valueSize)
    .u32(12, definition.maxEntries)
    .u32(16, definition.flags)
    .u32(20, innerMapFd)
    .chars(28, kernelObjectName(name), BPF_OBJ_NAME_LEN);
  return call(BPF_CMD.MAP_CREATE, attr.buffer);
}

function elemAttr(mapFd: number, flags = 0n): Buffer {
  return new Attr(32).u32(0, mapFd).u64(24, flags).buffer;
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

/** Makes a map read-only for user space from now on; the verifier can then trust its contents. */
export function mapFreeze(mapFd: number): void {
  call(BPF_CMD.MAP_FREEZE, new Attr(8).u32(0, mapFd).buffer);
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
  attr: Attr;
  pointers: PointerField[];
}

/** The attribute buffer for BPF_PROG_LOAD; after the call, `logTrueSize` reads what the kernel wanted (6.4+). */
export function programLoadAttr(request: ProgramLoadRequest): ProgramLoadAttr {
  const insns = Buffer.from(request.instructions.buffer, request.instructions.byteOffset, request.instructions.byteLength);
  const attr = new Attr(144).u32(0, request.type).u32(4, insns.length / 8);
  const pointers: PointerField[] = [
    [8, insns],
    [16, cString(request.license)],
  ];
  if (request.logLevel && request.logBuffer) {
    attr.u32(24, request.logLevel).u32(28, request.logBuffer.length);
    pointers.push([32, request.logBuffer]);
  }
  attr
    .u32(40, request.kernelVersion)
    .chars(48, kernelObjectName(request.name), BPF_OBJ_NAME_LEN)
    .u32(68, request.expectedAttachType ?? 0);
  return { attr, pointers };
}

export function programLoad(load: ProgramLoadAttr): number {
  return call(BPF_CMD.PROG_LOAD, load.attr.buffer, load.pointers);
}

/** log_true_size of a BPF_PROG_LOAD attr after a failed call; 0 on kernels that do not report it. */
export function logTrueSize(load: ProgramLoadAttr): number {
  return load.attr.readU32(140);
}

export function objPin(fd: number, path: string): void {
  call(BPF_CMD.OBJ_PIN, new Attr(16).u32(8, fd).buffer, [[0, cString(path)]]);
}

export function objGet(path: string): number {
  return call(BPF_CMD.OBJ_GET, Buffer.alloc(16), [[0, cString(path)]]);
}

function infoByFd(fd: number, size: number): Attr {
  const info = Buffer.alloc(size);
  call(BPF_CMD.OBJ_GET_INFO_BY_FD, new Attr(16).u32(0, fd).u32(4, size).buffer, [[8, info]]);
  return new Attr(info);
}

export interface MapInfo extends MapDefinition {
  id: number;
  name: string;
}

export function mapInfo(fd: number): MapInfo {
  const info = infoByFd(fd, 88);
  return {
    type: info.readU32(0),
    id: info.readU32(4),
    keySize: info.readU32(8),
    valueSize: info.readU32(12),
    maxEntries: info.readU32(16),
    flags: info.readU32(20),
    name: info.readChars(24, BPF_OBJ_NAME_LEN),
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
    type: info.readU32(0),
    id: info.readU32(4),
    tag: info.buffer.toString('hex', 8, 16),
    name: info.readChars(64, BPF_OBJ_NAME_LEN),
  };
}

/** The id after `startId` among loaded programs (or maps), or undefined at the end. */
function nextId(cmd: number, startId: number): number | undefined {
  const attr = new Attr(12).u32(0, startId);
  try {
    call(cmd, attr.buffer);
  } catch (error) {
    if ((error as { errno?: number }).errno === 2 /* ENOENT */) return undefined;
    throw error;
  }
  return attr.readU32(4);
}

export function programIds(): number[] {
  const ids: number[] = [];
  for (let id = nextId(BPF_CMD.PROG_GET_NEXT_ID, 0); id !== undefined; id = nextId(BPF_CMD.PROG_GET_NEXT_ID, id)) ids.push(id);
  return ids;
}

export function programFdById(id: number): number {
  return call(BPF_CMD.PROG_GET_FD_BY_ID, new Attr(12).u32(0, id).buffer);
}

export const BPF_PERF_EVENT = 41;

/** BPF_LINK_CREATE for a perf event (kprobe, uprobe, tracepoint): the link owns the attachment. */
export function linkCreatePerfEvent(programFd: number, perfEventFd: number): number {
  return call(BPF_CMD.LINK_CREATE, new Attr(32).u32(0, programFd).u32(4, perfEventFd).u32(8, BPF_PERF_EVENT).buffer);
}
