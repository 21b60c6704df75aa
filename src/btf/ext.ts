// .BTF.ext: the header and the records that tie instructions to BTF (func_info, line_info, CO-RE relocations), per ELF section.
import { FUNC_INFO_SIZE, LINE_INFO_SIZE } from '../abi.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { BTF_KIND, BTF_VERSION, readMagic, region, type Btf } from './btf.js';

/** struct btf_ext_header up to line_info_len; CO-RE fields follow when hdr_len allows. */
export const BTF_EXT_HEADER_MIN_SIZE = 24;
/** struct btf_ext_header with core_relo_off and core_relo_len. */
export const BTF_EXT_HEADER_CORE_SIZE = 32;
/** sizeof(struct bpf_core_relo): insn_off, type_id, access_str_off, kind. */
export const BPF_CORE_RELO_SIZE = 16;
/** Instructions are 8 bytes; insn_off is a byte offset into the section. */
const INSN_SIZE = 8;
/** bpf_line_info.line_col packs the line number above a 10-bit column. */
const LINE_COL_SHIFT = 10;

/** enum bpf_core_relo_kind. */
export const BPF_CORE_KIND = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;
/** A CO-RE relocation's kind: one of BPF_CORE_KIND's values. */
export type BpfCoreKind = (typeof BPF_CORE_KIND)[keyof typeof BPF_CORE_KIND];

/** libbpf's names of the kinds, as its messages use them. */
const CORE_KIND_NAMES = [
  'byte_off',
  'byte_sz',
  'field_exists',
  'signed',
  'lshift_u64',
  'rshift_u64',
  'local_type_id',
  'target_type_id',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
] as const;

export function coreKindName(kind: number): string {
  return CORE_KIND_NAMES[kind] ?? `kind ${kind}`;
}

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

/** struct bpf_func_info: the function (a FUNC type) that starts at an instruction. */
export interface BtfFuncInfo {
  /** Byte offset of the instruction in its section. */
  readonly insnOff: number;
  readonly typeId: number;
}

/** struct bpf_line_info: the source line of the instructions from insn_off on. */
export interface BtfLineInfo {
  /** Byte offset of the instruction in its section. */
  readonly insnOff: number;
  /** Where the file name is in the BTF string section. */
  readonly fileNameOff: number;
  /** Where the line's text is in the BTF string section. */
  readonly lineOff: number;
  /** As stored: line number << 10 | column. */
  readonly lineCol: number;
  /** The source file. */
  readonly fileName: string;
  /** The text of the source line. */
  readonly line: string;
  /** From lineCol: the line number (1 and up). */
  readonly lineNumber: number;
  /** From lineCol: the column. */
  readonly column: number;
}

/** struct bpf_core_relo: one instruction to adjust to the target kernel's types. */
export interface CoreRelocation {
  /** The ELF section of the instruction, for messages. */
  readonly section: string;
  /** Byte offset of the instruction in its section. */
  readonly insnOff: number;
  /** The local (object's) BTF type the access starts from. */
  readonly typeId: number;
  /** Where the access string is in the BTF string section. */
  readonly accessStrOff: number;
  /** "0:1:2": member and array indexes; an enumerator index; "0" for type-based kinds. */
  readonly accessStr: string;
  /** What the instruction gets from the target's types (a field's offset, a type's size, ...). */
  readonly kind: BpfCoreKind;
}

