// ResourceScope: the one owner of every handle a load creates, closed in reverse order on success, failure or signal.
import { LoaderError, type ReleaseFailure } from '../errors.js';

/** Anything a scope can own: a map, a program, a link, a perf event, a tracefs event, a reader. */
export interface Releasable {
  /** What closing it does, for reports: "close map 'counts'", "remove trace event kprobes/x". */
  readonly releaseDescription: string;
  /** A handle that releases others (a nested scope) returns what it could not release. */
  close(): void | ReleaseFailure[];
}

export type { ReleaseFailure };

export class ResourceScope {
  private readonly entries: Releasable[] = [];
  private isClosed = false;

  /** Takes ownership of a handle just created; it is closed whenever the scope closes. Returns it. */
  own<T extends Releasable>(handle: T): T {
    this.assertOpen(handle.releaseDescription);
    this.entries.push(handle);
    return handle;
  }

  /** The handles owned now that a successful close would release, oldest first. */
  owned(): Releasable[] {
    return [...this.entries];
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Descriptions of what a close would release now, most recent first. */
  pending(): string[] {
    return this.entries.map((e) => e.releaseDescription).reverse();
  }

  /**
   * Releases everything in reverse order of creation. Never throws: a release that fails is
   * reported and the rest still run. Closing again does nothing.
   */
  close(): ReleaseFailure[] {
    if (this.isClosed) return [];
    this.isClosed = true;
    const failures: ReleaseFailure[] = [];
    while (this.entries.length > 0) {
      const handle = this.entries.pop()!;
      try {
        const nested = handle.close();
        if (nested) failures.push(...nested);
      } catch (error) {
        failures.push({ description: handle.releaseDescription, error });
      }
    }
    return failures;
  }

  /**
   * Runs `body`; if it throws, closes the scope and rethrows, with whatever could
   * not be released attached to the error.
   */
  guard<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      const failures = this.close();
      if (error instanceof LoaderError) error.releaseFailures.push(...failures);
      throw error;
    }
  }

  private assertOpen(description: string): void {
    if (this.isClosed) throw new LoaderError(`resource scope already closed; cannot own ${description}`);
  }
}
