// The bpf() commands, one typed call each, with attributes laid out by src/abi.ts; fds in and out are plain numbers here.
import { ATTACH_TYPE, ATTR, BPF_ANY, BPF_F_KPROBE_MULTI_RETURN, BPF_CMD, BPF_EXIST, BPF_NOEXIST, BPF_OBJ_NAME_LEN, BTF_INFO, ERRNO, FUNC_INFO_SIZE, LINE_INFO_SIZE, LINK_INFO, MAP_INFO, PROG_INFO } from '../abi.js';
import { SyscallError } from '../errors.js';
import { bpf, type PointerField } from '../native.js';
import { Attr } from './attr.js';

export { BPF_ANY, BPF_EXIST, BPF_NOEXIST, BPF_OBJ_NAME_LEN };

const COMMAND_NAMES = Object.fromEntries(Object.entries(BPF_CMD).map(([name, value]) => [value, `BPF_${name}`])) as Record<number, string>;

function call(cmd: number, attr: Buffer, pointers: PointerField[] = []): number {
  return bpf(cmd, COMMAND_NAMES[cmd] ?? `bpf command ${cmd}`, attr, pointers);
}

/** A NUL-terminated copy of a string, for pointer fields. */
export function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/** Object names in the kernel: at most 15 characters of [A-Za-z0-9_.]. */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, BPF_OBJ_NAME_LEN - 1);
}

/** What BPF_MAP_CREATE takes to make a map: its type, sizes and flags. */
export interface MapDefinition {
  /** BPF_MAP_TYPE_* (MAP_TYPE). */
  type: number;
  /** Bytes of a key. */
  keySize: number;
  /** Bytes of a value (of one CPU's, for per-CPU maps). */
  valueSize: number;
  /** How many entries the map holds at most. */
  maxEntries: number;
  /** BPF_F_* map flags. */
  flags: number;
}

/** BTF type ids to create a map with, so that its keys and values are typed in the kernel. */
export interface MapBtf {
  /** The fd of BTF loaded into the kernel. */
  btfFd: number;
  /** The key's type id in it. */
  keyTypeId: number;
  /** The value's type id in it. */
  valueTypeId: number;
}

export function mapCreate(definition: MapDefinition, name: string, options: { innerMapFd?: number; btf?: MapBtf } = {}): number {
  const a = ATTR.MAP_CREATE;
  const attr = new Attr(a.size)
    .u32(a.map_type, definition.type)
    .u32(a.key_size, definition.keySize)
    .u32(a.value_size, definition.valueSize)
    .u32(a.max_entries, definition.maxEntries)
    .u32(a.map_flags, definition.flags)
    .u32(a.inner_map_fd, options.innerMapFd ?? 0)
    .chars(a.map_name, kernelObjectName(name), BPF_OBJ_NAME_LEN);
  if (options.btf) {
    attr.u32(a.btf_fd, options.btf.btfFd).u32(a.btf_key_type_id, options.btf.keyTypeId).u32(a.btf_value_type_id, options.btf.valueTypeId);
  }
  return call(BPF_CMD.MAP_CREATE, attr.buffer);
}

function elemAttr(mapFd: number, flags = 0n): Buffer {
  return new Attr(ATTR.MAP_ELEM.size).u32(ATTR.MAP_ELEM.map_fd, mapFd).u64(ATTR.MAP_ELEM.flags, flags).buffer;
}

export function mapLookup(mapFd: number, key: Buffer, value: Buffer): void {
  call(BPF_CMD.MAP_LOOKUP_ELEM, elemAttr(mapFd), [
    [ATTR.MAP_ELEM.key, key],
    [ATTR.MAP_ELEM.value, value],
  ]);
}

export function mapUpdate(mapFd: number, key: Buffer, value: Buffer, flags: number): void {
  call(BPF_CMD.MAP_UPDATE_ELEM, elemAttr(mapFd, BigInt(flags)), [
    [ATTR.MAP_ELEM.key, key],
    [ATTR.MAP_ELEM.value, value],
  ]);
}

export function mapDelete(mapFd: number, key: Buffer): void {
  call(BPF_CMD.MAP_DELETE_ELEM, elemAttr(mapFd), [[ATTR.MAP_ELEM.key, key]]);
}

