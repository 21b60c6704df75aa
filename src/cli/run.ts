// The run command: read and check the object, load and attach it, show what it says while attached, detach on a signal or after --duration.
import { joined } from '../wording.js';
import { describeAlternatives } from '../attach/alternatives.js';
import { planAttachments } from '../attach/plan.js';
import { methodReason } from '../attach/prepared.js';
import type { AttachMode } from '../attach/probe.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LoaderError, UsageError, kernelError } from '../errors.js';
import { machineCpuCount } from '../kernel/cpus.js';
import { LoadedObject } from '../loader.js';
import { parseBpfObject } from '../object/bpf-object.js';
import { globalVariables, withGlobals } from '../object/globals.js';
import { withMaxEntries } from '../object/map-sizes.js';
import { MAP_TYPE } from '../object/map-types.js';
import { objectTypeSources } from '../object/type-sources.js';
import { flameGraphSvg } from '../stacks/flamegraph.js';
import { foldedLines } from '../stacks/stacks.js';
import { formatExposition } from '../metrics/exposition.js';
import { ObjectMetrics } from '../metrics/object-metrics.js';
import { checkMetricsConfig, parseMetricsConfig, type MetricsConfig } from '../metrics/config.js';
import type { BpfObjectSpec } from '../object/spec.js';
import { printable } from '../text.js';
import { checkProcess } from '../attach/process-target.js';
import { checkOpenFiles } from './limits.js';
import { LiveOutput, callsTracePrintk } from './live.js';
import { MetricsServer, parseMetricsAddress } from './metrics-server.js';
import { readObjectFile } from './object-file.js';
import type { MapContents, RunOutput } from './run-output.js';
import { SignalWatch } from './signals.js';
import { applyUpdates, checkUpdates, type MapUpdate } from './updates.js';

export interface RunOptions {
  verbose: boolean;
  json: boolean;
  pinRoot: string;
  retprobe: boolean;
  program: string[];
  attachMode: AttachMode;
  /** false with --no-trace-pipe. */
  tracePipe: boolean;
  perfPages: number;
  /** Seconds between map snapshots (0: none), and which maps (all when empty). */
  interval: number;
  map: string[];
  /** Seconds after which to detach by itself (0: wait for a signal). */
  duration: number;
  /** Programs' targets (--attach), programs attached at their target's return (--retprobe=PROG). */
  targets: ReadonlyMap<string, string>;
  retprobePrograms: readonly string[];
  /** USDT probes (--usdt [PROG=]BINARY:PROVIDER:NAME), as given. */
  usdt: readonly string[];
  skipMissing: boolean;
  /** Global variables to set before load (--set). */
  globals: ReadonlyMap<string, string>;
  /** The kernel's BTF from a file (--btf). */
  btf?: string;
  /** Programs to leave out (--exclude), after --program chose. */
  exclude: string[];
  /** Attach alternatives of each other too (--all-programs). */
  allPrograms: boolean;
  /** Max entries by map name (--max-entries MAP=N). */
  mapSizes: ReadonlyMap<string, number>;
  /** Entries written into maps after load, before attach (--update MAP:KEY=VALUE). */
  updates: readonly MapUpdate[];
  /** The kernel's configuration from a file (--kconfig). */
  kconfig?: string;
  /** Headers and ELFs with the records' types (--types). */
  types: readonly string[];
  /** The process to limit uprobes, USDT probes and sampling to (--pid). */
  pid?: number;
  /** Where to write the stacks at detach, folded (--folded) and as a flame graph (--flamegraph). */
  folded?: string;
  flamegraph?: string;
  /** Where to serve the maps for Prometheus while attached (--metrics [ADDRESS:]PORT). */
  metrics?: string;
  /** Series one map may export (--metrics-max-series); the library's default when not given. */
  metricsMaxSeries?: number;
  /** Which maps --metrics serves and how (--metrics-config FILE). */
  metricsConfig?: string;
}

function readObject(path: string): { bytes: Uint8Array; spec: BpfObjectSpec } {
  const bytes = readObjectFile(path);
  try {
    return { bytes, spec: parseBpfObject(bytes) };
  } catch (error) {
    if (error instanceof LoaderError) error.prepend(`${printable(path)}: `);
    throw error;
  }
}

/** The fds a run holds: a map, a program, a perf event, a link and maybe a trace event per attachment, a perf event per CPU per perf buffer. */
function openFilesNeeded(spec: BpfObjectSpec, attachments: number): number {
  const perfArrays = spec.maps.filter((m) => m.type === MAP_TYPE.PERF_EVENT_ARRAY).length;
  return spec.maps.length + attachments * 4 + perfArrays * machineCpuCount() + 4;
}

/** A --usdt value: "PROG=" is a C name before '=' (a binary's path may hold '=' itself). */
function usdtOption(text: string): { program?: string; target: string } {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(text);
  return match ? { program: match[1]!, target: match[2]! } : { target: text };
}

