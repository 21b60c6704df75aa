// Parses a BPF ELF object into a BpfObjectSpec: programs (joined with their subprograms), maps, license.
import {
  EM_BPF,
  EM_NONE,
  ET_REL,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_PROGBITS,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STV_HIDDEN,
  STV_INTERNAL,
  readElf,
  type ElfFile,
  type ElfSection,
  type ElfSymbol,
} from '../elf/reader.js';
import { LoaderError, ObjectError, UsageError } from '../errors.js';
import { printable } from '../text.js';
import { BTF_KIND, BTF_LINKAGE, parseBtf, type Btf } from '../btf/btf.js';
import { coreRelocationCount, parseBtfExt, type BtfExt, type CoreRelocation } from '../btf/ext.js';
import { BTF_MAPS_SECTION, BTF_SECTION, btfMapDefinitions, parseBtfMaps, type BtfMapDefinition } from './btf-maps.js';
import { isBccProgramName, programMeaning } from './conventions.js';
import { INSN_SIZE } from '../insn/instructions.js';
import { collectExterns, kconfigReferences } from './externs.js';
import { LEGACY_MAPS_SECTION, parseLegacyMaps } from './legacy-maps.js';
import { linkProgram, type CodeFunction, type CodeSection } from './program-linker.js';
import { sectionRelocations, type DataTarget } from './relocations.js';
import { programSlots } from './tail-calls.js';
import type { BpfObjectSpec, ExternSpec, MapSpec, ProgramSpec } from './spec.js';

/** BPF_F_RDONLY_PROG: the program may only read the map (constants in .rodata). */
const BPF_F_RDONLY_PROG = 1 << 7;
const BPF_MAP_TYPE_ARRAY = 2;
/** bpf_attr.value_size is a u32: larger global data cannot be described to the kernel. */
const MAX_VALUE_SIZE = 0xffffffff;

/** Global variables: .rodata*, .data* and .bss* each become a one-entry array map, as in libbpf. */
export function isDataSection(section: ElfSection): boolean {
  return (section.flags & SHF_ALLOC) !== 0n && (section.flags & SHF_EXECINSTR) === 0n && /^\.(rodata|data|bss)(\.|$)/.test(section.name);
}

/** Parses a clang-built BPF ELF object (legacy `maps` section or BTF `.maps`) into its maps, programs, BTF and relocations; touches no kernel. */
export function parseBpfObject(bytes: Uint8Array): BpfObjectSpec {
  const notices: string[] = [];
  const elf = bpfElf(bytes);
  const license = objectLicense(elf, notices);
  const kernelVersion = objectKernelVersion(elf);
  const btf = objectBtf(elf, notices);
  const ext = btfExtOf(elf, btf);
  const maps = objectMaps(elf, btf);
  const code = codeSections(elf, maps, btf, ext);
  const linked = linkPrograms(elf, code);
  const { externs, kconfigMap, programs: withExterns } = step('externs', () => objectExterns(elf, btf, linked));
  if (kconfigMap) maps.specs.push(kconfigMap);
  const tailCalls = programSlots(elf, maps.specs, withExterns, maps.btfDefined);
  requirePrograms(elf, tailCalls.programs);
  return {
    littleEndian: elf.littleEndian,
    license: license.name,
    licenseFromObject: license.fromObject,
    kernelVersion,
    maps: maps.specs,
    programs: tailCalls.programs,
    ...(btf ? { btf } : {}),
    externs,
    programSlots: tailCalls.slots,
    notices,
  };
}

/** The ELF file, if it is a relocatable BPF object (as clang -target bpf -c writes). */
function bpfElf(bytes: Uint8Array): ElfFile {
  const elf = readElf(bytes);
  if (elf.type !== ET_REL) throw new ObjectError(`not a BPF object: ELF type ${elf.type}, expected ${ET_REL} (relocatable, as clang -c produces)`);
  if (elf.machine !== EM_BPF && elf.machine !== EM_NONE) {
    throw new ObjectError(`not a BPF object: ELF machine ${elf.machine}, expected ${EM_BPF} (BPF); was it compiled with -target bpf?`);
  }
  return elf;
}

