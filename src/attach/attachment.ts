// Attachment: the one description every attach method returns (what, where, how, which trace event).
import type { Wording } from '../wording.js';
import type { ProgramBinding } from './perf-event.js';

/** The kind of event a program is attached to. */
export type ProbeKind = 'kprobe' | 'kretprobe' | 'tracepoint' | 'uprobe' | 'uretprobe' | 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf' | 'raw_tracepoint' | 'usdt' | 'perf_event';

/** Where the attachment comes from: a tracefs event, the kprobe/uprobe PMU, kernel BTF (trampolines, raw tracepoints), a kprobe.multi link, or sampling perf events. */
export type EventSource = 'tracefs' | 'pmu' | 'btf' | 'multi' | 'perf';

/** What one attachment is: the program, what it was asked to attach to, and how the kernel attached it. */
export interface Attachment {
  kind: ProbeKind;
  /** The program's name. */
  program: string;
  /** What was asked for: "sys_bpf", "syscalls/sys_enter_bpf", "/bin/true:main". */
  target: string;
  /** What the kernel attached to, when it differs ("__x64_sys_bpf"). */
  resolved: string;
  source: EventSource;
  binding: ProgramBinding;
  /** The tracefs event this attachment created ("kprobes/load_kp_bpf_123_0_x"), if any. */
  event?: string;
  /** For a pattern: the functions attached, function i with BPF cookie i (bpf_get_attach_cookie). */
  functions?: string[];
  /** For a USDT probe: how many places in the binary it was attached at (a uprobe each). */
  sites?: number;
  /** For a sampling program: how many CPUs it samples (a perf event each), or with --pid how many threads. */
  cpus?: number;
  threads?: number;
  /** What attaching did besides, worth telling (stale tracefs events of dead loaders removed). */
  notes?: Wording[];
}
