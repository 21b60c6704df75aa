// BpfProgram: loading a program (BPF_PROG_LOAD with kern_version, a name, the verifier's log on rejection) and its handle.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { endianness, release, version } from 'node:os';
import { ERRNO, PROG_TYPE } from '../abi.js';
import { LoaderError, ObjectError, SyscallError, VerifierError, errnoName, kernelError, permissionHint } from '../errors.js';
import { logTrueSize, programFdById, programInfo, programLoad, programLoadAttr, type ProgramInfo, type ProgramLoadRequest } from './bpf.js';
import { Fd } from './fd.js';

export { PROG_TYPE };

const PROGRAM_TYPE_NAMES = Object.fromEntries(Object.entries(PROG_TYPE).map(([name, value]) => [value, name.toLowerCase()])) as Record<number, string>;

export function programTypeName(type: number): string {
  return PROGRAM_TYPE_NAMES[type] ?? `type ${type}`;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * LINUX_VERSION_CODE of the running kernel, as kern_version wants it (checked before 5.0).
 * Debian and Ubuntu release strings ("6.1.0-28-amd64") hide the real patch level: Debian's
 * version string carries it ("... Debian 6.1.119-1 ..."), Ubuntu's /proc/version_signature
 * ("Ubuntu 5.4.0-42.46-generic 5.4.44"), as libbpf also reads them.
 */
export function kernelVersionCode(releaseText = release(), versionText = version(), signature = readOptional('/proc/version_signature')): number {
  const ubuntu = /^Ubuntu \S+ (\d+)\.(\d+)\.(\d+)/.exec(signature);
  const distro = ubuntu ?? /Debian (\d+)\.(\d+)\.(\d+)/.exec(versionText);
  const match = distro ?? /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(releaseText);
  if (!match) return 0;
  const [major, minor, patch] = [match[1], match[2], match[3]].map((n) => Number.parseInt(n ?? '0', 10)) as [number, number, number];
  return (major << 16) + (minor << 8) + Math.min(patch, 255);
}

/** Instructions are loaded as they are: their byte order must be the machine's. */
export function assertMachineByteOrder(littleEndian: boolean, what: string): void {
  const machineLittleEndian = endianness() === 'LE';
  if (littleEndian !== machineLittleEndian) {
    throw new ObjectError(
      `${what} is ${littleEndian ? 'little' : 'big'}-endian but this machine is ${machineLittleEndian ? 'little' : 'big'}-endian; rebuild it with -target bpf${machineLittleEndian ? 'el' : 'eb'}`,
    );
  }
}

/** A loaded program: its fd as a handle, and what the kernel says of it. */
export class BpfProgram {
  readonly fd: Fd;

  constructor(
    fd: number,
    readonly name: string,
    readonly info: ProgramInfo,
  ) {
    this.fd = new Fd(fd, `program '${name}'`);
  }

  /** Opens the loaded program with this id. */
  static fromId(id: number): BpfProgram {
    let fd: number;
    try {
      fd = programFdById(id);
    } catch (error) {
      throw kernelError(`opening program id ${id}`, error);
    }
    try {
      const info = programInfo(fd);
      return new BpfProgram(fd, info.name, info);
    } catch (error) {
      new Fd(fd, `program id ${id}`).close();
      throw kernelError(`reading program id ${id}`, error);
    }
  }

  /** What the kernel says of the program now (info is what it said at load): run counts move. */
  currentInfo(): ProgramInfo {
    try {
      return programInfo(this.fd.value);
    } catch (error) {
      throw kernelError(`reading program '${this.name}'`, error);
    }
  }

  /** The program's BPF_PROG_TYPE_*. */
  get type(): number {
    return this.info.type;
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `close program '${this.name}'`;
  }

  /** Closes the program's fd; the program goes when nothing else holds it. */
  close(): void {
    this.fd.close();
  }
}

const INITIAL_LOG_SIZE = 64 * 1024;
// Kernels before 5.2 refuse log buffers above UINT_MAX >> 8.
const MAX_LOG_SIZE = (0xffffffff >>> 8) - 1;

/** A source line of a program's instructions from `instruction` on, to quote in verifier errors. */
export interface SourceLine {
  instruction: number;
  fileName: string;
  lineNumber: number;
  line: string;
}

/**
 * Loads a program; a verifier rejection becomes a VerifierError holding the whole log, its message
 * quoting the C line of the instruction refused (from `sources`, else from the log).
 */
export function loadProgram(options: ProgramLoadRequest, sources: readonly SourceLine[] = []): BpfProgram {
  const step = `loading program '${options.name}'`;
  let fd: number;
  try {
    fd = programLoad(programLoadAttr(options));
  } catch (first) {
    if (!(first instanceof SyscallError)) throw kernelError(step, first);
    if (first.errno === ERRNO.EPERM || first.errno === ERRNO.EACCES) {
      // EACCES also means "the verifier said no": only call it a permission problem if the log is empty.
      const log = verifierLog(options);
      if (log.text === '' && first.errno === ERRNO.EPERM) throw kernelError(step, first, permissionHint(ERRNO.EPERM));
      throw verifierError(step, first, log, sources);
    }
    // ENOENT: a kernel symbol or BTF id the program names is missing, which the log says.
    if (first.errno === ERRNO.EINVAL || first.errno === ERRNO.E2BIG || first.errno === ERRNO.ENOSPC || first.errno === ERRNO.ENOENT) throw verifierError(step, first, verifierLog(options), sources);
    throw kernelError(step, first);
  }
  try {
    return new BpfProgram(fd, options.name, programInfo(fd));
  } catch (error) {
    new Fd(fd, `program '${options.name}'`).close();
    throw kernelError(`reading back program '${options.name}'`, error);
  }
}

interface VerifierLog {
  text: string;
  truncated: boolean;
}

/** Loads again with a log, growing the buffer while the kernel says it is too small. */
function verifierLog(options: ProgramLoadRequest): VerifierLog {
  let size = INITIAL_LOG_SIZE;
  for (;;) {
    const logBuffer = Buffer.alloc(size);
    const load = programLoadAttr({ ...options, logLevel: 1, logBuffer });
    try {
      // Accepted on the second try: nothing to explain, and the fd must not leak.
      new Fd(programLoad(load), `program '${options.name}'`).close();
      return { text: '', truncated: false };
    } catch (error) {
      const text = logBuffer.toString('utf8', 0, Math.max(0, logBuffer.indexOf(0))).trimEnd();
      const tooSmall = error instanceof SyscallError && error.errno === ERRNO.ENOSPC;
      if (!tooSmall || size >= MAX_LOG_SIZE) return { text, truncated: tooSmall };
      const wanted = logTrueSize(load);
      size = Math.min(MAX_LOG_SIZE, wanted > size ? wanted : size * 4);
    }
  }
}

function verifierError(step: string, error: SyscallError, log: VerifierLog, sources: readonly SourceLine[]): LoaderError {
  if (log.text === '') return kernelError(step, error);
  const lines = log.text.split('\n');
  const last = lines.findLastIndex((l) => l.trim() !== '' && !/^(processed|verification time|stack depth)/.test(l));
  const reason = (lines[last] ?? lines[lines.length - 1] ?? '').trim();
  const text = log.truncated ? `${log.text}\n(verifier log truncated at ${MAX_LOG_SIZE} bytes)` : log.text;
  const source = sourceOf(lines.slice(0, Math.max(0, last)), sources);
  return new VerifierError(`${step}: the verifier rejected it (${errnoName(error.errno)}): ${reason}${source ? ` at ${source}` : ''}`, error.errno, text, { cause: error });
}

/**
 * "file.c:12: x = t->pid;" for the last instruction the verifier printed ("7: (79) r1 = ..."):
 * from the program's line info, or else from the source the verifier quoted itself ("; x = t->pid;
 * @ file.c:12", which kernels before 6.3 print without the place).
 */
function sourceOf(lines: readonly string[], sources: readonly SourceLine[]): string | undefined {
  const instruction = lines.map((l) => /^(\d+): \([0-9a-f]{2}\)/.exec(l)).findLast((m) => m !== null);
  const known = instruction ? sources.findLast((s) => s.instruction <= Number(instruction[1])) : undefined;
  if (known) return `${basename(known.fileName)}:${known.lineNumber}: ${known.line.trim()}`;
  const quoted = lines.map((l) => /^; (.*) @ (\S+:\d+)$/.exec(l)).findLast((m) => m !== null);
  return quoted ? `${quoted[2]}: ${quoted[1]!.trim()}` : undefined;
}
