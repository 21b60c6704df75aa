// The object model: plain data describing an object's programs and maps, before any kernel object exists.

/** 0: not pinned; 1: /sys/fs/bpf/<name>; 2: /sys/fs/bpf/tc/globals/<name> (shared with tc). */
export type PinningMode = 0 | 1 | 2;

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
}

/** An ld_imm64 instruction that must be given a map's fd. */
export interface MapReference {
  /** Index of the first slot of the ld_imm64 in the program's instructions. */
  instruction: number;
  map: string;
}

export interface ProgramSpec {
  /** The function's name (its symbol), or the section name when it has none. */
  name: string;
  section: string;
  /** A private copy of the instructions, in the object's byte order. */
  instructions: Uint8Array;
  mapReferences: MapReference[];
}

export interface BpfObjectSpec {
  littleEndian: boolean;
  license: string;
  /** False when the object has no `license` section and "GPL" was assumed. */
  licenseFromObject: boolean;
  /** The `version` section, when present (kern_version for kernels before 5.0). */
  kernelVersion?: number;
  maps: MapSpec[];
  programs: ProgramSpec[];
  /** Things the user should know about the object that are not errors. */
  notices: string[];
}
