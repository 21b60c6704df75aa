// One run of the symbolize benchmark in its own process (so its peak RSS is its own): the addresses run.ts
// wrote, named and formatted by our Symbolizer (compiled, from dist/) or by an nm -n table searched the
// obvious way (BigInt per symbol and per comparison), the median of --passes passes; time, peak RSS and a
// checksum on stderr, and the first --dump answers as "start name" lines in a file for run.ts to compare.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatFrame, Symbolizer, type Frame } from '../../dist/symbols/symbolizer.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    method: { type: 'string', default: 'ours' },
    only: { type: 'string', default: 'all' },
    dump: { type: 'string', default: '0' },
    out: { type: 'string' },
    passes: { type: 'string', default: '3' },
  },
});
if (!values.input || !['ours', 'nm'].includes(values.method!) || !['all', 'user', 'kernel'].includes(values.only!)) {
  throw new Error('usage: consumer.ts --input FILE [--method ours|nm] [--only all|user|kernel] [--passes N] [--dump N --out FILE]');
}

/** What run.ts wrote: the busy_loop pid, the files, and for each address its kind (0 kernel, else 1 + file index), runtime address and file address. */
interface Input {
  pid: number;
  files: Array<{ path: string; symbolsFrom: string; dynamic: boolean }>;
  count: number;
}
const header = JSON.parse(readFileSync(`${values.input}.json`, 'utf8')) as Input;
const raw = readFileSync(values.input);
const runtime = new BigUint64Array(raw.buffer, raw.byteOffset, header.count);
const fileAddress = new BigUint64Array(raw.buffer, raw.byteOffset + header.count * 8, header.count);
const kinds = new Uint8Array(raw.buffer, raw.byteOffset + header.count * 16, header.count);
const wanted = (kind: number): boolean => values.only === 'all' || (values.only === 'kernel') === (kind === 0);

/** One answer: the symbol's start address and name, for the comparison; the formatted text is what is timed. */
type Answer = { start: bigint; name: string } | undefined;

interface Method {
  lookup(i: number): string;
  answer(i: number): Answer;
}

function ours(): Method {
  const symbolizer = new Symbolizer();
  if (!symbolizer.remember(header.pid)) throw new Error(`busy_loop (pid ${header.pid}) is gone`);
  const frame = (i: number): Frame => (kinds[i] === 0 ? symbolizer.kernel(runtime[i]!) : symbolizer.user(header.pid, runtime[i]!));
  return {
    lookup: (i) => formatFrame(frame(i)),
    answer: (i) => {
      const f = frame(i);
      return f.symbol === undefined ? undefined : { start: (kinds[i] === 0 ? f.address : fileAddress[i]!) - BigInt(f.offset ?? 0), name: f.symbol };
    },
  };
}

/** An nm -n listing (or /proc/kallsyms, the same format) as sorted BigInt addresses and names. */
function nmTable(text: string): { addresses: bigint[]; names: string[] } {
  const addresses: bigint[] = [];
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const [address, type, name] = line.split(/\s+/);
    if (!address || !name || !type || !'TtWwi'.includes(type)) continue;
    addresses.push(BigInt(`0x${address}`));
    names.push(name);
  }
  return { addresses, names };
}

function nm(): Method {
  const kernel = nmTable(readFileSync('/proc/kallsyms', 'latin1'));
  const files = header.files.map((f) => nmTable(execFileSync('nm', ['-n', '--defined-only', ...(f.dynamic ? ['-D'] : []), f.symbolsFrom], { encoding: 'utf8', maxBuffer: 256 << 20 })));
  const find = (i: number): { table: { addresses: bigint[]; names: string[] }; at: number; address: bigint } => {
    const table = kinds[i] === 0 ? kernel : files[kinds[i]! - 1]!;
    const address = kinds[i] === 0 ? runtime[i]! : fileAddress[i]!;
    let lo = 0;
    let hi = table.addresses.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (table.addresses[mid]! <= address) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return { table, at, address };
  };
  return {
    lookup: (i) => {
      const { table, at, address } = find(i);
      return at < 0 ? '[unknown]' : `${table.names[at]}+0x${(address - table.addresses[at]!).toString(16)}`;
    },
    answer: (i) => {
      const { table, at } = find(i);
      return at < 0 ? undefined : { start: table.addresses[at]!, name: table.names[at]! };
    },
  };
}

const setupStarted = process.hrtime.bigint();
const method = values.method === 'ours' ? ours() : nm();
// The kernel table is read at the first kernel address: count that as setup too.
const firstKernel = kinds.indexOf(0);
if (firstKernel >= 0) method.lookup(firstKernel);
const setupSeconds = Number(process.hrtime.bigint() - setupStarted) / 1e9;

/** The timed loop, in a function of its own: V8 optimizes a module's top-level code poorly. */
function timed(): { records: number; unresolved: number; checksum: number; seconds: number } {
  let records = 0;
  let unresolved = 0;
  let checksum = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < header.count; i++) {
    if (!wanted(kinds[i]!)) continue;
    const text = method.lookup(i);
    records++;
    checksum = (checksum + text.length) | 0;
    if (text.startsWith('[unknown]')) unresolved++;
  }
  return { records, unresolved, checksum, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
// The median of a few passes: one pass alone is at the mercy of JIT warm-up and whatever else the machine runs.
const passes = Array.from({ length: Math.max(1, Number(values.passes)) }, timed).sort((a, b) => a.seconds - b.seconds);
const { records, unresolved, checksum, seconds } = passes[Math.floor(passes.length / 2)]!;
// VmHWM as the other benchmarks report it.
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

const dump = Number(values.dump);
if (dump > 0 && values.out) {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(dump, header.count); i++) {
    const a = method.answer(i);
    lines.push(a === undefined ? '?' : `${a.start.toString(16)} ${a.name}`);
  }
  writeFileSync(values.out, `${lines.join('\n')}\n`);
}
process.stderr.write(`${JSON.stringify({ records, seconds, setupSeconds, peakKb, unresolved, checksum })}\n`);
