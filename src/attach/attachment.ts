// Attachment: the one description every attach method returns (what, where, how, which trace event).
import type { ProgramBinding } from './perf-event.js';

export type ProbeKind = 'kprobe' | 'kretprobe' | 'tracepoint' | 'uprobe' | 'uretprobe' | 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf' | 'raw_tracepoint' | 'usdt';

/** Where the attachment comes from: a tracefs event, the kprobe/uprobe PMU, kernel BTF (trampolines, raw tracepoints), or a kprobe.multi link. */
export type EventSource = 'tracefs' | 'pmu' | 'btf' | 'multi';

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
}
