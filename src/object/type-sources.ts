// Type sources: where the types of an object's records can come from (its BTF, its DWARF, a tool's header or an ELF given with --types), each made into BTF for the one decoder.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseBtf, type Btf } from '../btf/btf.js';
import { readCHeader } from '../ctypes/header.js';
import { readDwarfTypes } from '../dwarf/reader.js';
import { readElf, type ElfFile } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { kernelOnlyStructs, type TypeSource } from './record-types.js';
import type { BpfObjectSpec } from './spec.js';

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** An ELF's own BTF (.BTF) and its DWARF as sources, named after `what`. */
function elfSources(elf: ElfFile, what: string): TypeSource[] {
  const sources: TypeSource[] = [];
  const section = elf.sectionByName('.BTF');
  if (section) sources.push({ name: `${what}'s BTF`, btf: parseBtf(elf.sectionData(section), elf.littleEndian) });
  const dwarf = readDwarfTypes(elf);
  if (dwarf) sources.push({ name: `${what}'s DWARF`, btf: dwarf });
  return sources;
}

/** A file of record types: an ELF (its BTF and DWARF) or a C header; `base` types names a header uses without declaring. */
export function typeSourcesOfFile(path: string, base: Btf | undefined, littleEndian: boolean): TypeSource[] {
  let head: Buffer;
  try {
    head = readFileSync(path).subarray(0, 4);
  } catch (error) {
    throw new ObjectError((n) => `${n('types', path)}: cannot read it: ${(error as Error).message}`);
  }
  if (ELF_MAGIC.every((b, i) => head[i] === b)) {
    const sources = elfSources(readElf(readFileSync(path)), basename(path));
    if (sources.length === 0) throw new ObjectError((n) => `${n('types', path)}: the ELF has neither BTF nor DWARF (build it with -g, or give the tool's header)`);
    return sources;
  }
  return [{ name: basename(path), btf: readCHeader(path, { ...(base ? { base } : {}), littleEndian }) }];
}

/**
 * Every source of the object's record types, in the order they are searched: the object's BTF,
 * its DWARF (objects built with -g and not stripped), then the --types files.
 */
export function objectTypeSources(objectBytes: Uint8Array, spec: Pick<BpfObjectSpec, 'btf' | 'programs'>, typesFiles: readonly string[]): TypeSource[] {
  const elf = readElf(objectBytes);
  const objectBtf = spec.btf;
  // The kernel's structs its programs read through CO-RE are in its BTF and DWARF alike: no record is one.
  const kernelStructs = objectBtf ? kernelOnlyStructs(objectBtf, spec.programs.flatMap((p) => p.coreRelocations.map((c) => c.relocation.typeId))) : undefined;
  const known = kernelStructs && kernelStructs.size > 0 ? { kernelStructs } : {};
  const sources: TypeSource[] = objectBtf ? [{ name: "the object's BTF", btf: objectBtf, ...known }] : [];
  const dwarf = readDwarfTypes(elf);
  if (dwarf) sources.push({ name: "the object's DWARF", btf: dwarf, ...known });
  for (const file of typesFiles) sources.push(...typeSourcesOfFile(file, objectBtf, elf.littleEndian));
  return sources;
}
