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

let vmlinuxPath = `${SYSFS_BTF}/vmlinux`;
let vmlinux: Btf | undefined;
const modules = new Map<string, Btf | undefined>();

/** Uses this file as the kernel's BTF (--btf FILE, for kernels without /sys/kernel/btf/vmlinux); modules then have none. */
export function useKernelBtfFile(path: string): void {
  vmlinuxPath = path;
  vmlinux = undefined;
  modules.clear();
}

/** The running kernel's BTF (vmlinux), parsed once; a clear error when the kernel has none. */
export function vmlinuxBtf(): Btf {
  if (vmlinux) return vmlinux;
  let data: Buffer;
  try {
    data = readFileSync(vmlinuxPath);
  } catch (error) {
    throw kernelError(`reading the kernel's BTF (${vmlinuxPath})`, error, vmlinuxPath.startsWith(SYSFS_BTF) ? (n) => `; the kernel is built without CONFIG_DEBUG_INFO_BTF: give its BTF with ${n('kernelBtfFile', 'FILE')}` : '');
  }
  return (vmlinux = parseBtf(data, little, { trusted: true }));
}

/** What the kernel's BTF is, for messages: "the BTF of kernel 6.1.0-56-amd64" or the --btf file. */
export function kernelBtfName(): string {
  return vmlinuxPath === `${SYSFS_BTF}/vmlinux` ? `the BTF of kernel ${release()}` : vmlinuxPath;
}

/** The modules' BTF (each split on vmlinux), read when first asked for; none with --btf. */
export function* moduleBtfs(): Iterable<{ module: string; btf: Btf }> {
  for (const module of moduleNames()) {
    const btf = moduleBtf(module);
    if (btf) yield { module, btf };
  }
}

/** A module's BTF (split on vmlinux), or undefined when the module has none. */
function moduleBtf(name: string): Btf | undefined {
  if (modules.has(name)) return modules.get(name);
  let btf: Btf | undefined;
  try {
    btf = parseBtf(readFileSync(`${SYSFS_BTF}/${name}`), little, { trusted: true, base: vmlinuxBtf() });
  } catch {
    btf = undefined;
  }
  modules.set(name, btf);
  return btf;
}

/** Names of the modules with BTF, when the kernel's BTF comes from sysfs. */
function moduleNames(): string[] {
  if (!vmlinuxPath.startsWith(SYSFS_BTF) || !existsSync(SYSFS_BTF)) return [];
  return readdirSync(SYSFS_BTF).filter((n) => n !== 'vmlinux');
}

/** Whether a module's BTF is there to attach to its functions (it is loaded, built with BTF, and vmlinux's BTF is the running kernel's). */
export function hasModuleBtf(module: string): boolean {
  return moduleNames().includes(module);
}

/** Where a kernel type lives: its id, and the module whose BTF holds it (undefined: vmlinux). */
export interface KernelType {
  id: number;
  module?: string;
  btf: Btf;
}

/** The first kernel type with this name and kind, in vmlinux or else in a module. */
export function findKernelType(name: string, kind: number, inModule?: string): KernelType | undefined {
  const own = inModule === undefined ? vmlinuxBtf().typesNamed(name, kind)[0] : undefined;
  if (own) return { id: own.id, btf: vmlinuxBtf() };
  for (const module of inModule === undefined ? moduleNames() : [inModule]) {
    const btf = moduleBtf(module);
    const found = btf?.typesNamed(name, kind).find((t) => t.id > vmlinuxBtf().count);
    if (found && btf) return { id: found.id, module, btf };
  }
  return undefined;
}

/** The kernel function a fentry/fexit/fmod_ret program attaches to. */
export function findKernelFunction(name: string, inModule?: string): KernelType | undefined {
  return findKernelType(name, BTF_KIND.FUNC, inModule);
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