/** The `license` section's text, or "GPL" (with a notice) when the object has none. */
function objectLicense(elf: ElfFile, notices: string[]): { name: string; fromObject: boolean } {
  const section = elf.sectionByName('license');
  if (section) {
    const data = elf.sectionData(section);
    if (data.length !== section.size || data.length === 0) {
      throw new ObjectError(`section 'license' has no contents in the file (type ${section.type}, ${section.size} bytes): the license cannot be read`);
    }
    const name = readCString(data);
    if (name === '') throw new ObjectError(`section 'license' is empty`);
    return { name, fromObject: true };
  }
  // Only an object with no license at all is loaded as GPL, as the original loader did; a
  // license under another name is a mistake to point out, not something to override.
  const renamed = elf.sections.find((s) => /licen[cs]e/i.test(s.name));
  if (renamed) {
    throw new ObjectError(
      `the object has no section 'license' but has '${printable(renamed.name)}'; loaders read the license only from a section named exactly 'license' (SEC("license"))`,
    );
  }
  notices.push(`object has no 'license' section: loading it as "GPL"`);
  return { name: 'GPL', fromObject: false };
}

/** The `version` section's kernel version, when the object has one. */
function objectKernelVersion(elf: ElfFile): number | undefined {
  const section = elf.sectionByName('version');
  if (!section) return undefined;
  const data = elf.sectionData(section);
  if (section.size !== 4) throw new ObjectError(`section 'version' is ${section.size} bytes, expected 4`);
  if (data.length !== 4) throw new ObjectError(`section 'version' has no contents in the file (section type ${section.type})`);
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, elf.littleEndian);
}

/** The object's maps so far, and where the legacy and BTF-defined ones came from (relocations name them by offset). */
interface ObjectMaps {
  /** Legacy and BTF-defined maps; the code step adds global data maps as code refers to them. */
  specs: MapSpec[];
  legacy?: { section: ElfSection; maps: MapSpec[]; recordSize: number };
  btfDefined?: { section: ElfSection; definitions: BtfMapDefinition[] };
}

/** The maps the object defines: legacy ones (`maps`) with their annotated types, then BTF-defined ones (`.maps`). */
function objectMaps(elf: ElfFile, btf: Btf | undefined): ObjectMaps {
  const maps: ObjectMaps = { specs: [] };
  const legacySection = elf.sectionByName(LEGACY_MAPS_SECTION);
  if (legacySection && legacySection.size > 0) {
    const legacy = parseLegacyMaps(elf, legacySection);
    maps.legacy = { section: legacySection, ...legacy };
    maps.specs.push(...legacy.maps.map((m) => (btf ? withAnnotatedTypes(btf, m) : m)));
  }
  const btfSection = elf.sectionByName(BTF_MAPS_SECTION);
  if (btfSection && btfSection.size > 0) {
    const definitions = btf ? btfMapDefinitions(btf, elf, btfSection) : parseBtfMaps(elf, btfSection);
    for (const { spec } of definitions) {
      if (maps.specs.some((m) => m.name === spec.name)) throw new ObjectError(`map '${printable(spec.name)}' is defined both in '${LEGACY_MAPS_SECTION}' and in '${BTF_MAPS_SECTION}'`);
      maps.specs.push(spec);
    }
    if (definitions.length > 0) maps.btfDefined = { section: btfSection, definitions };
  }
  return maps;
}

/**
 * Every executable section's functions and relocations by section index. A relocation into a
 * data section makes that section a map (added to `maps`), as libbpf does for global data.
 */
function codeSections(elf: ElfFile, maps: ObjectMaps, btf: Btf | undefined, ext: BtfExt | undefined): Map<number, CodeSection> {
  const resolve = (symbol: ElfSymbol, offset: bigint): DataTarget | undefined => {
    const { legacy, btfDefined } = maps;
    if (legacy && symbol.sectionIndex === legacy.section.index) {
      if (offset % BigInt(legacy.recordSize) !== 0n) return undefined;
      const map = legacy.maps[Number(offset / BigInt(legacy.recordSize))];
      return map ? { kind: 'map', map: map.name } : undefined;
    }
    if (btfDefined && symbol.sectionIndex === btfDefined.section.index) {
      const map = btfDefined.definitions.find((m) => m.offset === offset);
      return map ? { kind: 'map', map: map.spec.name } : undefined;
    }
    const section = elf.sections[symbol.sectionIndex];
    if (!section || !isDataSection(section) || offset < 0n || offset >= BigInt(section.size)) return undefined;
    if (!maps.specs.some((m) => m.name === section.name)) maps.specs.push(dataMapSpec(elf, section, btf));
    return { kind: 'value', map: section.name, offset: Number(offset) };
  };
  const code = new Map<number, CodeSection>();
  for (const section of elf.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0n || section.size === 0) continue;
    code.set(section.index, codeSection(elf, section, resolve, ext));
  }
  return code;
}

