// What the run command prints: the loaded object, live records, trace lines and losses, map snapshots, and the detach report.
import { say, type Wording } from '../wording.js';
import { commandLineName } from './flags.js';
import type { AlternativeGroup } from '../attach/alternatives.js';
import { USDT_IP_MAP, USDT_SPECS_MAP } from '../abi.js';
import { BTF_KIND, type Btf } from '../btf/btf.js';
import { BtfDecoder, decodedJson } from '../btf/decode.js';
import { UsageError, type ReleaseFailure } from '../errors.js';
import { programTypeName } from '../kernel/program.js';
import type { LoadedMap, LoadedObject, PinChange } from '../loader.js';
import { MAP_TYPE, mapTypeName } from '../object/map-types.js';
import { findRecordType, recordTypeBySize, recordTypeNames, type RecordType, type TypeSource } from '../object/record-types.js';
import type { BpfObjectSpec } from '../object/spec.js';
import { writeAscii } from '../values/ascii.js';
import { formatRecord, RecordColumnFormatter } from '../values/formats.js';
import { printable } from '../text.js';
import type { TraceLine } from '../attach/trace-pipe.js';
import { alignedRow, cellText, columns, sortEntries, table } from './format.js';
import { RecordJsonWriter } from './record-json.js';
import { RecordLineWriter } from './record-line.js';
import { MapPresenter, histogramJson, histogramLines, untypedRecord, untypedSummary, type EntryView } from './map-view.js';
import type { Histogram } from '../values/map-entries.js';
import { Output, messageOf, type OutputOptions } from './output.js';
import type { FdWriter } from './writer.js';
import { frameSymbolizer } from '../stacks/symbolize.js';
import { commOf, mergeSamples, pidOf, stackIdFields, stackLines, StackTraceReader, stackSample, type FrameSymbolizer, type StackSample } from '../stacks/stacks.js';

/** usdt.bpf.h's maps are the loader's plumbing, not what the program collected: shown only when named with --map. */
const USDT_MAPS = new Set([USDT_SPECS_MAP, USDT_IP_MAP]);
/** Map types whose entries are worth showing; the others hold fds or are streams. */
const SHOWN_MAP_TYPES = new Set<number>([MAP_TYPE.HASH, MAP_TYPE.ARRAY, MAP_TYPE.PERCPU_HASH, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.LRU_HASH, MAP_TYPE.LRU_PERCPU_HASH]);
const MAX_ENTRIES_READ = 65536;
const MAX_ENTRIES_SHOWN = 20;
/** The most frequent stacks a map shows in text (JSON and --folded have them all). */
const MAX_STACKS_SHOWN = 20;

export interface MapContents {
  name: string;
  pin?: string;
  entries: EntryView[];
  /** True when the map had more entries than were read. */
  truncated: boolean;
  histograms?: Histogram[];
  /** Entries whose key or value holds stack ids: their stacks symbolized, the most frequent first. */
  stacks?: StackSample[];
}

export interface RunOutputOptions extends OutputOptions {
  /** Maps to show as log2 histograms whatever their names (--hist). */
  hist?: readonly string[];
  /** The struct each output map's records are, by map name (--record-type MAP=STRUCT). */
  recordTypes?: ReadonlyMap<string, string>;
  /** Untyped records as all their bytes in hex (--raw), not a one-line summary. */
  raw?: boolean;
}

/** A record type, its decoder, and for text its columns read straight from the bytes (with their titles). */
interface TypedRecords {
  decoder: BtfDecoder;
  type: RecordType;
  columns?: RecordColumnFormatter;
  titles?: readonly string[];
  /** Its lines written as bytes, once its layout is known and printed. */
  line?: RecordLineWriter;
  /** Its --json lines written as bytes, and what each begins with (the event and map). */
  json?: RecordJsonWriter;
  jsonHead?: Buffer;
  /** The layout of its columns' titles, with and without the CPU column before them, once found. */
  layouts?: { plain?: RecordColumns; cpu?: RecordColumns };
}

/** The name of a struct's last member. */
function lastMemberName(btf: Btf, typeId: number): string {
  const t = btf.resolveType(typeId);
  return printable(t?.kind === BTF_KIND.STRUCT ? (t.members[t.members.length - 1]?.name ?? '') : '');
}

