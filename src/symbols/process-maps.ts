// A process's executable mappings from /proc/PID/maps, captured once, and which path opens each mapped file.
import { readFileSync, statSync } from 'node:fs';
import { kernelError, nodeErrno } from '../errors.js';
import { lastAtOrBelow } from './address-table.js';

/** One executable mapping (a line of /proc/PID/maps with x in its permissions). */
export interface Mapping {
  /** The first byte's address. */
  readonly start: bigint;
  /** One past the last byte. */
  readonly end: bigint;
  /** Offset in the file of the mapping's first byte. */
  readonly offset: bigint;
  /** As the maps file shows them: "r-xp". */
  readonly permissions: string;
  /** The file's device, "major:minor" in hex as the maps file shows it ("fe:01"). */
  readonly device: string;
  /** The file's inode number (0 for anonymous memory). */
  readonly inode: bigint;
  /** The file's path; or a pseudo name ("[vdso]", "[anon:name]"), or "" for anonymous memory. */
  readonly name: string;
  /** Whether `name` is a path (rather than a pseudo name or anonymous memory). */
  readonly file: boolean;
  /** The kernel marked the path " (deleted)": the file was removed or replaced since it was mapped. */
  readonly deleted: boolean;
  /** The path to read the mapped file through, chosen when captured; undefined when none works. */
  readonly source?: string;
  /** `source` is under /proc/PID, so it goes away with the process. */
  readonly transient: boolean;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) *(.*)$/;
const DELETED = ' (deleted)';

/** The executable mappings of maps text, in address order; other lines and malformed ones are left out. */
export function parseMaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m || m[3]![2] !== 'x') continue;
    let name = m[7]!;
    const deleted = name.startsWith('/') && name.endsWith(DELETED);
    if (deleted) name = name.slice(0, -DELETED.length);
    mappings.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      offset: BigInt(`0x${m[4]}`),
      permissions: m[3]!,
      device: m[5]!,
      inode: BigInt(m[6]!),
      name,
      file: name.startsWith('/'),
      deleted,
      transient: false,
    });
  }
  return mappings.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** Where a runtime address lies in the mapped file. */
export function fileOffset(mapping: Mapping, address: bigint): bigint {
  return address - mapping.start + mapping.offset;
}

/** A snapshot of a process's executable mappings, which outlives the process. */
export class ProcessMaps {
  private readonly starts: bigint[];

  /** @internal Made by capture() and fromText(), from parsed maps lines. */
  constructor(
    /** In address order, as parseMaps gives them. */
    readonly mappings: readonly Mapping[],
    /** The process they were captured from, if any. */
    readonly pid?: number,
  ) {
    this.starts = mappings.map((m) => m.start);
  }

  /**
   * Reads /proc/PID/maps now and chooses how to open each mapped file while the process is there
   * to ask. Undefined when the process is gone, or has no memory (a zombie, a kernel thread).
   * Other failures (not allowed to read it) are thrown as KernelError.
   */
  static capture(pid: number, procRoot = '/proc'): ProcessMaps | undefined {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
    } catch (error) {
      const errno = nodeErrno(error);
      if (errno === 2 /* ENOENT */ || errno === 3 /* ESRCH */) return undefined;
      throw kernelError(`reading ${procRoot}/${pid}/maps`, error);
    }
    if (text === '') return undefined;
    return ProcessMaps.fromText(text, pid, procRoot);
  }

  /**
   * Maps text as captured (or written by a test). With a pid, each mapped file is opened, in
   * this order, through: its path, if that is still the mapped file (same device and inode);
   * /proc/PID/root/PATH, for a process in another mount namespace or chroot; /proc/PID/map_files/
   * START-END, the mapped file itself even when deleted (root only); else its path, as a guess, as
   * file systems like overlayfs report the numbers of a layer and so match nothing. Without a
   * pid: its path, unless deleted.
   */
  static fromText(text: string, pid?: number, procRoot = '/proc'): ProcessMaps {
    const mappings = parseMaps(text).map((m) => (m.file ? withSource(m, pid, procRoot) : m));
    return new ProcessMaps(mappings, pid);
  }

  /** The mapping holding an address. */
  find(address: bigint): Mapping | undefined {
    const starts = this.starts;
    const found = lastAtOrBelow(starts.length, (i) => starts[i]! <= address);
    const mapping = found >= 0 ? this.mappings[found] : undefined;
    return mapping && address < mapping.end ? mapping : undefined;
  }
}

function withSource(mapping: Mapping, pid: number | undefined, procRoot: string): Mapping {
  if (pid === undefined) return mapping.deleted ? mapping : { ...mapping, source: mapping.name };
  const processDir = `${procRoot}/${pid}`;
  const candidates = mapping.deleted ? [] : [mapping.name, `${processDir}/root${mapping.name}`];
  candidates.push(`${processDir}/map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
  const source = candidates.find((path) => isMappedFile(path, mapping));
  if (source !== undefined) return { ...mapping, source, transient: source.startsWith(`${processDir}/`) };
  return mapping.deleted ? mapping : { ...mapping, source: mapping.name };
}

/** Whether a path is the file a mapping maps: the same device and inode. */
function isMappedFile(path: string, mapping: Mapping): boolean {
  let stats;
  try {
    stats = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return false; // not allowed (map_files needs root), or the process is gone
  }
  if (!stats || stats.ino !== mapping.inode) return false;
  const [major, minor] = mapping.device.split(':').map((n) => BigInt(`0x${n}`));
  // st_dev in glibc's encoding (gnu_dev_major, gnu_dev_minor).
  const dev = stats.dev;
  return (((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)) === major && ((dev & 0xffn) | ((dev >> 12n) & ~0xffn)) === minor;
}