/** Loads, attaches, shows, and detaches on SIGINT/SIGTERM/SIGHUP or after --duration. Returns the exit code. */
export async function runLoader(objectPath: string, functionName: string | undefined, options: RunOptions, out: RunOutput): Promise<number> {
  // Caught from the very start: a signal during loading is handled once loading returns.
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  let loaded: LoadedObject | undefined;
  let live: LiveOutput | undefined;
  // Last resort for exits that bypass the paths below (process.exit from elsewhere).
  const onExit = (): void => void loaded?.close();
  process.on('exit', onExit);
  let duration: NodeJS.Timeout | undefined;
  let server: MetricsServer | undefined;
  let metrics: ObjectMetrics | undefined;
  try {
    if (options.pid !== undefined) checkProcess(options.pid);
    const metricsAddress = options.metrics === undefined ? undefined : parseMetricsAddress(options.metrics);
    if (!metricsAddress && options.metricsMaxSeries !== undefined) throw new UsageError(`--metrics-max-series ${options.metricsMaxSeries}: it caps what --metrics serves; give --metrics too`);
    if (!metricsAddress && options.metricsConfig !== undefined) throw new UsageError(`--metrics-config ${printable(options.metricsConfig)}: it configures what --metrics serves; give --metrics too`);
    const metricsConfig = options.metricsConfig === undefined ? undefined : readMetricsConfig(options.metricsConfig);
    const object = readObject(objectPath);
    const spec = withMaxEntries(withGlobals(object.spec, withPidGlobal(object.spec, options, out)), options.mapSizes);
    checkUpdates(spec, options.updates);
    spec.notices.forEach((n) => out.note(n));
    // The records' types (DWARF can take a while to read) matter only to an object that sends records.
    const sendsRecords = spec.maps.some((m) => m.type === MAP_TYPE.PERF_EVENT_ARRAY || m.type === MAP_TYPE.RINGBUF);
    if (!sendsRecords && options.types.length > 0) throw new LoaderError(`--types ${options.types[0]}: the object has no perf event array or ring buffer whose records it would type`);
    out.prepare(spec, sendsRecords ? objectTypeSources(object.bytes, spec.btf, options.types) : undefined);
    for (const [flag, file] of [['--folded', options.folded], ['--flamegraph', options.flamegraph]] as const) {
      if (file !== undefined && !spec.maps.some((m) => m.type === MAP_TYPE.STACK_TRACE)) throw new LoaderError(`${flag} ${file}: the object has no stack trace map whose stacks it would write`);
    }
    if (metricsConfig) checkMetricsConfig(metricsConfig, spec.maps.map((m) => m.name));
    const unknownMaps = options.map.filter((name) => !spec.maps.some((m) => m.name === name));
    if (unknownMaps.length > 0) throw new LoaderError(`--map ${unknownMaps[0]}: the object has no such map; it has ${spec.maps.map((m) => `'${m.name}'`).join(', ')}`);
    const plan = planAttachments(spec, {
      programs: options.program,
      exclude: options.exclude,
      ...(functionName === undefined ? {} : { function: functionName }),
      retprobe: options.retprobe,
      retprobePrograms: options.retprobePrograms,
      targets: options.targets,
      usdt: options.usdt.map(usdtOption),
      skipMissing: options.skipMissing,
      allPrograms: options.allPrograms,
      mode: options.attachMode,
      ...(options.pid === undefined ? {} : { pid: options.pid }),
      ...(options.btf === undefined ? {} : { kernelBtfFile: options.btf }),
    });
    plan.attachments.forEach((p) => p.prepared?.notes.forEach((n) => out.note(n)));
    for (const s of plan.skipped) out.note(joined(`skipped program '${s.program}': `, s.reason));
    for (const group of plan.alternatives) out.note(describeAlternatives(group));
    const tooMany = checkOpenFiles(openFilesNeeded(spec, plan.attachments.length), printable(objectPath));
    if (tooMany) throw new LoaderError(tooMany);
    const tracing = callsTracePrintk(spec, plan.attachments.map((p) => p.program.name));
    live = new LiveOutput(out, { tracePipe: options.tracePipe, perfPages: options.perfPages, interval: options.interval, maps: options.map }, tracing);
    const liveOutput = live;
    // Listening before the load: a port in use costs nothing in the kernel. Scrapes wait (503) until attached.
    if (metricsAddress) server = await MetricsServer.listen(metricsAddress, () => (metrics ? formatExposition(metrics.collect()) : undefined));
    const metricsPrefix = basename(objectPath).replace(/(\.bpf)?\.o$/, '');
    loaded = LoadedObject.start(spec, {
      pinRoot: options.pinRoot,
      attach: plan.attachments,
      ...(options.kconfig === undefined ? {} : { kernelConfigFile: options.kconfig }),
      ...(options.btf === undefined ? {} : { kernelBtfFile: options.btf }),
      beforeAttach: (l) => {
        applyUpdates(l, options.updates);
        if (server) metrics = new ObjectMetrics(l, { object: metricsPrefix, ...(options.metricsMaxSeries === undefined ? {} : { maxSeries: options.metricsMaxSeries }), ...(metricsConfig ? { config: metricsConfig } : {}) });
        liveOutput.open(l, metrics);
      },
      onAttach: (program, prepared) => out.verbose(joined(`attaching program '${program.name}' (section '${program.section}'): `, methodReason(prepared))),
      onRetry: (reason) => out.note(reason),
    });
    loaded.notices.forEach((n) => out.note(n));
    for (const sized of loaded.sizedAtRunTime) {
      out.note(
        sized.field === 'valueSize'
          ? `map '${printable(sized.map)}' has no value size in the object (its tool's user space sets it): ${sized.value} bytes, ${sized.reason}`
          : `map '${printable(sized.map)}' has no max entries in the object (its tool's user space sets them): ${sized.value}, ${sized.reason}; choose with --max-entries ${printable(sized.map)}=N`,
      );
    }
    if (server) out.note(`serving the maps for Prometheus at ${server.url}`);
    out.loaded(objectPath, loaded, { tracePipe: live.readingTracePipe, readers: live.readerNames, skipped: plan.skipped, alternatives: plan.alternatives, duration: options.duration, ...(server ? { metrics: server.url } : {}) });
    live.start(loaded);

    const ended = options.duration > 0 ? new Promise<'duration'>((resolve) => (duration = setTimeout(() => resolve('duration'), options.duration * 1000))) : new Promise<never>(() => undefined);
    const reason = await Promise.race([signals.next(), ended]);
    // From here a second signal has its default effect: the process ends at once.
    signals.stop();
    out.verbose(reason === 'duration' ? `--duration ${options.duration} s ended: detaching` : `received ${reason}: detaching`);
    live.stop();
    // Scrapes from here on get a 503: the maps are about to go.
    metrics = undefined;
    const changed = loaded.changedPins();
    const contents = out.mapContents(loaded, changed);
    const releases = loaded.pendingReleases();
    const failures = loaded.close();
    out.detached(reason, loaded, contents, releases, failures, changed);
    if (options.folded !== undefined || options.flamegraph !== undefined) writeStacks(options, printable(objectPath), contents, out);
    return failures.length === 0 && changed.length === 0 ? 0 : 1;
  } catch (error) {
    live?.stop();
    const failures = loaded?.close() ?? [];
    out.failed(error, failures);
    return 1;
  } finally {
    if (duration) clearTimeout(duration);
    await server?.close();
    signals.stop();
    process.removeListener('exit', onExit);
    await out.finish();
  }
}

