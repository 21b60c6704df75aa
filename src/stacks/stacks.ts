// Stack traces in map entries: which fields hold stack ids, the frames behind an id (a stack trace map), symbolized, and the folded form flame graphs read.
import { errnoName } from '../errors.js';
import type { Decoded } from '../btf/decode.js';
import type { Frame } from '../symbols/symbolizer.js';

/** A field that holds a stack id (bpf_get_stackid's result): bcc's and libbpf-tools' names. */
const STACK_ID_FIELD = /^(?:(?:user|kern|kernel|u|k)_?)?stack(?:_?id)?$|_stack_?id$|^stackid$/i;
/** A field that names the process whose user addresses a stack holds. */
const PID_FIELD = /^(?:pid|tgid)$/i;
const COMM_FIELD = /^(?:comm|name|task)$/i;

/** Addresses from here up are the kernel's (x86-64 and arm64 both keep the kernel in the upper half). */
const KERNEL_HALF = 0x8000000000000000n;

/** What the stack display needs of a symbolizer (src/symbols implements it). */
export interface FrameSymbolizer {
  /** The frame of a kernel address. */
  kernel(address: bigint): Frame;
  /** The frame of an address in a process (undefined: the process is not known). */
  user(pid: number | undefined, address: bigint): Frame;
  /** Records a process's mappings now, so its addresses can be named after it exits. */
  remember(pid: number): void;
  /** A frame as one line of a stack. */
  formatFrame(frame: Frame): string;
}

/** One frame as shown and as JSON carries it. */
export interface ShownFrame {
  address: string;
  symbol: string | null;
  offset: number | null;
  module: string | null;
  kernel: boolean;
  text: string;
}

/** A stack id resolved: its frames leaf first, or why there are none (a negative id is the kernel's errno). */
export type ShownStack = { frames: ShownFrame[] } | { missing: string };

/** One entry's stacks, with what the rest of its key says (whose, how often). */
export interface StackSample {
  comm?: string;
  pid?: number;
  count: bigint;
  stacks: Record<string, ShownStack>;
}

/** The process a decoded key or value names (its pid or tgid field), if any. */
export function pidOf(decoded: Decoded): number | undefined {
  if (!isStruct(decoded)) return undefined;
  const entry = Object.entries(decoded).find(([name, v]) => PID_FIELD.test(name) && typeof v === 'number');
  return entry ? (entry[1] as number) : undefined;
}

/** The command name a decoded key or value carries (comm, name, task), if any. */
export function commOf(decoded: Decoded): string | undefined {
  if (!isStruct(decoded)) return undefined;
  const entry = Object.entries(decoded).find(([name, v]) => COMM_FIELD.test(name) && typeof v === 'string');
  return entry ? (entry[1] as string) : undefined;
}

/** The names of a decoded struct's fields that hold stack ids. */
export function stackIdFields(decoded: Decoded): string[] {
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) return [];
  return Object.entries(decoded)
    .filter(([name, value]) => STACK_ID_FIELD.test(name) && (typeof value === 'number' || typeof value === 'bigint'))
    .map(([name]) => name);
}

/**
 * Reads stack ids from a stack trace map, each once (a run reads the same ids again at every
 * --interval): the addresses of an id, leaf first, up to the first 0.
 */
export class StackTraceReader {
  private readonly cache = new Map<number, bigint[] | undefined>();

  constructor(
    private readonly lookup: (id: number) => Uint8Array | undefined,
    private readonly littleEndian = true,
  ) {}

  /** The addresses of stack `id`, innermost first; undefined when the map no longer has it. */
  addresses(id: number): bigint[] | undefined {
    if (this.cache.has(id)) return this.cache.get(id);
    const bytes = this.lookup(id);
    let addresses: bigint[] | undefined;
    if (bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      addresses = [];
      for (let at = 0; at + 8 <= bytes.length; at += 8) {
        const address = view.getBigUint64(at, this.littleEndian);
        if (address === 0n) break;
        addresses.push(address);
      }
    }
    this.cache.set(id, addresses);
    return addresses;
  }

  /** Forgets what was read (ids are reused once the program's stack map entries are deleted). */
  clear(): void {
    this.cache.clear();
  }
}

/** The stacks of one decoded entry; undefined when it holds no stack id. */
export function stackSample(key: Decoded, value: Decoded, reader: StackTraceReader, symbolizer: FrameSymbolizer): StackSample | undefined {
  const fields = [...stackIdFields(key), ...stackIdFields(value)];
  if (fields.length === 0) return undefined;
  const record = { ...(isStruct(value) ? value : {}), ...(isStruct(key) ? key : {}) };
  const comm = commOf(record);
  const pid = pidOf(record);
  const stacks: Record<string, ShownStack> = {};
  for (const field of fields) {
    const id = Number(record[field]);
    stacks[field] = id < 0 ? { missing: errnoName(-id) } : resolveStack(reader.addresses(id), pid, symbolizer);
  }
  return { ...(comm === undefined ? {} : { comm }), ...(pid === undefined ? {} : { pid }), count: countOf(value), stacks };
}