/** Cells wider than this go to the end of a record's line. */
const WIDE_CELL = 24;
/** Room a typed line is written into as bytes; a longer one is made as a string. */
const LINE_ROOM = 4096;
/** Room a typed JSON line is written into as bytes (it holds each field twice). */
const JSON_ROOM = 16384;

/** Columns of one output map's records, widened as wider values come, the header printed once. */
interface RecordColumns {
  header: string[];
  widths: number[];
  printed: boolean;
}

export class RunOutput extends Output {
  private presenters = new Map<string, MapPresenter>();
  private decoders = new Map<string, TypedRecords>();
  private recordTypesBySize = new Map<string, Map<number, TypedRecords | undefined>>();
  private typeSources: readonly TypeSource[] = [];
  private recordColumns = new Map<string, RecordColumns[]>();
  private readonly columnNames = new Map<string, string>();
  private multipleOutputs = false;
  private readonly lost = new Map<string, bigint>();
  private pendingLost = new Map<string, { map: string; cpu: number; count: bigint }>();
  private lostTimer: NodeJS.Timeout | undefined;
  private symbolizer: FrameSymbolizer | undefined;
  private stackReaders = new Map<string, StackTraceReader>();
  /** "pid comm" of the processes whose mappings were captured: an exec (a new comm) captures them again. */
  private readonly remembered = new Set<string>();

  constructor(
    override readonly options: RunOutputOptions,
    stdout?: FdWriter,
    stderr?: FdWriter,
  ) {
    super(options, stdout, stderr);
  }

  /**
   * Works out how each map is shown and how each output map's records are typed, from the type
   * sources (the object's BTF, its DWARF, --types); refuses --hist or --record-type names it cannot use.
   */
  prepare(spec: BpfObjectSpec, sources: readonly TypeSource[] = spec.btf ? [{ name: "the object's BTF", btf: spec.btf }] : []): void {
    const names = new Set(spec.maps.map((m) => m.name));
    for (const name of this.options.hist ?? []) {
      if (!names.has(name)) throw new UsageError(`--hist ${name}: the object has no map '${name}'; it has ${[...names].map((n) => `'${n}'`).join(', ')}`);
    }
    const outputs = spec.maps.filter((m) => m.type === MAP_TYPE.PERF_EVENT_ARRAY || m.type === MAP_TYPE.RINGBUF);
    this.multipleOutputs = outputs.length > 1;
    this.typeSources = sources;
    for (const [map, struct] of this.options.recordTypes ?? []) {
      if (!outputs.some((m) => m.name === map)) {
        throw new UsageError(`--record-type ${map}=${struct}: the object has no perf event array or ring buffer named '${map}'${outputs.length > 0 ? `; it has ${outputs.map((m) => `'${m.name}'`).join(', ')}` : ''}`);
      }
    }
    for (const map of outputs) {
      const typed = this.recordDecoder(spec, map.name, map.btf?.valueTypeId);
      if (typed) this.decoders.set(map.name, typed);
    }
  }

  /** The type of an output map's records when it is known before any arrives: --record-type, else the map's own value type if a struct. */
  private recordDecoder(spec: BpfObjectSpec, map: string, valueTypeId: number | undefined): TypedRecords | undefined {
    const forced = this.options.recordTypes?.get(map);
    if (forced) {
      const found = findRecordType(this.typeSources, forced);
      if (!found) {
        if (this.typeSources.length === 0) throw new UsageError(`--record-type ${map}=${forced}: the object has no BTF or DWARF to find the type in; give the tool's header with --types FILE`);
        const known = recordTypeNames(this.typeSources);
        throw new UsageError(`--record-type ${map}=${forced}: no struct '${forced}' in ${this.typeSources.map((t) => t.name).join(', ')}${known.length > 0 ? `; they have ${known.slice(0, 10).join(', ')}` : ''}`);
      }
      return this.typed(found);
    }
    const btf = spec.btf;
    const valueType = valueTypeId && btf ? btf.resolveType(valueTypeId) : undefined;
    if (btf && (valueType?.kind === BTF_KIND.STRUCT || valueType?.kind === BTF_KIND.UNION)) return this.typed({ source: { name: "the object's BTF", btf }, typeId: valueTypeId!, name: `${valueType.kind === BTF_KIND.STRUCT ? 'struct' : 'union'} ${valueType.name}` });
    return undefined;
  }

