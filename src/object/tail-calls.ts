// Program-array slots an object fills at load: iproute2's `ID/KEY` sections, libbpf's `.maps` `values` initialisers, and the kernel samples loader's `kprobe/N` sections.
import { MAP_TYPE, PROG_TYPE } from '../abi.js';
import { STT_FUNC, type ElfFile, type ElfSection } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import type { BtfMapDefinition } from './btf-maps.js';
import { isWeakRole } from './conventions.js';
import type { MapSpec, ProgramSpec } from './spec.js';

/** A slot of a program array (BPF_MAP_TYPE_PROG_ARRAY) that holds one of the object's programs once loaded. */
export interface ProgramSlot {
  /** The program array's name. */
  map: string;
  /** The slot (key) in it. */
  index: number;
  /** The name of the program that goes there. */
  program: string;
}

/** Pointers in a `values` initialiser are 8 bytes in a BPF object. */
const POINTER_SIZE = 8;

/** iproute2's __section_tail(ID, KEY): "ID/KEY", the map chosen by the `id` field of struct bpf_elf_map. */
const IPROUTE2_TAIL = /^(\d+)\/(\d+)$/;
/** The samples loader (bpf_load.c): "kprobe/N" and "kretprobe/N" go into the object's program array at N. */
const SAMPLES_TAIL = /^k(?:ret)?probe\/(\d+)$/;

/** Whether a section holds a program reached by tail call under a naming convention (its role is then 'load-only'). */
function isTailCallSection(section: string): boolean {
  return IPROUTE2_TAIL.test(section) || SAMPLES_TAIL.test(section);
}

function slotIndex(text: string, map: MapSpec, where: string): number {
  const index = Number(text);
  if (!Number.isSafeInteger(index) || index >= map.maxEntries) {
    throw new ObjectError(`${where}: slot ${text} is outside program array '${printable(map.name)}', which has ${map.maxEntries} slots`);
  }
  return index;
}

function requireProgramArray(map: MapSpec, where: string): void {
  if (map.type !== MAP_TYPE.PROG_ARRAY) throw new ObjectError(`${where}: map '${printable(map.name)}' is not a program array (BPF_MAP_TYPE_PROG_ARRAY)`);
}

/** The slots named by section names: iproute2's "ID/KEY" and the samples loader's "kprobe/N". */
function slotsFromSections(maps: readonly MapSpec[], programs: readonly ProgramSpec[]): ProgramSlot[] {
  const slots: ProgramSlot[] = [];
  const programArrays = maps.filter((m) => m.type === MAP_TYPE.PROG_ARRAY);
  for (const program of programs) {
    const where = `program '${printable(program.name)}' in section '${printable(program.section)}'`;
    const iproute2 = IPROUTE2_TAIL.exec(program.section);
    if (iproute2) {
      const id = Number(iproute2[1]);
      const map = maps.find((m) => m.legacy?.id === id);
      if (!map) throw new ObjectError(`${where} is a tail call into the map with id ${id}, but no map in section 'maps' has that id`);
      requireProgramArray(map, where);
      slots.push({ map: map.name, index: slotIndex(iproute2[2]!, map, where), program: program.name });
      continue;
    }
    const samples = SAMPLES_TAIL.exec(program.section);
    if (samples) {
      if (programArrays.length !== 1) {
        throw new ObjectError(
          `${where} goes into the object's program array at slot ${samples[1]}, but the object has ${programArrays.length === 0 ? 'none' : `${programArrays.length} (${programArrays.map((m) => `'${printable(m.name)}'`).join(', ')})`}`,
        );
      }
      slots.push({ map: programArrays[0]!.name, index: slotIndex(samples[1]!, programArrays[0]!, where), program: program.name });
    }
  }
  return slots;
}

