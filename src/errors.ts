// Error types: every failure names the step that failed, the errno in words, and what to do.
import { readFileSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { joined, say, type OptionNamer, type Wording } from './wording.js';

/** Something that could not be released while unwinding. */
export interface ReleaseFailure {
  description: string;
  error: unknown;
}

/** What a failure concerns in the object, for programs that handle errors rather than print them. */
export interface ErrorSubject {
  /** The program being loaded, planned or attached. */
  program?: string;
  /** The map being created, pinned or filled. */
  map?: string;
  /** The attach target asked for ("vfs_read", "syscalls/sys_enter_bpf"). */
  target?: string;
}

/** Base of every error the loader reports on purpose; its message is one line meant for people. */
export class LoaderError extends Error implements ErrorSubject {
  override name = 'LoaderError';
  /** What could not be released while undoing the steps before the failure. */
  releaseFailures: ReleaseFailure[] = [];
  program?: string;
  map?: string;
  target?: string;
  private wording: Wording;

  constructor(message: Wording, options?: { cause?: unknown }) {
    super(say(message), options);
    this.wording = message;
  }

  /** The message with the options it names said by `name` (the command says its flags); `message` says them the library's way. */
  describe(name: OptionNamer): string {
    return say(this.wording, name);
  }

  /** Records what the failure concerns, keeping what an inner step already said; the message is unchanged. */
  concerning(subject: ErrorSubject): this {
    this.program ??= subject.program;
    this.map ??= subject.map;
    this.target ??= subject.target;
    return this;
  }

  /** Puts where it happened before the message ("prog.o: "). */
  prepend(prefix: string): void {
    this.setWording(joined(prefix, this.wording));
  }

  /** Adds to the end of the message. */
  append(suffix: Wording): void {
    this.setWording(joined(this.wording, suffix));
  }

  private setWording(wording: Wording): void {
    this.wording = wording;
    this.message = say(wording);
  }
}

/** Runs a step; a LoaderError it throws is marked with what the step concerned. */
export function concerning<T>(subject: ErrorSubject, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof LoaderError) error.concerning(subject);
    throw error;
  }
}

/** The command line or an API argument is wrong (bad name, unknown option value). */
export class UsageError extends LoaderError {
  override name = 'UsageError';
}

/** A handle (map, program, link, perf event, reader) used after it was closed. */
export class ClosedError extends LoaderError {
  override name = 'ClosedError';
}

/** A malformed ELF file: says what is wrong and where (offset or section). */
export class ElfError extends LoaderError {
  override name = 'ElfError';
}

/**
 * A well-formed ELF file that is not a loadable BPF object (bad map records, relocations,
 * sections). A kind of ElfError: both mean "this file cannot be loaded as it is".
 */
export class ObjectError extends ElfError {
  override name = 'ObjectError';
}

/** A failed system call, as thrown by the native addon and named by src/native.ts; the steps that make one wrap it in a KernelError naming the step. */
export class SyscallError extends LoaderError {
  override name = 'SyscallError';
  constructor(
    readonly syscall: string,
    readonly command: string,
    readonly errno: number,
    /** The C library's words for the errno, e.g. "File exists". */
    readonly description: string,
  ) {
    // The C library has no words for the kernel's own errnos ("Unknown error 524"); the kernel has.
    const words = KERNEL_ERRNOS[errno]?.[1] ?? description;
    super(`${command}: ${errnoName(errno)} (${words})`);
    this.description = words;
  }
  /** The errno's name ("ENOENT"). */
  get code(): string {
    return errnoName(this.errno);
  }
}

