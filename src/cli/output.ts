// Output of the command line: aligned text for people, JSON lines for scripts, errors on stderr.
import { LoaderError, VerifierError } from '../errors.js';
import type { ReleaseFailure } from '../kernel/scope.js';
import type { LoadedObject, PinChange } from '../loader.js';
import { MAP_TYPE, mapTypeName } from '../object/map-types.js';
import { programTypeName } from '../kernel/program.js';
import { terminalSafe } from '../text.js';
import { mapEntryView, sortEntries, table, type MapEntryView } from './format.js';
import { FdWriter } from './writer.js';

/** Map types whose entries are numbers worth showing; the others hold fds or are streams. */
const SHOWN_MAP_TYPES = new Set<number>([
  MAP_TYPE.HASH,
  MAP_TYPE.ARRAY,
  MAP_TYPE.PERCPU_HASH,
  MAP_TYPE.PERCPU_ARRAY,
  MAP_TYPE.LRU_HASH,
  MAP_TYPE.LRU_PERCPU_HASH,
]);
const MAX_ENTRIES_READ = 65536;
const MAX_ENTRIES_SHOWN = 20;

export interface MapContents {
  name: string;
  pin?: string;
  entries: MapEntryView[];
  /** True when the map had more entries than were read. */
  truncated: boolean;
}

/** How long the end of a run waits for a slow reader of stdout before dropping what it did not read. */
const DRAIN_MS = 1000;

export class Output {
  constructor(
    private readonly options: { verbose: boolean; json: boolean },
    private readonly stdout = new FdWriter(1),
    private readonly stderr = new FdWriter(2),
  ) {}

  /** A message for people on stderr: one line, control characters from the object made visible. */
  note(text: string): void {
    this.stderr.write(`load-kp-bpf: ${terminalSafe(text)}\n`);
  }

  verbose(text: string): void {
    if (this.options.verbose) this.note(text);
  }

  private json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Text lines for people on stdout; names from the object cannot send escape sequences to the terminal. */
  private lines(lines: string[]): void {
    this.stdout.write(lines.map((l) => `${terminalSafe(l)}\n`).join(''));
  }

  /**
   * Waits (at most a second) for stdout and stderr to be read; what a stuck reader leaves is
   * dropped, and said on stderr if stderr still takes it, so the process can end.
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

  loaded(objectPath: string, loaded: LoadedObject): void {
    const maps = [...loaded.maps.values()];
    const programs = [...loaded.programs.values()];
    if (this.options.json) {
      this.json({
        event: 'attached',
        object: objectPath,
        pid: process.pid,
        maps: maps.map((m) => ({
          name: m.name,
          id: m.map.info().id,
          type: mapTypeName(m.map.definition.type),
          keySize: m.map.definition.keySize,
          valueSize: m.map.definition.valueSize,
          maxEntries: m.map.definition.maxEntries,
          flags: m.map.definition.flags,
          pin: m.pin ? { path: m.pin.path, state: m.pin.state } : null,
        })),
        programs: programs.map((p) => ({ name: p.name, section: p.section, type: programTypeName(p.type), id: p.id, tag: p.tag, instructions: p.instructionCount })),
        attachments: loaded.attachments.map((a) => ({ ...a, event: a.event ?? null })),
      });
      return;
    }
    const lines: string[] = [];
    const section = (title: string, rows: string[][]): void => {
      if (rows.length === 0) return;
      lines.push(title, ...table(rows).map((l) => `  ${l}`));
    };
    section(
      'maps',
      maps.map((m) => {
        const d = m.map.definition;
        return [m.name, mapTypeName(d.type), `key ${d.keySize}`, `value ${d.valueSize}`, `max ${d.maxEntries}`, m.pin ? `pinned ${m.pin.path} (${m.pin.state})` : 'not pinned'];
      }),
    );
    section(
      'programs',
      programs.map((p) => [p.name, `type ${programTypeName(p.type)}`, `${p.instructionCount} insns`, `id ${p.id}`, `tag ${p.tag}`]),
    );
    section(
      'attached',
      loaded.attachments.map((a) => [
        a.kind,
        a.resolved === a.target ? a.target : `${a.target} -> ${a.resolved}`,
        `${a.source}, ${a.binding}`,
        `program ${a.program}`,
        a.event ? `event ${a.event}` : '',
      ]),
    );
    this.lines([...lines, 'press Ctrl-C to detach']);
  }

  /** Reads what the maps hold, before they are closed; a map whose pin changed is not called kept. */
  mapContents(loaded: LoadedObject, changed: PinChange[] = []): MapContents[] {
    const moved = new Set(changed.map((c) => c.path));
    const contents: MapContents[] = [];
    for (const m of loaded.maps.values()) {
      const d = m.map.definition;
      if (!SHOWN_MAP_TYPES.has(d.type)) continue;
      const entries: MapEntryView[] = [];
      let truncated = false;
      try {
        for (const [key, value] of m.map.entries()) {
          if (entries.length === MAX_ENTRIES_READ) {
            truncated = true;
            break;
          }
          entries.push(mapEntryView(d.type, d.valueSize, key, value));
        }
      } catch (error) {
        this.note(`could not read map '${m.name}': ${error instanceof Error ? error.message : String(error)}`);
      }
      contents.push({ name: m.name, ...(m.pin && !moved.has(m.pin.path) ? { pin: m.pin.path } : {}), entries: sortEntries(entries), truncated });
    }
    return contents;
  }

