// Kernel function names for kprobes: validation, existence, the kprobe blacklist, syscall prefixes, suggestions.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, UsageError } from '../errors.js';
import { closestNames } from '../text.js';

const KSYM_NAME_LEN = 512;

/** Refuses anything that could not be a kernel symbol, before it reaches a tracefs write. */
export function validateKernelFunctionName(name: string): void {
  if (name === '') throw new UsageError('the kernel function name is empty');
  if (name.length >= KSYM_NAME_LEN) throw new UsageError(`the kernel function name is ${name.length} characters; kernel symbols have fewer than ${KSYM_NAME_LEN}`);
  refuseCharacters(name, /[^A-Za-z0-9_.]/);
  if (!/^[A-Za-z_]/.test(name)) throw new UsageError(`kernel function name ${JSON.stringify(name)} must start with a letter or '_'`);
}

/** Refuses a name with a character `outside` matches, naming the character and where it is (a line break could inject a tracefs line). */
function refuseCharacters(name: string, outside: RegExp): void {
  const bad = outside.exec(name);
  if (bad) throw new UsageError(`kernel function name ${JSON.stringify(name)} contains ${describeCharacter(bad[0])} at position ${bad.index + 1}; use only [A-Za-z0-9_.]`);
}

/** Checks "FUNCTION" or "MODULE:FUNCTION" as a name, before the kernel is asked anything. */
export function validateKernelTarget(name: string): void {
  const colon = name.indexOf(':');
  if (colon <= 0) return validateKernelFunctionName(name);
  // Spaces and line breaks anywhere are the whole name's problem (they could inject a tracefs line), not the module's.
  refuseCharacters(name, /[^A-Za-z0-9_.:-]/);
  const module = name.slice(0, colon);
  if (!/^[A-Za-z0-9_-]+$/.test(module)) throw new UsageError(`kernel module name ${JSON.stringify(module)}: use only [A-Za-z0-9_-]`);
  validateKernelFunctionName(name.slice(colon + 1));
}

function describeCharacter(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\n' || c === '\r') return 'a line break';
  if (c === '\t') return 'a tab';
  const code = c.codePointAt(0)!;
  return code < 0x20 || code === 0x7f ? `control character 0x${code.toString(16).padStart(2, '0')}` : `'${c}'`;
}

/** The prefix of syscall entry points on this architecture since 4.17 (what libbpf and bcc try). */
export function syscallPrefix(arch: string = process.arch): string | undefined {
  const prefixes: Record<string, string> = {
    x64: '__x64_',
    ia32: '__ia32_',
    arm64: '__arm64_',
    arm: '__arm_',
    s390x: '__s390x_',
    riscv64: '__riscv_',
    ppc64: '__powerpc64_',
    loong64: '__loongarch64_',
    mips64el: '__mips_',
  };
  return prefixes[arch];
}

/** Functions the running kernel can probe, read lazily from tracefs, kallsyms and the blacklist. */
export class KernelFunctions {
  /** null: tried, unreadable. */
  private filterLineCache: string[] | null | undefined;
  private filterFunctions: Set<string> | undefined;
  private kallsyms: Set<string> | undefined;
  private blacklist: Set<string> | undefined;

  constructor(
    private readonly tracefs: string | undefined,
    private readonly paths = { kallsyms: '/proc/kallsyms', blacklist: '/sys/kernel/debug/kprobes/blacklist' },
  ) {}

  /** The lines of available_filter_functions ("name" or "name [module]"), read once; undefined when unreadable. */
  private filterLines(): string[] | undefined {
    if (this.filterLineCache === undefined && this.tracefs) this.filterLineCache = readOptional(join(this.tracefs, 'available_filter_functions'))?.split('\n') ?? null;
    return this.filterLineCache ?? undefined;
  }

  /** Names in available_filter_functions; undefined when unreadable. */
  private ftraceable(): Set<string> | undefined {
    const lines = this.filterLines();
    if (this.filterFunctions === undefined && lines) this.filterFunctions = new Set(lines.map((l) => l.split(/\s/)[0]!).filter(Boolean));
    return this.filterFunctions;
  }

  /** Text symbols of /proc/kallsyms: kprobes can also sit where ftrace cannot. */
  private textSymbols(): Set<string> {
    if (this.kallsyms === undefined) {
      const names = new Set<string>();
      for (const line of (readOptional(this.paths.kallsyms) ?? '').split('\n')) {
        const [, type, name] = line.split(/\s+/);
        if (name && type && /^[tTwW]$/.test(type)) names.add(name);
      }
      this.kallsyms = names;
    }
    return this.kallsyms;
  }

  /** Each vmlinux line of available_filter_functions, in order, duplicates kept (static functions share names). */
  vmlinuxFilterFunctions(): string[] {
    const lines = this.filterLines();
    if (lines === undefined) throw new AttachError('cannot read available_filter_functions in tracefs: a pattern needs the list of functions kprobes can take');
    // "__ftrace_invalid_address___N" stands for functions ftrace dropped; "[module]" marks module functions.
    return lines.filter((l) => l !== '' && !l.includes('[') && !l.startsWith('__ftrace_invalid_address__')).map((l) => l.split(/\s/)[0]!);
  }

  has(name: string): boolean {
    return this.ftraceable()?.has(name) === true || this.textSymbols().has(name);
  }

  isBlacklisted(name: string): boolean {
    if (this.blacklist === undefined) {
      const text = readOptional(this.paths.blacklist) ?? '';
      this.blacklist = new Set(text.split('\n').map((l) => l.trim().split(/\s+/)[1]).filter((n): n is string => Boolean(n)));
    }
    return this.blacklist.has(name);
  }

