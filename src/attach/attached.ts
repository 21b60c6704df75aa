// AttachedProgram: one program's attachment as a handle of its own, detached or pinned without the rest of its object.
import { UsageError, type ReleaseFailure } from '../errors.js';
import { BpfLink } from '../kernel/link.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { Attachment } from './attachment.js';

/**
 * What attaching one program made (links, perf events, tracefs events, USDT spec slots), owned
 * apart from the object: close() detaches this program alone and the others go on. The object
 * closes it too if it is still open.
 */
export class AttachedProgram {
  /** @internal Made by LoadedObject.attach() and start(), which own the scope that holds what attaching made. */
  constructor(
    /** What was attached where, and how. */
    readonly attachment: Attachment,
    private readonly scope: ResourceScope,
    private readonly onClose: (attached: AttachedProgram) => void,
  ) {}

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `detach program '${this.attachment.program}' from ${this.attachment.target}`;
  }

  /** Whether it was detached. */
  get closed(): boolean {
    return this.scope.closed;
  }

  /**
   * Pins the attachment's BPF link at `path` (on a BPF filesystem), as `bpftool link pin` does:
   * the program stays attached after this handle and its object close, until the pin is removed.
   * Only an attachment that is one BPF link and nothing the loader must remove (a tracefs event) can be pinned.
   */
  pin(path: string): void {
    const links = this.scope.owned().filter((h): h is BpfLink => h instanceof BpfLink);
    if (links.length !== 1 || this.attachment.event !== undefined) {
      const what = links.length === 0 ? 'holds no BPF link' : links.length > 1 ? `is ${links.length} BPF links` : `needs its tracefs event ${this.attachment.event}, which closing removes`;
      throw new UsageError(`program '${this.attachment.program}' on ${this.attachment.target} cannot be pinned: its attachment ${what}`);
    }
    links[0]!.pin(path);
  }

  /** Detaches this program (a pinned link stays). Returns what could not be released; closing again does nothing. */
  close(): ReleaseFailure[] {
    if (this.scope.closed) return [];
    this.onClose(this);
    return this.scope.close();
  }
}
