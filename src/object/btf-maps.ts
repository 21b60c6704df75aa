// libbpf-style BTF-defined maps: `struct { __uint(type, ...); __type(key, ...); ... } name SEC(".maps")`.
// The section's bytes are not read: the map definition is all in the BTF type of the variable
// (integers are array lengths: `int (*max_entries)[N]`), described by the DATASEC ".maps" of .BTF.
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/reader.js';
import { STT_OBJECT, STT_SECTION } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { BTF_KIND, BTF_LINKAGE, btfKindName, btfLinkageName, parseBtf, type Btf, type BtfComposite, type BtfMember } from '../btf/btf.js';
import { MAP_TYPE, mapTypeName } from './map-types.js';
import type { MapSpec, PinningMode } from './spec.js';

export const BTF_MAPS_SECTION = '.maps';
export const BTF_SECTION = '.BTF';
/** libbpf's enum libbpf_pin_type. */
export const LIBBPF_PIN_NONE = 0;
export const LIBBPF_PIN_BY_NAME = 1;

/** The members libbpf knows in a map definition (`values`: a program array's initial slots; refused for map-in-map). */
export const BTF_MAP_MEMBERS = [
  'type',
  'key',
  'value',
  'key_size',
  'value_size',
  'max_entries',
  'map_flags',
  'numa_node',
  'pinning',
  'map_extra',
  'values',
] as const;

export interface BtfMapDefinition {
  spec: MapSpec;
  /** The variable's offset inside `.maps`: relocations against the map's symbol point here. */
  offset: bigint;
  /** The variable's size in `.maps`: its initialised `values` slots end here. */
  size: number;
  /** A program array's `values` member: its byte offset in the definition (relocations there name programs). */
  valuesOffset?: number;
}

/**
 * Parses the maps of a `.maps` section from the object's .BTF, in section (offset) order, as
 * libbpf does: each variable of the DATASEC ".maps" is a map named after the variable.
 */
export function parseBtfMaps(elf: ElfFile, mapsSection: ElfSection): BtfMapDefinition[] {
  const btfSection = elf.sectionByName(BTF_SECTION);
  if (!btfSection) {
    throw new ObjectError(
      `section '${printable(mapsSection.name)}' holds BTF-defined maps, but the object has no '${BTF_SECTION}' section to describe them: compile with clang -g`,
    );
  }
  const data = elf.sectionData(btfSection);
  if (data.length !== btfSection.size || data.length === 0) {
    throw new ObjectError(`section '${BTF_SECTION}' has no contents in the file (section type ${btfSection.type}, ${btfSection.size} bytes)`);
  }
  return btfMapDefinitions(parseBtf(data, elf.littleEndian), elf, mapsSection);
}

