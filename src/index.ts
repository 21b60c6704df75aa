// The library's public surface: parse BPF objects, load and attach them, read what they send, type their bytes, and export them as metrics.
//
// Two ways to run an object: LoadedObject.start() with a plan from planAttachments() (what the command
// does: every program, its targets checked first), or LoadedObject.load() and then attach() one
// program at a time to a target made by a prepare function.

// Parse: pure, no kernel and no native addon.
export { parseBpfObject } from './object/bpf-object.js';
export { copySpec, type BpfObjectSpec, type MapSpec, type ProgramSpec, type MapReference, type PinningMode, type FuncInfo, type LineInfo, type CoreReference, type ExternSpec } from './object/spec.js';
export type { ProgramRole } from './object/conventions.js';
export { globalVariables, withGlobals, type GlobalVariable } from './object/globals.js';
export { readElf, type ElfFile, type ElfSection, type ElfSymbol, type ElfRelocation } from './elf/reader.js';

// Plan and prepare: where each program attaches, checked before anything is loaded.
export { planAttachments, type Plan, type PlanOptions, type PlannedAttachment } from './attach/plan.js';
export { chooseAlternatives, describeAlternatives, type AlternativeGroup } from './attach/alternatives.js';
// Every prepare function takes its target and then options (PrepareOptions and its own), and changes nothing in the kernel.
export { prepareKprobe, type KprobeOptions } from './attach/kprobe.js';
export { prepareKprobeMulti, type KprobeMultiOptions } from './attach/kprobe-multi.js';
export { prepareUprobe, type UprobeTarget } from './attach/uprobe.js';
export { prepareUsdt, type UsdtOptions } from './attach/usdt.js';
export { prepareTracepoint } from './attach/tracepoint.js';
export { prepareTracing, prepareRawTracepoint, type TracingOptions } from './attach/tracing.js';
export type { TracingAttach, UsdtTarget } from './object/sections.js';
export { prepareSampling, parseSamplingEvent, DEFAULT_SAMPLING, type SamplingEvent, type SamplingOptions } from './attach/sampling.js';
export type { PreparedAttachment, PrepareOptions } from './attach/prepared.js';
export type { AttachMode } from './attach/modes.js';

// Load and attach: every kernel object owned by a handle that closes it.
export { LoadedObject, type LoadOptions, type StartOptions, type LoadedMap, type LoadedProgram, type PinChange } from './loader.js';
export { AttachedProgram } from './attach/attached.js';
export type { Attachment, ProbeKind, EventSource } from './attach/attachment.js';
export type { ProgramBinding } from './attach/perf-event.js';
export { BpfMap, BPF_ANY, BPF_NOEXIST, BPF_EXIST, type MapBatch } from './kernel/maps.js';
export { BpfProgram, PROG_TYPE } from './kernel/program.js';
export { BpfLink } from './kernel/link.js';
export { PerfEvent } from './kernel/perf-event.js';
export { MAP_TYPE, mapTypeName } from './object/map-types.js';

// Read: records from perf and ring buffers and trace_pipe, stacks from stack trace maps.
export { PerfBufferReader } from './kernel/perf-buffer.js';
export { RingBufferReader } from './kernel/ring-buffer.js';
export type { OutputRecord, LostRecords, RecordHandlers } from './kernel/records.js';
export { TracePipeReader, parseTraceLine, type TraceLine } from './attach/trace-pipe.js';
export { StackTraceReader, stackSample, mergeSamples, foldedLines, stackLines, type StackSample, type ShownStack, type ShownFrame } from './stacks/stacks.js';
export { Symbolizer, formatFrame, type Frame, type SymbolizerOptions } from './symbols/symbolizer.js';

// Types and values: BTF, DWARF and C headers as one type model; records chosen by size; values shown by rule.
export { parseBtf, type Btf, type BtfType } from './btf/btf.js';
export { BtfDecoder, decodedJson } from './btf/decode.js';
export { readDwarfTypes } from './dwarf/reader.js';
export { readCHeader } from './ctypes/header.js';
export { objectTypeSources, typeSourcesOfFile } from './object/type-sources.js';
export { findRecordType, recordTypeBySize, type RecordType, type TypeSource } from './object/record-types.js';
export { VALUE_RULES, formatField, formatRecord, type ValueRule } from './values/formats.js';
export { syscallName } from './values/syscalls.js';

// Metrics: a loaded object's maps, globals and programs as Prometheus metric families, with no configuration.
export { ObjectMetrics, type ObjectMetricsOptions } from './metrics/object-metrics.js';
export { formatExposition, type MetricFamily, type MetricSample } from './metrics/exposition.js';

// Errors: every failure is a LoaderError with a one-line message.
export { LoaderError, type ErrorSubject, UsageError, ClosedError, ElfError, ObjectError, KernelError, VerifierError, AttachError, SyscallError, errnoName, type ReleaseFailure } from './errors.js';
