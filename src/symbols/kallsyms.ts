// Kernel code addresses to function names: /proc/kallsyms parsed once into a sorted table.
import { readFileSync } from 'node:fs';
import { AddressTable, AddressTableBuilder } from './address-table.js';

/** A kernel function an address falls in; `module` only for code outside vmlinux ([bpf] programs too). */
export interface KernelLocation {
  /** The function's name. */
  readonly symbol: string;
  /** Bytes from the function's start. */
  readonly offset: number;
  /** The module, as kallsyms names it ("ext4", "bpf"). */
  readonly module?: string;
}

/**
 * Symbols the kernel marks as text that are not functions but the ends of text regions: an address
 * after them (rodata, a hole) belongs to no function.
 */
const TEXT_ENDS = new Set(['_etext', '_einittext']);

/** Types of code symbols, best first: global beats local, and both beat weak (as perf chooses). */
const CODE_RANK: Record<string, number> = { T: 0, t: 1, W: 2, w: 3 };

/** The kernel's code symbols as a sorted table: addresses to functions, from /proc/kallsyms or a saved copy. */
export class KernelSymbols {
  private constructor(
    private readonly table: AddressTable,
    /** Every address read as 0: kernel.kptr_restrict hides them from this process, and nothing resolves. */
    readonly hidden: boolean,
    /** How many code symbols were read. */
    readonly size: number,
  ) {}

  /** Reads a kallsyms file (the running kernel's by default). Throws the read's error. */
  static read(path = '/proc/kallsyms'): KernelSymbols {
    // latin1: symbol names are ASCII, and a one-byte string is the cheapest to build and scan.
    return KernelSymbols.parse(readFileSync(path, 'latin1'));
  }

  /**
   * Parses kallsyms text: "ADDRESS TYPE NAME" lines, "\t[MODULE]" after the name for modules.
   * Code symbols (t, T, w, W) are answers; data and other symbols only end the code before them.
   * Malformed lines are skipped.
   */
  static parse(text: string): KernelSymbols {
    const builder = new AddressTableBuilder();
    const modules = new Map<string, string>();
    let anyAddress = false;
    let code = 0;
    let lines = 0;
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const lineStart = start;
      start = end + 1;

      // The address as two 32-bit halves, digit by digit: no substring and no BigInt per line.
      let high = 0;
      let low = 0;
      let at = lineStart;
      for (; at < end; at++) {
        const digit = hexDigit(text.charCodeAt(at));
        if (digit < 0) break;
        high = ((high << 4) | (low >>> 28)) >>> 0;
        low = ((low << 4) | digit) >>> 0;
      }
      // "ADDRESS T NAME": one space, the type, one space.
      if (at === lineStart || at + 3 >= end || text.charCodeAt(at) !== 0x20 || text.charCodeAt(at + 2) !== 0x20) continue;
      lines++;
      const type = text[at + 1]!;
      if (type === 'a' || type === 'A') continue; // absolute values (per-CPU offsets), not addresses in the kernel
      if (high !== 0 || low !== 0) anyAddress = true;

      const nameStart = at + 3;
      // Not indexOf('\t'): it would run on past this line, to the next module's symbol.
      let nameEnd = nameStart;
      while (nameEnd < end && text.charCodeAt(nameEnd) !== 0x09) nameEnd++;
      const name = text.slice(nameStart, nameEnd).trimEnd();
      let module: string | undefined;
      if (nameEnd < end) {
        const bracketed = text.slice(nameEnd + 1, end).trim();
        if (bracketed.startsWith('[') && bracketed.endsWith(']')) {
          const raw = bracketed.slice(1, -1);
          // Thousands of symbols share a handful of module names: one string each.
          module = modules.get(raw);
          if (module === undefined) modules.set(raw, (module = raw));
        }
      }
      const rank = CODE_RANK[type];
      if (rank === undefined || TEXT_ENDS.has(name)) {
        builder.add(high, low, undefined, 0, 0);
      } else {
        builder.add(high, low, name, rank, 0, module);
        code++;
      }
    }
    const hidden = lines > 0 && !anyAddress;
    return new KernelSymbols(hidden ? new AddressTableBuilder().build() : builder.build(), hidden, code);
  }

  /**
   * The function a kernel address is in: the closest code symbol at or below it, up to the next
   * symbol of any kind. Undefined below the first symbol, after a data symbol, or when hidden.
   */
  resolve(address: bigint): KernelLocation | undefined {
    return this.table.resolve(address);
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

let running: KernelSymbols | undefined;

/** The running kernel's symbols, read from /proc/kallsyms at the first call and kept for the process. */
export function kernelSymbols(): KernelSymbols {
  running ??= KernelSymbols.read();
  return running;
}