/** Each program joined with the functions it calls. */
function linkPrograms(elf: ElfFile, code: ReadonlyMap<number, CodeSection>): ProgramSpec[] {
  return [...code.values()].flatMap((cs) => entryFunctions(cs)).map((entry) => {
    const linked = linkProgram(entry, code, elf.littleEndian);
    return {
      name: entry.name,
      section: entry.sectionName,
      instructions: linked.instructions,
      mapReferences: linked.mapReferences,
      externReferences: linked.externReferences,
      funcInfo: linked.funcInfo,
      lineInfo: linked.lineInfo,
      coreRelocations: linked.coreRelocations,
      ...meaningOf(entry.sectionName, entry.name),
    };
  });
}

/** The externs the programs use (__kconfig, __ksym, kfuncs), with the programs' references to the '.kconfig' map. */
function objectExterns(elf: ElfFile, btf: Btf | undefined, programs: ProgramSpec[]): { externs: ExternSpec[]; kconfigMap?: MapSpec; programs: ProgramSpec[] } {
  const { externs, kconfigMap } = collectExterns(elf, btf, programs);
  return { externs, ...(kconfigMap ? { kconfigMap } : {}), programs: programs.map((p) => kconfigReferences(p, externs)) };
}

/** An object without a program is refused, saying why when its code is all subprograms. */
function requirePrograms(elf: ElfFile, programs: readonly ProgramSpec[]): void {
  if (programs.length > 0) return;
  const text = elf.sectionByName('.text');
  if (text && text.size > 0) {
    throw new ObjectError(
      `the object's code is all in '.text' and no function there has a bcc program name (kprobe__<fn>, kretprobe__<fn>, tracepoint__<category>__<event>); put each program in its own section, e.g. SEC("prog")`,
    );
  }
  throw new ObjectError('the object has no program: no executable section with code');
}

/**
 * Runs a step whose failures may not say what the parse was doing (the externs step sizes and
 * lays out BTF types, whose failures say only "BTF type 7 ..."), and puts its name first in
 * their message. Steps whose messages all name their section, map or program are not wrapped:
 * "maps: map 'x' ..." would only repeat it.
 */
function step<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof LoaderError) error.prepend(`${name}: `);
    throw error;
  }
}

function meaningOf(section: string, name: string): Pick<ProgramSpec, 'role' | 'programType' | 'expectedAttachType' | 'flags'> {
  const meaning = programMeaning(section, name);
  return { role: meaning?.role, programType: meaning?.programType ?? 0, expectedAttachType: meaning?.expectedAttachType ?? 0, flags: meaning?.flags ?? 0 };
}

/** The programs with these names (each once), or all of them when no names are given. */
export function programsNamed(spec: BpfObjectSpec, names: readonly string[] | undefined): ProgramSpec[] {
  if (names === undefined) return spec.programs;
  return [...new Set(names)].map((name) => {
    const program = spec.programs.find((p) => p.name === name);
    if (!program) throw new UsageError(`the object has no program '${name}'; it has ${spec.programs.map((p) => `'${p.name}'`).join(', ')}`);
    return program;
  });
}

/**
 * The object's .BTF, parsed once and kept for map definitions, typed output and loading. BTF that
 * cannot be read only costs the types (the object loads without them), unless maps need it.
 */
function objectBtf(elf: ElfFile, notices: string[]): Btf | undefined {
  const section = elf.sectionByName(BTF_SECTION);
  if (!section || section.size === 0) return undefined;
  const data = elf.sectionData(section);
  try {
    if (data.length !== section.size) throw new ObjectError(`section '${BTF_SECTION}' has no contents in the file`);
    const btf = parseBtf(data, elf.littleEndian);
    fixDataSections(btf, elf);
    markHiddenFunctionsStatic(btf, elf);
    return btf;
  } catch (error) {
    if (!(error instanceof ObjectError)) throw error;
    // Needed for BTF-defined maps: parseBtfMaps says why, as an error.
    if (elf.sectionByName(BTF_MAPS_SECTION)) return undefined;
    notices.push(`the object's BTF cannot be read (${error.message}); values are shown without their C types`);
    return undefined;
  }
}

/**
 * Global functions the object hides (__hidden: STV_HIDDEN or STV_INTERNAL) are verified as static
 * ones, in their caller's context, as libbpf marks them; usdt.bpf.h's bpf_usdt_arg() needs it.
 */
function markHiddenFunctionsStatic(btf: Btf, elf: ElfFile): void {
  for (const symbol of elf.symbols) {
    if (symbol.type !== STT_FUNC || symbol.bind === STB_LOCAL || (symbol.visibility !== STV_HIDDEN && symbol.visibility !== STV_INTERNAL)) continue;
    for (const func of btf.typesNamed(symbol.name, BTF_KIND.FUNC)) {
      if (func.kind === BTF_KIND.FUNC && func.linkage === BTF_LINKAGE.GLOBAL) btf.setFuncLinkage(func.id, BTF_LINKAGE.STATIC);
    }
  }
}

