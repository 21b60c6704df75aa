// BpfLink: a BPF link handle; closing it detaches the program (unless the link is pinned).
import { kernelError } from '../errors.js';
import { linkCreateKprobeMulti, linkCreatePerfEvent, objPin } from './bpf.js';
import { Fd } from './fd.js';

/** A BPF link handle; closing it detaches the program unless the link is pinned. */
export class BpfLink {
  readonly fd: Fd;

  constructor(
    fd: number,
    /** What it links, for messages: "the kprobe on vfs_read". */
    readonly what: string,
  ) {
    this.fd = new Fd(fd, `BPF link of ${what}`);
  }

  /** BPF_LINK_CREATE for a perf event (kprobe, uprobe, tracepoint, 5.15+), with an optional BPF cookie. */
  static forPerfEvent(programFd: number, perfEventFd: number, what: string, cookie = 0n): BpfLink {
    try {
      return new BpfLink(linkCreatePerfEvent(programFd, perfEventFd, cookie), what);
    } catch (error) {
      throw kernelError(`linking the program to ${what} (BPF_LINK_CREATE)`, error);
    }
  }

  /** BPF_LINK_CREATE of a kprobe.multi link (5.18+): the program on every function, function i with cookie i. */
  static forKprobeMulti(programFd: number, functions: readonly string[], retprobe: boolean, what: string): BpfLink {
    try {
      return new BpfLink(linkCreateKprobeMulti(programFd, functions, functions.map((_, i) => BigInt(i)), retprobe), what);
    } catch (error) {
      throw kernelError(`linking the program to ${what} (BPF_LINK_CREATE kprobe.multi)`, error);
    }
  }

  /** Pins the link at `path` on a BPF filesystem: the program stays attached after the link is closed, until the pin is removed. */
  pin(path: string): void {
    try {
      objPin(this.fd.value, path);
    } catch (error) {
      throw kernelError(`pinning the BPF link of ${this.what} at ${path}`, error);
    }
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `close the BPF link of ${this.what}`;
  }

  /** Closes the link's fd: detaches, unless pinned. */
  close(): void {
    this.fd.close();
  }
}
