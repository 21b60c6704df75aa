// The typed interface to the native addon (native/syscalls.cc); failures become SyscallError.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LoaderError, SyscallError } from './errors.js';

/**
 * An 8-byte pointer field filled with the address of `buffer`: at `offset` of the attribute buffer,
 * or of `container` (a struct the attribute points to, such as an info struct with pointer fields).
 */
export type PointerField = [offset: number, buffer: Buffer] | [offset: number, buffer: Buffer, container: Buffer];

interface Addon {
  bpf(cmd: number, attr: Buffer, pointers: PointerField[]): number;
  perfEventOpen(attr: Buffer, pointers: PointerField[], pid: number, cpu: number, groupFd: number, flags: number): number;
  ioctl(fd: number, request: number, arg: number): number;
  close(fd: number): void;
  mount(source: string, target: string, fstype: string): void;
  dupFd(fd: number, min: number): number;
  pageSize(): number;
  getrlimit(resource: number): [soft: number, hard: number];
  setrlimit(resource: number, soft: number, hard: number): void;
  mmap(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer;
  munmap(mapping: ArrayBuffer): void;
  perfRingRead(mapping: ArrayBuffer, headOffset: number, tailOffset: number, dataOffset: number, dataSize: number, out: Buffer): number;
  ringbufRead(consumer: ArrayBuffer, producer: ArrayBuffer, dataOffset: number, dataSize: number, out: Buffer, headerSize: number, busyBit: number, discardBit: number): [bytes: number, discarded: number];
  FdWatch: new (fd: number, callback: (errno: number | undefined) => void) => { stop(): void };
  writeReady(fd: number, buffer: Buffer, offset: number, length: number, chunk: number): number;
}

const require = createRequire(import.meta.url);
let loadedAddon: Addon | undefined;

interface NodeGypBuild {
  /** The addon's path: a local build in build/, else the prebuild for this platform, arch and libc. */
  resolve(dir: string): string;
}

/** The C library node-gyp-build matches prebuilds against. */
function libc(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** The addon, loaded at the first kernel call: parsing objects and reading BTF need no build of it. */
function addon(): Addon {
  if (loadedAddon) return loadedAddon;
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  // The package ships prebuilds and runs no install script, so a machine they do not cover
  // learns here what to do: build the addon once in the package's directory.
  const build = `build it with npm run build:addon --prefix ${root} (needs g++, make and Python)`;
  let path: string;
  try {
    path = (require('node-gyp-build') as NodeGypBuild).resolve(root);
  } catch {
    throw new LoaderError(`the native addon has no prebuild for ${process.platform}-${process.arch} (${libc()}) and is not built; ${build}`);
  }
  try {
    loadedAddon = require(path) as Addon;
  } catch (error) {
    throw new LoaderError(`the native addon ${path} does not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); ${build}`);
  }
  return loadedAddon;
}

function named<T>(command: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    const e = error as { errno?: unknown; syscall?: unknown; message?: unknown };
    if (typeof e.errno === 'number' && typeof e.syscall === 'string') {
      const description = String(e.message).replace(/^[^:]*: /, '');
      throw new SyscallError(e.syscall, command, e.errno, description);
    }
    throw error;
  }
}

/** bpf(2); `command` is the command's name for error messages. Returns the fd or 0. */
export function bpf(cmd: number, command: string, attr: Buffer, pointers: PointerField[] = []): number {
  return named(command, () => addon().bpf(cmd, attr, pointers));
}

export function perfEventOpen(attr: Buffer, pointers: PointerField[], pid: number, cpu: number, groupFd: number, flags: number): number {
  return named('perf_event_open', () => addon().perfEventOpen(attr, pointers, pid, cpu, groupFd, flags));
}

export function ioctl(fd: number, request: number, command: string, arg = 0): number {
  return named(command, () => addon().ioctl(fd, request, arg));
}

export function closeFd(fd: number): void {
  named('close', () => addon().close(fd));
}

export function mount(source: string, target: string, fstype: string): void {
  named(`mount ${fstype} on ${target}`, () => addon().mount(source, target, fstype));
}

/** A close-on-exec copy of `fd` numbered at least `min`. */
export function dupFd(fd: number, min: number): number {
  return named('fcntl(F_DUPFD_CLOEXEC)', () => addon().dupFd(fd, min));
}

let cachedPageSize: number | undefined;

/** The system's page size, read once. */
export function pageSize(): number {
  return (cachedPageSize ??= addon().pageSize());
}

export const RLIMIT = { MEMLOCK: 8, NOFILE: 7 } as const;
/** An unlimited resource limit. */
export const RLIM_INFINITY = -1;

export function getrlimit(resource: number): { soft: number; hard: number } {
  const [soft, hard] = named('getrlimit', () => addon().getrlimit(resource));
  return { soft, hard };
}

export function setrlimit(resource: number, soft: number, hard: number): void {
  named('setrlimit', () => addon().setrlimit(resource, soft, hard));
}

/** A shared memory map of an fd (a perf event's ring, a BPF ring buffer), as an ArrayBuffer; munmap() ends it. */
export function mmap(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer {
  return named('mmap', () => addon().mmap(fd, length, offset, writable));
}

/** Unmaps a buffer from mmap(); the ArrayBuffer is detached, so nothing can read the memory after. */
export function munmap(mapping: ArrayBuffer): void {
  named('munmap', () => addon().munmap(mapping));
}

/** The layout of a perf event ring in its mapping (from src/abi.ts and the page size). */
export interface PerfRingLayout {
  headOffset: number;
  tailOffset: number;
  dataOffset: number;
  dataSize: number;
}

/**
 * Copies whole perf records from the ring into `out` and frees their space in the ring. Returns
 * the bytes copied, or minus the size of the first record when `out` cannot hold it.
 */
export function perfRingRead(mapping: ArrayBuffer, layout: PerfRingLayout, out: Buffer): number {
  return addon().perfRingRead(mapping, layout.headOffset, layout.tailOffset, layout.dataOffset, layout.dataSize, out);
}

/** The layout of a BPF ring buffer and its record header bits (from src/abi.ts). */
export interface RingbufLayout {
  dataOffset: number;
  dataSize: number;
  headerSize: number;
  busyBit: number;
  discardBit: number;
}

/**
 * Copies committed records of a BPF ring buffer into `out` (each: u32 length, 4 bytes padding,
 * data padded to 8) and frees them in the ring; discarded records are counted and skipped.
 */
export function ringbufRead(consumer: ArrayBuffer, producer: ArrayBuffer, layout: RingbufLayout, out: Buffer): { bytes: number; discarded: number } {
  const [bytes, discarded] = addon().ringbufRead(consumer, producer, layout.dataOffset, layout.dataSize, out, layout.headerSize, layout.busyBit, layout.discardBit);
  return { bytes, discarded };
}

/** Calls `onReady` on the event loop whenever `fd` is readable, until stop(); with an errno on an error. */
export function watchFd(fd: number, onReady: (errno: number | undefined) => void): { stop(): void } {
  return named('uv_poll', () => new (addon().FdWatch)(fd, onReady));
}

/** Writes as much as the fd takes now without blocking, `chunk` bytes at a time; returns how much. */
export function writeReady(fd: number, buffer: Buffer, offset: number, length: number, chunk: number): number {
  return named('write', () => addon().writeReady(fd, buffer, offset, length, chunk));
}