/**
 * DATASECs get the size of their ELF section and their variables the offsets of their symbols,
 * sorted, as libbpf does (clang leaves both 0); the extern sections (.kconfig, .ksyms) are laid
 * out by the loader instead.
 */
function fixDataSections(btf: Btf, elf: ElfFile): void {
  for (let id = 1; id <= btf.count; id++) {
    const datasec = btf.type(id);
    if (datasec.kind !== BTF_KIND.DATASEC || datasec.name === '.kconfig' || datasec.name === '.ksyms') continue;
    const section = elf.sectionByName(datasec.name);
    if (!section) {
      // clang names .rodata for a function's static string it puts in .rodata.str1.1: no map holds
      // such a DATASEC, but the kernel refuses a size of 0, so its variables are laid end to end.
      if (datasec.size === 0 && datasec.vars.length > 0) {
        let end = 0;
        const vars = datasec.vars.map((entry) => ({ ...entry, offset: (end += entry.size) - entry.size }));
        btf.setDatasecLayout(datasec.id, end, vars);
      }
      continue;
    }
    const vars = datasec.vars.map((entry) => {
      const variable = btf.type(entry.type);
      if (variable.kind !== BTF_KIND.VAR || variable.linkage === BTF_LINKAGE.STATIC || variable.linkage === BTF_LINKAGE.EXTERN || datasec.size !== 0) return entry;
      const symbol = elf.symbols.find((s) => s.sectionIndex === section.index && s.name === variable.name);
      return symbol ? { ...entry, offset: Number(symbol.value) } : entry;
    });
    vars.sort((a, b) => a.offset - b.offset);
    btf.setDatasecLayout(datasec.id, datasec.size === 0 ? section.size : datasec.size, vars);
  }
}

/**
 * A legacy map with the key and value types that iproute2's BPF_ANNOTATE_KV_PAIR (and bcc) record:
 * a struct ____btf_map_<name> whose members are the key and the value.
 */
function withAnnotatedTypes(btf: Btf, map: MapSpec): MapSpec {
  const annotation = btf.typesNamed(`____btf_map_${map.name}`, BTF_KIND.STRUCT)[0];
  if (!annotation || annotation.kind !== BTF_KIND.STRUCT) return map;
  const key = annotation.members.find((m) => m.name === 'key');
  const value = annotation.members.find((m) => m.name === 'value');
  if (!key || !value) return map;
  try {
    if (btf.sizeOf(key.type) !== map.keySize || btf.sizeOf(value.type) !== map.valueSize) return map;
  } catch {
    return map;
  }
  return { ...map, btf: { keyTypeId: key.type, valueTypeId: value.type } };
}

function dataMapSpec(elf: ElfFile, section: ElfSection, btf: Btf | undefined): MapSpec {
  if (section.size === 0) throw new ObjectError(`data section '${printable(section.name)}' is empty but code refers to it`);
  // Checked before allocating: a NOBITS (.bss) section's size is not bounded by the file.
  if (section.size > MAX_VALUE_SIZE) {
    throw new ObjectError(`data section '${printable(section.name)}' is ${section.size} bytes, more than a map value can hold (${MAX_VALUE_SIZE})`);
  }
  // Uint8Array.from, not slice(): a Buffer's slice() would share the caller's bytes.
  const initial = section.type === SHT_NOBITS ? new Uint8Array(section.size) : Uint8Array.from(elf.sectionData(section));
  if (initial.length !== section.size) throw new ObjectError(`data section '${printable(section.name)}' has no contents in the file`);
  const readOnly = section.name.startsWith('.rodata');
  // The value of a global data map is the whole section: its DATASEC describes the variables in it.
  const datasec = btf?.datasec(section.name);
  return {
    ...(datasec ? { btf: { keyTypeId: 0, valueTypeId: datasec.id } } : {}),
    name: section.name,
    type: BPF_MAP_TYPE_ARRAY,
    keySize: 4,
    valueSize: section.size,
    maxEntries: 1,
    flags: readOnly ? BPF_F_RDONLY_PROG : 0,
    pinning: 0,
    data: { initial, readOnly },
  };
}

/**
 * The object's .BTF.ext (function types, source lines, CO-RE relocations), read against its .BTF.
 * Without .BTF, the types it names cannot be known: fine for lines, not for CO-RE.
 */