  /** The functions of a module, from available_filter_functions ("name [module]") and kallsyms ("name\t[module]"). */
  moduleFunctions(module: string): Set<string> {
    const names = new Set<string>();
    const tag = `[${module}]`;
    for (const line of this.filterLines() ?? []) if (line.endsWith(tag)) names.add(line.split(/\s/)[0]!);
    for (const line of (readOptional(this.paths.kallsyms) ?? '').split('\n')) {
      const [, type, name, owner] = line.split(/\s+/);
      if (owner === tag && name && type && /^[tTwW]$/.test(type)) names.add(name);
    }
    return names;
  }

  /** Every known name, for suggestions. */
  names(): Iterable<string> {
    const ftrace = this.ftraceable();
    return ftrace && ftrace.size > 0 ? ftrace : this.textSymbols();
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface ResolvedFunction {
  /** The name the kernel knows and the probe uses. */
  name: string;
  /** Set when it differs from what was asked, saying why. */
  note?: string;
  /** When the function exists only as several compiler clones: all of them (`name` is the first). */
  clones?: string[];
}

/** The suffixes GCC and LLVM give the copies they make of a function (X.isra.0, X.constprop.0.isra.0, X.cold, X.llvm.123). */
const CLONE_SUFFIX = /^(?:\.(?:isra|constprop|part|cold|llvm|lto_priv)(?:\.\d+)?)+$/;

/**
 * The clones of a function that exists only as clones, in name order; for a return probe without
 * `.cold` parts (a function's cold part is entered by a jump from the function, and never returns as it).
 */
export function functionClones(requested: string, functions: Pick<KernelFunctions, 'names' | 'isBlacklisted'>, retprobe: boolean): string[] {
  const clones: string[] = [];
  for (const name of functions.names()) {
    if (name.length > requested.length && name.startsWith(requested) && CLONE_SUFFIX.test(name.slice(requested.length)) && !functions.isBlacklisted(name)) clones.push(name);
  }
  return clones.filter((c) => !(retprobe && /\.cold(\.\d+)?$/.test(c))).sort();
}

function refuseBlacklisted(functions: KernelFunctions, name: string): void {
  if (functions.isBlacklisted(name)) throw new AttachError(`kernel function '${name}' cannot be probed: it is in the kprobe blacklist (/sys/kernel/debug/kprobes/blacklist)`);
}

/** A function asked for as `asked` that is only `clones` (qualified as the probe takes them), said so. */
function resolvedToClones(asked: string, clones: readonly string[], shown: readonly string[] = clones): ResolvedFunction {
  const one = clones.length === 1;
  const note = `'${asked}' is only ${shown.map((c) => `'${c}'`).join(', ')} in this kernel (the compiler's cop${one ? 'y' : 'ies'}); probing ${one ? 'it' : 'all of them'}`;
  return { name: clones[0]!, note, ...(one ? {} : { clones: [...clones] }) };
}

/** Where modules appear while loaded (one directory each). */
const SYS_MODULE = '/sys/module';

/**
 * A module's function, "MODULE:FUNCTION" as kprobe_events and the kprobe PMU take it: the module
 * must be loaded and have the function; its clones count as for vmlinux.
 */
export function resolveModuleFunction(given: string, requested: string, functions: KernelFunctions, retprobe = false, sysModule = SYS_MODULE): ResolvedFunction {
  validateKernelTarget(`${given}:${requested}`);
  // The kernel names modules with '_' where modprobe also takes '-'.
  const module = given.replace(/-/g, '_');
  if (!existsSync(join(sysModule, module))) throw new AttachError(`kernel module '${module}' is not loaded (modprobe ${module} loads it)`);
  const names = functions.moduleFunctions(module);
  const candidates = names.has(requested) ? [requested] : functionClones(requested, { names: () => names, isBlacklisted: (n) => functions.isBlacklisted(n) }, retprobe);
  if (candidates.length === 0) {
    const closest = closestNames(requested, names, 5);
    throw new AttachError(`kernel module '${module}' has no function '${requested}' that can be probed${closest.length > 0 ? `; closest: ${closest.join(', ')}` : names.size === 0 ? ' (it has none in available_filter_functions or /proc/kallsyms)' : ''}`);
  }
  refuseBlacklisted(functions, candidates[0]!);
  const qualified = candidates.map((c) => `${module}:${c}`);
  return candidates[0] === requested ? { name: qualified[0]! } : resolvedToClones(`${module}:${requested}`, qualified, candidates);
}

/**
 * Turns the requested function into one the kernel can probe: as given if it exists, else the
 * architecture's syscall entry point for a sys_* name (sys_bpf -> __x64_sys_bpf), else its compiler
 * clones, else an error naming the closest existing functions.
 */
export function resolveKernelFunction(requested: string, functions: KernelFunctions, arch: string = process.arch, retprobe = false): ResolvedFunction {
  validateKernelFunctionName(requested);
  if (functions.has(requested)) {
    refuseBlacklisted(functions, requested);
    return { name: requested };
  }
  const prefix = syscallPrefix(arch);
  if (prefix && requested.startsWith('sys_')) {
    const entry = `${prefix}${requested}`;
    if (functions.has(entry)) {
      refuseBlacklisted(functions, entry);
      return { name: entry, note: `'${requested}' does not exist in this kernel; using its syscall entry point '${entry}'` };
    }
  }
  const clones = functionClones(requested, functions, retprobe);
  if (clones.length > 0) return resolvedToClones(requested, clones);
  const suggestions = closestNames(requested, functions.names(), 5);
  const hint = suggestions.length > 0 ? `; closest: ${suggestions.join(', ')}` : '';
  throw new AttachError(`kernel function '${requested}' does not exist in this kernel (not in available_filter_functions or /proc/kallsyms)${hint}`);
}