/** Makes a map read-only for user space from now on; the verifier can then trust its contents. */
export function mapFreeze(mapFd: number): void {
  call(BPF_CMD.MAP_FREEZE, new Attr(ATTR.MAP_FREEZE.size).u32(ATTR.MAP_FREEZE.map_fd, mapFd).buffer);
}

/** Fills nextKey with the key after `key` (or the first key when key is undefined). */
export function mapGetNextKey(mapFd: number, key: Buffer | undefined, nextKey: Buffer): void {
  const pointers: PointerField[] = [[ATTR.MAP_ELEM.next_key, nextKey]];
  if (key) pointers.push([ATTR.MAP_ELEM.key, key]);
  call(BPF_CMD.MAP_GET_NEXT_KEY, elemAttr(mapFd), pointers);
}

export interface BatchRequest {
  mapFd: number;
  /** The batch token from the previous call (undefined: start at the beginning). */
  inBatch?: Buffer;
  outBatch: Buffer;
  keys: Buffer;
  values: Buffer;
  /** How many entries the buffers hold. */
  count: number;
}

/**
 * BPF_MAP_LOOKUP_BATCH: fills keys and values with up to `count` entries after `inBatch`; returns
 * how many it wrote and whether the map is exhausted (the kernel's ENOENT with a partial batch).
 */
export function mapLookupBatch(request: BatchRequest): { count: number; done: boolean } {
  const b = ATTR.MAP_BATCH;
  const attr = new Attr(b.size).u32(b.count, request.count).u32(b.map_fd, request.mapFd);
  const pointers: PointerField[] = [
    [b.out_batch, request.outBatch],
    [b.keys, request.keys],
    [b.values, request.values],
  ];
  if (request.inBatch) pointers.push([b.in_batch, request.inBatch]);
  try {
    call(BPF_CMD.MAP_LOOKUP_BATCH, attr.buffer, pointers);
  } catch (error) {
    if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return { count: attr.readU32(b.count), done: true };
    throw error;
  }
  return { count: attr.readU32(b.count), done: false };
}

/** BPF_MAP_UPDATE_BATCH of `count` keys and values; returns how many were written before any error. */
export function mapUpdateBatch(mapFd: number, keys: Buffer, values: Buffer, count: number, flags: number): number {
  const b = ATTR.MAP_BATCH;
  const attr = new Attr(b.size).u32(b.count, count).u32(b.map_fd, mapFd).u64(b.elem_flags, BigInt(flags));
  try {
    call(BPF_CMD.MAP_UPDATE_BATCH, attr.buffer, [
      [b.keys, keys],
      [b.values, values],
    ]);
  } catch (error) {
    if (error instanceof SyscallError) (error as SyscallError & { done?: number }).done = attr.readU32(b.count);
    throw error;
  }
  return attr.readU32(b.count);
}

/** struct bpf_func_info, insn_off counted in instructions. */
export interface FuncInfoRecord {
  instruction: number;
  typeId: number;
}

/** struct bpf_line_info: string offsets into the program's BTF. */
export interface LineInfoRecord {
  instruction: number;
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
}

/** Records of u32 fields, in the machine's byte order. */
function u32Records<T>(records: readonly T[], fields: (r: T) => number[]): Buffer {
  const width = records.length > 0 ? fields(records[0]!).length : 0;
  const out = new Attr(records.length * width * 4);
  records.forEach((r, i) => fields(r).forEach((v, j) => out.u32((i * width + j) * 4, v >>> 0)));
  return out.buffer;
}

