// Fd: a file descriptor as a handle: closed once, and refused after close (its number soon names another object).
import { ClosedError } from '../errors.js';
import { closeFd, dupFd } from '../native.js';

/** The lowest number a handle keeps: fds 0-2 are the standard streams, and 0 means "none" in bpf_attr. */
const MIN_FD = 3;

/** A file descriptor a handle owns (a map's, a program's, a link's, a perf event's): its number while open, for calls that take an fd. */
export class Fd {
  #value: number | undefined;

  /**
   * Takes ownership of `value`. A number below 3 (possible when the standard streams were closed)
   * is moved above them first, so that it cannot be taken for "no fd" or written to as stdout.
   */
  constructor(
    value: number,
    /** What it is, for messages: "map 'counts'". */
    readonly what: string,
  ) {
    if (value < MIN_FD) {
      const moved = dupFd(value, MIN_FD);
      closeFd(value);
      value = moved;
    }
    this.#value = value;
  }

  /** The fd number; a ClosedError once closed. */
  get value(): number {
    if (this.#value === undefined) throw new ClosedError(`${this.what} is closed`);
    return this.#value;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#value === undefined;
  }

  /** Closes the fd; closing again does nothing. */
  close(): void {
    const value = this.#value;
    if (value === undefined) return;
    this.#value = undefined;
    closeFd(value);
  }
}
