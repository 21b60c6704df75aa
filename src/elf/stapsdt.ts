// SystemTap SDT notes (.note.stapsdt): each USDT probe site of a binary with its address, semaphore and argument text.
import { ElfError } from '../errors.js';
import { printable } from '../text.js';
import { fileOffsetOfAddress, type ElfFile } from './reader.js';

export const STAPSDT_NOTE_SECTION = '.note.stapsdt';
export const STAPSDT_BASE_SECTION = '.stapsdt.base';
const STAPSDT_NOTE_NAME = 'stapsdt';
const STAPSDT_NOTE_TYPE = 3;

/** One probe site, as the note gives it. */
export interface StapsdtNote {
  provider: string;
  name: string;
  /** The address of the probe's nop, already moved by any prelink offset (.stapsdt.base). */
  address: bigint;
  /** The address of the semaphore, 0n when the probe has none. */
  semaphore: bigint;
  /** The argument text: "-4@%eax 8@-16(%rbp)", one item per argument. */
  arguments: string;
}

/** A probe site placed in the file: where a uprobe goes, and the semaphore's file offset (the kernel's ref_ctr_offset). */
export interface UsdtSite extends StapsdtNote {
  fileOffset: bigint;
  semaphoreFileOffset: bigint;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** The probe sites of a binary's .note.stapsdt (none when it has no such section). */
export function readStapsdtNotes(elf: ElfFile): StapsdtNote[] {
  const section = elf.sectionByName(STAPSDT_NOTE_SECTION);
  if (!section) return [];
  // Prelinked binaries moved their code but not the notes: .stapsdt.base says by how much.
  const baseSection = elf.sectionByName(STAPSDT_BASE_SECTION);
  const notes: StapsdtNote[] = [];
  for (const note of elf.notes(section)) {
    if (note.name !== STAPSDT_NOTE_NAME || note.type !== STAPSDT_NOTE_TYPE) continue;
    const where = `${STAPSDT_NOTE_SECTION} note ${notes.length}`;
    if (note.desc.length < 27) throw new ElfError(`${where}: its descriptor is ${note.desc.length} bytes, too short for three addresses and three names`);
    const view = new DataView(note.desc.buffer, note.desc.byteOffset, note.desc.byteLength);
    let address = view.getBigUint64(0, elf.littleEndian);
    const base = view.getBigUint64(8, elf.littleEndian);
    const semaphore = view.getBigUint64(16, elf.littleEndian);
    if (baseSection && base !== 0n) address += baseSection.addr - base;
    const strings: string[] = [];
    let at = 24;
    for (let i = 0; i < 3; i++) {
      const end = note.desc.indexOf(0, at);
      if (end < 0) throw new ElfError(`${where}: its ${['provider', 'name', 'argument text'][i]} is not NUL-terminated`);
      strings.push(textDecoder.decode(note.desc.subarray(at, end)));
      at = end + 1;
    }
    notes.push({ provider: strings[0]!, name: strings[1]!, address, semaphore, arguments: strings[2]! });
  }
  return notes;
}

/** The sites of one probe, placed in the file by the PT_LOAD segments; refuses an address no segment maps. */
export function placeUsdtSites(elf: ElfFile, notes: readonly StapsdtNote[], path: string): UsdtSite[] {
  return notes.map((note) => {
    const probe = `USDT probe ${printable(note.provider)}:${printable(note.name)} of ${path}`;
    const fileOffset = fileOffsetOfAddress(elf, note.address, true);
    if (fileOffset === undefined) throw new ElfError(`${probe}: its address 0x${note.address.toString(16)} lies in no executable segment`);
    let semaphoreFileOffset = 0n;
    if (note.semaphore !== 0n) {
      const offset = fileOffsetOfAddress(elf, note.semaphore);
      if (offset === undefined) throw new ElfError(`${probe}: its semaphore at 0x${note.semaphore.toString(16)} lies in no segment backed by the file`);
      semaphoreFileOffset = offset;
    }
    return { ...note, fileOffset, semaphoreFileOffset };
  });
}