export interface ProgramLoadRequest {
  type: number;
  /** Instructions in the machine's byte order, map fds already patched in. */
  instructions: Uint8Array;
  license: string;
  kernelVersion: number;
  name: string;
  expectedAttachType?: number;
  /** prog_flags, e.g. BPF_F_SLEEPABLE. */
  flags?: number;
  /** BTF of the program (prog_btf_fd), with its functions' types and source lines at instruction indexes. */
  btf?: { fd: number; funcInfo?: readonly FuncInfoRecord[]; lineInfo?: readonly LineInfoRecord[] };
  /** The kernel BTF type the program attaches to (fentry, tp_btf, ...), and the object holding it (0: vmlinux). */
  attachBtfId?: number;
  attachBtfObjFd?: number;
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
  const p = ATTR.PROG_LOAD;
  const insns = Buffer.from(request.instructions.buffer, request.instructions.byteOffset, request.instructions.byteLength);
  const attr = new Attr(p.size).u32(p.prog_type, request.type).u32(p.insn_cnt, insns.length / 8);
  const pointers: PointerField[] = [
    [p.insns, insns],
    [p.license, cString(request.license)],
  ];
  if (request.logLevel && request.logBuffer) {
    attr.u32(p.log_level, request.logLevel).u32(p.log_size, request.logBuffer.length);
    pointers.push([p.log_buf, request.logBuffer]);
  }
  attr
    .u32(p.kern_version, request.kernelVersion)
    .u32(p.prog_flags, request.flags ?? 0)
    .chars(p.prog_name, kernelObjectName(request.name), BPF_OBJ_NAME_LEN)
    .u32(p.expected_attach_type, request.expectedAttachType ?? 0);
  const btf = request.btf;
  if (btf) {
    attr.u32(p.prog_btf_fd, btf.fd);
    if (btf.funcInfo?.length) {
      attr.u32(p.func_info_rec_size, FUNC_INFO_SIZE).u32(p.func_info_cnt, btf.funcInfo.length);
      pointers.push([p.func_info, u32Records(btf.funcInfo, (f) => [f.instruction, f.typeId])]);
    }
    if (btf.lineInfo?.length) {
      attr.u32(p.line_info_rec_size, LINE_INFO_SIZE).u32(p.line_info_cnt, btf.lineInfo.length);
      pointers.push([p.line_info, u32Records(btf.lineInfo, (l) => [l.instruction, l.fileNameOff, l.lineOff, l.lineCol])]);
    }
  }
  if (request.attachBtfId) attr.u32(p.attach_btf_id, request.attachBtfId).u32(p.attach_btf_obj_fd, request.attachBtfObjFd ?? 0);
  return { attr, pointers };
}

export function programLoad(load: ProgramLoadAttr): number {
  return call(BPF_CMD.PROG_LOAD, load.attr.buffer, load.pointers);
}

/** log_true_size of a BPF_PROG_LOAD attr after a failed call; 0 on kernels that do not report it. */
export function logTrueSize(load: ProgramLoadAttr): number {
  return load.attr.readU32(ATTR.PROG_LOAD.log_true_size);
}

export function objPin(fd: number, path: string): void {
  call(BPF_CMD.OBJ_PIN, new Attr(ATTR.OBJ.size).u32(ATTR.OBJ.bpf_fd, fd).buffer, [[ATTR.OBJ.pathname, cString(path)]]);
}

export function objGet(path: string): number {
  return call(BPF_CMD.OBJ_GET, Buffer.alloc(ATTR.OBJ.size), [[ATTR.OBJ.pathname, cString(path)]]);
}

/** OBJ_GET_INFO_BY_FD into an info struct of `size` bytes; `pointers` fill its own pointer fields. */
function infoByFd(fd: number, info: Buffer, pointers: Array<[offset: number, buffer: Buffer]> = []): Attr {
  const i = ATTR.INFO_BY_FD;
  call(BPF_CMD.OBJ_GET_INFO_BY_FD, new Attr(i.size).u32(i.bpf_fd, fd).u32(i.info_len, info.length).buffer, [
    [i.info, info],
    ...pointers.map(([offset, buffer]): PointerField => [offset, buffer, info]),
  ]);
  return new Attr(info);
}

/** What the kernel says of a map (bpf_map_info): its definition, id, name and BTF. */
export interface MapInfo extends MapDefinition {
  /** The map's id in the kernel. */
  id: number;
  /** The name the kernel keeps (at most 15 characters). */
  name: string;
  /** The id of the map's BTF in the kernel, 0 when it has none. */
  btfId: number;
  /** The key's type id in the map's BTF. */
  btfKeyTypeId: number;
  /** The value's type id in the map's BTF. */
  btfValueTypeId: number;
}

export function mapInfo(fd: number): MapInfo {
  const m = MAP_INFO;
  const info = infoByFd(fd, Buffer.alloc(m.size));
  return {
    type: info.readU32(m.type),
    id: info.readU32(m.id),
    keySize: info.readU32(m.key_size),
    valueSize: info.readU32(m.value_size),
    maxEntries: info.readU32(m.max_entries),
    flags: info.readU32(m.map_flags),
    name: info.readChars(m.name, BPF_OBJ_NAME_LEN),
    btfId: info.readU32(m.btf_id),
    btfKeyTypeId: info.readU32(m.btf_key_type_id),
    btfValueTypeId: info.readU32(m.btf_value_type_id),
  };
}

