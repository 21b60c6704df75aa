// BpfLink: a BPF link handle; closing it detaches the program (unless the link is pinned).
import { kernelError } from '../errors.js';
import { linkCreatePerfEvent } from './bpf.js';
import { Fd } from './fd.js';

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

  get releaseDescription(): string {
    return `close the BPF link of ${this.what}`;
  }

  close(): void {
    this.fd.close();
  }
}