function btfExtOf(elf: ElfFile, btf: Btf | undefined): BtfExt | undefined {
  const section = elf.sectionByName('.BTF.ext');
  if (!section) return undefined;
  const data = elf.sectionData(section);
  if (btf) return parseBtfExt(data, elf.littleEndian, btf);
  const relocations = coreRelocationCount(data, elf.littleEndian);
  if (relocations > 0) throw new ObjectError(`the object has ${relocations} CO-RE relocation(s) in .BTF.ext but no .BTF section with the types they name`);
  return undefined;
}

/** A section's .BTF.ext records by instruction index; each must name one of its instructions. */
function sectionExt(ext: BtfExt | undefined, section: ElfSection, count: number): Pick<CodeSection, 'funcInfo' | 'lineInfo' | 'coreRelocations'> {
  if (!ext) return {};
  const index = (insnOff: number, what: string): number => {
    const i = insnOff / INSN_SIZE;
    if (i >= count) throw new ObjectError(`BTF.ext ${what} record for instruction ${i} of section '${printable(section.name)}', which has ${count}`);
    return i;
  };
  const funcInfo = new Map((ext.funcInfo.get(section.name) ?? []).map((f) => [index(f.insnOff, 'func_info'), f.typeId]));
  const lineInfo = (ext.lineInfo.get(section.name) ?? [])
    .map(({ insnOff, ...line }) => ({ ...line, instruction: index(insnOff, 'line_info') }))
    .sort((a, b) => a.instruction - b.instruction);
  const coreRelocations = new Map<number, CoreRelocation>();
  for (const r of ext.coreRelocations.get(section.name) ?? []) {
    const i = index(r.insnOff, 'CO-RE');
    if (coreRelocations.has(i)) throw new ObjectError(`BTF.ext has two CO-RE relocations for instruction ${i} of section '${printable(section.name)}'`);
    coreRelocations.set(i, r);
  }
  return { funcInfo, lineInfo, coreRelocations };
}

/** A code section's functions (by their symbols) and what its instructions refer to. */
function codeSection(elf: ElfFile, section: ElfSection, resolve: (symbol: ElfSymbol, offset: bigint) => DataTarget | undefined, ext?: BtfExt): CodeSection {
  const where = `section '${printable(section.name)}'`;
  if (section.type !== SHT_PROGBITS) {
    throw new ObjectError(`${where} is executable but of type ${section.type}, not SHT_PROGBITS: it has no instructions in the file`);
  }
  if (section.size % INSN_SIZE !== 0) throw new ObjectError(`${where} is ${section.size} bytes, not a whole number of ${INSN_SIZE}-byte instructions`);
  const count = section.size / INSN_SIZE;
  const symbols = elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.type === STT_FUNC && s.name !== '')
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const functions: CodeFunction[] = symbols.map((symbol, i) => {
    if (symbol.value % BigInt(INSN_SIZE) !== 0n || symbol.value >= BigInt(section.size)) {
      throw new ObjectError(`function '${printable(symbol.name)}' starts at offset ${symbol.value} of ${where}, not on one of its instructions`);
    }
    const start = Number(symbol.value) / INSN_SIZE;
    const next = symbols[i + 1];
    const end = symbol.size > 0n ? start + Math.floor(Number(symbol.size) / INSN_SIZE) : next ? Number(next.value) / INSN_SIZE : count;
    if (end > count || end <= start || (next && Number(next.value) / INSN_SIZE < end)) {
      throw new ObjectError(`function '${printable(symbol.name)}' (offset ${symbol.value}, size ${symbol.size}) does not fit in ${where} or overlaps the next function`);
    }
    return {
      sectionIndex: section.index,
      sectionName: section.name,
      name: symbol.name,
      start,
      count: end - start,
      global: symbol.bind === STB_GLOBAL || symbol.bind === STB_WEAK,
    };
  });
  const whole: CodeFunction = { sectionIndex: section.index, sectionName: section.name, name: section.name, start: 0, count, global: true };
  return {
    index: section.index,
    name: section.name,
    bytes: elf.sectionData(section),
    functions: functions.length > 0 ? functions : [whole],
    relocations: sectionRelocations(elf, section, resolve),
    ...sectionExt(ext, section, count),
  };
}

/**
 * The functions that are programs: in `.text` only those with a bcc program name (the rest are
 * subprograms, as in libbpf); elsewhere every global function, or the first function when the
 * section has no global one.
 */
function entryFunctions(section: CodeSection): CodeFunction[] {
  if (section.name === '.text') return section.functions.filter((f) => f.global && isBccProgramName(f.name));
  const globals = section.functions.filter((f) => f.global);
  return globals.length > 0 ? globals : section.functions.slice(0, 1);
}

function readCString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? data : data.subarray(0, end));
}
