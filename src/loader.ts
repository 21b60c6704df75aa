// LoadedObject: creates an object's maps and programs in the kernel, attaches them, publishes its pins, and owns them all.
import { ATTACH_TYPE, ERRNO, MAP_TYPE, USDT_SPECS_MAP } from './abi.js';
import { KernelError, LoaderError, ObjectError, UsageError, concerning, kernelError } from './errors.js';
import { BtfObject } from './kernel/btf-load.js';
import { AttachedProgram } from './attach/attached.js';
import type { Attachment } from './attach/attachment.js';
import { attachPrepared, preparedTarget, type PreparedAttachment } from './attach/prepared.js';
import { UsdtSpecTable } from './attach/usdt.js';
import type { MapDefinition } from './kernel/bpf.js';
import { machineCpuCount, maxStackDepth } from './kernel/cpus.js';
import { BpfMap } from './kernel/maps.js';
import { hostU32Bytes } from './kernel/records.js';
import type { Fd } from './kernel/fd.js';
import { KernelBtf, moduleBtfFd } from './kernel/kernel-btf.js';
import { fillKconfig, kernelConfig } from './kernel/kconfig.js';
import { resolveKernelExterns } from './kernel/ksyms.js';
import { explainPoisoned, relocateForKernel } from './kernel/core-relocate.js';
import { ringBufferSize } from './kernel/ring-buffer.js';
import { raiseMemlockLimit } from './kernel/memlock.js';
import { DEFAULT_PIN_ROOT, PinTakenError, openPinnedMap, pinPath, pinnedMapId, preparePinRoot, publishPin, type PinState } from './kernel/pins.js';
import { assertMachineByteOrder, kernelVersionCode, loadProgram, type BpfProgram } from './kernel/program.js';
import { ResourceScope, type Releasable, type ReleaseFailure } from './kernel/scope.js';
import { HASH_MAP_TYPES, mapTypeName } from './object/map-types.js';
import { programsNamed } from './object/bpf-object.js';
import { rawSyscallEvent, requireRole } from './object/conventions.js';
import { globalIsSet } from './object/globals.js';
import { syscallKeyed } from './values/formats.js';
import { BTF_KIND } from './btf/btf.js';
import { applyMapReferences } from './object/relocations.js';
import type { BpfObjectSpec, MapSpec, ProgramSpec } from './object/spec.js';
import type { ProgramSlot } from './object/tail-calls.js';
import { printable } from './text.js';
import type { Wording } from './wording.js';

/** What LoadedObject.load() is told: the programs to load, the pin root, and what the kernel needs that the object cannot say. */
export interface LoadOptions {
  /** Directory for pinning 1 maps, and parent of tc/globals for pinning 2. Default /sys/fs/bpf. */
  pinRoot?: string;
  /** Names of the programs to load; default all. */
  programs?: readonly string[];
  /** The BPF_PROG_TYPE_* of each program to load; by default the one its section or name implies. */
  programType?: (program: ProgramSpec) => number;
  /** The prepared targets of programs that are loaded for one (fentry, fexit, tp_btf: their kernel BTF id). */
  targets?: ReadonlyMap<string, PreparedAttachment | undefined>;
  /** The kernel's configuration file, for __kconfig CONFIG_* externs where /proc/config.gz and /boot/config-<release> are missing. */
  kernelConfigFile?: string;
  /** The kernel's BTF from this file, for CO-RE and typed __ksym externs on kernels without /sys/kernel/btf/vmlinux. */
  kernelBtfFile?: string;
  /**
   * 'raise' (default): on kernels before 5.11, which charge BPF memory to RLIMIT_MEMLOCK, raise
   * that limit to unlimited, as libbpf does; 'keep': leave the process's limit as the caller set it.
   */
  memlock?: 'raise' | 'keep';
}

