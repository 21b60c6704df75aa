// The running kernel's configuration and the values __kconfig externs get from it (as libbpf fills its .kconfig map).
import { existsSync, readFileSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { BTF_KIND, type Btf } from '../btf/btf.js';
import { KernelError, ObjectError } from '../errors.js';
import type { ExternSpec } from '../object/spec.js';
import { printable } from '../text.js';
import { kernelVersionCode } from './program.js';

const little = endianness() === 'LE';
let config: Map<string, string> | undefined;

/** CONFIG_* values of the running kernel, from /proc/config.gz or /boot/config-<release>. */
export function kernelConfig(text?: string): Map<string, string> {
  if (text === undefined && config) return config;
  let source = text;
  if (source === undefined) {
    const boot = `/boot/config-${release()}`;
    if (existsSync('/proc/config.gz')) source = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    else if (existsSync(boot)) source = readFileSync(boot, 'utf8');
    else throw new KernelError(`the kernel's configuration is in neither /proc/config.gz nor ${boot}; __kconfig externs need one of them (CONFIG_IKCONFIG_PROC)`);
  }
  const values = new Map<string, string>();
  for (const line of source.split('\n')) {
    const match = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!);
  }
  if (text === undefined) config = values;
  return values;
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
 * arrays from strings. A missing strong (non-weak) value is an error; a weak one stays zero.
 */
export function fillKconfig(externs: readonly ExternSpec[], btf: Btf, data: Uint8Array, values: Map<string, string> = kernelConfig()): void {
  for (const e of externs) {
    if (e.kind !== 'kconfig') continue;
    const raw = linuxValue(e.name) ?? (e.name.startsWith('LINUX_') ? undefined : values.get(e.name));
    if (raw === undefined) {
      if (e.weak) continue;
      throw new KernelError(`the kernel's configuration has no ${printable(e.name)} (mark the extern __weak to take 0 when it is missing)`);
    }
    const type = btf.resolveType(e.typeId);
    const what = `__kconfig ${e.name}=${raw}`;
    if (type?.kind === BTF_KIND.ARRAY) {
      const text = /^"(.*)"$/.exec(raw)?.[1];
      if (text === undefined) throw new ObjectError(`${what}: a char array takes a string value`);
      data.set(new TextEncoder().encode(text).subarray(0, e.size - 1), e.offset);
      continue;
    }
    if (type?.kind === BTF_KIND.ENUM && (raw === 'y' || raw === 'n' || raw === 'm')) {
      // libbpf's enum libbpf_tristate: no 0, yes 1, module 2.
      writeInteger(data, e.offset, e.size, raw === 'y' ? 1n : raw === 'm' ? 2n : 0n);
      continue;
    }
    if (type?.kind === BTF_KIND.INT && (raw === 'y' || raw === 'n' || raw === 'm')) {
      const isBool = (type.encoding & 4) !== 0;
      if (isBool && raw === 'm') throw new ObjectError(`${what}: a bool cannot hold a module (m); use enum libbpf_tristate`);
      const char = type.size === 1 && !isBool && /char/.test(type.name);
      writeInteger(data, e.offset, e.size, char ? BigInt(raw.charCodeAt(0)) : raw === 'n' ? 0n : 1n);
      continue;
    }
    if (type?.kind === BTF_KIND.INT || type?.kind === BTF_KIND.ENUM) {
      if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(raw)) throw new ObjectError(`${what}: not a number for an integer extern`);
      writeInteger(data, e.offset, e.size, raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw));
      continue;
    }
    throw new ObjectError(`${what}: the extern's type (BTF ${btf.describe(e.typeId)}) cannot take kernel config values`);
  }
}
