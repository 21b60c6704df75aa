// The dynamic linker's cache (/etc/ld.so.cache): which file a library name like 'libc.so.6' or 'libc' is on this machine.
import { endianness } from 'node:os';

const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const OLD_MAGIC = 'ld.so-1.7.0';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const OLD_HEADER = 16;
const OLD_ENTRY = 12;
/** FLAG_ELF_LIBC6 with the architecture byte glibc writes for 64-bit libraries of this machine. */
const LIBC6 = 0x0003;
const ARCH_FLAGS: Record<string, number> = { x64: 0x0300, arm64: 0x0a00, ppc64: 0x0500, s390x: 0x0400, riscv64: 0x1000 };

export interface LdCacheEntry {
  /** The soname the linker looks for: "libc.so.6". */
  name: string;
  path: string;
  flags: number;
}

function cString(bytes: Uint8Array, at: number): string | undefined {
  if (at >= bytes.length) return undefined;
  const end = bytes.indexOf(0, at);
  return new TextDecoder().decode(bytes.subarray(at, end < 0 ? bytes.length : end));
}

/**
 * The entries of an ld.so.cache in glibc's format ("glibc-ld.so.cache1.1", alone or after the
 * old "ld.so-1.7.0" table), written in the machine's byte order; string offsets count from the
 * new header. [] for anything else.
 */
export function parseLdCache(bytes: Uint8Array, little: boolean = endianness() === 'LE'): LdCacheEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at: number, length: number): string => new TextDecoder().decode(bytes.subarray(at, at + length));
  let base = 0;
  if (text(0, OLD_MAGIC.length) === OLD_MAGIC && bytes.length >= OLD_HEADER) {
    // The new table follows the old one, 8-byte aligned.
    base = Math.ceil((OLD_HEADER + view.getUint32(12, little) * OLD_ENTRY) / 8) * 8;
  }
  if (base + NEW_HEADER > bytes.length || text(base, NEW_MAGIC.length) !== NEW_MAGIC) return [];
  const libraries = view.getUint32(base + 20, little);
  const strings = bytes.subarray(base);
  const entries: LdCacheEntry[] = [];
  for (let i = 0; i < libraries; i++) {
    const at = base + NEW_HEADER + i * NEW_ENTRY;
    if (at + NEW_ENTRY > bytes.length) break;
    const name = cString(strings, view.getUint32(at + 4, little));
    const path = cString(strings, view.getUint32(at + 8, little));
    if (name && path) entries.push({ name, path, flags: view.getInt32(at, little) });
  }
  return entries;
}

/**
 * The path of a library by soname ('libc.so.6'), by name without version ('libc.so', 'libc') or
 * bare ('c'), as bcc and bpftrace accept it; this machine's architecture first.
 */
export function findLibrary(entries: readonly LdCacheEntry[], library: string, arch: string = process.arch): string | undefined {
  const wanted = ARCH_FLAGS[arch] ?? 0;
  const ours = entries.filter((e) => (e.flags & 0xffff) === (wanted | LIBC6));
  const stem = library.includes('.so') ? library : `${library.startsWith('lib') ? '' : 'lib'}${library}.so`;
  for (const pool of [ours, entries]) {
    const found =
      pool.find((e) => e.name === library) ??
      pool.find((e) => e.name === stem) ??
      pool.find((e) => e.name.startsWith(`${stem}.`));
    if (found) return found.path;
  }
  return undefined;
}