/** A map of the object as loaded: its spec, its handle, and its pin. */
export interface LoadedMap {
  name: string;
  spec: MapSpec;
  map: BpfMap;
  /** Set for pinned maps: where, and whether this run created the pin or reused one. */
  pin?: { path: string; state: PinState };
}

/** A program of the object as loaded: its handle and what the kernel says about it. */
export interface LoadedProgram {
  name: string;
  section: string;
  type: number;
  /** The program's handle. */
  program: BpfProgram;
  id: number;
  tag: string;
  instructionCount: number;
}

/** A pinned map whose path no longer holds the map this run used (another map, or nothing). */
export interface PinChange {
  map: string;
  path: string;
  /** The id of the map this run counted into, and of the one at the path now (undefined: none). */
  ours: number;
  now: number | undefined;
}

/** What the running kernel says about sizes an object may leave to its user space. */
export interface MachineSizes {
  /** Possible CPUs: a perf event array of 0 entries gets one per CPU. */
  cpuCount(): number;
  /** kernel.perf_event_max_stack: the frames a stack trace map's value holds when the object gives no value size. */
  maxStackDepth(): number;
  page?: number;
}

const MACHINE: MachineSizes = { cpuCount: machineCpuCount, maxStackDepth };

/** Max entries for a map the object leaves at 0 and nobody sized: bcc's libbpf-tools' usual MAX_ENTRIES. */
export const DEFAULT_MAX_ENTRIES = 10240;

/** Map types whose max entries the kernel requires to be 0 (storage is per object, not per entry). */
const ZERO_ENTRY_MAP_TYPES = new Set<number>([
  MAP_TYPE.CGROUP_STORAGE,
  MAP_TYPE.PERCPU_CGROUP_STORAGE,
  MAP_TYPE.SK_STORAGE,
  MAP_TYPE.INODE_STORAGE,
  MAP_TYPE.TASK_STORAGE,
  MAP_TYPE.CGRP_STORAGE,
]);

/** A size the object left to its user space (0 in the object), and what the loader gave it. */
export interface RunTimeSize {
  /** The map's name. */
  map: string;
  /** Which size of its definition. */
  field: 'maxEntries' | 'valueSize';
  /** What the loader set it to. */
  value: number;
  /** Why this value, for people: "127 frames of 8 bytes (kernel.perf_event_max_stack)". */
  reason: string;
}

/**
 * The definition the kernel gets, with the sizes a tool's own user space would set where the
 * object leaves them at 0: a perf event array gets one entry per CPU, a stack trace map a value of
 * perf_event_max_stack frames, any other map DEFAULT_MAX_ENTRIES (reported in `sized`); a ring
 * buffer's size is rounded up to a power-of-two multiple of the page size. As libbpf and the tools do.
 */
export function effectiveMapDefinition(spec: MapSpec, machine: MachineSizes = MACHINE): { definition: MapDefinition; sized: RunTimeSize[] } {
  const sized: RunTimeSize[] = [];
  let { maxEntries, valueSize } = spec;
  if (spec.type === MAP_TYPE.STACK_TRACE && valueSize === 0) {
    const depth = machine.maxStackDepth();
    valueSize = depth * 8;
    sized.push({ map: spec.name, field: 'valueSize', value: valueSize, reason: `${depth} frames of 8 bytes (kernel.perf_event_max_stack)` });
  }
  if (spec.type === MAP_TYPE.PERF_EVENT_ARRAY && maxEntries === 0) {
    maxEntries = machine.cpuCount();
  } else if (maxEntries === 0 && spec.type !== MAP_TYPE.RINGBUF && !ZERO_ENTRY_MAP_TYPES.has(spec.type)) {
    maxEntries = DEFAULT_MAX_ENTRIES;
    sized.push({ map: spec.name, field: 'maxEntries', value: maxEntries, reason: 'the default' });
  }
  if (spec.type === MAP_TYPE.RINGBUF) maxEntries = ringBufferSize(maxEntries, machine.page);
  return { definition: { type: spec.type, keySize: spec.keySize, valueSize, maxEntries, flags: spec.flags }, sized };
}

