// Uprobes and uretprobes: finding the binary and turning a function name into a file offset.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { ET_DYN, ET_EXEC, SHN_LORESERVE, SHN_UNDEF, STT_FUNC, fileOffsetOfAddress, readElf, type ElfFile, type ElfSymbol } from '../elf/reader.js';
import { AttachError, ElfError, UsageError, kernelError } from '../errors.js';
import { closestNames, printable } from '../text.js';
import { findLibrary, parseLdCache, type LdCacheEntry } from './ld-cache.js';
import { binaryInProcess, describeProcessBinary } from './process-target.js';
import { chooseAttachMethod, probeSupport, type PreparedProbe } from './probe.js';
import type { PrepareOptions } from './prepared.js';

const STT_GNU_IFUNC = 10;

let ldCache: LdCacheEntry[] | undefined;

function linkerCache(): LdCacheEntry[] {
  try {
    ldCache ??= parseLdCache(readFileSync('/etc/ld.so.cache'));
  } catch {
    ldCache = [];
  }
  return ldCache;
}

/**
 * The binary's absolute path: as given when it has a '/'; else a library ('libc.so.6', 'libc',
 * 'c') from LD_LIBRARY_PATH or the linker cache, or a program on PATH like a shell would find it.
 */
export function resolveBinaryPath(binary: string, path = process.env.PATH ?? '', libraryPath = process.env.LD_LIBRARY_PATH ?? ''): string {
  if (binary === '') throw new UsageError('the uprobe binary is empty');
  const inDirectories = (dirs: string): string[] => dirs.split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  const library = (): string[] => {
    const cached = findLibrary(linkerCache(), binary);
    return [...(binary.includes('.so') ? inDirectories(libraryPath) : []), ...(cached ? [cached] : [])];
  };
  const candidates = binary.includes('/') ? [resolve(binary)] : binary.includes('.so') ? library() : [...inDirectories(path), ...library()];
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.R_OK);
        return isAbsolute(candidate) ? candidate : resolve(candidate);
      }
    } catch {
      // Not this one.
    }
  }
  throw new AttachError(
    binary.includes('/') ? `uprobe binary ${binary} does not exist or cannot be read` : `uprobe binary '${printable(binary)}' is neither on PATH nor a library in LD_LIBRARY_PATH or /etc/ld.so.cache`,
  );
}

/** An executable or shared library, read; every problem with it is an AttachError naming the file. */
export function readTargetElf(path: string, what: string): ElfFile {
  let elf;
  try {
    elf = readElf(readFileSync(path));
  } catch (error) {
    if (error instanceof ElfError) throw new AttachError(`${what} ${path}: ${error.message}`);
    throw kernelError(`reading ${what} ${path}`, error);
  }
  if (elf.type !== ET_EXEC && elf.type !== ET_DYN) throw new AttachError(`${what} ${path} is not an executable or shared library (ELF type ${elf.type})`);
  return elf;
}

/** The file offset of a function: its symbol's address moved by the executable PT_LOAD segment that maps it. */
export function functionFileOffset(path: string, name: string): bigint {
  return functionLocation(path, name).offset;
}

/** A function's file offset and its size in bytes (0 when its symbol does not say). */
function functionLocation(path: string, name: string): { offset: bigint; size: bigint } {
  const elf = readTargetElf(path, 'uprobe binary');
  const isFunction = (s: ElfSymbol): boolean =>
    (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.sectionIndex !== SHN_UNDEF && s.sectionIndex < SHN_LORESERVE;
  const functions = [...elf.symbols, ...elf.dynamicSymbols].filter(isFunction);
  const symbol = functions.find((s) => s.name === name);
  if (!symbol) {
    const suggestions = closestNames(name, new Set(functions.map((s) => s.name)), 5);
    const none = functions.length === 0 ? ' (it has no function symbols: is it stripped?)' : '';
    throw new AttachError(`function '${printable(name)}' is not in the symbol tables of ${path}${none}${suggestions.length > 0 ? `; closest: ${suggestions.join(', ')}` : ''}`);
  }
  const offset = fileOffsetOfAddress(elf, symbol.value, true);
  if (offset === undefined) throw new AttachError(`function '${printable(name)}' of ${path} (address 0x${symbol.value.toString(16)}) lies in no executable segment of the file`);
  return { offset, size: symbol.size };
}

/** Where a uprobe goes: a binary (path or library name) and a function in it, or a file offset. */
export interface UprobeTarget {
  /** A path, or a library name found as the dynamic linker would ("libc"). */
  binary: string;
  /** A function name; without one, `offset` is a file offset. */
  symbol?: string;
  /** Bytes past the function's start, or the file offset when there is no symbol. */
  offset: bigint;
  /** A return probe (uretprobe). */
  retprobe: boolean;
}

/** The binary's path: as `pid`'s process sees it when one is given (its libraries, its mount namespace), else from here. */
export function binaryPath(binary: string, pid: number | undefined, what: string): string {
  if (pid === undefined) return resolveBinaryPath(binary);
  const path = binaryInProcess(binary, pid);
  if (path === undefined) throw new AttachError(`${what} '${printable(binary)}' is neither a file process ${pid} maps nor a file in its root (/proc/${pid}/root)`);
  return path;
}

/**
 * Everything checkable before loading: uprobe support, the binary, the function's file offset.
 * With `pid`, the binary is the process's and the probe fires in that process only.
 */
export function prepareUprobe(target: UprobeTarget, options: PrepareOptions = {}): PreparedProbe {
  const { mode = 'auto', pid } = options;
  const path = binaryPath(target.binary, pid, 'uprobe binary');
  const named = target.symbol === undefined ? `0x${target.offset.toString(16)}` : `${target.symbol}${target.offset !== 0n ? `+0x${target.offset.toString(16)}` : ''}`;
  let base = 0n;
  if (target.symbol !== undefined) {
    if (target.retprobe && target.offset !== 0n) throw new UsageError(`uretprobe target ${JSON.stringify(printable(`${target.binary}:${named}`))}: a return probe takes no offset`);
    const fn = functionLocation(path, target.symbol);
    // Past its end is another function's code: the probe would fire for the wrong one.
    if (fn.size > 0n && target.offset >= fn.size) throw new AttachError(`uprobe target ${printable(`${target.binary}:${named}`)}: offset ${target.offset} is past the end of '${printable(target.symbol)}', which is ${fn.size} bytes`);
    base = fn.offset;
  }
  const offset = base + target.offset;
  const support = probeSupport('uprobe');
  const method = chooseAttachMethod(mode, support);
  return {
    kind: 'probe',
    location: {
      family: 'uprobe',
      retprobe: target.retprobe,
      target: path,
      offset,
      requested: `${target.binary}:${named}`,
      resolved: `${path}:${named} (file offset 0x${offset.toString(16)})`,
    },
    support,
    method,
    notes: [...(pid === undefined ? [] : [`uprobe on ${describeProcessBinary(path, pid)}: fires in process ${pid} only`])],
    ...(pid === undefined ? {} : { pid }),
  };
}