  private typed(type: RecordType): TypedRecords {
    const decoder = new BtfDecoder(type.source.btf);
    const columns = RecordColumnFormatter.of(decoder, type.typeId);
    if (!columns) return { decoder, type };
    const titles = columns.names.map((n) => n.toUpperCase());
    if (!this.options.json) return { decoder, type, columns, titles, line: new RecordLineWriter(columns, WIDE_CELL) };
    const json = RecordJsonWriter.of(columns);
    return { decoder, type, columns, titles, ...(json ? { json } : {}) };
  }

  /**
   * The type of a record of this map and size: fixed by prepare(), else the struct of that size,
   * chosen once per size and said once; a struct ending in a flexible array or cut short in its
   * last chars (variable-length records) is said once for the map, whatever sizes follow.
   */
  private recordTypeOf(map: string, size: number): TypedRecords | undefined {
    const fixed = this.decoders.get(map);
    if (fixed) return fixed;
    let bySize = this.recordTypesBySize.get(map);
    if (!bySize) this.recordTypesBySize.set(map, (bySize = new Map()));
    if (bySize.has(size)) return bySize.get(size);
    const found = recordTypeBySize(this.typeSources, size);
    const { source, typeId } = found?.chosen ?? {};
    const said = found?.flexible || found?.cut ? [...bySize.values()].find((t) => t !== undefined && t.type.source === source && t.type.typeId === typeId) : undefined;
    const typed = said ?? (found && this.typed(found.chosen));
    bySize.set(size, typed);
    if (found && !said) {
      const others = found.others.length > 0 ? `; also ${size} bytes: ${found.others.slice(0, 5).join(', ')} (--record-type ${map}=NAME chooses)` : '';
      const { name, source: from } = found.chosen;
      if (found.flexible) this.note(`map '${printable(map)}': records of ${from.btf.sizeOf(typeId!)} bytes or more are decoded as ${name} (from ${from.name}), its flexible array holding the rest of each record${others}`);
      else if (found.cut) this.note(`map '${printable(map)}': records shorter than ${name} (${from.btf.sizeOf(typeId!)} bytes) are decoded as it (from ${from.name}), each ending inside its last member ${lastMemberName(from.btf, typeId!)}${others}`);
      else this.note(`map '${printable(map)}': records of ${size} bytes are decoded as ${name} (from ${from.name})${others}`);
    } else if (!found && bySize.size === 1) {
      this.note(`map '${printable(map)}': no known struct is ${size} bytes, so records are shown untyped; give the tool's header with --types FILE (--raw shows every byte)`);
    }
    return typed;
  }

  private presenter(m: LoadedMap, loaded: LoadedObject): MapPresenter {
    let presenter = this.presenters.get(m.name);
    if (!presenter) {
      const d = m.map.definition;
      const { btf } = loaded.spec;
      presenter = new MapPresenter(
        {
          name: m.name,
          type: d.type,
          keySize: d.keySize,
          valueSize: d.valueSize,
          ...(btf && m.spec.btf ? { btf, keyTypeId: m.spec.btf.keyTypeId, valueTypeId: m.spec.btf.valueTypeId } : {}),
          ...(loaded.mapKeysAreSyscalls(m) ? { syscallKeys: true } : {}),
        },
        { histogram: this.options.hist?.includes(m.name) ?? false },
      );
      this.presenters.set(m.name, presenter);
    }
    return presenter;
  }

