// Addresses to frames: kernel ones through kallsyms, user ones through a process's captured maps and the mapped files' symbols, each file read once.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { printable } from '../text.js';
import { ElfSymbols } from './elf-symbols.js';
import { kernelSymbols, type KernelSymbols } from './kallsyms.js';
import { fileOffset, ProcessMaps, type Mapping } from './process-maps.js';

/** One symbolized address. No symbol: unresolved ("[unknown]" is how formatFrame shows it). */
export interface Frame {
  readonly address: bigint;
  readonly symbol?: string;
  /** Bytes from the start of `symbol`. */
  readonly offset?: number;
  /** A kernel module (none for vmlinux itself), or the mapped file's name ("libc.so.6"), or "vdso" and the like. */
  readonly module?: string;
}

/** Where the Symbolizer looks: the kernel's symbols and the processes' files. */
export interface SymbolizerOptions {
  /** Kernel symbols to use instead of the running kernel's /proc/kallsyms (read at the first kernel address). */
  readonly kernelSymbols?: KernelSymbols;
  /** Root of separate debug files (default /usr/lib/debug). */
  readonly debugRoot?: string;
  /** Where processes are found (default /proc). */
  readonly procRoot?: string;
}

/** What a mapping resolves through, worked out at its first address. */
interface MappedFile {
  /** The file as read through this mapping's path; undefined when it could not be read. */
  readonly file: ElfSymbols | undefined;
  readonly module: string | undefined;
}

/** Names addresses: kernel ones from kallsyms (read once), user ones from the ELF symbols of the mapped file (cached by build id). */
export class Symbolizer {
  private kernelTable: KernelSymbols | undefined;
  private readonly debugRoot: string | undefined;
  private readonly procRoot: string | undefined;
  /** Captured maps by pid; null: the process was gone (or unreadable) when first asked. */
  private readonly processes = new Map<number, ProcessMaps | null>();
  private readonly mapped = new WeakMap<Mapping, MappedFile>();
  /** Files read, by the device, inode and modification time of the path read; null: not an ELF file. */
  private readonly byIdentity = new Map<string, ElfSymbols | null>();
  /**
   * The copy of each build with the most symbols: a build id names the code, so the unstripped
   * file (or one with a debug file) serves its stripped copies too, whichever was read first.
   */
  private readonly byBuildId = new Map<string, ElfSymbols>();
  private reads = 0;

  constructor(options: SymbolizerOptions = {}) {
    this.kernelTable = options.kernelSymbols;
    this.debugRoot = options.debugRoot;
    this.procRoot = options.procRoot;
  }

  /** How many files have been read so far (each file once, however many processes map it). */
  get filesRead(): number {
    return this.reads;
  }

  /** A kernel address. Reads /proc/kallsyms at the first call unless given kernel symbols (throws if it cannot). */
  kernel(address: bigint): Frame {
    this.kernelTable ??= kernelSymbols();
    const hit = this.kernelTable.resolve(address);
    if (!hit) return { address };
    return hit.module === undefined ? { address, symbol: hit.symbol, offset: hit.offset } : { address, symbol: hit.symbol, offset: hit.offset, module: hit.module };
  }

  /**
   * A user address of a process: through the maps remembered for it, or captured now at its
   * first address. A process that is gone (and was not remembered) gives frames without symbols.
   */
  user(pid: number, address: bigint): Frame {
    let maps = this.processes.get(pid);
    if (maps === undefined) {
      try {
        maps = ProcessMaps.capture(pid, this.procRoot) ?? null;
      } catch {
        maps = null; // not allowed to read its maps: its addresses stay unknown
      }
      this.processes.set(pid, maps);
    }
    const mapping = maps?.find(address);
    if (!mapping) return { address };
    const { file, module } = this.mappedFile(mapping);
    const symbols = file && ((file.buildId !== undefined && this.byBuildId.get(file.buildId)) || file);
    const vaddr = symbols?.virtualAddress(fileOffset(mapping, address));
    const hit = vaddr === undefined ? undefined : symbols!.resolve(vaddr);
    if (!hit) return module === undefined ? { address } : { address, module };
    return module === undefined ? { address, symbol: hit.symbol, offset: hit.offset } : { address, symbol: hit.symbol, offset: hit.offset, module };
  }

  /**
   * Captures a process's maps now (replacing what was remembered: it may have loaded libraries,
   * or the pid may be another process's), and reads at once the files only reachable through
   * /proc/PID (deleted, or in another mount namespace), so its addresses resolve after it exits.
   * Undefined, keeping what was remembered, when the process is gone. Throws KernelError when
   * its maps may not be read.
   */
  remember(pid: number): ProcessMaps | undefined {
    const maps = ProcessMaps.capture(pid, this.procRoot);
    if (!maps) return undefined;
    this.useMaps(pid, maps);
    for (const mapping of maps.mappings) if (mapping.transient) this.mappedFile(mapping);
    return maps;
  }

  /** Resolves a process's addresses through maps captured earlier (ProcessMaps.capture, or remember). */
  useMaps(pid: number, maps: ProcessMaps): void {
    this.processes.set(pid, maps);
  }

  /** Drops what was remembered of a process (it exited, and its pid may come back as another). */
  forget(pid: number): void {
    this.processes.delete(pid);
  }

  private mappedFile(mapping: Mapping): MappedFile {
    let entry = this.mapped.get(mapping);
    if (!entry) {
      const module = mapping.file ? basename(mapping.name) : mapping.name.replace(/^\[(.*)\]$/, '$1') || undefined;
      entry = { file: mapping.source === undefined ? undefined : this.read(mapping.source, mapping.name), module };
      this.mapped.set(mapping, entry);
    }
    return entry;
  }

  private read(source: string, knownAs: string): ElfSymbols | undefined {
    let identity: string;
    try {
      const stats = statSync(source, { bigint: true });
      identity = `${stats.dev}:${stats.ino}:${stats.mtimeNs}`;
    } catch {
      return undefined; // gone since the maps were captured
    }
    const cached = this.byIdentity.get(identity);
    if (cached !== undefined) return cached ?? undefined;
    let file: ElfSymbols | null = null;
    try {
      this.reads++;
      file = ElfSymbols.read(source, { knownAs, debugRoot: this.debugRoot });
    } catch {
      // Not an ELF file we can read (a 32-bit or malformed one): its addresses stay unknown.
    }
    this.byIdentity.set(identity, file);
    if (file?.buildId !== undefined) {
      const known = this.byBuildId.get(file.buildId);
      if (!known || file.size > known.size) this.byBuildId.set(file.buildId, file);
    }
    return file ?? undefined;
  }
}

/** What printable() would change; testing for it first spares the replace that nearly every name does not need. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;
const shown = (name: string): string => (UNPRINTABLE.test(name) ? printable(name) : name);

/** "function+0xoff [module]", "[unknown] [module]" when unresolved; the module only when the frame has one. */
export function formatFrame(frame: Frame): string {
  const where = frame.symbol === undefined ? '[unknown]' : `${shown(frame.symbol)}+0x${(frame.offset ?? 0).toString(16)}`;
  return frame.module === undefined ? where : `${where} [${shown(frame.module)}]`;
}
