// Reading an object file from the command line: only a regular file, of a size a BPF object can have.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError, kernelError } from '../errors.js';
import { printable } from '../text.js';

/** Larger than any BPF object (kernel selftests' biggest are a few MB); refusing early keeps memory and time bounded. */
export const MAX_OBJECT_SIZE = 256 * 1024 * 1024;

function kind(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return 'a directory';
    case constants.S_IFCHR:
      return 'a character device';
    case constants.S_IFBLK:
      return 'a block device';
    case constants.S_IFIFO:
      return 'a FIFO';
    case constants.S_IFSOCK:
      return 'a socket';
    default:
      return 'not a regular file';
  }
}

function size(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GB`;
  return `${(bytes / (1 << 20)).toFixed(0)} MB`;
}

/**
 * The bytes of an object file. Opened without blocking (a FIFO with no writer must not hang the
 * start), refused unless it is a regular file of at most MAX_OBJECT_SIZE bytes.
 */
export function readObjectFile(path: string): Buffer {
  const shown = printable(path);
  if (path === '') throw new UsageError('the object path is empty');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw kernelError(`reading ${shown}`, error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UsageError(`${shown} is ${kind(stat.mode)}; give a BPF object file (clang -target bpf -c prog.c -o prog.o)`);
    if (stat.size > MAX_OBJECT_SIZE) {
      throw new UsageError(`${shown}: object is ${size(stat.size)}; an ELF object this large is not a BPF object (the limit is ${size(MAX_OBJECT_SIZE)})`);
    }
    const bytes = Buffer.alloc(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break; // shrank while read: parse what is there, the ELF reader checks bounds
      at += n;
    }
    return at === bytes.length ? bytes : bytes.subarray(0, at);
  } catch (error) {
    throw error instanceof UsageError ? error : kernelError(`reading ${shown}`, error);
  } finally {
    closeSync(fd);
  }
}
