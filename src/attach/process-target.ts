// The process the user points at (--pid): that it exists, its threads, and a binary's path as that process sees it (its mount namespace, its libraries).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { AttachError, UsageError } from '../errors.js';
import { parseMaps } from '../symbols/process-maps.js';
import { printable } from '../text.js';

/** Checks that the process exists (and is a process, not a thread of another). */
export function checkProcess(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError((n) => `${n('pid', String(pid))}: a process id is a whole number above 0`);
  let tgid: string | undefined;
  try {
    tgid = /^Tgid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    throw new UsageError((n) => `${n('pid', String(pid))}: no such process`);
  }
  if (tgid !== undefined && Number(tgid) !== pid) throw new UsageError((n) => `${n('pid', String(pid))}: that is a thread of process ${tgid}; give the process`);
}

/** The process's threads now (a thread started later is not among them). */
export function processThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => Number.isInteger(t)).sort((a, b) => a - b);
  } catch {
    throw new AttachError(`process ${pid} has exited`);
  }
}

/**
 * A binary as the process sees it: a file it maps whose path or name matches ("libc.so.6", "libc",
 * "/usr/bin/app"), else an absolute path inside its root; returned as a path this process can
 * open (/proc/PID/root/...), or undefined when the process has no such file.
 */
export function binaryInProcess(binary: string, pid: number): string | undefined {
  const root = `/proc/${pid}/root`;
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    throw new AttachError(`the mappings of process ${pid} cannot be read (it exited, or this user may not read them)`);
  }
  // Code files only: what a probe can sit in is mapped executable.
  const mapped = [...new Set(parseMaps(maps).filter((m) => m.file && !m.deleted).map((m) => m.name))];
  const name = basename(binary);
  // A library by name, as uprobes take it: "c" or "libc" is libc.so.*, "libc.so.6" exactly.
  const library = (path: string): boolean => {
    const file = basename(path);
    return file === name || file.startsWith(`${name.startsWith('lib') ? name : `lib${name}`}.so`);
  };
  const match = isAbsolute(binary) ? mapped.find((p) => p === binary) : mapped.find((p) => basename(p) === name) ?? mapped.find(library);
  if (match !== undefined) return `${root}${match}`;
  if (isAbsolute(binary) && existsSync(`${root}${binary}`) && statSync(`${root}${binary}`).isFile()) return `${root}${binary}`;
  return undefined;
}

/** The words for a binary found in a process: "/usr/lib/libc.so.6 in process 42 (/proc/42/root/usr/lib/libc.so.6)". */
export function describeProcessBinary(path: string, pid: number): string {
  const inside = path.slice(`/proc/${pid}/root`.length);
  return `${printable(inside)} of process ${pid} (${printable(path)})`;
}
