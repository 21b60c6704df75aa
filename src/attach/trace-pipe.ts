// TracePipeReader: the lines bpf_trace_printk() writes to <tracefs>/trace_pipe, read without blocking and parsed.
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ERRNO } from '../abi.js';
import { kernelError, nodeErrno } from '../errors.js';
import { watchFd } from '../native.js';
import { tracefsRoot } from './tracefs.js';

/** One line of trace_pipe: "task-pid [cpu] flags timestamp: function: message". */
export interface TraceLine {
  task: string;
  /** 'proc' when the kernel wrote `<...>` and the name was read from /proc/<pid>/comm instead. */
  taskFrom?: 'proc';
  pid: number;
  cpu: number;
  /** Seconds since boot, as the trace clock gives it. */
  time: number;
  /** What wrote it: "bpf_trace_printk" for BPF programs. */
  source: string;
  message: string;
  /** The line as the kernel wrote it. */
  raw: string;
}

// Task names may contain spaces and dashes: the pid is the last "-digits" before the CPU field.
const LINE = /^\s*(.*)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+\.\d+):\s+([^:\s]+):\s?(.*)$/;

/** Parses one trace_pipe line; undefined for lines of another shape (kept as raw by the reader). */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const match = LINE.exec(raw);
  if (!match) return undefined;
  return { task: match[1]!.trim(), pid: Number(match[2]), cpu: Number(match[3]), time: Number(match[4]), source: match[5]!, message: match[6]!, raw };
}

/** What the kernel writes for a task whose name is not in its saved-cmdlines cache. */
const UNKNOWN_TASK = '<...>';

/**
 * The line with its task named from `<procRoot>/<pid>/comm` when the kernel wrote `<...>` (the name
 * had left its saved-cmdlines cache) and the process still exists; else the line as it is.
 */
export function nameUnknownTask(line: TraceLine, procRoot = '/proc'): TraceLine {
  if (line.task !== UNKNOWN_TASK) return line;
  let comm: string;
  try {
    comm = readFileSync(join(procRoot, String(line.pid), 'comm'), 'utf8').replace(/\n$/, '');
  } catch {
    return line; // the process is gone: nothing better than the kernel's <...>
  }
  return comm === '' ? line : { ...line, task: comm, taskFrom: 'proc' };
}

/** Reads the kernel's trace_pipe (bpf_trace_printk output) line by line, by callback or as an async iterator. */
export class TracePipeReader {
  private fd: number | undefined;
  private readonly watch: { stop(): void };
  private partial = '';
  private readonly chunk = Buffer.alloc(64 * 1024);

  /**
   * Opens trace_pipe without blocking (a blocked read would hold the process at exit) and calls
   * `onLine` for each complete line as it comes. Reading consumes the lines: other readers of
   * trace_pipe do not see them.
   */
  constructor(private readonly onLine: (line: TraceLine | { raw: string }) => void, root: string = tracefsRoot()) {
    const path = join(root, 'trace_pipe');
    try {
      this.fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw kernelError(`opening ${path}`, error);
    }
    this.watch = watchFd(this.fd, () => this.drain());
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return 'close trace_pipe';
  }

  /** Reads what is there now; the watch calls this whenever the pipe is readable. */
  drain(): void {
    if (this.fd === undefined) return;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (error) {
        if (nodeErrno(error) === ERRNO.EAGAIN) return;
        throw kernelError('reading trace_pipe', error);
      }
      if (n === 0) return;
      const text = this.partial + this.chunk.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.partial = lines.pop()!;
      for (const raw of lines) {
        if (raw === '') continue;
        const line = parseTraceLine(raw);
        this.onLine(line ? nameUnknownTask(line) : { raw });
      }
    }
  }

  /** Stops reading and closes trace_pipe. */
  close(): void {
    if (this.fd === undefined) return;
    this.watch.stop();
    closeSync(this.fd);
    this.fd = undefined;
  }
}
