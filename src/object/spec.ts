// The object model: plain data describing an object's programs and maps, before any kernel object exists, and its deep copy.
import type { Btf } from '../btf/btf.js';
import type { BtfLineInfo, CoreRelocation } from '../btf/ext.js';
import type { ProgramRole } from './conventions.js';
import type { ProgramSlot } from './tail-calls.js';

/** 0: not pinned; 1: /sys/fs/bpf/<name>; 2: /sys/fs/bpf/tc/globals/<name> (shared with tc). */
export type PinningMode = 0 | 1 | 2;

/** A map as the object defines it. */
export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  pinning: PinningMode;
  /** tc's map-in-map fields of struct bpf_elf_map, when the map came from a legacy `maps` section. */
  legacy?: { id: number; innerId: number; innerIndex: number };
  /** For global data (.rodata, .data, .bss): the value to start with; read-only data is frozen. */
  data?: { initial: Uint8Array; readOnly: boolean };
  /** For the '.kconfig' map: filled at load from the kernel's configuration, then frozen. */
  kconfig?: boolean;
  /** The key and value types in the object's BTF, when it says (0: not known). */
  btf?: { keyTypeId: number; valueTypeId: number };
}

/** An ld_imm64 instruction that must be given a map's fd, or an address inside a data map's value. */
export interface MapReference {
  /** Index of the first slot of the ld_imm64 in the program's instructions. */
  instruction: number;
  map: string;
  /** 'fd': the map itself (BPF_PSEUDO_MAP_FD); 'value': its value at `offset` (BPF_PSEUDO_MAP_VALUE). */
  kind: 'fd' | 'value';
  offset: number;
}

/** An instruction that names an extern: a load of its value or address (ld_imm64), or a call (kfunc). */
export interface ExternReference {
  /** The instruction's index in the program. */
  instruction: number;
  /** The extern's name. */
  name: string;
  /** A call of a kernel function (kfunc), rather than a load. */
  call: boolean;
}

/** An extern the object uses: a kernel config value (__kconfig), a kernel symbol (__ksym) or a kernel function (kfunc). */
export interface ExternSpec {
  name: string;
  kind: 'kconfig' | 'ksym' | 'kfunc';
  /** STB_WEAK: missing is fine (zero, or a call that fails the verifier only if reached). */
  weak: boolean;
  /** The BTF type of the value (kconfig, typed ksym) or of the function (kfunc); 0 for a typeless ksym. */
  typeId: number;
  /** kconfig: where the value lives in the .kconfig map, and its size. */
  offset: number;
  size: number;
}

/** The function (a BTF FUNC) that starts at an instruction: bpf_func_info at its linked index. */
export interface FuncInfo {
  instruction: number;
  typeId: number;
}

/** The source line of the instructions from `instruction` on: bpf_line_info at its linked index. */
export type LineInfo = Omit<BtfLineInfo, 'insnOff'> & { instruction: number };

/** An instruction to adjust to the kernel's types at load (CO-RE), at its linked index. */
export interface CoreReference {
  instruction: number;
  relocation: CoreRelocation;
}

/** A program as the object holds it: instructions, section, and the relocations the loader applies. */
export interface ProgramSpec {
  /** The function's name (its symbol), or the section name when it has none. */
  name: string;
  section: string;
  /** The program's instructions followed by the functions it calls, in the object's byte order. */
  instructions: Uint8Array;
  mapReferences: MapReference[];
  /** Instructions that name __ksym externs and kfuncs, patched at load with what the kernel says. */
  externReferences: ExternReference[];
  /** From .BTF.ext, kept through linking: each function's BTF type and start (empty when the object lacks them for any function it calls). */
  funcInfo: FuncInfo[];
  /** Source lines (empty when incomplete, or without funcInfo, which the kernel requires beside them). */
  lineInfo: LineInfo[];
  coreRelocations: CoreReference[];
  /** How its section or function name asks it to be attached; undefined when they say nothing known. */
  role: ProgramRole | undefined;
  /** BPF_PROG_TYPE_*, expected attach type and prog_flags its section implies (0 when unknown). */
  programType: number;
  expectedAttachType: number;
  flags: number;
}

/**
 * A deep copy of a spec, to change (a map's maxEntries, a program's instructions, global data,
 * the BTF through its set* methods) without changing the original or anything shared with it.
 */
export function copySpec(spec: BpfObjectSpec): BpfObjectSpec {
  // Everything but the BTF is plain data (objects, arrays, strings, numbers, Uint8Arrays).
  const { btf, ...plain } = spec;
  return { ...structuredClone(plain), ...(btf ? { btf: btf.copy() } : {}) };
}

/** A parsed BPF object: what parseBpfObject() found, before anything is loaded. */
export interface BpfObjectSpec {
  littleEndian: boolean;
  license: string;
  /** False when the object has no `license` section and "GPL" was assumed. */
  licenseFromObject: boolean;
  /** The `version` section, when present (kern_version for kernels before 5.0). */
  kernelVersion?: number;
  maps: MapSpec[];
  programs: ProgramSpec[];
  /** The object's BTF (.BTF), when it has readable BTF: types of maps, records and global data. */
  btf?: Btf;
  /** The externs its programs use; the __kconfig ones live in the map '.kconfig'. */
  externs: ExternSpec[];
  /** Program-array slots the loader fills with the object's programs (tail calls). */
  programSlots: ProgramSlot[];
  /** Things the user should know about the object that are not errors. */
  notices: string[];
}
