// BTF in the kernel: vmlinux and module BTF (for CO-RE, fentry and tp_btf targets), and the BTF objects of maps.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { BTF_KIND, parseBtf, type Btf } from '../btf/btf.js';
import { KernelError, kernelError } from '../errors.js';
import { btfData, btfFdById, btfIds, type MapInfo } from './bpf.js';
import { Fd } from './fd.js';

const little = endianness() === 'LE';
const SYSFS_BTF = '/sys/kernel/btf';

/** A map's key and value types, from the BTF the kernel keeps for it. */
export interface MapTypes {
  btf: Btf;
  keyTypeId: number;
  valueTypeId: number;
}

const byId = new Map<number, Btf | undefined>();

/** The parsed BTF object with this id, or undefined when it cannot be read or parsed alone (split module BTF). */
export function kernelBtfById(id: number): Btf | undefined {
  if (byId.has(id)) return byId.get(id);
  let btf: Btf | undefined;
  try {
    const fd = new Fd(btfFdById(id), `BTF id ${id}`);
    try {
      btf = parseBtf(btfData(fd.value).data, little);
    } finally {
      fd.close();
    }
  } catch {
    btf = undefined;
  }
  byId.set(id, btf);
  return btf;
}

/** The types of a map's keys and values, when it was created with BTF. */
export function mapTypes(info: MapInfo): MapTypes | undefined {
  if (!info.btfId || (!info.btfKeyTypeId && !info.btfValueTypeId)) return undefined;
  const btf = kernelBtfById(info.btfId);
  return btf ? { btf, keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId } : undefined;
}

/** Where a kernel type lives: its id, and the module whose BTF holds it (undefined: vmlinux). */
export interface KernelType {
  id: number;
  module?: string;
  btf: Btf;
}

/**
 * The kernel's BTF: vmlinux's, from sysfs or from a file for kernels built without it, and the
 * modules' (split on vmlinux) when it comes from sysfs. Each is parsed once, when first asked for.
 */
export class KernelBtf {
  private static readonly shared = new Map<string, KernelBtf>();
  private parsed: Btf | undefined;
  private readonly modules = new Map<string, Btf | undefined>();

  private constructor(private readonly file: string | undefined) {}

  /** The BTF in this file (undefined: the running kernel's, in /sys/kernel/btf); one per file, so each is read once per process. */
  static of(file?: string): KernelBtf {
    if (file === `${SYSFS_BTF}/vmlinux`) file = undefined;
    let found = KernelBtf.shared.get(file ?? '');
    if (!found) KernelBtf.shared.set(file ?? '', (found = new KernelBtf(file)));
    return found;
  }

  /** vmlinux's BTF; a clear error when the kernel has none. */
  vmlinux(): Btf {
    if (this.parsed) return this.parsed;
    const path = this.file ?? `${SYSFS_BTF}/vmlinux`;
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (error) {
      throw kernelError(`reading the kernel's BTF (${path})`, error, this.file === undefined ? (n) => `; the kernel is built without CONFIG_DEBUG_INFO_BTF: give its BTF with ${n('kernelBtfFile', 'FILE')}` : '');
    }
    return (this.parsed = parseBtf(data, little, { trusted: true }));
  }

  /** What this BTF is, for messages: "the BTF of kernel 6.1.0-56-amd64" or the file. */
  get name(): string {
    return this.file ?? `the BTF of kernel ${release()}`;
  }

  /** The modules' BTF, each read when first asked for; none when the BTF comes from a file. */
  *moduleBtfs(): Iterable<{ module: string; btf: Btf }> {
    for (const module of this.moduleNames()) {
      const btf = this.moduleBtf(module);
      if (btf) yield { module, btf };
    }
  }

  /** Whether a module's BTF is there to attach to its functions (it is loaded, built with BTF, and vmlinux's BTF is the running kernel's). */
  hasModule(module: string): boolean {
    return this.moduleNames().includes(module);
  }

  /** The first kernel type with this name and kind, in vmlinux or else in a module. */
  findType(name: string, kind: number, inModule?: string): KernelType | undefined {
    const own = inModule === undefined ? this.vmlinux().typesNamed(name, kind)[0] : undefined;
    if (own) return { id: own.id, btf: this.vmlinux() };
    for (const module of inModule === undefined ? this.moduleNames() : [inModule]) {
      const btf = this.moduleBtf(module);
      const found = btf?.typesNamed(name, kind).find((t) => t.id > this.vmlinux().count);
      if (found && btf) return { id: found.id, module, btf };
    }
    return undefined;
  }

  /** The kernel function a fentry/fexit/fmod_ret program attaches to. */
  findFunction(name: string, inModule?: string): KernelType | undefined {
    return this.findType(name, BTF_KIND.FUNC, inModule);
  }

  private moduleBtf(name: string): Btf | undefined {
    if (this.modules.has(name)) return this.modules.get(name);
    let btf: Btf | undefined;
    try {
      btf = parseBtf(readFileSync(`${SYSFS_BTF}/${name}`), little, { trusted: true, base: this.vmlinux() });
    } catch {
      btf = undefined;
    }
    this.modules.set(name, btf);
    return btf;
  }

  private moduleNames(): string[] {
    if (this.file !== undefined || !existsSync(SYSFS_BTF)) return [];
    return readdirSync(SYSFS_BTF).filter((n) => n !== 'vmlinux');
  }
}

/** An fd of a module's BTF object, for attach_btf_obj_fd; the caller owns it. */
export function moduleBtfFd(module: string): Fd {
  for (const id of btfIds()) {
    let fd: Fd;
    try {
      fd = new Fd(btfFdById(id), `BTF id ${id}`);
    } catch {
      continue;
    }
    let name = '';
    try {
      name = btfData(fd.value).name;
    } catch {
      // unreadable: not the one
    }
    if (name === module) return fd;
    fd.close();
  }
  throw new KernelError(`the kernel has no BTF object for module '${module}'`);
}