/** Local storage maps: sk_storage, inode_storage, task_storage, cgrp_storage. */
const NEEDS_BTF_MAP_TYPES = new Set<number>([MAP_TYPE.SK_STORAGE, MAP_TYPE.INODE_STORAGE, MAP_TYPE.TASK_STORAGE, MAP_TYPE.CGRP_STORAGE]);

/**
 * Maps the kernel refuses BTF key and value types for (ENOTSUPP), whatever the object declares:
 * their values are fds, ids or frames, not data. libbpf creates them without BTF; so do we.
 */
const NO_BTF_MAP_TYPES = new Set<number>([
  MAP_TYPE.PERF_EVENT_ARRAY,
  MAP_TYPE.CGROUP_ARRAY,
  MAP_TYPE.STACK_TRACE,
  MAP_TYPE.ARRAY_OF_MAPS,
  MAP_TYPE.HASH_OF_MAPS,
  MAP_TYPE.DEVMAP,
  MAP_TYPE.DEVMAP_HASH,
  MAP_TYPE.CPUMAP,
  MAP_TYPE.XSKMAP,
  MAP_TYPE.SOCKMAP,
  MAP_TYPE.SOCKHASH,
  MAP_TYPE.QUEUE,
  MAP_TYPE.STACK,
  MAP_TYPE.ARENA,
]);

/** What the kernel cannot be asked for at all; checked before anything is created. */
function checkLoadable(spec: BpfObjectSpec, programs: ProgramSpec[]): void {
  assertMachineByteOrder(spec.littleEndian, 'the object');
  for (const map of spec.maps) {
    if (map.legacy && (map.legacy.innerId !== 0 || map.type === MAP_TYPE.ARRAY_OF_MAPS || map.type === MAP_TYPE.HASH_OF_MAPS)) {
      throw new ObjectError(`map '${printable(map.name)}' is a map-in-map definition (inner_id ${map.legacy.innerId}), which load-kp-bpf does not support yet`);
    }
    if (NEEDS_BTF_MAP_TYPES.has(map.type) && (!spec.btf || !map.btf?.keyTypeId || !map.btf.valueTypeId)) {
      throw new ObjectError(`map '${printable(map.name)}' is a ${mapTypeName(map.type)} map, which the kernel only creates with BTF key and value types: declare them with __type(key, ...) and __type(value, ...) and compile with clang -g`);
    }
  }
  for (const program of programs) {
    for (const reference of program.mapReferences) {
      if (!spec.maps.some((m) => m.name === reference.map)) {
        throw new ObjectError(`instruction ${reference.instruction} of program '${printable(program.name)}' refers to map '${printable(reference.map)}', which the object does not define`);
      }
    }
  }
}

function defaultProgramType(program: ProgramSpec): number {
  requireRole(program);
  return program.programType;
}

/** How many times a start is tried again when other loaders pin the same maps at the same moment. */
const PIN_RACE_ATTEMPTS = 8;

/** What LoadedObject.start() is told: the plan's attachments (which say the programs to load) and the hooks around them. */
export interface StartOptions extends Omit<LoadOptions, 'programs' | 'targets'> {
  /** The programs to load, and where each attaches (from planAttachments; none for load-only programs). */
  attach: ReadonlyArray<{ program: ProgramSpec; prepared: PreparedAttachment | undefined }>;
  /** Runs once the maps and programs exist, before any program is attached: readers of output maps start here, so no record is missed. */
  beforeAttach?: (loaded: LoadedObject) => void;
  /** Told before each attachment is made (for --verbose). */
  onAttach?: (program: ProgramSpec, prepared: PreparedAttachment) => void;
  /** Told when another loader pinned a map first and the start begins again reusing it. */
  onRetry?: (reason: string) => void;
}

