// Output of every command: notes and errors on stderr (one line each), text or JSON lines on stdout, never blocking.
import { decodedJson } from '../btf/decode.js';
import { LoaderError, VerifierError, type ReleaseFailure } from '../errors.js';
import { terminalSafe } from '../text.js';
import { say, type Wording } from '../wording.js';
import { commandLineName } from './flags.js';
import { FdWriter } from './writer.js';

/** How long the end of a command waits for a reader of stdout that reads nothing, before dropping what it did not read. */
const DRAIN_MS = 1000;

export interface OutputOptions {
  verbose: boolean;
  json: boolean;
  /** Nothing on stdout (--quiet): errors and notes still go to stderr. */
  quiet?: boolean;
  /** The object this output speaks for where several share stdout (serve): notes and text lines begin with it, JSON lines carry it as "object". */
  object?: { name: string; path: string };
}

export class Output {
  private prefix: string | undefined;

  constructor(
    readonly options: OutputOptions,
    protected readonly stdout = new FdWriter(1),
    protected readonly stderr = new FdWriter(2),
  ) {}

  /** A message for people on stderr: one line, options named as flags, control characters from the object made visible. */
  note(text: Wording): void {
    const object = this.options.object ? `${terminalSafe(this.options.object.name)}: ` : '';
    this.stderr.write(`load-kp-bpf: ${object}${terminalSafe(say(text, commandLineName))}\n`);
  }

  verbose(text: Wording): void {
    if (this.options.verbose) this.note(text);
  }

  /** One JSON line on stdout (bigints as exact integers). */
  json(value: unknown): void {
    if (this.options.quiet) return;
    const object = this.options.object;
    this.stdout.write(`${decodedJson(object && typeof value === 'object' && value !== null ? { object: object.path, ...value } : value)}\n`);
  }

  /** Text lines for people on stdout; names from the object cannot send escape sequences to the terminal. */
  lines(lines: readonly string[]): void {
    if (this.options.quiet || lines.length === 0) return;
    this.stdout.write(lines.map((l) => `${this.linePrefix}${terminalSafe(l)}\n`).join(''));
  }

  /** One text line for people on stdout, as lines() writes each. */
  line(line: string): void {
    if (!this.options.quiet) this.stdout.write(`${this.linePrefix}${terminalSafe(line)}\n`);
  }

  /** What each text line begins with: the object's name where several share stdout. */
  protected get linePrefix(): string {
    return (this.prefix ??= this.options.object ? `${terminalSafe(this.options.object.name)}: ` : '');
  }

  /** Raw text on stdout (screen control of a live view); the caller makes what it holds safe. */
  raw(text: string): void {
    if (!this.options.quiet) this.stdout.write(text);
  }

  /** Bytes on stdout as they are (text the caller made safe). */
  bytes(data: Buffer): void {
    if (!this.options.quiet) this.stdout.writeBytes(data);
  }

  /** True while stdout has so much unread that producers should wait. */
  get congested(): boolean {
    return this.stdout.congested;
  }

  /**
   * Waits for stdout and stderr to be read, as long as their readers keep reading; what a reader
   * that reads nothing for a second leaves is dropped, and said on stderr if stderr still takes
   * it, so the process can end.
   */
  async finish(): Promise<void> {
    const [out] = await Promise.all([this.stdout.drain(DRAIN_MS), this.stderr.drain(DRAIN_MS)]);
    if (!out) {
      const bytes = this.stdout.drop();
      this.note(`stdout is not being read: dropped the last ${bytes} bytes of output`);
      await this.stderr.drain(100);
    }
    this.stderr.drop();
  }

  failed(error: unknown, failures: readonly ReleaseFailure[] = []): void {
    if (error instanceof VerifierError) this.stderr.write(`${error.log.split('\n').map(terminalSafe).join('\n')}\n`);
    if (error instanceof LoaderError) {
      this.note(error.describe(commandLineName));
    } else {
      this.note(`internal error: ${messageOf(error)}${this.options.verbose ? '' : ' (run with --verbose for details)'}`);
      if (this.options.verbose) this.stderr.write(`${((error as Error)?.stack ?? '').split('\n').map(terminalSafe).join('\n')}\n`);
    }
    const unreleased = [...(error instanceof LoaderError ? error.releaseFailures : []), ...failures];
    for (const f of unreleased) this.note(`could not ${f.description}: ${messageOf(f.error)}`);
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof LoaderError) return error.describe(commandLineName);
  return error instanceof Error ? error.message : String(error);
}
