// The library: parse BPF objects, load them, attach them, and read their maps from Node.
export { readElf, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation } from './elf/reader.js';
export { parseBpfObject } from './object/bpf-object.js';
export type { BpfObjectSpec, MapSpec, ProgramSpec, MapReference, PinningMode } from './object/spec.js';
export { LoadedObject, type LoadOptions, type LoadedMap, type LoadedProgram } from './loader.js';
export { prepareKprobe } from './attach/kprobe.js';
export { prepareUprobe } from './attach/uprobe.js';
export { prepareTracepoint } from './attach/tracepoint.js';
export { planAttachments, type PlanOptions, type PlannedAttachment } from './attach/plan.js';
export type { PreparedAttachment } from './attach/prepared.js';
export type { AttachMode } from './attach/probe.js';
export type { Attachment, ProbeKind, EventSource } from './attach/attachment.js';
export type { ProgramBinding } from './attach/perf-event.js';
export { BpfMap, BPF_ANY, BPF_NOEXIST, BPF_EXIST } from './kernel/maps.js';
export { PROG_TYPE } from './kernel/program.js';
export { MAP_TYPE, mapTypeName } from './object/map-types.js';
export type { ProgramRole } from './object/conventions.js';
export * from './errors.js';