/** A plain fd the object keeps while loading (a module's BTF object), as a releasable handle. */
class OwnedFd {
  constructor(readonly fd: Fd) {}

  get releaseDescription(): string {
    return `close ${this.fd.what}`;
  }

  close(): void {
    this.fd.close();
  }
}

/**
 * A program-array slot this run filled. Closing empties it if it still holds our program: an
 * unpinned array empties itself when its last user goes, but a pinned one would keep our programs
 * loaded after we are gone.
 */
class FilledSlot {
  constructor(
    private readonly map: BpfMap,
    private readonly slot: ProgramSlot,
    private readonly programId: number,
  ) {}

  get releaseDescription(): string {
    return `empty slot ${this.slot.index} of program array '${this.slot.map}'`;
  }

  close(): void {
    if (this.map.closed) return;
    const key = hostU32Bytes(this.slot.index);
    if (this.map.lookup(key)?.equals(hostU32Bytes(this.programId))) this.map.delete(key);
  }
}

/** An object's maps and programs in the kernel, and their attachments: owns them all and releases them in reverse on close(); pinned maps stay. */
export class LoadedObject {
  readonly maps = new Map<string, LoadedMap>();
  readonly programs = new Map<string, LoadedProgram>();
  /** The attachments still in place, in the order they were made. */
  readonly attached: AttachedProgram[] = [];
  /** The program-array slots this run filled (tail calls), in the object's order. */
  readonly filledSlots: ProgramSlot[] = [];
  private readonly scope = new ResourceScope();
  /** The object's BTF in the kernel, when it has BTF and the kernel took it. */
  private btf: BtfObject | undefined;
  /** What the user should know about this load that is no error (BTF refused, ...). */
  readonly notices: Wording[] = [];
  /** Sizes the object left at 0 for its user space to set, as this load set them. */
  readonly sizedAtRunTime: RunTimeSize[] = [];
  /** Maps created by this run that are to be pinned once everything else has worked. */
  private readonly unpublished: Array<{ loaded: LoadedMap; path: string }> = [];
  /** The argument specs of the USDT probes attached so far (usdt.bpf.h's spec map), made at the first. */
  private usdtSpecs: UsdtSpecTable | undefined;

  private constructor(
    readonly spec: BpfObjectSpec,
    private readonly kernelConfigFile: string | undefined,
    private readonly kernelBtf: KernelBtf,
  ) {}

  /**
   * Creates the maps (reusing compatible pinned ones) and loads the chosen programs with their map
   * references patched. New pins are not made here: publishPins() makes them once the caller has
   * attached everything, so a failed load never leaves a pin that others could have started to
   * use. If any step fails, everything created so far is released and the error is thrown.
   */
  static load(spec: BpfObjectSpec, options: LoadOptions = {}): LoadedObject {
    const programs = programsNamed(spec, options.programs);
    checkLoadable(spec, programs);
    const pinRoot = spec.maps.some((m) => m.pinning !== 0) ? preparePinRoot(options.pinRoot ?? DEFAULT_PIN_ROOT) : undefined;
    if (options.memlock !== 'keep') raiseMemlockLimit();
    const loaded = new LoadedObject(spec, options.kernelConfigFile, KernelBtf.of(options.kernelBtfFile));
    return loaded.scope.guard(() => {
      loaded.loadBtf();
      // Every map is created, used by the chosen programs or not: pinned maps are for other tools too.
      for (const mapSpec of spec.maps) concerning({ map: mapSpec.name }, () => loaded.createMap(mapSpec, pinRoot));
      const kernelVersion = spec.kernelVersion ?? kernelVersionCode();
      for (const program of programs) {
        concerning({ program: program.name }, () => loaded.loadProgram(program, (options.programType ?? defaultProgramType)(program), kernelVersion, options.targets?.get(program.name)));
      }
      // Before any attach: a chain is whole by the time its first program can run.
      for (const slot of spec.programSlots) loaded.fillSlot(slot);
      return loaded;
    });
  }