/** What the kernel says of a program (bpf_prog_info): type, id, tag, name and the maps it uses. */
export interface ProgramInfo {
  /** BPF_PROG_TYPE_* (PROG_TYPE). */
  type: number;
  /** The program's id in the kernel. */
  id: number;
  /** The kernel's tag of its instructions, 16 hex digits (as bpftool shows it). */
  tag: string;
  /** The name the kernel keeps (at most 15 characters). */
  name: string;
  /** Ids of the maps the program uses. */
  mapIds: number[];
  /** Runs and their total time in ns, counted while kernel.bpf_stats_enabled is 1 (5.1+; 0 before). */
  runCount: bigint;
  runTimeNs: bigint;
}

export function programInfo(fd: number): ProgramInfo {
  const p = PROG_INFO;
  let info = infoByFd(fd, Buffer.alloc(p.size));
  const mapCount = info.readU32(p.nr_map_ids);
  const mapIds: number[] = [];
  if (mapCount > 0) {
    // Asked again with room for the ids: map_ids is a pointer inside the info struct.
    const ids = Buffer.alloc(mapCount * 4);
    const request = Buffer.alloc(p.size);
    new Attr(request).u32(p.nr_map_ids, mapCount);
    info = infoByFd(fd, request, [[p.map_ids, ids]]);
    const ids32 = new Attr(ids);
    for (let k = 0; k < Math.min(mapCount, info.readU32(p.nr_map_ids)); k++) mapIds.push(ids32.readU32(k * 4));
  }
  return {
    type: info.readU32(p.type),
    id: info.readU32(p.id),
    tag: info.buffer.toString('hex', p.tag, p.tag + 8),
    name: info.readChars(p.name, BPF_OBJ_NAME_LEN),
    mapIds,
    runCount: info.readU64(p.run_cnt),
    runTimeNs: info.readU64(p.run_time_ns),
  };
}

export interface LinkInfo {
  type: number;
  id: number;
  programId: number;
}

export function linkInfo(fd: number): LinkInfo {
  const l = LINK_INFO;
  const info = infoByFd(fd, Buffer.alloc(l.size));
  return { type: info.readU32(l.type), id: info.readU32(l.id), programId: info.readU32(l.prog_id) };
}

/** The raw BTF data of a BTF object fd (a map's or a program's BTF, or kernel BTF). */
export function btfData(fd: number): { id: number; data: Buffer; kernel: boolean; name: string } {
  const b = BTF_INFO;
  const first = infoByFd(fd, Buffer.alloc(b.size));
  const size = first.readU32(b.btf_size);
  const data = Buffer.alloc(size);
  const name = Buffer.alloc(64);
  const request = new Attr(Buffer.alloc(b.size)).u32(b.btf_size, size).u32(b.name_len, name.length);
  const info = infoByFd(fd, request.buffer, [
    [b.btf, data],
    [b.name, name],
  ]);
  return { id: info.readU32(b.id), data, kernel: info.readU32(b.kernel_btf) !== 0, name: new Attr(name).readChars(0, name.length) };
}

/** The id after `startId` among loaded programs, maps, links or BTF objects, or undefined at the end. */
function nextId(cmd: number, startId: number): number | undefined {
  const g = ATTR.GET_ID;
  const attr = new Attr(g.size).u32(g.start_id, startId);
  try {
    call(cmd, attr.buffer);
  } catch (error) {
    if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return undefined;
    throw error;
  }
  return attr.readU32(g.next_id);
}

function allIds(cmd: number): number[] {
  const ids: number[] = [];
  for (let id = nextId(cmd, 0); id !== undefined; id = nextId(cmd, id)) ids.push(id);
  return ids;
}

export const programIds = (): number[] => allIds(BPF_CMD.PROG_GET_NEXT_ID);
export const mapIds = (): number[] => allIds(BPF_CMD.MAP_GET_NEXT_ID);
export const linkIds = (): number[] => allIds(BPF_CMD.LINK_GET_NEXT_ID);

