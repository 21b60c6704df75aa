// ResourceScope: the one owner of every handle a load creates, closed in reverse order on success, failure or signal.
import { LoaderError, type ReleaseFailure } from '../errors.js';

/** How a scope closes: 'failure' also runs the undos registered for failure (removing what would otherwise stay, such as new pins). */
export type Outcome = 'success' | 'failure';

/** Anything a scope can own: a map, a program, a link, a perf event, a tracefs event, a reader. */
export interface Releasable {
  /** What closing it does, for reports: "close map 'counts'", "remove trace event kprobes/x". */
  readonly releaseDescription: string;
  /** A handle that releases others (a nested scope) returns what it could not release. */
  close(): void | ReleaseFailure[];
}

interface Entry {
  handle: Releasable;
  /** Runs only when the scope closes with 'failure' (undoing something that would otherwise stay). */
  onlyOnFailure: boolean;
}

export type { ReleaseFailure };

export class ResourceScope {
  private readonly entries: Entry[] = [];
  private closedWith: Outcome | undefined;

  /** Takes ownership of a handle just created; it is closed whenever the scope closes. Returns it. */
  own<T extends Releasable>(handle: T): T {
    this.assertOpen(handle.releaseDescription);
    this.entries.push({ handle, onlyOnFailure: false });
    return handle;
  }

  /** Registers an undo that runs only if the scope closes with 'failure'. */
  undoOnFailure(description: string, undo: () => void): void {
    this.assertOpen(description);
    this.entries.push({ handle: { releaseDescription: description, close: undo }, onlyOnFailure: true });
  }

  /** The handles owned now that a successful close would release, oldest first. */
  owned(): Releasable[] {
    return this.entries.filter((e) => !e.onlyOnFailure).map((e) => e.handle);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Descriptions of what a close would release now, most recent first. */
  pending(outcome: Outcome): string[] {
    return this.entries.filter((e) => outcome === 'failure' || !e.onlyOnFailure).map((e) => e.handle.releaseDescription).reverse();
  }

  /**
   * Releases everything in reverse order of creation. Never throws: a release that fails is
   * reported and the rest still run. Closing again does nothing.
   */
  close(outcome: Outcome): ReleaseFailure[] {
    if (this.closedWith !== undefined) return [];
    this.closedWith = outcome;
    const failures: ReleaseFailure[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      if (entry.onlyOnFailure && outcome === 'success') continue;
      try {
        const nested = entry.handle.close();
        if (nested) failures.push(...nested);
      } catch (error) {
        failures.push({ description: entry.handle.releaseDescription, error });
      }
    }
    return failures;
  }

  /**
   * Runs `body`; if it throws, closes the scope as a failure and rethrows, with whatever could
   * not be released attached to the error.
   */
  guard<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      const failures = this.close('failure');
      if (error instanceof LoaderError) error.releaseFailures.push(...failures);
      throw error;
    }
  }

  private assertOpen(description: string): void {
    if (this.closedWith !== undefined) throw new LoaderError(`resource scope already closed; cannot own ${description}`);
  }
}