  /**
   * Loads, attaches every planned program and publishes the pins: the whole start of a run. When
   * another loader pins one of the maps first, everything is released and the start begins again,
   * now reusing that map, so every loader of a pinned map ends up counting into the same one.
   */
  static start(spec: BpfObjectSpec, options: StartOptions): LoadedObject {
    for (let attempt = 1; ; attempt++) {
      const targets = new Map(options.attach.map((a) => [a.program.name, a.prepared]));
      const loaded = LoadedObject.load(spec, { ...options, programs: options.attach.map((a) => a.program.name), targets });
      try {
        options.beforeAttach?.(loaded);
        for (const { program, prepared } of options.attach) {
          if (!prepared) continue;
          options.onAttach?.(program, prepared);
          loaded.attach(program.name, prepared);
        }
        loaded.publishPins();
        return loaded;
      } catch (error) {
        const failures = loaded.close();
        if (error instanceof LoaderError) error.releaseFailures.push(...failures);
        if (!(error instanceof PinTakenError) || attempt === PIN_RACE_ATTEMPTS) throw error;
        options.onRetry?.(`${error.message}; starting again with it`);
      }
    }
  }

  /**
   * Loads the object's BTF, so that maps are created with their types and programs verified with
   * their functions and source lines. BTF is optional, as in libbpf: a kernel that refuses it
   * costs the types, said once, unless a map cannot be created without them.
   */
  private loadBtf(): void {
    if (!this.spec.btf) return;
    try {
      this.btf = this.scope.own(BtfObject.load(this.spec.btf));
    } catch (error) {
      if (this.spec.maps.some((m) => NEEDS_BTF_MAP_TYPES.has(m.type))) throw error;
      this.notices.push(`${error instanceof Error ? error.message : String(error)}; loading without BTF (maps and programs lose their types)`);
    }
  }

  /**
   * A map with its BTF key and value types when the object's BTF is loaded and the map type takes
   * them; retried without them if the kernel refuses them for this map, as libbpf does.
   */
  private newMap(spec: MapSpec, definition: MapDefinition): BpfMap {
    if (this.btf && spec.btf && (spec.btf.keyTypeId || spec.btf.valueTypeId) && !NO_BTF_MAP_TYPES.has(spec.type)) {
      const btf = { btfFd: this.btf.fd.value, keyTypeId: spec.btf.keyTypeId, valueTypeId: spec.btf.valueTypeId };
      try {
        return BpfMap.create(spec.name, definition, { btf });
      } catch (error) {
        if (NEEDS_BTF_MAP_TYPES.has(spec.type) || !(error instanceof KernelError)) throw error;
        this.notices.push(`map '${printable(spec.name)}': the kernel refused its BTF types (${error.code ?? error.message}); created without them`);
      }
    }
    return BpfMap.create(spec.name, definition);
  }

  private createMap(spec: MapSpec, pinRoot: string | undefined): void {
    const { definition, sized } = effectiveMapDefinition(spec);
    this.sizedAtRunTime.push(...sized);
    if (spec.pinning === 0 || pinRoot === undefined) {
      const map = this.scope.own(this.newMap(spec, definition));
      if (spec.data) {
        const initial = Uint8Array.from(spec.data.initial);
        if (spec.kconfig) this.notices.push(...fillKconfig(this.spec.externs, this.spec.btf!, initial, () => kernelConfig(this.kernelConfigFile)));
        map.update(Buffer.alloc(4), Buffer.from(initial));
        if (spec.data.readOnly) map.freeze();
      }
      this.maps.set(spec.name, { name: spec.name, spec, map });
      return;
    }
    const path = pinPath(pinRoot, spec.name, spec.pinning);
    const reused = openPinnedMap(spec.name, definition, path);
    if (reused) {
      this.maps.set(spec.name, { name: spec.name, spec, map: this.scope.own(reused), pin: { path, state: 'reused' } });
      return;
    }
    const loaded: LoadedMap = { name: spec.name, spec, map: this.scope.own(this.newMap(spec, definition)) };
    this.maps.set(spec.name, loaded);
    this.unpublished.push({ loaded, path });
  }

