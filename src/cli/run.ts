// The run command: read and check the object, load and attach it, show what it says while attached, detach on a signal or after --duration.
import { joined } from '../wording.js';
import { readConfigFile } from '../config-text.js';
import { describeAlternatives } from '../attach/alternatives.js';
import { planAttachments, type Plan } from '../attach/plan.js';
import { methodReason } from '../attach/prepared.js';
import type { AttachMode } from '../attach/probe.js';
import { writeFileSync } from 'node:fs';
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
  /** Nothing on stdout (--quiet): records are still read (and counted for --metrics), not shown. */
  quiet: boolean;
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

/** One object of a run (or of serve), read, checked and planned: nothing of it is in the kernel yet. */
export interface PlannedRun {
  objectPath: string;
  options: RunOptions;
  out: RunOutput;
  spec: BpfObjectSpec;
  plan: Plan;
  live: LiveOutput;
  /** The prefix of its metric names: --metrics-config's prefix, else the file's name without .o. */
  metricsPrefix: string;
  metricsConfig?: MetricsConfig;
}

/** A planned object in the kernel: loaded, attached, its readers open. */
export interface AttachedRun {
  planned: PlannedRun;
  loaded: LoadedObject;
  /** Its maps as metrics, when served. */
  metrics?: ObjectMetrics;
}

/**
 * Reads the object and every file its options name, checks the options against it and plans its
 * attachments: every mistake is found here, before anything is created in the kernel.
 * `served`: its maps will be served for Prometheus (--metrics, or serve).
 */
export function planRun(run: RunObject, served: boolean): PlannedRun {
  const { path: objectPath, functionName, options, out } = run;
  if (options.pid !== undefined) checkProcess(options.pid);
  if (!served && options.metricsMaxSeries !== undefined) throw new UsageError(`--metrics-max-series ${options.metricsMaxSeries}: it caps what --metrics serves; give --metrics too`);
  if (!served && options.metricsConfig !== undefined) throw new UsageError(`--metrics-config ${printable(options.metricsConfig)}: it configures what --metrics serves; give --metrics too`);
  if (options.quiet && options.interval > 0) throw new UsageError(`--interval ${options.interval}: it prints the maps, and --quiet prints nothing`);
  const metricsConfig = run.metricsConfig ?? (options.metricsConfig === undefined ? undefined : readMetricsConfig(options.metricsConfig));
  const object = readObject(objectPath);
  const spec = withMaxEntries(withGlobals(object.spec, withPidGlobal(object.spec, options, out)), options.mapSizes);
  checkUpdates(spec, options.updates);
  spec.notices.forEach((n) => out.note(n));
  // The records' types (DWARF can take a while to read) matter only to an object that sends records.
  const sendsRecords = spec.maps.some((m) => m.type === MAP_TYPE.PERF_EVENT_ARRAY || m.type === MAP_TYPE.RINGBUF);
  if (!sendsRecords && options.types.length > 0) throw new LoaderError(`--types ${options.types[0]}: the object has no perf event array or ring buffer whose records it would type`);
  out.prepare(spec, sendsRecords ? objectTypeSources(object.bytes, spec, options.types) : undefined);
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
  // --quiet shows nothing, so trace_pipe (system-wide, consumed by reading) is left to others.
  const tracing = !options.quiet && callsTracePrintk(spec, plan.attachments.map((p) => p.program.name));
  const live = new LiveOutput(out, { tracePipe: options.tracePipe, perfPages: options.perfPages, interval: options.interval, maps: options.map }, tracing);
  const metricsPrefix = metricsConfig?.prefix ?? objectName(objectPath);
  return { objectPath, options, out, spec, plan, live, metricsPrefix, ...(metricsConfig ? { metricsConfig } : {}) };
}

/**
 * Loads a planned object and attaches it, its readers open before the first attachment; with
 * `served`, its maps become metrics. On failure nothing of it stays in the kernel, and the error is thrown.
 */
