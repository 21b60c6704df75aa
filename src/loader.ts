// LoadedObject: creates an object's maps and programs in the kernel, attaches them, and owns them all.
import { ObjectError } from './errors.js';
import type { Attachment } from './attach/attachment.js';
import { attachPrepared, type PreparedAttachment } from './attach/prepared.js';
import type { MapDefinition } from './kernel/bpf.js';
import { BpfMap, machineCpuCount } from './kernel/maps.js';
import { DEFAULT_PIN_ROOT, ensureBpffs, openOrCreatePinnedMap, pinPath, type PinState } from './kernel/pins.js';
import { assertMachineByteOrder, kernelVersionCode, loadProgram } from './kernel/program.js';
import { ResourceScope, type Outcome, type ReleaseFailure } from './kernel/scope.js';
import { closeFd } from './native.js';
import { MAP_TYPE, mapTypeName } from './object/map-types.js';
import { programsNamed } from './object/bpf-object.js';
import { programTypeOf, requireRole } from './object/conventions.js';
import { applyMapReferences } from './object/relocations.js';
import type { BpfObjectSpec, MapSpec, ProgramSpec } from './object/spec.js';

export interface LoadOptions {
  /** Directory for pinning 1 maps, and parent of tc/globals for pinning 2. Default /sys/fs/bpf. */
  pinRoot?: string;
  /** Names of the programs to load; default all. */
  programs?: readonly string[];
  /** The BPF_PROG_TYPE_* of each program to load; by default the one its section or name implies. */
  programType?: (program: ProgramSpec) => number;
}

export interface LoadedMap {
  name: string;
  spec: MapSpec;
  map: BpfMap;
  /** Set for pinned maps: where, and whether this run created the pin or reused one. */
  pin?: { path: string; state: PinState };
}

export interface LoadedProgram {
  name: string;
  section: string;
  type: number;
  fd: number;
  id: number;
  tag: string;
  instructionCount: number;
}

/** The definition the kernel gets: a perf event array of 0 entries means one per CPU, as in libbpf. */
export function effectiveMapDefinition(spec: MapSpec, cpuCount: () => number = machineCpuCount): MapDefinition {
  const maxEntries = spec.type === MAP_TYPE.PERF_EVENT_ARRAY && spec.maxEntries === 0 ? cpuCount() : spec.maxEntries;
  return { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries, flags: spec.flags };
}

/** Local storage maps: sk_storage, inode_storage, task_storage, cgrp_storage. */
const NEEDS_BTF_MAP_TYPES = new Set([24, 28, 29, 32]);

/** What the kernel cannot be asked for at all; checked before anything is created. */
function checkLoadable(spec: BpfObjectSpec, programs: ProgramSpec[]): void {
  assertMachineByteOrder(spec.littleEndian, 'the object');
  for (const map of spec.maps) {
    if (map.legacy && (map.legacy.innerId !== 0 || map.type === MAP_TYPE.ARRAY_OF_MAPS || map.type === MAP_TYPE.HASH_OF_MAPS)) {
      throw new ObjectError(`map '${map.name}' is a map-in-map definition (inner_id ${map.legacy.innerId}), which load-kp-bpf does not support yet`);
    }
    if (NEEDS_BTF_MAP_TYPES.has(map.type)) {
      throw new ObjectError(`map '${map.name}' is a ${mapTypeName(map.type)} map, which the kernel only creates with BTF type ids; load-kp-bpf does not pass BTF to the kernel`);
    }
  }
  for (const program of programs) {
    for (const reference of program.mapReferences) {
      if (!spec.maps.some((m) => m.name === reference.map)) {
        throw new ObjectError(`instruction ${reference.instruction} of program '${program.name}' refers to map '${reference.map}', which the object does not define`);
      }
    }
  }
}

function defaultProgramType(program: ProgramSpec): number {
  return programTypeOf(requireRole(program));
}

