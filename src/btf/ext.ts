// .BTF.ext: the header and the records that tie instructions to BTF (func_info, line_info, CO-RE relocations).
import { ObjectError } from '../errors.js';
import { BTF_VERSION, readMagic, region } from './btf.js';

/** struct btf_ext_header up to line_info_len; CO-RE fields follow when hdr_len allows. */
export const BTF_EXT_HEADER_MIN_SIZE = 24;
/** struct btf_ext_header with core_relo_off and core_relo_len. */
export const BTF_EXT_HEADER_CORE_SIZE = 32;
/** sizeof(struct bpf_core_relo): insn_off, type_id, access_str_off, kind. */
export const BPF_CORE_RELO_SIZE = 16;

export interface BtfExtHeader {
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly funcInfoOff: number;
  readonly funcInfoLen: number;
  readonly lineInfoOff: number;
  readonly lineInfoLen: number;
  /** 0 when the header is too short to have them. */
  readonly coreReloOff: number;
  readonly coreReloLen: number;
}

/** Reads and checks the header of .BTF.ext; the regions it names must lie inside the data. */
export function parseBtfExtHeader(bytes: Uint8Array, littleEndian: boolean): BtfExtHeader {
  if (bytes.length < BTF_EXT_HEADER_MIN_SIZE) {
    throw new ObjectError(`BTF.ext is ${bytes.length} bytes, shorter than its ${BTF_EXT_HEADER_MIN_SIZE}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  readMagic(view, littleEndian, 'BTF.ext');
  const u32 = (at: number): number => view.getUint32(at, littleEndian);
  const hdrLen = u32(4);
  const version = bytes[2]!;
  const flags = bytes[3]!;
  if (version !== BTF_VERSION) throw new ObjectError(`BTF.ext version ${version} at offset 2 is not supported (only ${BTF_VERSION})`);
  if (flags !== 0) throw new ObjectError(`BTF.ext flags 0x${flags.toString(16)} at offset 3 are not supported (expected 0)`);
  if (hdrLen < BTF_EXT_HEADER_MIN_SIZE) throw new ObjectError(`BTF.ext header length ${hdrLen} at offset 4 is less than ${BTF_EXT_HEADER_MIN_SIZE}`);
  if (hdrLen > bytes.length) throw new ObjectError(`BTF.ext header length ${hdrLen} at offset 4 is more than the ${bytes.length} bytes of BTF.ext`);
  const hasCore = hdrLen >= BTF_EXT_HEADER_CORE_SIZE;
  const header: BtfExtHeader = {
    version,
    flags,
    hdrLen,
    funcInfoOff: u32(8),
    funcInfoLen: u32(12),
    lineInfoOff: u32(16),
    lineInfoLen: u32(20),
    coreReloOff: hasCore ? u32(24) : 0,
    coreReloLen: hasCore ? u32(28) : 0,
  };
  region('BTF.ext func_info', hdrLen, header.funcInfoOff, header.funcInfoLen, bytes.length);
  region('BTF.ext line_info', hdrLen, header.lineInfoOff, header.lineInfoLen, bytes.length);
  region('BTF.ext core_relo', hdrLen, header.coreReloOff, header.coreReloLen, bytes.length);
  return header;
}

/**
 * The number of CO-RE relocation records in .BTF.ext (0 when there are none), so that a loader
 * without CO-RE can refuse such objects. The core_relo region is walked as libbpf does: a record
 * size, then per section {sec_name_off, num_info} and num_info records.
 */
export function coreRelocationCount(btfExtBytes: Uint8Array, littleEndian: boolean): number {
  const header = parseBtfExtHeader(btfExtBytes, littleEndian);
  if (header.coreReloLen === 0) return 0;
  const view = new DataView(btfExtBytes.buffer, btfExtBytes.byteOffset, btfExtBytes.byteLength);
  const { start, end } = region('BTF.ext core_relo', header.hdrLen, header.coreReloOff, header.coreReloLen, btfExtBytes.length);
  const where = `BTF.ext core_relo at offset ${start}`;
  if (header.coreReloLen < 4) throw new ObjectError(`${where}: ${header.coreReloLen} bytes, too short for the record size`);
  if (header.coreReloOff % 4 !== 0 || header.coreReloLen % 4 !== 0) {
    throw new ObjectError(`${where}: offset ${header.coreReloOff} and length ${header.coreReloLen} must be multiples of 4`);
  }
  const recordSize = view.getUint32(start, littleEndian);
  if (recordSize < BPF_CORE_RELO_SIZE || recordSize % 4 !== 0) {
    throw new ObjectError(`${where}: record size ${recordSize} is not a multiple of 4 of at least ${BPF_CORE_RELO_SIZE}`);
  }
  let count = 0;
  for (let at = start + 4; at < end; ) {
    if (at + 8 > end) throw new ObjectError(`${where}: section header at offset ${at} runs past the end (offset ${end})`);
    const records = view.getUint32(at + 4, littleEndian);
    if (records === 0) throw new ObjectError(`${where}: section at offset ${at} has no records`);
    const next = at + 8 + records * recordSize;
    if (next > end) throw new ObjectError(`${where}: section at offset ${at} has ${records} records of ${recordSize} bytes, past the end (offset ${end})`);
    count += records;
    at = next;
  }
  return count;
}