export function startRun(planned: PlannedRun, served: boolean): AttachedRun {
  const { options, out, live, plan } = planned;
  let metrics: ObjectMetrics | undefined;
  const loaded = LoadedObject.start(planned.spec, {
    pinRoot: options.pinRoot,
    attach: plan.attachments,
    ...(options.kconfig === undefined ? {} : { kernelConfigFile: options.kconfig }),
    ...(options.btf === undefined ? {} : { kernelBtfFile: options.btf }),
    beforeAttach: (l) => {
      applyUpdates(l, options.updates);
      if (served) {
        const config = planned.metricsConfig;
        metrics = new ObjectMetrics(l, { object: planned.metricsPrefix, ...(options.metricsMaxSeries === undefined ? {} : { maxSeries: options.metricsMaxSeries }), ...(config ? { config } : {}) });
      }
      live.open(l, metrics);
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
  return { planned, loaded, ...(metrics ? { metrics } : {}) };
}

/** Says what is attached and starts showing what the programs send. */
export function showRun(run: AttachedRun, metricsUrl?: string): void {
  const { planned, loaded } = run;
  const { out, live, plan, options } = planned;
  out.loaded(planned.objectPath, loaded, { tracePipe: live.readingTracePipe, readers: live.readerNames, skipped: plan.skipped, alternatives: plan.alternatives, duration: options.duration, ...(metricsUrl ? { metrics: metricsUrl } : {}) });
  live.start(loaded);
}

/** Detaches and releases (pins stay), reports what the maps hold and writes the stacks; the exit code: 1 when a release failed or a pin changed. */
export function stopRun(run: AttachedRun, reason: string): number {
  const { planned, loaded } = run;
  const { out, live, options } = planned;
  live.stop();
  const changed = loaded.changedPins();
  const stacks = options.folded !== undefined || options.flamegraph !== undefined;
  // --quiet reads the maps only for the stacks it writes.
  const contents = options.quiet && !stacks ? [] : out.mapContents(loaded, changed);
  const releases = loaded.pendingReleases();
  const failures = loaded.close();
  out.detached(reason, loaded, contents, releases, failures, changed);
  if (stacks) writeStacks(options, printable(planned.objectPath), contents, out);
  return failures.length === 0 && changed.length === 0 ? 0 : 1;
}

/** What ends a run: a signal's name, or 'duration' when --duration ran out. */
export async function runEnds(signals: SignalWatch, seconds: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const ended = seconds > 0 ? new Promise<'duration'>((resolve) => (timer = setTimeout(() => resolve('duration'), seconds * 1000))) : new Promise<never>(() => undefined);
  try {
    return await Promise.race([signals.next(), ended]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** One object to run: its path, its function argument, its options and its output. */
export interface RunObject {
  path: string;
  functionName?: string;
  options: RunOptions;
  out: RunOutput;
  /** Its --metrics-config, when the caller has read it already. */
  metricsConfig?: MetricsConfig;
}

/**
 * Loads, attaches, shows, and detaches on SIGINT/SIGTERM/SIGHUP or after `duration` seconds: one
 * object (run) or several (serve). Plans every object first (all mistakes before the kernel sees
 * any), listens when `metrics` says where, loads and attaches them in order, then detaches each;
 * a failure releases what the objects before it created. `out` says what concerns them all.
 * Returns the exit code.
 */
export async function runObjects(objects: readonly RunObject[], options: { metrics?: string; duration: number }, out: RunOutput): Promise<number> {
  // Caught from the very start: a signal during loading is handled once loading returns.
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  const planned: PlannedRun[] = [];
  const runs: AttachedRun[] = [];
  let failing = out;
  // Last resort for exits that bypass the paths below (process.exit from elsewhere).
  const onExit = (): void => runs.forEach((r) => void r.loaded.close());
  process.on('exit', onExit);
  let server: MetricsServer | undefined;
  let serving = false;
  try {
    const address = options.metrics === undefined ? undefined : parseMetricsAddress(options.metrics);
    for (const object of objects) {
      failing = object.out;
      planned.push(planRun(object, address !== undefined));
    }
    failing = out;
    const owners = new Map<string, string>();
    for (const p of planned) {
      const other = owners.get(p.metricsPrefix);
      if (address && other !== undefined) throw new UsageError(`${printable(other)} and ${printable(p.objectPath)} would both name their metrics ${p.metricsPrefix}_*: give one a prefix in its --metrics-config (prefix: NAME)`);
      owners.set(p.metricsPrefix, p.objectPath);
    }
    // Listening before the load: a port in use costs nothing in the kernel. Scrapes wait (503) until all are attached.
    if (address) server = await MetricsServer.listen(address, () => (serving ? formatExposition(runs.flatMap((r) => r.metrics?.collect() ?? [])) : undefined));
    for (const p of planned) {
      failing = p.out;
      runs.push(startRun(p, server !== undefined));
    }
    failing = out;
    serving = true;
    if (server) out.note(`serving the maps ${runs.length === 1 ? '' : `of ${runs.length} objects `}for Prometheus at ${server.url}`);
    for (const run of runs) showRun(run, server?.url);
    const reason = await runEnds(signals, options.duration);
    // From here a second signal has its default effect: the process ends at once.
    signals.stop();
    out.verbose(reason === 'duration' ? `--duration ${options.duration} s ended: detaching` : `received ${reason}: detaching`);
    // Scrapes from here on get a 503: the maps are about to go.
    serving = false;
    let code = 0;
    // One at a time off the list: if a stop throws, the catch below still releases the rest.
    for (let run = runs.shift(); run; run = runs.shift()) code |= stopRun(run, reason);
    return code;
  } catch (error) {
    planned.forEach((p) => p.live.stop());
    const failures = runs.splice(0).flatMap((r) => r.loaded.close());
    failing.failed(error, failures);
    return 1;
  } finally {
    await server?.close();
    signals.stop();
    process.removeListener('exit', onExit);
    await Promise.all([...new Set([out, ...objects.map((o) => o.out)])].map((o) => o.finish()));
  }
}

/** An object's name for people and metric names: its file's name without .o or .bpf.o. */
export function objectName(path: string): string {
  return basename(path).replace(/(\.bpf)?\.o$/, '');
}

/** --metrics-config FILE, read and checked; its mistakes name the file. */
export function readMetricsConfig(path: string): MetricsConfig {
  return parseMetricsConfig(readConfigFile(path, 'the metrics configuration'), `--metrics-config ${printable(path)}`);
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