function fdById(cmd: number, id: number): number {
  return call(cmd, new Attr(ATTR.GET_ID.size).u32(ATTR.GET_ID.id, id).buffer);
}

export const programFdById = (id: number): number => fdById(BPF_CMD.PROG_GET_FD_BY_ID, id);
export const mapFdById = (id: number): number => fdById(BPF_CMD.MAP_GET_FD_BY_ID, id);
export const linkFdById = (id: number): number => fdById(BPF_CMD.LINK_GET_FD_BY_ID, id);
export const btfFdById = (id: number): number => fdById(BPF_CMD.BTF_GET_FD_BY_ID, id);

/** BPF_LINK_CREATE for a perf event (kprobe, uprobe, tracepoint): the link owns the attachment. */
export function linkCreatePerfEvent(programFd: number, perfEventFd: number, cookie = 0n): number {
  const l = ATTR.LINK_CREATE;
  const attr = new Attr(l.size).u32(l.prog_fd, programFd).u32(l.target_fd, perfEventFd).u32(l.attach_type, ATTACH_TYPE.PERF_EVENT);
  if (cookie !== 0n) attr.u64(l.perf_event_bpf_cookie, cookie);
  return call(BPF_CMD.LINK_CREATE, attr.buffer);
}

/**
 * BPF_LINK_CREATE of a kprobe.multi link (5.18+): one link for every function named, each with
 * its BPF cookie. The kernel takes `syms`, an array of pointers to the names.
 */
export function linkCreateKprobeMulti(programFd: number, functions: readonly string[], cookies: readonly bigint[], retprobe: boolean): number {
  const l = ATTR.LINK_CREATE;
  const attr = new Attr(l.size)
    .u32(l.prog_fd, programFd)
    .u32(l.attach_type, ATTACH_TYPE.TRACE_KPROBE_MULTI)
    .u32(l.kprobe_multi_flags, retprobe ? BPF_F_KPROBE_MULTI_RETURN : 0)
    .u32(l.kprobe_multi_cnt, functions.length);
  const syms = Buffer.alloc(8 * functions.length);
  const cookieArray = new Attr(8 * cookies.length);
  cookies.forEach((cookie, i) => cookieArray.u64(i * 8, cookie));
  const pointers: PointerField[] = functions.map((name, i) => [i * 8, Buffer.from(`${name}\0`), syms]);
  pointers.push([l.kprobe_multi_syms, syms]);
  if (cookies.length > 0) pointers.push([l.kprobe_multi_cookies, cookieArray.buffer]);
  return call(BPF_CMD.LINK_CREATE, attr.buffer, pointers);
}

/** BPF_LINK_CREATE of a tracing program (fentry, fexit, fmod_ret, tp_btf) at the target it was loaded for. */
export function linkCreateTracing(programFd: number, attachType: number): number {
  const l = ATTR.LINK_CREATE;
  return call(BPF_CMD.LINK_CREATE, new Attr(l.size).u32(l.prog_fd, programFd).u32(l.attach_type, attachType).buffer);
}

/** BPF_RAW_TRACEPOINT_OPEN: a raw tracepoint by name, or (name undefined) a tracing program at its target. */
export function rawTracepointOpen(programFd: number, name: string | undefined): number {
  const r = ATTR.RAW_TRACEPOINT_OPEN;
  const attr = new Attr(r.size).u32(r.prog_fd, programFd);
  return call(BPF_CMD.RAW_TRACEPOINT_OPEN, attr.buffer, name === undefined ? [] : [[r.name, cString(name)]]);
}

export const btfIds = (): number[] => allIds(BPF_CMD.BTF_GET_NEXT_ID);

/** BPF_BTF_LOAD of raw BTF; with a log buffer when asked (level 1). Returns the BTF object's fd. */
export function btfLoad(data: Uint8Array, log?: Buffer): number {
  const b = ATTR.BTF_LOAD;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const attr = new Attr(b.size).u32(b.btf_size, bytes.length);
  const pointers: PointerField[] = [[b.btf, bytes]];
  if (log) {
    attr.u32(b.btf_log_size, log.length).u32(b.btf_log_level, 1);
    pointers.push([b.btf_log_buf, log]);
  }
  return call(BPF_CMD.BTF_LOAD, attr.buffer, pointers);
}
