// The running kernel's configuration and the values __kconfig externs get from it (as libbpf fills its .kconfig map).
import { existsSync, readFileSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { BTF_INT_BOOL, BTF_KIND, type Btf } from '../btf/btf.js';
import { KernelError, ObjectError, kernelError } from '../errors.js';
import type { ExternSpec } from '../object/spec.js';
import { printable } from '../text.js';
import { kernelVersionCode } from './program.js';

const little = endianness() === 'LE';

/** A kernel configuration: CONFIG_* values and the file they came from. */
export interface KernelConfig {
  values: Map<string, string>;
  source: string;
}

/** CONFIG_* values of a config file's text (`# CONFIG_X is not set` lines are absent values). */
export function parseKernelConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!);
  }
  return values;
}

/** Where the running kernel's configuration is looked for. */
export const KERNEL_CONFIG_FILES = ['/proc/config.gz', `/boot/config-${release()}`];

const cached = new Map<string, KernelConfig | undefined>();

/**
 * The kernel's configuration: from `file` when given (plain or gzip), else from /proc/config.gz or
 * /boot/config-<release>; undefined when neither is there (or holds nothing), as on many kernels.
 */
export function kernelConfig(file?: string): KernelConfig | undefined {
  const key = file ?? '';
  if (cached.has(key)) return cached.get(key);
  let found: KernelConfig | undefined;
  for (const path of file === undefined ? KERNEL_CONFIG_FILES : [file]) {
    if (file === undefined && !existsSync(path)) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw kernelError(`reading the kernel's configuration ${path}`, error);
    }
    const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    const values = parseKernelConfig(text);
    if (values.size === 0 && file !== undefined) throw new KernelError(`${path} holds no CONFIG_ values: it is not a kernel configuration`);
    if (values.size > 0) {
      found = { values, source: path };
      break;
    }
  }
  cached.set(key, found);
  return found;
}

/** Whether perf event links take a BPF cookie (5.15), as libbpf's LINUX_HAS_BPF_COOKIE says. */
export function kernelHasBpfCookies(): boolean {
  return kernelVersionCode() >= (5 << 16) + (15 << 8);
}

/** The values libbpf gives its own LINUX_* externs. */
function linuxValue(name: string): string | undefined {
  switch (name) {
    case 'LINUX_KERNEL_VERSION':
      return String(kernelVersionCode());
    case 'LINUX_HAS_SYSCALL_WRAPPER':
      // Since 4.17, x86-64 and arm64 syscalls take a struct pt_regs (__x64_sys_*).
      return kernelVersionCode() >= (4 << 16) + (17 << 8) ? 'y' : 'n';
    case 'LINUX_HAS_BPF_COOKIE':
      return kernelHasBpfCookies() ? 'y' : 'n';
    default:
      return undefined;
  }
}

function writeInteger(out: Uint8Array, at: number, size: number, value: bigint): void {
  let raw = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out[little ? at + i : at + size - 1 - i] = Number(raw & 0xffn);
    raw >>= 8n;
  }
}

/**
 * Writes each kconfig extern's value into the .kconfig map's bytes, converted to its C type as
 * libbpf does: bool and char from y/n (m for a tristate enum: 2), integers from numbers, char
 * arrays from strings. LINUX_* values are computed; only CONFIG_* ones need the configuration.
 * A missing strong (non-weak) value is an error; a weak one stays zero. Returns what to tell the
 * user (weak values left at 0 because there is no configuration to read).
 */
export function fillKconfig(externs: readonly ExternSpec[], btf: Btf, data: Uint8Array, config: () => KernelConfig | undefined = kernelConfig): string[] {
  const notices: string[] = [];
  const unconfigured: string[] = [];
  for (const e of externs) {
    if (e.kind !== 'kconfig') continue;
    let raw = linuxValue(e.name);
    if (raw === undefined && !e.name.startsWith('LINUX_')) {
      const found = config();
      if (!found) {
        if (e.weak) {
          unconfigured.push(e.name);
          continue;
        }
        throw new KernelError(
          (n) =>
            `__kconfig extern ${printable(e.name)} needs the kernel's configuration, which is in neither ${KERNEL_CONFIG_FILES.join(' nor ')}: give this kernel's config file with ${n('kernelConfigFile', 'FILE')} (or mark the extern __weak to take 0)`,
        );
      }
      raw = found.values.get(e.name);
    }
    if (raw === undefined) {
      if (e.weak) continue;
      throw new KernelError(`the kernel's configuration has no ${printable(e.name)} (mark the extern __weak to take 0 when it is missing)`);
    }
    writeKconfigValue(e, btf, data, raw);
  }
  if (unconfigured.length > 0) {
    notices.push(`the kernel's configuration is in neither ${KERNEL_CONFIG_FILES.join(' nor ')}: the weak __kconfig externs ${unconfigured.map(printable).join(', ')} are 0`);
  }
  return notices;
}

/** One extern's value, converted to its C type. */
function writeKconfigValue(e: ExternSpec, btf: Btf, data: Uint8Array, raw: string): void {
  const type = btf.resolveType(e.typeId);
  const what = `__kconfig ${e.name}=${raw}`;
  if (type?.kind === BTF_KIND.ARRAY) {
    const text = /^"(.*)"$/.exec(raw)?.[1];
    if (text === undefined) throw new ObjectError(`${what}: a char array takes a string value`);
    data.set(new TextEncoder().encode(text).subarray(0, e.size - 1), e.offset);
    return;
  }
  if (type?.kind === BTF_KIND.ENUM && (raw === 'y' || raw === 'n' || raw === 'm')) {
    // libbpf's enum libbpf_tristate: no 0, yes 1, module 2.
    writeInteger(data, e.offset, e.size, raw === 'y' ? 1n : raw === 'm' ? 2n : 0n);
    return;
  }
  if (type?.kind === BTF_KIND.INT && (raw === 'y' || raw === 'n' || raw === 'm')) {
    const isBool = (type.encoding & BTF_INT_BOOL) !== 0;
    if (isBool && raw === 'm') throw new ObjectError(`${what}: a bool cannot hold a module (m); use enum libbpf_tristate`);
    const char = type.size === 1 && !isBool && /char/.test(type.name);
    writeInteger(data, e.offset, e.size, char ? BigInt(raw.charCodeAt(0)) : raw === 'n' ? 0n : 1n);
    return;
  }
  if (type?.kind === BTF_KIND.INT || type?.kind === BTF_KIND.ENUM) {
    if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(raw)) throw new ObjectError(`${what}: not a number for an integer extern`);
    writeInteger(data, e.offset, e.size, raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw));
    return;
  }
  throw new ObjectError(`${what}: the extern's type (BTF ${btf.describe(e.typeId)}) cannot take kernel config values`);
}