/** Every record of .BTF.ext, by ELF section name, in file order. */
export interface BtfExt {
  readonly header: BtfExtHeader;
  readonly funcInfo: ReadonlyMap<string, readonly BtfFuncInfo[]>;
  readonly lineInfo: ReadonlyMap<string, readonly BtfLineInfo[]>;
  readonly coreRelocations: ReadonlyMap<string, readonly CoreRelocation[]>;
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
 * Parses every record of .BTF.ext. Section names and strings are looked up in the object's .BTF,
 * and record type ids must exist there (func_info's must be FUNCs). Records bigger than the
 * structs we know (a newer format) are stepped over by their size.
 */
export function parseBtfExt(bytes: Uint8Array, littleEndian: boolean, btf: Btf): BtfExt {
  const header = parseBtfExtHeader(bytes, littleEndian);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number): number => view.getUint32(at, littleEndian);
  const sections = (kind: InfoKind, off: number, len: number): Array<{ name: string; info: InfoSection }> => {
    const names = new Set<string>();
    return infoSections(view, littleEndian, header.hdrLen, kind, off, len).map((info) => {
      const name = lookUp(`BTF.ext ${kind.what} section at offset ${info.at}: its name`, () => btf.string(info.nameOff));
      if (names.has(name)) throw new ObjectError(`BTF.ext ${kind.what} section at offset ${info.at}: section '${printable(name)}' appears twice`);
      names.add(name);
      return { name, info };
    });
  };
  const records = <T>(info: InfoSection, name: string, what: string, read: (at: number, where: string) => T): T[] =>
    Array.from({ length: info.count }, (_, i) => {
      const at = info.first + i * info.recordSize;
      const where = `BTF.ext ${what} record ${i} of section '${printable(name)}' at offset ${at}`;
      const insnOff = u32(at);
      if (insnOff % INSN_SIZE !== 0) throw new ObjectError(`${where}: insn_off ${insnOff} is not a multiple of the ${INSN_SIZE}-byte instruction size`);
      return read(at, where);
    });
  const typeId = (id: number, where: string): number => {
    lookUp(where, () => btf.type(id));
    return id;
  };

  const funcInfo = new Map<string, BtfFuncInfo[]>();
  for (const { name, info } of sections(FUNC_INFO, header.funcInfoOff, header.funcInfoLen)) {
    funcInfo.set(
      name,
      records(info, name, FUNC_INFO.what, (at, where) => {
        const id = typeId(u32(at + 4), where);
        const type = btf.type(id);
        if (type.kind !== BTF_KIND.FUNC) throw new ObjectError(`${where}: ${btf.describe(id)} is not a FUNC`);
        return { insnOff: u32(at), typeId: id };
      }),
    );
  }

  const lineInfo = new Map<string, BtfLineInfo[]>();
  for (const { name, info } of sections(LINE_INFO, header.lineInfoOff, header.lineInfoLen)) {
    lineInfo.set(
      name,
      records(info, name, LINE_INFO.what, (at, where) => {
        const fileNameOff = u32(at + 4);
        const lineOff = u32(at + 8);
        const lineCol = u32(at + 12);
        return {
          insnOff: u32(at),
          fileNameOff,
          lineOff,
          lineCol,
          fileName: lookUp(`${where}: file name`, () => btf.string(fileNameOff)),
          line: lookUp(`${where}: line`, () => btf.string(lineOff)),
          lineNumber: lineCol >>> LINE_COL_SHIFT,
          column: lineCol & ((1 << LINE_COL_SHIFT) - 1),
        };
      }),
    );
  }

  const coreRelocations = new Map<string, CoreRelocation[]>();
  for (const { name, info } of sections(CORE_RELO, header.coreReloOff, header.coreReloLen)) {
    coreRelocations.set(
      name,
      records(info, name, CORE_RELO.what, (at, where) => {
        const kind = u32(at + 12);
        if (kind >= CORE_KIND_NAMES.length) throw new ObjectError(`${where}: unknown CO-RE relocation kind ${kind}`);
        const accessStrOff = u32(at + 8);
        return {
          section: name,
          insnOff: u32(at),
          typeId: typeId(u32(at + 4), where),
          accessStrOff,
          accessStr: lookUp(`${where}: access string`, () => btf.string(accessStrOff)),
          kind: kind as BpfCoreKind,
        };
      }),
    );
  }
  return { header, funcInfo, lineInfo, coreRelocations };
}

/**
 * The number of CO-RE relocation records in .BTF.ext (0 when there are none), without the .BTF
 * they refer to: enough for a loader to tell whether an object needs CO-RE at all.
 */
export function coreRelocationCount(btfExtBytes: Uint8Array, littleEndian: boolean): number {
  const header = parseBtfExtHeader(btfExtBytes, littleEndian);
  const view = new DataView(btfExtBytes.buffer, btfExtBytes.byteOffset, btfExtBytes.byteLength);
  return infoSections(view, littleEndian, header.hdrLen, CORE_RELO, header.coreReloOff, header.coreReloLen).reduce((sum, s) => sum + s.count, 0);
}

// ---------------------------------------------------------------------------------------------

interface InfoKind {
  readonly what: string;
  readonly minRecordSize: number;
}

const FUNC_INFO: InfoKind = { what: 'func_info', minRecordSize: FUNC_INFO_SIZE };
const LINE_INFO: InfoKind = { what: 'line_info', minRecordSize: LINE_INFO_SIZE };
const CORE_RELO: InfoKind = { what: 'core_relo', minRecordSize: BPF_CORE_RELO_SIZE };

/** One section's block of records: struct btf_ext_info_sec {sec_name_off, num_info} and its records. */
interface InfoSection {
  /** Offset of the block's header in .BTF.ext. */
  readonly at: number;
  readonly nameOff: number;
  readonly count: number;
  /** Offset of the first record. */
  readonly first: number;
  readonly recordSize: number;
}

/**
 * Walks one kind's region as libbpf does: a record size, then per section {sec_name_off, num_info}
 * and num_info records. An empty region has no sections.
 */
function infoSections(view: DataView, littleEndian: boolean, hdrLen: number, kind: InfoKind, off: number, len: number): InfoSection[] {
  if (len === 0) return [];
  const { start, end } = region(`BTF.ext ${kind.what}`, hdrLen, off, len, view.byteLength);
  const where = `BTF.ext ${kind.what} at offset ${start}`;
  if (len < 4) throw new ObjectError(`${where}: ${len} bytes, too short for the record size`);
  if (off % 4 !== 0 || len % 4 !== 0) throw new ObjectError(`${where}: offset ${off} and length ${len} must be multiples of 4`);
  const recordSize = view.getUint32(start, littleEndian);
  if (recordSize < kind.minRecordSize || recordSize % 4 !== 0) {
    throw new ObjectError(`${where}: record size ${recordSize} is not a multiple of 4 of at least ${kind.minRecordSize}`);
  }
  const sections: InfoSection[] = [];
  for (let at = start + 4; at < end; ) {
    if (at + 8 > end) throw new ObjectError(`${where}: section header at offset ${at} runs past the end (offset ${end})`);
    const count = view.getUint32(at + 4, littleEndian);
    if (count === 0) throw new ObjectError(`${where}: section at offset ${at} has no records`);
    const next = at + 8 + count * recordSize;
    if (next > end) throw new ObjectError(`${where}: section at offset ${at} has ${count} records of ${recordSize} bytes, past the end (offset ${end})`);
    sections.push({ at, nameOff: view.getUint32(at, littleEndian), count, first: at + 8, recordSize });
    at = next;
  }
  return sections;
}

/** Runs a BTF lookup, saying where in .BTF.ext the bad reference was when it fails. */
function lookUp<T>(where: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ObjectError) throw new ObjectError(`${where}: ${error.message}`);
    throw error;
  }
}
