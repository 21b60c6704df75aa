// A sorted table of symbol start addresses and the binary search from an address to the symbol that holds it.

/** The symbol an address falls in, and how far into it. */
export interface TableHit {
  readonly symbol: string;
  readonly offset: number;
  readonly module?: string;
}

const TWO_32 = 0x1_0000_0000;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Rank of a boundary: worse than any symbol's, so a symbol at the same address wins. */
const BOUNDARY = 0xff;

/**
 * Collects symbols, then sorts them once into an AddressTable. Addresses come as two 32-bit halves
 * so that callers parsing text need no BigInt per symbol; typed arrays, grown by doubling, keep
 * 200,000 kallsyms lines cheap.
 */
export class AddressTableBuilder {
  private count = 0;
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  private ranks = new Uint8Array(1024);
  private sizes = new Float64Array(1024);
  private readonly names: Array<string | undefined> = [];
  private readonly modules: Array<string | undefined> = [];

  /**
   * A symbol starting at high:low. `name` undefined adds a boundary: it ends the symbol before it
   * but is no answer itself (data, the end of a section). Among symbols at one address the lowest
   * rank (0 to 254) wins, then the name with fewer leading underscores (`vfs_read` over
   * `__vfs_read`), then the first added. `size` 0 means unknown: the symbol reaches to the next one.
   */
  add(high: number, low: number, name: string | undefined, rank: number, size: number, module?: string): void {
    if (this.count === this.high.length) this.grow();
    const i = this.count++;
    this.high[i] = high;
    this.low[i] = low;
    this.ranks[i] = name === undefined ? BOUNDARY : Math.min(rank, BOUNDARY - 1);
    this.sizes[i] = size;
    this.names.push(name);
    this.modules.push(module);
  }

  private grow(): void {
    const double = <T extends Uint32Array | Uint8Array | Float64Array>(from: T, make: (n: number) => T): T => {
      const to = make(from.length * 2);
      to.set(from);
      return to;
    };
    this.high = double(this.high, (n) => new Uint32Array(n));
    this.low = double(this.low, (n) => new Uint32Array(n));
    this.ranks = double(this.ranks, (n) => new Uint8Array(n));
    this.sizes = double(this.sizes, (n) => new Float64Array(n));
  }

  build(): AddressTable {
    const { count, high, low, ranks, names } = this;
    const order = new Array<number>(count);
    let sorted = true;
    for (let i = 0; i < count; i++) {
      order[i] = i;
      if (i > 0 && (high[i]! < high[i - 1]! || (high[i] === high[i - 1] && low[i]! < low[i - 1]!))) sorted = false;
    }
    // Stable, so the first added wins a tie.
    if (!sorted) order.sort((a, b) => high[a]! - high[b]! || low[a]! - low[b]!);
    const better = (a: number, b: number): boolean =>
      ranks[a]! < ranks[b]! || (ranks[a] === ranks[b] && leadingUnderscores(names[a]) < leadingUnderscores(names[b]));

    // One entry per distinct address: its best symbol.
    const outHigh = new Uint32Array(count);
    const outLow = new Uint32Array(count);
    const outSizes = new Float64Array(count);
    const outNames: Array<string | undefined> = [];
    const outModules: Array<string | undefined> = [];
    let n = 0;
    for (let i = 0; i < count; ) {
      let best = order[i]!;
      let j = i + 1;
      for (; j < count && high[order[j]!] === high[best] && low[order[j]!] === low[best]; j++) {
        if (better(order[j]!, best)) best = order[j]!;
      }
      outHigh[n] = high[best]!;
      outLow[n] = low[best]!;
      outSizes[n] = this.sizes[best]!;
      outNames.push(names[best]);
      outModules.push(this.modules[best]);
      n++;
      i = j;
    }
    return new AddressTable(outHigh.subarray(0, n), outLow.subarray(0, n), outNames, outSizes.subarray(0, n), outModules);
  }
}

function leadingUnderscores(name: string | undefined): number {
  if (name === undefined) return Number.POSITIVE_INFINITY;
  let n = 0;
  while (name.charCodeAt(n) === 0x5f) n++;
  return n;
}

/** Distinct start addresses in order, each with the symbol chosen for it. */
export class AddressTable {
  constructor(
    private readonly high: Uint32Array,
    private readonly low: Uint32Array,
    private readonly names: ReadonlyArray<string | undefined>,
    private readonly sizes: Float64Array,
    private readonly modules: ReadonlyArray<string | undefined>,
  ) {}

  /** The symbol holding a 64-bit address; undefined below the first, in a boundary, or past a known size. */
  resolve(address: bigint): TableHit | undefined {
    // One conversion to a double where it is exact (every user address), two BigInt operations otherwise.
    if (address >= 0n && address <= MAX_SAFE) {
      const n = Number(address);
      const high = Math.floor(n / TWO_32);
      return this.lookup(high, n - high * TWO_32);
    }
    if (address < 0n || address > MAX_U64) return undefined;
    return this.lookup(Number(address >> 32n), Number(address & 0xffff_ffffn));
  }

  private lookup(high: number, low: number): TableHit | undefined {
    const highs = this.high;
    const lows = this.low;
    const found = lastAtOrBelow(highs.length, (i) => highs[i]! < high || (highs[i] === high && lows[i]! <= low));
    if (found < 0) return undefined;
    const symbol = this.names[found];
    if (symbol === undefined) return undefined;
    const offset = (high - highs[found]!) * TWO_32 + (low - lows[found]!);
    const size = this.sizes[found]!;
    if (size > 0 && offset >= size) return undefined;
    const module = this.modules[found];
    return module === undefined ? { symbol, offset } : { symbol, offset, module };
  }
}

/** Binary search over entries sorted by address: the last index whose entry `atOrBelow` says is at or below the address sought, else -1. */
export function lastAtOrBelow(count: number, atOrBelow: (index: number) => boolean): number {
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (atOrBelow(mid)) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