export class LoadedObject {
  readonly maps = new Map<string, LoadedMap>();
  readonly programs = new Map<string, LoadedProgram>();
  readonly attachments: Attachment[] = [];
  private readonly scope = new ResourceScope();

  private constructor(readonly spec: BpfObjectSpec) {}

  /**
   * Creates (or reuses pinned) maps, then loads the chosen programs with their map references
   * patched. If any step fails, everything created so far is released (new pins removed) and
   * the error is thrown. The same holds for the attach methods: a failed attach releases the
   * whole object, so no half-loaded state is ever left.
   */
  static load(spec: BpfObjectSpec, options: LoadOptions): LoadedObject {
    const programs = programsNamed(spec, options.programs);
    checkLoadable(spec, programs);
    const loaded = new LoadedObject(spec);
    return loaded.scope.guard(() => {
      const pinRoot = options.pinRoot ?? DEFAULT_PIN_ROOT;
      // Every map is created, used by the chosen programs or not: pinned maps are for other tools too.
      for (const mapSpec of spec.maps) loaded.createMap(mapSpec, pinRoot);
      const kernelVersion = spec.kernelVersion ?? kernelVersionCode();
      for (const program of programs) loaded.loadProgram(program, (options.programType ?? defaultProgramType)(program), kernelVersion);
      return loaded;
    });
  }

  private createMap(spec: MapSpec, pinRoot: string): void {
    const definition = effectiveMapDefinition(spec);
    if (spec.pinning === 0) {
      const map = BpfMap.create(spec.name, definition);
      this.scope.defer(`close map '${spec.name}'`, () => map.close());
      if (spec.data) {
        map.update(Buffer.alloc(4), Buffer.from(spec.data.initial));
        if (spec.data.readOnly) map.freeze();
      }
      this.maps.set(spec.name, { name: spec.name, spec, map });
      return;
    }
    const path = pinPath(pinRoot, spec.name, spec.pinning);
    ensureBpffs(pinRoot);
    const pinned = openOrCreatePinnedMap(this.scope, spec.name, definition, path);
    this.maps.set(spec.name, { name: spec.name, spec, map: pinned.map, pin: { path, state: pinned.state } });
  }

  private loadProgram(program: ProgramSpec, type: number, kernelVersion: number): void {
    const instructions = applyMapReferences(program.instructions, this.spec.littleEndian, program.mapReferences, (name) => this.maps.get(name)!.map.fd);
    const handle = loadProgram({
      type,
      instructions,
      license: this.spec.license,
      kernelVersion,
      name: program.name,
    });
    this.scope.defer(`close program '${program.name}'`, () => closeFd(handle.fd));
    this.programs.set(program.name, {
      name: program.name,
      section: program.section,
      type,
      fd: handle.fd,
      id: handle.info.id,
      tag: handle.info.tag,
      instructionCount: instructions.length / 8,
    });
  }

  program(name: string): LoadedProgram {
    const program = this.programs.get(name);
    if (!program) throw new ObjectError(`program '${name}' is not loaded`);
    return program;
  }

  /**
   * Attaches a loaded program to a target prepared (checked) beforehand with prepareKprobe(),
   * prepareUprobe() or prepareTracepoint().
   */
  attach(programName: string, prepared: PreparedAttachment): Attachment {
    const program = this.program(programName);
    const attachment = this.scope.guard(() => attachPrepared(this.scope, prepared, { fd: program.fd, name: programName }));
    this.attachments.push(attachment);
    return attachment;
  }

  /** What close() would release, most recent first. */
  pendingReleases(outcome: Outcome = 'success'): string[] {
    return this.scope.pending(outcome);
  }

  /**
   * Detaches and releases everything in reverse order. With 'success' pinned maps stay; with
   * 'failure' pins this run created are removed too. Returns what could not be released.
   */
  close(outcome: Outcome = 'success'): ReleaseFailure[] {
    return this.scope.close(outcome);
  }
}