/** A kernel operation of a named step failed; carries the errno and a hint. */
export class KernelError extends LoaderError {
  override name = 'KernelError';
  constructor(
    message: Wording,
    readonly errno?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  /** The errno's name ("EPERM"), when the failure had an errno. */
  get code(): string | undefined {
    return this.errno === undefined ? undefined : errnoName(this.errno);
  }
}

/** The verifier refused a program; the log holds its explanation. */
export class VerifierError extends KernelError {
  override name = 'VerifierError';
  constructor(
    message: Wording,
    errno: number,
    readonly log: string,
    options?: { cause?: unknown },
  ) {
    super(message, errno, options);
  }
}

/** Attaching to a probe point failed, or the kernel cannot attach that kind of probe. */
export class AttachError extends KernelError {
  override name = 'AttachError';
}

/**
 * Errnos the kernel keeps to itself (include/linux/errno.h) that still reach user space through
 * bpf() and perf_event_open(): the C library knows neither their names nor their words.
 */
const KERNEL_ERRNOS: Record<number, [string, string]> = {
  512: ['ERESTARTSYS', 'interrupted, to be restarted'],
  513: ['ERESTARTNOINTR', 'to be restarted'],
  514: ['ERESTARTNOHAND', 'to be restarted if no handler'],
  515: ['ENOIOCTLCMD', 'no such ioctl command'],
  516: ['ERESTART_RESTARTBLOCK', 'to be restarted by restart_syscall'],
  517: ['EPROBE_DEFER', 'the driver asks for a retry'],
  518: ['EOPENSTALE', 'open found a stale dentry'],
  519: ['ENOPARAM', 'parameter not supported'],
  521: ['EBADHANDLE', 'illegal NFS file handle'],
  522: ['ENOTSYNC', 'update synchronization mismatch'],
  523: ['EBADCOOKIE', 'cookie is stale'],
  524: ['ENOTSUPP', 'operation is not supported, the kernel says'],
  525: ['ETOOSMALL', 'buffer or request is too small'],
  526: ['ESERVERFAULT', 'an untranslatable error occurred'],
  527: ['EBADTYPE', 'type not supported'],
  528: ['EJUKEBOX', 'request initiated, but will not complete before timeout'],
  529: ['EIOCBQUEUED', 'iocb queued'],
  530: ['ERECALLCONFLICT', 'conflict with recalled state'],
  531: ['ENOGRACE', 'NFS file lock reclaim refused'],
};

/** The name of an errno ("ENOENT"), the kernel's own too (524: "ENOTSUPP"). */
export function errnoName(errno: number): string {
  const kernel = KERNEL_ERRNOS[errno];
  if (kernel) return kernel[0];
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** Whether this process runs as root: a hint to "run as root" is useless then. */
function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The effective capability set (CapEff of /proc/self/status), or undefined when unreadable. */
function effectiveCapabilities(): bigint | undefined {
  try {
    const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? BigInt(`0x${match[1]}`) : undefined;
  } catch {
    return undefined;
  }
}

/** What to do about a kernel operation that answered "you may not" (EPERM, EACCES), fitting who asked. */
export function permissionHint(errno: number): string {
  if (errno !== 1 /* EPERM */ && errno !== 13 /* EACCES */) return '';
  const caps = effectiveCapabilities();
  const has = (cap: bigint): boolean => caps !== undefined && (caps & (1n << cap)) !== 0n;
  const bpfCapable = has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
  if (!isRoot() && !bpfCapable) return '; run as root (or grant CAP_BPF and CAP_PERFMON)';
  if (caps !== undefined && !bpfCapable) {
    return '; this process lacks the capabilities BPF needs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): something dropped them (a container, setpriv, capsh)';
  }
  return '; this process has the capabilities, so something else refuses: kernel lockdown (/sys/kernel/security/lockdown), a seccomp filter or an LSM; before 5.11 also the memlock limit (ulimit -l)';
}

/** What to do about a file that may not be read or written: nothing about BPF capabilities. */
export function fileAccessHint(errno: number): string {
  if (errno !== 1 && errno !== 13) return '';
  return isRoot() ? '; even root may not: a read-only mount, file attributes or an LSM refuse it' : '; this user may not: check its permissions, or run as root';
}

/**
 * Wraps a failure of a named step into a KernelError with the errno in words and a hint: the
 * given one, or for a refused kernel operation (bpf, perf_event_open, ioctl, mount) what fits.
 */
export function kernelError(step: string, error: unknown, hint: Wording = ''): LoaderError {
  if (error instanceof SyscallError) {
    const extra = hint || permissionHint(error.errno);
    return new KernelError(joined(`${step}: ${error.code} (${error.description})`, extra), error.errno, { cause: error });
  }
  // Already the loader's own (a KernelError carries an errno too): it named its step.
  if (error instanceof LoaderError) return error;
  const errno = nodeErrno(error);
  if (errno !== undefined) {
    return new KernelError(joined(`${step}: ${errnoName(errno)} (${describeErrno(error)})`, hint || fileAccessHint(errno)), errno, { cause: error });
  }
  return new KernelError(`${step}: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
}

/** The positive errno of a Node fs/child error, if it is one. */
export function nodeErrno(error: unknown): number | undefined {
  if (error instanceof SyscallError) return error.errno;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).errno === 'number') {
    return Math.abs((error as NodeJS.ErrnoException).errno as number);
  }
  return undefined;
}

/** A Node fs error's words ("no such file or directory"), without the path and syscall it repeats. */
function describeErrno(error: unknown): string {
  if (error instanceof SyscallError) return error.description;
  const message = error instanceof Error ? error.message : String(error);
  const match = /^[A-Z0-9]+: ([^,]+)/.exec(message);
  return match?.[1] ?? message;
}