/** parseBtfMaps with the BTF already parsed (when the caller needs it for other things too). */
export function btfMapDefinitions(btf: Btf, elf: ElfFile, mapsSection: ElfSection): BtfMapDefinition[] {
  const sectionName = printable(mapsSection.name);
  if (elf.sectionData(mapsSection).length !== mapsSection.size) {
    throw new ObjectError(`section '${sectionName}' has no contents in the file (section type ${mapsSection.type})`);
  }
  const datasec = btf.datasec(mapsSection.name);
  if (!datasec) {
    throw new ObjectError(`the object's BTF has no DATASEC '${sectionName}' describing the maps in section '${sectionName}'`);
  }
  // clang writes DATASEC size 0 and every variable at offset 0; libbpf then takes the offsets from
  // the symbols. A linked object (bpftool gen object) has them filled in: then they must agree.
  const offsetsFromSymbols = datasec.size === 0;
  const symbols = elf.symbols.filter((s) => s.sectionIndex === mapsSection.index && s.type !== STT_SECTION && s.name !== '');
  const described = new Set<ElfSymbol>();
  const seenNames = new Set<string>();
  const maps: BtfMapDefinition[] = [];
  const sizes = new Map<BtfMapDefinition, number>();

  datasec.vars.forEach((entry, index) => {
    const variable = btf.type(entry.type);
    if (variable.kind !== BTF_KIND.VAR) {
      throw new ObjectError(`DATASEC '${sectionName}' entry ${index} is BTF ${btf.describe(entry.type)}, not a variable`);
    }
    const name = variable.name;
    const map = `map '${printable(name)}'`;
    if (name === '') throw new ObjectError(`DATASEC '${sectionName}' entry ${index} (BTF ${btf.describe(entry.type)}) has no name`);
    if (seenNames.has(name)) throw new ObjectError(`${map} is described twice in DATASEC '${sectionName}'`);
    seenNames.add(name);
    if (variable.linkage !== BTF_LINKAGE.GLOBAL) {
      // "static linkage", "extern linkage", or "linkage 7" for values BTF does not define.
      const linkage = variable.linkage <= BTF_LINKAGE.EXTERN ? `${btfLinkageName(variable.linkage)} linkage` : btfLinkageName(variable.linkage);
      const hint = variable.linkage === BTF_LINKAGE.STATIC ? ' (remove "static")' : '';
      throw new ObjectError(`${map} has ${linkage}; like libbpf, only global maps are supported${hint}`);
    }
    const definition = btf.resolveType(variable.type);
    if (!definition || definition.kind !== BTF_KIND.STRUCT) {
      throw new ObjectError(`${map}: its type is BTF ${btf.describe(btf.resolve(variable.type))}, not a struct of __uint()/__type() members`);
    }
    if (definition.size > entry.size) {
      throw new ObjectError(`${map}: its definition (${btf.describe(definition.id)}) is ${definition.size} bytes, more than the variable's ${entry.size}`);
    }

    const matching = symbols.filter((s) => s.name === name);
    if (matching.length === 0) {
      throw new ObjectError(`${map} has no symbol in section '${sectionName}' (symbols there: ${symbols.map((s) => `'${printable(s.name)}'`).join(', ') || 'none'})`);
    }
    if (matching.length > 1) throw new ObjectError(`${map} has ${matching.length} symbols in section '${sectionName}'`);
    const symbol = matching[0]!;
    described.add(symbol);
    if (symbol.type !== STT_OBJECT) {
      throw new ObjectError(`${map}: its symbol (index ${symbol.index}) has type ${symbol.type}, expected ${STT_OBJECT} (STT_OBJECT)`);
    }
    if (!offsetsFromSymbols && symbol.value !== BigInt(entry.offset)) {
      throw new ObjectError(`${map}: BTF puts it at offset ${entry.offset} of section '${sectionName}', but its symbol is at offset ${symbol.value}`);
    }
    if (symbol.size !== BigInt(entry.size)) {
      throw new ObjectError(`${map}: BTF says it is ${entry.size} bytes, but its symbol says ${symbol.size}`);
    }
    const offset = symbol.value;
    if (offset + BigInt(entry.size) > BigInt(mapsSection.size)) {
      throw new ObjectError(`${map}: ${entry.size} bytes at offset ${offset} run past the end of section '${sectionName}' (${mapsSection.size} bytes)`);
    }
    const result = { ...mapSpec(btf, name, definition), offset, size: entry.size };
    maps.push(result);
    sizes.set(result, entry.size);
  });

  const undescribed = symbols.filter((s) => s.type === STT_OBJECT && !described.has(s));
  if (undescribed.length > 0) {
    throw new ObjectError(
      `symbol '${printable(undescribed[0]!.name)}' in section '${sectionName}' is not a map of DATASEC '${sectionName}' in the BTF`,
    );
  }
  maps.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (let i = 1; i < maps.length; i++) {
    const previous = maps[i - 1]!;
    const current = maps[i]!;
    const size = sizes.get(previous)!;
    if (current.offset < previous.offset + BigInt(size)) {
      const first = `'${printable(previous.spec.name)}' (offset ${previous.offset}, ${size} bytes)`;
      throw new ObjectError(`maps ${first} and '${printable(current.spec.name)}' (offset ${current.offset}) overlap in section '${sectionName}'`);
    }
  }
  return maps;
}

