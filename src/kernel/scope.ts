// ResourceScope: the one owner of every kernel object a load creates, unwound in reverse order.
import { LoaderError, type ReleaseFailure } from '../errors.js';

export type Outcome = 'success' | 'failure';

interface Entry {
  description: string;
  release: () => void;
  /** Runs only when the scope closes with 'failure' (e.g. removing a pin this run created). */
  onlyOnFailure: boolean;
}

export type { ReleaseFailure };

export class ResourceScope {
  private readonly entries: Entry[] = [];
  private closedWith: Outcome | undefined;

  /** Registers the release of something just created; it runs whenever the scope closes. */
  defer(description: string, release: () => void): void {
    this.assertOpen(description);
    this.entries.push({ description, release, onlyOnFailure: false });
  }

  /** Registers an undo that runs only if the scope closes with 'failure'. */
  undoOnFailure(description: string, undo: () => void): void {
    this.assertOpen(description);
    this.entries.push({ description, release: undo, onlyOnFailure: true });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Descriptions of what a close would release now, most recent first. */
  pending(outcome: Outcome): string[] {
    return this.entries.filter((e) => outcome === 'failure' || !e.onlyOnFailure).map((e) => e.description).reverse();
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
        entry.release();
      } catch (error) {
        failures.push({ description: entry.description, error });
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
    if (this.closedWith !== undefined) throw new Error(`resource scope already closed; cannot own ${description}`);
  }
}
