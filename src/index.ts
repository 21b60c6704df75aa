// The library's public surface: parse BPF objects, load and attach them, read what they send, type their bytes, and export them as metrics.
//
// Two ways to run an object: LoadedObject.start() with a plan from planAttachments() (what the command
// does: every program, its targets checked first), or LoadedObject.load() and then attach() one
// program at a time to a target made by a prepare function.

// Parse: pure, no kernel and no native addon.
export { parseBpfObject } from './object/bpf-object.js';
export { copySpec, type BpfObjectSpec, type MapSpec, type ProgramSpec, type MapReference, type PinningMode, type FuncInfo, type LineInfo, type CoreReference, type ExternSpec, type ExternReference } from './object/spec.js';
export type { ProgramRole } from './object/conventions.js';
export { globalVariables, withGlobals, type GlobalVariable } from './object/globals.js';
export { readElf, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation, type ElfSegment, type ElfNote } from './elf/reader.js';
export { BPF_CORE_KIND, type BtfLineInfo, type CoreRelocation, type BpfCoreKind } from './btf/ext.js';

// Plan and prepare: where each program attaches, checked before anything is loaded.
export { planAttachments, type Plan, type PlanOptions, type PlannedAttachment } from './attach/plan.js';
export { chooseAlternatives, describeAlternatives, type AlternativeGroup, type AlternativeCandidate, type Reach, type Mechanism } from './attach/alternatives.js';
// Every prepare function takes its target and then options (PrepareOptions and its own), and changes nothing in the kernel.
export { prepareKprobe, type KprobeOptions } from './attach/kprobe.js';
export { prepareKprobeMulti, type KprobeMultiOptions, type PreparedKprobeMulti } from './attach/kprobe-multi.js';
export { prepareUprobe, type UprobeTarget } from './attach/uprobe.js';
export { prepareUsdt, type UsdtOptions, type PreparedUsdt } from './attach/usdt.js';
export { prepareTracepoint, type PreparedTracepoint } from './attach/tracepoint.js';
export { prepareTracing, prepareRawTracepoint, type TracingOptions, type PreparedTracing, type PreparedRawTracepoint } from './attach/tracing.js';
export type { TracingAttach, UsdtTarget } from './object/sections.js';
export { prepareSampling, parseSamplingEvent, DEFAULT_SAMPLING, type SamplingEvent, type SamplingOptions, type PreparedSampling } from './attach/sampling.js';
export type { PreparedAttachment, PrepareOptions } from './attach/prepared.js';
export type { PreparedProbe, ProbeLocation, AttachMethod } from './attach/probe.js';
export type { ProbeFamily } from './attach/pmu.js';
export { ATTACH_MODES, type AttachMode } from './attach/modes.js';

// Load and attach: every kernel object owned by a handle that closes it.
export { LoadedObject, type LoadOptions, type StartOptions, type LoadedMap, type LoadedProgram, type PinChange, type RunTimeSize } from './loader.js';
export type { Releasable } from './kernel/scope.js';
export type { PinState } from './kernel/pins.js';
export type { ProgramSlot } from './object/tail-calls.js';
export type { MapDefinition, MapInfo, ProgramInfo, MapBtf } from './kernel/bpf.js';
export type { Fd } from './kernel/fd.js';
export { AttachedProgram } from './attach/attached.js';
export type { Attachment, ProbeKind, EventSource } from './attach/attachment.js';
export type { ProgramBinding } from './attach/perf-event.js';
export { BpfMap, BPF_ANY, BPF_NOEXIST, BPF_EXIST, type MapBatch } from './kernel/maps.js';
export { BpfProgram, PROG_TYPE } from './kernel/program.js';
export { BpfLink } from './kernel/link.js';
export { PerfEvent, type PerfEventRequest } from './kernel/perf-event.js';
export { MAP_TYPE, mapTypeName } from './object/map-types.js';

// Read: records from perf and ring buffers and trace_pipe, stacks from stack trace maps.
export { PerfBufferReader, type PerfBufferOptions } from './kernel/perf-buffer.js';
export { RingBufferReader } from './kernel/ring-buffer.js';
export type { OutputRecord, LostRecords, RecordHandlers } from './kernel/records.js';
export { TracePipeReader, parseTraceLine, type TraceLine } from './attach/trace-pipe.js';
export { StackTraceReader, stackSample, mergeSamples, foldedLines, stackLines, type StackSample, type ShownStack, type ShownFrame, type FrameSymbolizer } from './stacks/stacks.js';
export { Symbolizer, formatFrame, type Frame, type SymbolizerOptions } from './symbols/symbolizer.js';
export { KernelSymbols, type KernelLocation } from './symbols/kallsyms.js';
export { ProcessMaps, type Mapping } from './symbols/process-maps.js';

// Types and values: BTF, DWARF and C headers as one type model; records chosen by size; values shown by rule.
export {
  parseBtf,
  type Btf,
  type BtfParseOptions,
  type BtfHeader,
  type BtfType,
  type BtfInt,
  type BtfPtr,
  type BtfArray,
  type BtfComposite,
  type BtfMember,
  type BtfEnum,
  type BtfEnumerator,
  type BtfFwd,
  type BtfModifier,
  type BtfFunc,
  type BtfFuncProto,
  type BtfParam,
  type BtfVar,
  type BtfDatasec,
  type BtfVarSecinfo,
  type BtfFloat,
  type BtfDeclTag,
} from './btf/btf.js';
export { BtfDecoder, decodedJson, type Decoded, type DecodedColumn } from './btf/decode.js';
export { readDwarfTypes } from './dwarf/reader.js';
export { readCHeader, type CHeaderOptions } from './ctypes/header.js';
export { objectTypeSources, typeSourcesOfFile } from './object/type-sources.js';
export { findRecordType, recordTypeBySize, type RecordType, type TypeSource } from './object/record-types.js';
export { VALUE_RULES, formatField, formatRecord, syscallKey, syscallKeyed, type ValueRule, type Field, type FieldType, type SyscallEvent } from './values/formats.js';
export { syscallName } from './values/syscalls.js';

// Metrics: a loaded object's maps, globals and programs as Prometheus metric families, with no configuration needed.
export { ObjectMetrics, type ObjectMetricsOptions } from './metrics/object-metrics.js';
export { parseMetricsConfig, type MetricsConfig, type MapMetricsConfig } from './metrics/config.js';
export { formatExposition, type MetricFamily, type MetricSample } from './metrics/exposition.js';

// Errors: every failure is a LoaderError with a one-line message.
export { LoaderError, type ErrorSubject, UsageError, ClosedError, ElfError, ObjectError, KernelError, VerifierError, AttachError, SyscallError, errnoName, type ReleaseFailure } from './errors.js';
// Messages and notices that name options leave the naming to the caller (the command says flags).
export type { Wording, OptionNamer, OptionName } from './wording.js';