  detached(signal: string, loaded: LoadedObject, contents: MapContents[], released: string[], failures: ReleaseFailure[], changed: PinChange[] = []): void {
    const moved = new Set(changed.map((c) => c.path));
    const kept = [...loaded.maps.values()].filter((m) => m.pin && !moved.has(m.pin.path)).map((m) => m.pin!.path);
    if (this.options.json) {
      this.json({
        event: 'detached',
        signal,
        released,
        kept,
        failures: failures.map((f) => ({ release: f.description, error: messageOf(f.error) })),
        pinsChanged: changed,
        maps: contents,
      });
    } else {
      const lines = [`detached (${signal})`];
      for (const map of contents) {
        const shown = map.entries.slice(0, MAX_ENTRIES_SHOWN);
        const count = `${map.entries.length}${map.truncated ? '+' : ''} ${map.entries.length === 1 && !map.truncated ? 'entry' : 'entries'}`;
        lines.push(`${map.name}${map.pin ? ` (kept at ${map.pin})` : ''}: ${count}`);
        if (shown.length > 0) lines.push(...table([['  key', 'value'], ...shown.map((e) => [`  ${e.key}`, e.value])]));
        if (map.entries.length > shown.length) lines.push(`  ... ${map.entries.length - shown.length} more`);
      }
      this.lines(lines);
    }
    for (const f of failures) this.note(`could not ${f.description}: ${messageOf(f.error)}`);
    for (const c of changed) {
      const now = c.now === undefined ? 'nothing is pinned there now' : `it now holds another map (id ${c.now})`;
      this.note(`map '${c.map}' is not kept at ${c.path}: ${now}; what this run counted was in map id ${c.ours}, which is gone with it`);
    }
  }

  failed(error: unknown, failures: ReleaseFailure[]): void {
    if (error instanceof VerifierError) this.stderr.write(`${error.log.split('\n').map(terminalSafe).join('\n')}\n`);
    if (error instanceof LoaderError) {
      this.note(error.message);
    } else {
      this.note(`internal error: ${messageOf(error)}${this.options.verbose ? '' : ' (run with --verbose for details)'}`);
      if (this.options.verbose) this.stderr.write(`${((error as Error)?.stack ?? '').split('\n').map(terminalSafe).join('\n')}\n`);
    }
    const unreleased = [...(error instanceof LoaderError ? error.releaseFailures : []), ...failures];
    for (const f of unreleased) this.note(`could not ${f.description}: ${messageOf(f.error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
