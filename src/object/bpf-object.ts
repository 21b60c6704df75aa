// Parses a BPF ELF object into a BpfObjectSpec: programs, maps, license, with every reference checked.
import { EM_BPF, EM_NONE, ET_REL, SHF_EXECINSTR, SHT_PROGBITS, STT_FUNC, readElf, type ElfFile, type ElfSection } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import { INSN_SIZE } from './instructions.js';
import { LEGACY_MAPS_SECTION, parseLegacyMaps } from './legacy-maps.js';
import { collectMapReferences } from './relocations.js';
import type { BpfObjectSpec, MapSpec, ProgramSpec } from './spec.js';

/** Sections that hold code but are not programs of their own. */
const NOT_PROGRAMS = new Set(['.text']);

export function parseBpfObject(bytes: Uint8Array): BpfObjectSpec {
  const elf = readElf(bytes);
  if (elf.type !== ET_REL) throw new ObjectError(`not a BPF object: ELF type ${elf.type}, expected ${ET_REL} (relocatable, as clang -c produces)`);
  if (elf.machine !== EM_BPF && elf.machine !== EM_NONE) {
    throw new ObjectError(`not a BPF object: ELF machine ${elf.machine}, expected ${EM_BPF} (BPF); was it compiled with -target bpf?`);
  }
  const notices: string[] = [];

  const licenseSection = elf.sectionByName('license');
  let license = 'GPL';
  if (licenseSection) {
    license = readCString(elf.sectionData(licenseSection));
    if (license === '') throw new ObjectError(`section 'license' is empty`);
  } else {
    notices.push(`object has no 'license' section: loading it as "GPL"`);
  }

  let kernelVersion: number | undefined;
  const versionSection = elf.sectionByName('version');
  if (versionSection) {
    const data = elf.sectionData(versionSection);
    if (versionSection.size !== 4) throw new ObjectError(`section 'version' is ${versionSection.size} bytes, expected 4`);
    if (data.length !== 4) throw new ObjectError(`section 'version' has no contents in the file (section type ${versionSection.type})`);
    kernelVersion = new DataView(data.slice().buffer).getUint32(0, elf.littleEndian);
  }

  const mapsSection = elf.sectionByName(LEGACY_MAPS_SECTION);
  const legacy = mapsSection && mapsSection.size > 0 ? parseLegacyMaps(elf, mapsSection) : undefined;
  const maps: MapSpec[] = legacy?.maps ?? [];
  const mapAt = (sectionIndex: number, offset: bigint): string | undefined => {
    if (!legacy || sectionIndex !== mapsSection!.index || offset % BigInt(legacy.recordSize) !== 0n) return undefined;
    return maps[Number(offset / BigInt(legacy.recordSize))]?.name;
  };

  const programs = elf.sections
    .filter((s) => (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0 && !NOT_PROGRAMS.has(s.name))
    .map((section) => parseProgram(elf, section, mapAt));

  const text = elf.sectionByName('.text');
  if (text && text.size > 0 && programs.length === 0) {
    throw new ObjectError(`the object's code is all in '.text'; put each program in its own section (e.g. SEC("prog"))`);
  }
  if (programs.length === 0) throw new ObjectError('the object has no program: no executable section with code');

  return { littleEndian: elf.littleEndian, license, licenseFromObject: licenseSection !== undefined, kernelVersion, maps, programs, notices };
}

function parseProgram(elf: ElfFile, section: ElfSection, mapAt: (sectionIndex: number, offset: bigint) => string | undefined): ProgramSpec {
  if (section.type !== SHT_PROGBITS) {
    throw new ObjectError(`section '${printable(section.name)}' is executable but of type ${section.type}, not SHT_PROGBITS: it has no instructions in the file`);
  }
  if (section.size % INSN_SIZE !== 0) {
    throw new ObjectError(`section '${printable(section.name)}' is ${section.size} bytes, not a whole number of ${INSN_SIZE}-byte instructions`);
  }
  const entry = elf.symbols.find((s) => s.sectionIndex === section.index && s.type === STT_FUNC && s.value === 0n && s.name !== '');
  return {
    name: entry?.name ?? section.name,
    section: section.name,
    instructions: elf.sectionData(section).slice(),
    mapReferences: collectMapReferences(elf, section, mapAt),
  };
}

function readCString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? data : data.subarray(0, end));
}
