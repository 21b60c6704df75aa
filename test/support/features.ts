// What the kernel under test offers, asked of the kernel itself: tests branch on these, never on which machine runs them.
import { existsSync } from 'node:fs';
import { ATTACH_TYPE, PROG_TYPE } from '../../src/abi.js';
import { KernelBtf } from '../../src/kernel/kernel-btf.js';
import { loadProgram } from '../../src/kernel/program.js';

/** kprobes, by the kernel's own files: the kprobe PMU or tracefs's kprobe_events. */
export const HAS_KPROBES = ['/sys/bus/event_source/devices/kprobe/type', '/sys/kernel/tracing/kprobe_events', '/sys/kernel/debug/tracing/kprobe_events'].some((path) => existsSync(path));

/** r0 = 0; exit. */
const RETURN_ZERO = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

/**
 * Whether the kernel loads an fentry program on `fn` (BPF trampolines): some kernels refuse them
 * even to root. Loaded here directly, not through the loader's own check, which tests rely on.
 */
export function loadsFentry(fn = 'vfs_read'): boolean {
  const target = KernelBtf.of().findFunction(fn);
  if (!target || target.module) return false;
  try {
    loadProgram({ type: PROG_TYPE.TRACING, instructions: RETURN_ZERO, license: 'GPL', kernelVersion: 0, name: 'lkb_test_probe', expectedAttachType: ATTACH_TYPE.TRACE_FENTRY, attachBtfId: target.id, attachBtfObjFd: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