  private loadProgram(program: ProgramSpec, type: number, kernelVersion: number, target: PreparedAttachment | undefined): void {
    const instructions = applyMapReferences(program.instructions, this.spec.littleEndian, program.mapReferences, (name) => this.maps.get(name)!.map.fd.value);
    if (program.externReferences.length > 0) resolveKernelExterns(this.kernelBtf, instructions, this.spec.littleEndian, program.externReferences, this.spec.externs);
    const poisoned = program.coreRelocations.length > 0 ? relocateForKernel(this.kernelBtf, instructions, this.spec.littleEndian, this.spec.btf!, program.coreRelocations) : [];
    // fentry, fexit, fmod_ret and tp_btf programs are verified against their target: its BTF id (and module) go with the load.
    const tracing = target?.kind === 'tracing' ? target : undefined;
    // A kprobe.multi link takes only a program loaded for it; PMU events refuse such a program.
    const expectedAttachType = target?.kind === 'kprobe_multi' ? (target.method === 'link' ? ATTACH_TYPE.TRACE_KPROBE_MULTI : 0) : program.expectedAttachType;
    const moduleFd = tracing?.module ? this.scope.own(new OwnedFd(moduleBtfFd(tracing.module))) : undefined;
    // Function and line records let the verifier check global functions and quote the C source.
    const btf = this.btf && { fd: this.btf.fd.value, ...(this.btf.functions ? { funcInfo: program.funcInfo, lineInfo: program.lineInfo } : {}) };
    const request = {
      type,
      instructions,
      license: this.spec.license,
      kernelVersion,
      name: program.name,
      expectedAttachType,
      flags: program.flags,
      ...(tracing ? { attachBtfId: tracing.btfId, attachBtfObjFd: moduleFd?.fd.value ?? 0 } : {}),
      ...(btf ? { btf } : {}),
    };
    const handle = this.scope.own(explainPoisoned(program.name, poisoned, () => loadProgram(request, program.lineInfo)));
    this.programs.set(program.name, {
      name: program.name,
      section: program.section,
      type,
      program: handle,
      id: handle.info.id,
      tag: handle.info.tag,
      instructionCount: instructions.length / 8,
    });
  }

  /** Puts a loaded program into its program-array slot (a program not chosen leaves its slot empty: the tail call falls through). */
  private fillSlot(slot: ProgramSlot): void {
    const program = this.programs.get(slot.program);
    if (!program) return;
    const map = this.maps.get(slot.map)!.map;
    try {
      map.update(hostU32Bytes(slot.index), hostU32Bytes(program.program.fd.value));
    } catch (error) {
      const cause = error instanceof KernelError ? error.cause : error;
      const hint = error instanceof KernelError && error.errno === ERRNO.EINVAL ? '; a program array holds programs of one type, the type of the programs that tail call through it' : '';
      throw kernelError(`putting program '${printable(slot.program)}' into slot ${slot.index} of program array '${printable(slot.map)}'`, cause, hint);
    }
    this.scope.own(new FilledSlot(map, slot, program.id));
    this.filledSlots.push(slot);
  }

  /** Takes ownership of a handle that belongs with this object (a reader of one of its maps): it closes first. */
  own<T extends Releasable>(handle: T): T {
    return this.scope.own(handle);
  }

  /** A loaded program by name; ObjectError when it was not loaded. */
  program(name: string): LoadedProgram {
    const program = this.programs.get(name);
    if (!program) throw new ObjectError(`program '${printable(name)}' is not loaded`);
    return program;
  }

  /** What the attachments still in place are: programs, targets, and how each is attached. */
  get attachments(): Attachment[] {
    return this.attached.map((a) => a.attachment);
  }

