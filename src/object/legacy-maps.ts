// The legacy tc-style `maps` section: an array of iproute2's struct bpf_elf_map, one symbol per map.
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/reader.js';
import { STT_SECTION, SHN_LORESERVE } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import type { MapSpec, PinningMode } from './spec.js';

export const LEGACY_MAPS_SECTION = 'maps';
/** struct bpf_elf_map: type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx. */
export const BPF_ELF_MAP_SIZE = 36;
/** The shortest record tc accepts (type, size_key, size_value, max_elem); shorter ones are refused. */
export const BPF_ELF_MAP_MIN_SIZE = 16;

/** The symbols that name maps in the `maps` section, by offset. */
export function legacyMapSymbols(elf: ElfFile, section: ElfSection): ElfSymbol[] {
  return elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.type !== STT_SECTION && s.name !== '' && s.sectionIndex < SHN_LORESERVE)
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/**
 * tc's rule: the record size is the section size divided by the number of map symbols. Bigger
 * than struct bpf_elf_map means a newer layout we cannot read; smaller is zero-padded.
 */
export function legacyMapRecordSize(sectionSize: number, symbolCount: number): number {
  if (symbolCount === 0) {
    throw new ObjectError(`section '${LEGACY_MAPS_SECTION}' has ${sectionSize} bytes but no symbols naming its maps`);
  }
  if (sectionSize % symbolCount !== 0) {
    throw new ObjectError(
      `section '${LEGACY_MAPS_SECTION}' is ${sectionSize} bytes, not a multiple of its ${symbolCount} map symbols: the records have different sizes`,
    );
  }
  const size = sectionSize / symbolCount;
  if (size > BPF_ELF_MAP_SIZE) {
    throw new ObjectError(
      `map records in section '${LEGACY_MAPS_SECTION}' are ${size} bytes, larger than struct bpf_elf_map (${BPF_ELF_MAP_SIZE}): is the object from a newer version?`,
    );
  }
  if (size < BPF_ELF_MAP_MIN_SIZE) {
    throw new ObjectError(
      `map records in section '${LEGACY_MAPS_SECTION}' are ${size} bytes, shorter than the ${BPF_ELF_MAP_MIN_SIZE} bytes of type, key size, value size and max entries`,
    );
  }
  return size;
}

/** Parses the `maps` section into map specs in section order. */
export function parseLegacyMaps(elf: ElfFile, section: ElfSection): { maps: MapSpec[]; recordSize: number } {
  const symbols = legacyMapSymbols(elf, section);
  const recordSize = legacyMapRecordSize(section.size, symbols.length);
  const data = elf.sectionData(section);
  if (data.length !== section.size) {
    throw new ObjectError(`section '${LEGACY_MAPS_SECTION}' has no contents in the file (is it SHT_NOBITS?)`);
  }
  const seenOffsets = new Map<bigint, string>();
  const maps = symbols.map((symbol) => {
    if (symbol.value % BigInt(recordSize) !== 0n || symbol.value >= BigInt(section.size)) {
      throw new ObjectError(
        `map symbol '${printable(symbol.name)}' is at offset ${symbol.value} of section '${LEGACY_MAPS_SECTION}', not at the start of a ${recordSize}-byte record`,
      );
    }
    const other = seenOffsets.get(symbol.value);
    if (other !== undefined) {
      throw new ObjectError(`map symbols '${printable(other)}' and '${printable(symbol.name)}' name the same record in section '${LEGACY_MAPS_SECTION}'`);
    }
    seenOffsets.set(symbol.value, symbol.name);
    // Zero-pad a short record to the full struct, as tc does.
    const record = new Uint8Array(BPF_ELF_MAP_SIZE);
    const start = Number(symbol.value);
    record.set(data.subarray(start, start + recordSize));
    const view = new DataView(record.buffer);
    const field = (index: number): number => view.getUint32(index * 4, elf.littleEndian);
    const pinning = field(6);
    if (pinning > 2) {
      throw new ObjectError(
        `map '${printable(symbol.name)}' has pinning ${pinning}; supported are 0 (none), 1 (/sys/fs/bpf/<name>) and 2 (/sys/fs/bpf/tc/globals/<name>)`,
      );
    }
    const spec: MapSpec = {
      name: symbol.name,
      type: field(0),
      keySize: field(1),
      valueSize: field(2),
      maxEntries: field(3),
      flags: field(4),
      pinning: pinning as PinningMode,
      legacy: { id: field(5), innerId: field(7), innerIndex: field(8) },
    };
    return spec;
  });
  return { maps, recordSize };
}
