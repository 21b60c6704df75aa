// The symbolizer the stack display uses: src/symbols' Symbolizer, its failures turned into unnamed frames.
import { Symbolizer, formatFrame } from '../symbols/symbolizer.js';
import type { FrameSymbolizer } from './stacks.js';

/** A symbolizer for one run: kallsyms read once, each mapped file once, processes remembered while they live. */
export function frameSymbolizer(): FrameSymbolizer {
  const symbolizer = new Symbolizer();
  let kernelReadable = true;
  return {
    kernel(address) {
      if (!kernelReadable) return { address };
      try {
        return symbolizer.kernel(address);
      } catch {
        // /proc/kallsyms unreadable: kernel frames stay addresses, and it is not tried again.
        kernelReadable = false;
        return { address };
      }
    },
    user: (pid, address) => (pid === undefined ? { address } : symbolizer.user(pid, address)),
    remember(pid) {
      try {
        symbolizer.remember(pid);
      } catch {
        // Its maps may not be read: its frames stay unnamed.
      }
    },
    formatFrame,
  };
}