/** The MapSpec a definition struct describes, following libbpf's parse_btf_map_def. */
function mapSpec(btf: Btf, name: string, definition: BtfComposite): { spec: MapSpec; valuesOffset?: number } {
  const map = `map '${printable(name)}'`;
  const fields = new Map<string, number>();
  let mapExtra = 0n;
  let keyType: number | undefined;
  let valueType: number | undefined;
  const typeIds = { key: 0, value: 0 };
  let valuesOffset: number | undefined;

  const integer = (member: BtfMember): number => {
    const what = `${map}: member '${member.name}'`;
    const pointer = btf.resolveType(member.type);
    if (!pointer || pointer.kind !== BTF_KIND.PTR) {
      throw new ObjectError(`${what} is BTF ${btf.describe(btf.resolve(member.type))}, expected a pointer to an array as __uint(${member.name}, N) declares`);
    }
    const array = pointer.type === 0 ? undefined : btf.type(pointer.type);
    if (!array || array.kind !== BTF_KIND.ARRAY) {
      throw new ObjectError(`${what} points to BTF ${btf.describe(pointer.type)}, expected an array whose length is the value`);
    }
    return array.nelems;
  };
  /** __type(key, T): a pointer to T, whose size is the key size. */
  const typeSize = (member: BtfMember): number => {
    const what = `${map}: member '${member.name}'`;
    const pointer = member.type === 0 ? undefined : btf.type(member.type);
    if (!pointer || pointer.kind !== BTF_KIND.PTR) {
      throw new ObjectError(`${what} is BTF ${btf.describe(member.type)}, expected a pointer to the ${member.name} type as __type(${member.name}, T) declares`);
    }
    try {
      const size = btf.sizeOf(pointer.type);
      typeIds[member.name as 'key' | 'value'] = pointer.type;
      return size;
    } catch (error) {
      if (error instanceof ObjectError) throw new ObjectError(`${what}: cannot tell the ${member.name} size: ${error.message}`);
      throw error;
    }
  };

  definition.members.forEach((member, index) => {
    if (member.name === '') throw new ObjectError(`${map}: member ${index} of its definition has no name`);
    if (fields.has(member.name) || (member.name === 'key' && keyType !== undefined) || (member.name === 'value' && valueType !== undefined)) {
      throw new ObjectError(`${map}: member '${printable(member.name)}' appears twice`);
    }
    switch (member.name) {
      case 'type':
      case 'max_entries':
      case 'map_flags':
      case 'numa_node':
      case 'key_size':
      case 'value_size':
      case 'pinning':
        fields.set(member.name, integer(member));
        break;
      case 'map_extra':
        fields.set(member.name, 0);
        mapExtra = mapExtraValue(btf, map, member, integer);
        break;
      case 'key':
        keyType = typeSize(member);
        break;
      case 'value':
        valueType = typeSize(member);
        break;
      case 'values':
        if (index !== definition.members.length - 1) throw new ObjectError(`${map}: member 'values' must be the last one`);
        valuesOffset = valuesMemberOffset(btf, map, member, definition.kindFlag);
        break;
      default:
        throw new ObjectError(`${map}: unknown member '${printable(member.name)}' in its definition (known: ${BTF_MAP_MEMBERS.join(', ')})`);
    }
  });

  const type = fields.get('type') ?? 0;
  if (type === 0) throw new ObjectError(`${map}: the map type is not specified (no __uint(type, ...) member)`);
  const kind = `${map} (${mapTypeName(type)})`;
  if (type === MAP_TYPE.ARRAY_OF_MAPS || type === MAP_TYPE.HASH_OF_MAPS) {
    throw new ObjectError(
      valuesOffset !== undefined
        ? `${kind}: inner map definitions (member 'values') are not supported: map-in-map needs an inner map this loader cannot create`
        : `${kind}: map-in-map is not supported (it needs an inner map this loader cannot create)`,
    );
  }
  if (valuesOffset !== undefined && type !== MAP_TYPE.PROG_ARRAY) {
    throw new ObjectError(`${kind}: member 'values' is only for map-in-map and program-array maps`);
  }
  const pinning = fields.get('pinning') ?? LIBBPF_PIN_NONE;
  if (pinning !== LIBBPF_PIN_NONE && pinning !== LIBBPF_PIN_BY_NAME) {
    throw new ObjectError(`${map}: pinning ${pinning} is not valid; libbpf knows 0 (LIBBPF_PIN_NONE) and 1 (LIBBPF_PIN_BY_NAME)`);
  }
  const numaNode = fields.get('numa_node') ?? 0;
  if (numaNode !== 0) throw new ObjectError(`${map}: numa_node ${numaNode} is not supported (maps are created without a NUMA node)`);
  if (mapExtra !== 0n) throw new ObjectError(`${map}: map_extra ${mapExtra} is not supported (maps are created without map_extra)`);

  const size = (what: 'key' | 'value', declared: number | undefined, fromType: number | undefined): number => {
    // As libbpf: a zero size counts as not given; two non-zero sizes must agree.
    if (declared && fromType && declared !== fromType) {
      throw new ObjectError(`${map}: ${what}_size is ${declared} but the ${what} type is ${fromType} bytes`);
    }
    // A perf event array's values are fds, and so are a program array's slots when `values` says them.
    const fdSized = type === MAP_TYPE.PERF_EVENT_ARRAY || (what === 'value' && valuesOffset !== undefined);
    return declared || fromType || (fdSized ? 4 : 0);
  };
  const spec: MapSpec = {
    name,
    type,
    keySize: size('key', fields.get('key_size'), keyType),
    valueSize: size('value', fields.get('value_size'), valueType),
    maxEntries: fields.get('max_entries') ?? 0,
    flags: fields.get('map_flags') ?? 0,
    pinning: pinning as PinningMode,
    ...(typeIds.key || typeIds.value ? { btf: { keyTypeId: typeIds.key, valueTypeId: typeIds.value } } : {}),
  };
  return valuesOffset === undefined ? { spec } : { spec, valuesOffset };
}