  /**
   * Whether a map's keys are system call numbers (syscallKeyed): a plain integer key, by the
   * raw_syscalls events of the programs that use the map, and the object's count_by_process global.
   */
  mapKeysAreSyscalls(m: LoadedMap): boolean {
    const { btf } = this.spec;
    const keyTypeId = m.spec.btf?.keyTypeId;
    const keyType = keyTypeId && btf ? btf.resolveType(keyTypeId) : undefined;
    const integerKey = keyType ? keyType.kind === BTF_KIND.INT : [1, 2, 4, 8].includes(m.map.definition.keySize);
    // A program attached where the command line said (raw_tp, tp_btf) has its target only there.
    const targets = new Map(this.attachments.map((a) => [a.program, a.target]));
    const users = this.spec.programs.filter((p) => p.mapReferences.some((r) => r.kind === 'fd' && r.map === m.name)).map((p) => rawSyscallEvent(p.role, targets.get(p.name)));
    return syscallKeyed({ hash: HASH_MAP_TYPES.has(m.map.definition.type), integerKey, users, countByProcess: globalIsSet(this.spec, 'count_by_process') });
  }

  /** The attachment of a program, to detach or pin it alone. */
  attachmentOf(programName: string): AttachedProgram {
    const attached = this.attached.find((a) => a.attachment.program === programName);
    if (!attached) throw new UsageError(`program '${printable(programName)}' is not attached`);
    return attached;
  }

  /**
   * Attaches a loaded program to a target prepared (checked) beforehand with prepareKprobe(),
   * prepareUprobe(), prepareTracepoint() and the like. The attachment is a handle of its own: its
   * close() detaches this program alone. A failed attach releases what it made and leaves the
   * object as it was, so the caller can try another target or close it.
   */
  attach(programName: string, prepared: PreparedAttachment): AttachedProgram {
    const program = this.program(programName);
    const context = {
      usdtSpecs: (): UsdtSpecTable => {
        const map = this.maps.get(USDT_SPECS_MAP);
        if (!map) throw new ObjectError(`the object has no map ${USDT_SPECS_MAP} for the arguments of its USDT probes`);
        return (this.usdtSpecs ??= new UsdtSpecTable(map.map, map.map.definition.maxEntries));
      },
    };
    const own = new ResourceScope();
    const attachment = concerning({ program: programName, target: preparedTarget(prepared) }, () => own.guard(() => attachPrepared(own, prepared, program.program, context)));
    this.notices.push(...(attachment.notes ?? []));
    const attached = new AttachedProgram(attachment, own, (a) => this.attached.splice(this.attached.indexOf(a), 1));
    this.attached.push(this.scope.own(attached));
    return attached;
  }

  /**
   * Pins the maps this run created, each only if its path is still free. PinTakenError when
   * another loader was first: start() then begins again and reuses that map. Pins stay when the
   * object closes; a failure after this point removes none (others may already use them).
   */
  publishPins(): void {
    while (this.unpublished.length > 0) {
      const { loaded, path } = this.unpublished[0]!;
      publishPin(loaded.map, path);
      loaded.pin = { path, state: 'created' };
      this.unpublished.shift();
    }
  }

  /** Pinned maps whose path now holds another map, or nothing: what this run counted is not there. */
  changedPins(): PinChange[] {
    const changes: PinChange[] = [];
    for (const m of this.maps.values()) {
      if (!m.pin || m.map.closed) continue;
      const ours = m.map.info().id;
      const now = pinnedMapId(m.pin.path);
      if (now !== ours) changes.push({ map: m.name, path: m.pin.path, ours, now });
    }
    return changes;
  }

  /** What close() would release, most recent first. */
  pendingReleases(): string[] {
    return this.scope.pending();
  }

  /** Detaches and releases everything in reverse order; pinned maps stay. Returns what could not be released. */
  close(): ReleaseFailure[] {
    return this.scope.close();
  }
}