function resolveStack(addresses: bigint[] | undefined, pid: number | undefined, symbolizer: FrameSymbolizer): ShownStack {
  if (addresses === undefined) return { missing: 'not in the stack map' };
  return {
    frames: addresses.map((address) => {
      const kernel = address >= KERNEL_HALF;
      const frame = kernel ? symbolizer.kernel(address) : symbolizer.user(pid, address);
      return {
        address: `0x${address.toString(16)}`,
        symbol: frame.symbol ?? null,
        offset: frame.offset === undefined ? null : Number(frame.offset),
        module: frame.module ?? null,
        kernel,
        text: symbolizer.formatFrame(frame),
      };
    }),
  };
}

function isStruct(value: Decoded): value is { [field: string]: Decoded } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** How many times an entry was seen: its value when that is an integer (or per-CPU integers summed), else 1. */
function countOf(value: Decoded): bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return BigInt(value);
  return 1n;
}

/** Samples with identical stacks and owner added together, the most frequent first. */
export function mergeSamples(samples: readonly StackSample[]): StackSample[] {
  const merged = new Map<string, StackSample>();
  for (const s of samples) {
    const key = JSON.stringify([s.comm, s.pid, Object.entries(s.stacks).map(([f, st]) => [f, 'frames' in st ? st.frames.map((x) => x.address) : st.missing])]);
    const known = merged.get(key);
    if (known) known.count += s.count;
    else merged.set(key, { ...s });
  }
  return [...merged.values()].sort((a, b) => mostFirst(a.count, b.count));
}

/** Kernel stacks first, then user stacks (as bcc's profile and offcputime print them). */
function orderedStacks(sample: StackSample): ShownStack[] {
  const stacks = Object.values(sample.stacks);
  const isKernel = (s: ShownStack): boolean => 'frames' in s && s.frames.length > 0 && s.frames[0]!.kernel;
  return [...stacks.filter(isKernel), ...stacks.filter((s) => !isKernel(s))];
}

/** A sample for people: frames leaf first, kernel above user with "--" between, then "- comm (pid)" and the count. */
export function stackLines(sample: StackSample, indent = '    '): string[] {
  const lines: string[] = [];
  // A kernel stack of -EFAULT is a sample taken in user space: nothing to show, as bcc shows nothing.
  const parts = orderedStacks(sample).filter((s) => !('missing' in s && s.missing === 'EFAULT'));
  parts.forEach((stack, i) => {
    if (i > 0) lines.push(`${indent}--`);
    if ('missing' in stack) lines.push(`${indent}[missed stack: ${stack.missing}]`);
    else lines.push(...(stack.frames.length === 0 ? ['[empty stack]'] : stack.frames.map((f) => f.text)).map((t) => `${indent}${t}`));
  });
  const owner = [sample.comm, sample.pid === undefined ? undefined : `(${sample.pid})`].filter((x) => x !== undefined).join(' ');
  if (owner !== '') lines.push(`${indent}-${' '.repeat(16)}${owner}`);
  lines.push(`${indent}    ${sample.count}`);
  return lines;
}

/** Folded lines of many samples, those that fold alike (the same functions, at other offsets) added together, the largest first. */
export function foldedLines(samples: readonly StackSample[]): string[] {
  const counts = new Map<string, bigint>();
  for (const s of samples) {
    const stack = foldedStack(s);
    counts.set(stack, (counts.get(stack) ?? 0n) + s.count);
  }
  return [...counts].sort((a, b) => mostFirst(a[1], b[1])).map(([stack, count]) => `${stack} ${count}`);
}

/**
 * Brendan Gregg's folded line: "comm;root;...;leaf count", user frames then kernel frames root
 * first, kernel frames marked "_[k]" (flamegraph.pl colours them), ';' in names replaced.
 */
export function foldedLine(sample: StackSample): string {
  return `${foldedStack(sample)} ${sample.count}`;
}

/** A folded line without its count. */
function foldedStack(sample: StackSample): string {
  const frames: string[] = [];
  const stacks = orderedStacks(sample).reverse();
  for (const stack of stacks) {
    if (!('frames' in stack)) continue;
    for (const f of [...stack.frames].reverse()) frames.push(`${(f.symbol ?? '[unknown]').replace(/[;\s]/g, '_')}${f.kernel ? '_[k]' : ''}`);
  }
  const root = (sample.comm ?? 'all').replace(/[;\s]/g, '_');
  return [root, ...frames].join(';');
}

/** Larger counts first. */
function mostFirst(a: bigint, b: bigint): number {
  return b > a ? 1 : b < a ? -1 : 0;
}