/** `void *values[]` (or `int (*values[])(void *)`): an array of pointers, byte-aligned; its byte offset. */
function valuesMemberOffset(btf: Btf, map: string, member: BtfMember, kindFlag: boolean): number {
  const array = btf.resolveType(member.type);
  const element = array?.kind === BTF_KIND.ARRAY ? btf.resolveType(array.type) : undefined;
  if (!array || array.kind !== BTF_KIND.ARRAY || !element || element.kind !== BTF_KIND.PTR) {
    throw new ObjectError(`${map}: member 'values' is BTF ${btf.describe(btf.resolve(member.type))}, expected an array of pointers (void *values[])`);
  }
  const bits = kindFlag ? member.offset & 0xffffff : member.offset;
  if (bits % 64 !== 0) throw new ObjectError(`${map}: member 'values' is at bit ${bits}, not on a pointer boundary`);
  return bits / 8;
}

/** map_extra is __uint(map_extra, N) or, for 64-bit values, __ulong: an enum with one enumerator. */
function mapExtraValue(btf: Btf, map: string, member: BtfMember, integer: (member: BtfMember) => number): bigint {
  const resolved = btf.resolveType(member.type);
  if (resolved?.kind === BTF_KIND.ENUM || resolved?.kind === BTF_KIND.ENUM64) {
    if (resolved.values.length !== 1) {
      throw new ObjectError(`${map}: member 'map_extra' is an ${btfKindName(resolved.kind)} with ${resolved.values.length} values, expected one (__ulong)`);
    }
    return BigInt.asUintN(64, resolved.values[0]!.value);
  }
  return BigInt(integer(member));
}