/** --metrics-config FILE, read and checked; its mistakes name the file. */
function readMetricsConfig(path: string): MetricsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw kernelError(`reading the metrics configuration ${printable(path)}`, error);
  }
  return parseMetricsConfig(text, `--metrics-config ${printable(path)}`);
}

/** The stacks of every map, folded (for flamegraph.pl, inferno or speedscope) and as a flame graph. */
function writeStacks(options: RunOptions, object: string, contents: readonly MapContents[], out: RunOutput): void {
  const samples = contents.flatMap((c) => c.stacks ?? []);
  const lines = foldedLines(samples);
  const total = samples.reduce((sum, s) => sum + s.count, 0n);
  const said = `${lines.length} stack${lines.length === 1 ? '' : 's'} (${total} sample${total === 1n ? '' : 's'})`;
  const write = (path: string, text: string): void => {
    try {
      writeFileSync(path, text);
    } catch (error) {
      throw kernelError(`writing the stacks to ${printable(path)}`, error);
    }
    out.note(`wrote ${said} to ${printable(path)}`);
  };
  if (options.folded !== undefined) write(options.folded, lines.map((l) => `${l}\n`).join(''));
  if (options.flamegraph !== undefined) write(options.flamegraph, flameGraphSvg(lines, { title: `${object}: ${total} sample${total === 1n ? '' : 's'}` }));
}

/**
 * --set with the pid filter libbpf-tools objects carry: targ_tgid where the object has it (a process,
 * as opensnoop's -p sets it), else targ_pid (profile's -p); one the user set is left alone. Said on stderr.
 */
function withPidGlobal(spec: BpfObjectSpec, options: RunOptions, out: RunOutput): ReadonlyMap<string, string> {
  if (options.pid === undefined) return options.globals;
  const names = new Set(globalVariables(spec).map((v) => v.name));
  const name = ['targ_tgid', 'targ_pid'].find((n) => names.has(n));
  if (name === undefined || options.globals.has(name)) return options.globals;
  out.note(`--pid ${options.pid}: set the object's ${name} to ${options.pid} (--set ${name}=N chooses otherwise)`);
  return new Map([...options.globals, [name, String(options.pid)]]);
}