  loaded(objectPath: string, loaded: LoadedObject, notes: { tracePipe: boolean; readers: string[]; skipped: ReadonlyArray<{ program: string; reason: Wording }>; alternatives: readonly AlternativeGroup[]; duration?: number; metrics?: string }): void {
    const maps = [...loaded.maps.values()];
    const programs = [...loaded.programs.values()];
    if (notes.tracePipe) this.note('the programs call bpf_trace_printk: showing trace_pipe, which is system-wide (lines of other programs appear too) and consumed by reading it (--no-trace-pipe turns this off)');
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
        tailCalls: loaded.filledSlots.map((s) => ({ map: s.map, index: s.index, program: s.program })),
        skipped: notes.skipped.map((s) => ({ program: s.program, reason: say(s.reason, commandLineName) })),
        alternatives: notes.alternatives.map((g) => ({ ...g, leftOut: g.leftOut.map((l) => ({ ...l, reason: say(l.reason, commandLineName), ...(l.refused === undefined ? {} : { refused: say(l.refused, commandLineName) }) })) })),
        reading: { tracePipe: notes.tracePipe, maps: notes.readers },
        metrics: notes.metrics ?? null,
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
      loaded.attachments.map((a) => [a.kind, a.resolved === a.target ? a.target : `${a.target} -> ${a.resolved}`, `${a.source}, ${a.binding}`, `program ${a.program}`, a.event ? `event ${a.event}` : '']),
    );
    for (const a of loaded.attachments.filter((x) => x.functions)) {
      section(
        `cookies of ${a.program} (bpf_get_attach_cookie() -> function)`,
        a.functions!.map((name, cookie) => [String(cookie), name]),
      );
    }
    section(
      'tail calls',
      loaded.filledSlots.map((s) => [`${s.map}[${s.index}]`, `program ${s.program}`]),
    );
    if (notes.readers.length > 0) lines.push(`reading ${notes.readers.map((r) => `'${r}'`).join(', ')} as records come`);
    this.lines([...lines, notes.duration ? `detaching in ${notes.duration} s, or press Ctrl-C` : 'press Ctrl-C to detach']);
  }

  /** A line a program wrote with bpf_trace_printk. */
  trace(line: TraceLine | { raw: string }): void {
    if ('message' in line) {
      if (this.options.json) this.json({ event: 'trace', time: line.time, task: line.task, ...(line.taskFrom ? { taskFrom: line.taskFrom } : {}), pid: line.pid, cpu: line.cpu, message: line.message });
      else this.lines([`${line.time.toFixed(6)}  cpu ${line.cpu}  ${line.task}-${line.pid}  ${line.message}`]);
    } else if (this.options.json) {
      this.json({ event: 'trace', raw: line.raw });
    } else {
      this.lines([line.raw]);
    }
  }

  /** One record from an output map: decoded by its type when known, each field shown by the value rules; else a one-line summary. */
  record(map: string, cpu: number | undefined, data: Buffer): void {
    // --quiet: the record is counted (metrics) by the reader, not decoded for nobody.
    if (this.options.quiet) return;
    const typed = this.recordTypeOf(map, data.length);
    if (this.options.json) {
      if (typed?.json && data.length >= typed.columns!.size && this.typedJson(typed, typed.json, map, cpu, data)) return;
      const decoded = typed ? typed.decoder.decode(typed.type.typeId, data) : undefined;
      const formatted = typed ? formatRecord(typed.type.source.btf, typed.type.typeId, decoded!) : undefined;
      this.json({ event: 'record', map, ...(cpu === undefined ? {} : { cpu }), data: decoded ?? untypedRecord(data), ...(formatted === undefined ? {} : { formatted }) });
      return;
    }
    if (typed?.line && data.length >= typed.columns!.size) {
      const layout = typed.layouts?.[cpu === undefined ? 'plain' : 'cpu'];
      if (layout?.printed && this.typedLine(typed.line, layout.widths, map, cpu, data)) return;
    }
    const names: string[] = [];
    const texts: string[] = [];
    if (this.multipleOutputs) {
      names.push('MAP');
      texts.push(map);
    }
    if (cpu !== undefined) {
      names.push('CPU');
      texts.push(String(cpu));
    }
    let layout: RecordColumns | undefined;
    if (typed?.columns && data.length >= typed.columns.size) {
      const first = texts.length;
      typed.columns.texts(data, cellText, texts);
      const titles = typed.titles!;
      // Wide text (a path, a command line) goes last, as the tools print it, so the other columns stay aligned.
      let wide: number[] | undefined;
      for (let i = first; i < texts.length; i++) if (texts[i]!.length > WIDE_CELL) (wide ??= []).push(i - first);
      // Wide cells that are already last (a path in the last column) keep the common line.
      if (wide && !wide.every((column, k) => column === titles.length - wide!.length + k)) {
        const cells = texts.splice(first);
        for (let i = 0, w = 0; i < cells.length; i++) {
          if (wide[w] === i) w++;
          else {
            names.push(titles[i]!);
            texts.push(cells[i]!);
          }
        }
        for (const i of wide) {
          names.push(titles[i]!);
          texts.push(cells[i]!);
        }
      } else {
        // The common line: the layout of these titles, found once per record type and prefix.
        const key = cpu === undefined ? 'plain' : 'cpu';
        layout = typed.layouts?.[key];
        if (!layout) {
          names.push(...titles);
          layout = this.recordLayout(map, names);
          (typed.layouts ??= {})[key] = layout;
        }
      }
    } else if (typed) {
      const cells: Array<[string, string]> = [];
      let wide: Array<[string, string]> | undefined;
      for (const [name, value] of columns(formatRecord(typed.type.source.btf, typed.type.typeId, typed.decoder.decode(typed.type.typeId, data)), 'data')) {
        const text = cellText(value);
        if (text.length > WIDE_CELL) (wide ??= []).push([this.columnName(name), text]);
        else cells.push([this.columnName(name), text]);
      }
      for (const [title, text] of [...cells, ...(wide ?? [])]) {
        names.push(title);
        texts.push(text);
      }
    } else {
      names.push('DATA');
      texts.push(this.options.raw ? `0x${data.toString('hex')}` : untypedSummary(data));
    }
    layout ??= this.recordLayout(map, names);
    const { widths } = layout;
    for (let i = 0; i < texts.length; i++) if (texts[i]!.length > widths[i]!) widths[i] = texts[i]!.length;
    if (!layout.printed) {
      layout.printed = true;
      this.lines([alignedRow(layout.header, widths), alignedRow(texts, widths)]);
    } else {
      this.line(alignedRow(texts, widths));
    }
  }

  /**
   * A typed record's line written as bytes into stdout's buffer, under a header already printed:
   * false (nothing written, no width changed) when a cell needs the string path (not printable
   * ASCII, wide but not last, too long), which then makes the same line.
   */
  private typedLine(line: RecordLineWriter, widths: number[], map: string, cpu: number | undefined, data: Buffer): boolean {
    const out = this.stdout.placeFor(LINE_ROOM);
    let at = writeAscii(out, this.stdout.placeAt, this.linePrefix);
    let column = 0;
    if (at >= 0 && this.multipleOutputs) at = line.lead(map, out, at, widths, column++);
    if (at >= 0 && cpu !== undefined) at = line.lead(String(cpu), out, at, widths, column++);
    if (at >= 0) at = line.write(data, out, at, widths, column);
    if (at < 0) return false;
    this.stdout.commitPlace(at);
    return true;
  }

  /** A typed record's --json line written as bytes into stdout's buffer: false (nothing written) when it does not fit, and the string path makes it. */
  private typedJson(typed: TypedRecords, json: RecordJsonWriter, map: string, cpu: number | undefined, data: Buffer): boolean {
    const { object } = this.options;
    typed.jsonHead ??= Buffer.from(`{${object ? `"object":${decodedJson(object.path)},` : ''}"event":"record","map":${decodedJson(map)},`);
    const out = this.stdout.placeFor(JSON_ROOM);
    const at = json.write(data, out, this.stdout.placeAt, typed.jsonHead, cpu);
    if (at < 0) return false;
    this.stdout.commitPlace(at);
    return true;
  }

  /** A member's column title: upper case, worked out once per name. */
  private columnName(name: string): string {
    let title = this.columnNames.get(name);
    if (title === undefined) this.columnNames.set(name, (title = name.toUpperCase()));
    return title;
  }

  /** The columns of a map's records with these titles: a record of another shape (another size, another type) gets its own header. */
  private recordLayout(map: string, header: readonly string[]): RecordColumns {
    let layouts = this.recordColumns.get(map);
    if (!layouts) this.recordColumns.set(map, (layouts = []));
    const found = layouts.find((l) => l.header.length === header.length && l.header.every((h, i) => h === header[i]));
    if (found) return found;
    const layout = { header: [...header], widths: header.map((h) => h.length), printed: false };
    layouts.push(layout);
    return layout;
  }

  /** Records the kernel dropped: gathered and said once a second per map and CPU, so a burst does not flood. */
  lostRecords(map: string, cpu: number, count: bigint): void {
    this.lost.set(map, (this.lost.get(map) ?? 0n) + count);
    const key = `${map}\0${cpu}`;
    const pending = this.pendingLost.get(key);
    if (pending) pending.count += count;
    else this.pendingLost.set(key, { map, cpu, count });
    this.lostTimer ??= setTimeout(() => this.flushLost(), 1000);
  }

  flushLost(): void {
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    for (const { map, cpu, count } of this.pendingLost.values()) {
      if (this.options.json) this.json({ event: 'lost', map, cpu, count });
      else this.note(`map '${map}' lost ${count} record${count === 1n ? '' : 's'} on CPU ${cpu}: its perf ring was full (a larger --perf-pages, or a less busy reader, helps)`);
    }
    this.pendingLost.clear();
  }

  /** Reads what the maps hold, before they are closed; a map whose pin changed is not called kept. */
  mapContents(loaded: LoadedObject, changed: readonly PinChange[] = [], only?: readonly string[]): MapContents[] {
    const moved = new Set(changed.map((c) => c.path));
    const contents: MapContents[] = [];
    for (const m of loaded.maps.values()) {
      if (only && only.length > 0 ? !only.includes(m.name) : !SHOWN_MAP_TYPES.has(m.map.definition.type) || USDT_MAPS.has(m.name)) continue;
      const presenter = this.presenter(m, loaded);
      const entries: EntryView[] = [];
      let truncated = false;
      try {
        outer: for (const batch of m.map.readBatches()) {
          const keySize = m.map.definition.keySize;
          const valueSize = m.map.valueBufferSize;
          for (let i = 0; i < batch.count; i++) {
            if (entries.length === MAX_ENTRIES_READ) {
              truncated = true;
              break outer;
            }
            entries.push(presenter.entry(batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)));
          }
        }
      } catch (error) {
        this.note(`could not read map '${m.name}': ${messageOf(error)}`);
      }
      const sorted = sortEntries(entries) as EntryView[];
      const histograms = presenter.histograms(sorted);
      const stacks = this.stacksOf(loaded, sorted);
      contents.push({ name: m.name, ...(m.pin && !moved.has(m.pin.path) ? { pin: m.pin.path } : {}), entries: sorted, truncated, ...(histograms ? { histograms } : {}), ...(stacks ? { stacks } : {}) });
    }
    return contents;
  }

  /** The stacks behind the entries' stack ids, from the object's stack trace map; undefined when the entries hold none. */
  private stacksOf(loaded: LoadedObject, entries: readonly EntryView[]): StackSample[] | undefined {
    const stackMap = stackTraceMap(loaded);
    if (!stackMap || entries.length === 0 || !entries[0]!.formatted) return undefined;
    let reader = this.stackReaders.get(stackMap.name);
    if (!reader) {
      const key = Buffer.alloc(4);
      reader = new StackTraceReader((id) => {
        key.writeUInt32LE(id >>> 0);
        try {
          return stackMap.map.lookup(key);
        } catch {
          return undefined;
        }
      });
      this.stackReaders.set(stackMap.name, reader);
    }
    this.symbolizer ??= frameSymbolizer();
    const samples: StackSample[] = [];
    for (const e of entries) {
      const sample = stackSample(e.formatted!.key, e.formatted!.value, reader, this.symbolizer);
      if (sample) samples.push(sample);
    }
    // Ids seen now are read again at the next look: entries of the stack map may have been replaced.
    reader.clear();
    return samples.length > 0 ? mergeSamples(samples) : undefined;
  }

  /**
   * Remembers the mappings of the processes named in maps whose entries hold stack ids, while they
   * live: by the time the maps are shown, a sampled process may have exited.
   */
  rememberProcesses(loaded: LoadedObject): void {
    for (const m of loaded.maps.values()) {
      if (!SHOWN_MAP_TYPES.has(m.map.definition.type)) continue;
      const presenter = this.presenter(m, loaded);
      const keySize = m.map.definition.keySize;
      try {
        // Keys only; a map whose first key holds no stack id holds none.
        keys: for (const batch of m.map.readBatches()) {
          for (let i = 0; i < batch.count; i++) {
            const key = presenter.typedKey(batch.keys.subarray(i * keySize, (i + 1) * keySize));
            if (key === undefined || stackIdFields(key).length === 0) break keys;
            const pid = pidOf(key);
            const seen = `${pid} ${commOf(key) ?? ''}`;
            if (pid !== undefined && !this.remembered.has(seen)) {
              this.remembered.add(seen);
              (this.symbolizer ??= frameSymbolizer()).remember(pid);
            }
          }
        }
      } catch {
        // A map being read as the run ends; the report reads it again.
      }
    }
  }

  /** The maps now, for --interval: a timestamped snapshot. */
  snapshot(loaded: LoadedObject, only: readonly string[]): void {
    const contents = this.mapContents(loaded, [], only);
    if (this.options.json) {
      this.json({ event: 'maps', time: new Date().toISOString(), maps: contents.map(contentsJson) });
      return;
    }
    this.lines([`${new Date().toTimeString().slice(0, 8)}`, ...contents.flatMap((c) => this.contentsText(c))]);
  }

  private contentsText(map: MapContents): string[] {
    const lines: string[] = [];
    const count = `${map.entries.length}${map.truncated ? '+' : ''} ${map.entries.length === 1 && !map.truncated ? 'entry' : 'entries'}`;
    lines.push(`${map.name}${map.pin ? ` (kept at ${map.pin})` : ''}: ${count}`);
    if (map.histograms) {
      for (const h of map.histograms) lines.push(...histogramLines(h, '  '));
      return lines;
    }
    if (map.stacks) {
      lines[0] += `, ${map.stacks.length} different stack${map.stacks.length === 1 ? '' : 's'}${map.stacks.length > MAX_STACKS_SHOWN ? ` (the ${MAX_STACKS_SHOWN} most frequent shown)` : ''}`;
      for (const sample of map.stacks.slice(0, MAX_STACKS_SHOWN)) lines.push(...stackLines(sample), '');
      return lines;
    }
    const shown = map.entries.slice(0, MAX_ENTRIES_SHOWN);
    const presenter = this.presenters.get(map.name);
    if (shown.length > 0) lines.push(...(presenter ? presenter.tableLines(shown) : table([['  key', 'value'], ...shown.map((e) => [`  ${e.key}`, e.value])])));
    if (map.entries.length > shown.length) lines.push(`  ... ${map.entries.length - shown.length} more`);
    return lines;
  }

  detached(reason: string, loaded: LoadedObject, contents: MapContents[], released: string[], failures: ReleaseFailure[], changed: readonly PinChange[] = []): void {
    this.flushLost();
    const moved = new Set(changed.map((c) => c.path));
    const kept = [...loaded.maps.values()].filter((m) => m.pin && !moved.has(m.pin.path)).map((m) => m.pin!.path);
    const lost = Object.fromEntries(this.lost);
    if (this.options.json) {
      this.json({
        event: 'detached',
        signal: reason === 'duration' ? null : reason,
        reason: reason === 'duration' ? 'duration' : 'signal',
        released,
        kept,
        failures: failures.map((f) => ({ release: f.description, error: messageOf(f.error) })),
        pinsChanged: changed,
        lost,
        maps: contents.map(contentsJson),
      });
    } else {
      const lines = [`detached (${reason === 'duration' ? 'the --duration ended' : reason})`];
      for (const [map, count] of this.lost) lines.push(`${map}: ${count} record${count === 1n ? '' : 's'} lost`);
      for (const map of contents) lines.push(...this.contentsText(map));
      this.lines(lines);
    }
    for (const f of failures) this.note(`could not ${f.description}: ${messageOf(f.error)}`);
    for (const c of changed) {
      const now = c.now === undefined ? 'nothing is pinned there now' : `it now holds another map (id ${c.now})`;
      this.note(`map '${printable(c.map)}' is not kept at ${c.path}: ${now}; what this run counted was in map id ${c.ours}, which is gone with it`);
    }
  }
}

function contentsJson(map: MapContents): unknown {
  return {
    name: map.name,
    ...(map.pin ? { pin: map.pin } : {}),
    entries: map.entries,
    truncated: map.truncated,
    ...(map.histograms ? { histograms: map.histograms.map(histogramJson) } : {}),
    ...(map.stacks ? { stacks: map.stacks.map(stackJson) } : {}),
  };
}

/** The object's stack trace map, where its programs keep the stacks whose ids other maps hold. */
export function stackTraceMap(loaded: LoadedObject): LoadedMap | undefined {
  return [...loaded.maps.values()].find((m) => m.map.definition.type === MAP_TYPE.STACK_TRACE);
}

function stackJson(sample: StackSample): unknown {
  const stacks = Object.fromEntries(
    Object.entries(sample.stacks).map(([field, stack]) => [field, 'missing' in stack ? { missing: stack.missing } : stack.frames.map(({ address, symbol, offset, module, kernel }) => ({ address, symbol, offset, module, kernel }))]),
  );
  return { ...(sample.comm === undefined ? {} : { comm: sample.comm }), ...(sample.pid === undefined ? {} : { pid: sample.pid }), count: sample.count, stacks };
}