/** libbpf's `values = { [3] = &prog }`: relocations in `.maps` at a program array's `values` member name the programs. */
function slotsFromInitialisers(elf: ElfFile, mapsSection: ElfSection, definitions: readonly BtfMapDefinition[], programs: readonly ProgramSpec[]): ProgramSlot[] {
  const slots: ProgramSlot[] = [];
  for (const relSection of elf.relocationSectionsFor(mapsSection)) {
    for (const rel of elf.relocations(relSection)) {
      const definition = definitions.find((d) => rel.offset >= d.offset && rel.offset < d.offset + BigInt(d.size));
      const symbol = elf.symbols[rel.symbolIndex];
      const what = `relocation at offset ${rel.offset} of section '${printable(mapsSection.name)}'`;
      if (!definition) throw new ObjectError(`${what} is in no map definition`);
      const map = `map '${printable(definition.spec.name)}'`;
      const within = Number(rel.offset - definition.offset) - (definition.valuesOffset ?? 0);
      if (definition.valuesOffset === undefined || within < 0) throw new ObjectError(`${what} is in ${map} outside a 'values' initialiser`);
      if (within % POINTER_SIZE !== 0) throw new ObjectError(`${what} is not on a slot of ${map}'s 'values'`);
      const index = within / POINTER_SIZE;
      if (!symbol || symbol.type !== STT_FUNC) {
        throw new ObjectError(`slot ${index} of ${map} is initialised with '${printable(symbol?.name ?? '?')}', which is not a function`);
      }
      const program = programs.find((p) => p.name === symbol.name);
      if (!program) throw new ObjectError(`slot ${index} of ${map} is initialised with '${printable(symbol.name)}', which is not a program of the object (is it in .text?)`);
      if (index >= definition.spec.maxEntries) {
        throw new ObjectError(`slot ${index} of ${map} is outside the program array, which has ${definition.spec.maxEntries} slots`);
      }
      slots.push({ map: definition.spec.name, index, program: program.name });
    }
  }
  return slots;
}

/**
 * Programs reached by tail call through a naming convention are loaded only, never attached. An
 * iproute2 "ID/KEY" section says nothing of its type, which must be that of the programs calling
 * through the same map (the kernel refuses a program array mixing types): it is taken from them.
 */
function tailCallPrograms(programs: readonly ProgramSpec[], slots: readonly ProgramSlot[]): ProgramSpec[] {
  return programs.map((program) => {
    const slot = slots.find((s) => s.program === program.name);
    if (!slot) return program;
    const why = `reached by tail call through ${slot.map}[${slot.index}]`;
    if (!isTailCallSection(program.section) && !isWeakRole(program.role)) return program;
    let programType = program.programType;
    if (IPROUTE2_TAIL.test(program.section)) {
      const callers = programs.filter((p) => !IPROUTE2_TAIL.test(p.section) && p.programType !== 0 && p.mapReferences.some((r) => r.map === slot.map));
      const types = [...new Set(callers.map((p) => p.programType))];
      if (types.length > 1) {
        throw new ObjectError(`program '${printable(program.name)}' (section '${program.section}') is ${why}, whose callers have different program types: ${callers.map((p) => `'${printable(p.name)}'`).join(', ')}`);
      }
      // No typed caller: the legacy layout's default, as its `prog` section.
      programType = types[0] ?? PROG_TYPE.KPROBE;
    }
    return { ...program, programType, role: { kind: 'load-only', why } };
  });
}

/** The object's program-array slots, and its programs with the tail-call targets among them marked as such. */
export function programSlots(
  elf: ElfFile,
  maps: readonly MapSpec[],
  programs: readonly ProgramSpec[],
  btfMaps: { section: ElfSection; definitions: readonly BtfMapDefinition[] } | undefined,
): { slots: ProgramSlot[]; programs: ProgramSpec[] } {
  const slots = [...slotsFromSections(maps, programs), ...(btfMaps ? slotsFromInitialisers(elf, btfMaps.section, btfMaps.definitions, programs) : [])];
  const seen = new Map<string, string>();
  for (const slot of slots) {
    const key = `${slot.map}[${slot.index}]`;
    const other = seen.get(key);
    if (other !== undefined) throw new ObjectError(`programs '${printable(other)}' and '${printable(slot.program)}' both go into ${printable(key)}`);
    seen.set(key, slot.program);
  }
  return { slots, programs: tailCallPrograms(programs, slots) };
}
