// USDT probes: a binary's stapsdt notes -> one uprobe per site (semaphore as ref_ctr_offset), arguments as libbpf's usdt.bpf.h reads them (spec map, BPF cookie = spec id).
import type { Wording } from '../wording.js';
import { USDT_MAX_ARGS, USDT_SPECS_MAP, X86_64_PT_REGS } from '../abi.js';
import { BTF_KIND, type Btf } from '../btf/btf.js';
import { BtfEncoder, EncodeError } from '../btf/encode.js';
import { EM_X86_64 } from '../elf/reader.js';
import { STAPSDT_NOTE_SECTION, placeUsdtSites, readStapsdtNotes, type StapsdtNote, type UsdtSite } from '../elf/stapsdt.js';
import { kernelHasBpfCookies } from '../kernel/kconfig.js';
import { AttachError, ElfError, ObjectError } from '../errors.js';
import type { BpfMap } from '../kernel/maps.js';
import { hostU32Bytes } from '../kernel/records.js';
import type { BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { MapSpec } from '../object/spec.js';
import type { UsdtTarget } from '../object/sections.js';
import { closestNames, printable } from '../text.js';
import type { Attachment } from './attachment.js';
import { attachProbe, chooseAttachMethod, probeSupport, type AttachMethod, type ProbeSupport } from './probe.js';
import type { PrepareOptions } from './prepared.js';
import { describeProcessBinary } from './process-target.js';
import { binaryPath, readTargetElf } from './uprobe.js';

/** Where one USDT argument is: a constant, a register, or memory at a register plus an offset. */
export type UsdtArgument =
  | { kind: 'const'; size: number; signed: boolean; value: bigint }
  | { kind: 'reg'; size: number; signed: boolean; register: keyof typeof X86_64_PT_REGS }
  | { kind: 'deref'; size: number; signed: boolean; register: keyof typeof X86_64_PT_REGS; offset: bigint }
  /** Memory at base + index * scale + offset ("8@-96(%rbp,%rax,8)"): libbpf 1.7's usdt.bpf.h reads these. */
  | { kind: 'sib'; size: number; signed: boolean; register: keyof typeof X86_64_PT_REGS; index: keyof typeof X86_64_PT_REGS; scale: 1 | 2 | 4 | 8; offset: bigint };

/** x86-64 register names, at every width, by the pt_regs slot that holds them. */
const X86_64_REGISTERS: ReadonlyMap<string, keyof typeof X86_64_PT_REGS> = new Map([
  ...(['ax', 'bx', 'cx', 'dx'] as const).flatMap((r) => [`r${r}`, `e${r}`, r, `${r[0]}l`].map((n) => [n, r] as const)),
  ...(['si', 'di', 'bp', 'sp'] as const).flatMap((r) => [`r${r}`, `e${r}`, r, `${r}l`].map((n) => [n, r] as const)),
  ...(['rip', 'eip'] as const).map((n) => [n, 'ip'] as const),
  ...([8, 9, 10, 11, 12, 13, 14, 15] as const).flatMap((i) => {
    const slot = `r${i}` as keyof typeof X86_64_PT_REGS;
    return [slot, `${slot}d`, `${slot}w`, `${slot}b`].map((n) => [n, slot] as const);
  }),
]);

/**
 * The arguments of a probe site from its note's text ("-4@%eax 8@-16(%rbp) -1@$5"), each
 * "[-]size@location" with the size in bytes (negative: signed), locations as GNU as writes them
 * for x86-64. `readsIndexed`: whether the object's usdt.bpf.h reads base + index * scale ones.
 */
export function parseUsdtArguments(text: string, what: string, readsIndexed = true): UsdtArgument[] {
  const items = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (items.length > USDT_MAX_ARGS) throw new AttachError(`${what} has ${items.length} arguments; usdt.bpf.h reads at most ${USDT_MAX_ARGS}`);
  return items.map((item, i) => {
    const refuse = (why: string): never => {
      throw new AttachError(`${what}: argument ${i} ('${printable(item)}') ${why}`);
    };
    const match = /^(-?\d+)@(.+)$/.exec(item) ?? refuse('is not [-]size@location');
    const sizeText = Number(match[1]);
    const size = Math.abs(sizeText);
    if (![1, 2, 4, 8].includes(size)) refuse(`has size ${size}; sizes are 1, 2, 4 or 8 bytes`);
    const common = { size, signed: sizeText < 0 };
    const location = match[2]!;
    const register = (name: string): keyof typeof X86_64_PT_REGS =>
      X86_64_REGISTERS.get(name) ?? refuse(`names register '${printable(name)}', which is not one usdt.bpf.h can read from pt_regs`);
    let m = /^\$(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(location);
    if (m) return { kind: 'const', ...common, value: BigInt.asIntN(64, m[1]!.startsWith('-') ? -BigInt(m[1]!.slice(1)) : BigInt(m[1]!)) };
    m = /^%([a-z0-9]+)$/.exec(location);
    if (m) return { kind: 'reg', ...common, register: register(m[1]!) };
    m = /^(-?\d+)?\(%([a-z0-9]+)\)$/.exec(location);
    if (m) return { kind: 'deref', ...common, register: register(m[2]!), offset: BigInt(m[1] ?? '0') };
    m = /^(-?\d+)?\(%([a-z0-9]+),%([a-z0-9]+)(?:,(\d+))?\)$/.exec(location);
    if (m) {
      const scale = Number(m[4] ?? '1');
      if (scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8) return refuse(`has scale ${scale}; scales are 1, 2, 4 or 8`);
      if (!readsIndexed) return refuse('is at base + index * scale, which usdt.bpf.h reads from libbpf 1.7 on; the object was built with an older one');
      return { kind: 'sib', ...common, register: register(m[2]!), index: register(m[3]!), scale, offset: BigInt(m[1] ?? '0') };
    }
    return refuse('has a location that is neither $constant, %register, offset(%register) nor offset(%base,%index,scale)');
  });
}

const ARG_TYPE = { const: 'BPF_USDT_ARG_CONST', reg: 'BPF_USDT_ARG_REG', deref: 'BPF_USDT_ARG_REG_DEREF', sib: 'BPF_USDT_ARG_SIB' } as const;

/** Whether the object's struct __bpf_usdt_arg_spec has the index register of libbpf 1.7's base + index * scale arguments. */
export function usdtSpecHasIndexRegister(btf: Btf, valueTypeId: number): boolean {
  const spec = btf.resolveType(valueTypeId);
  const args = spec?.kind === BTF_KIND.STRUCT ? spec.members.find((m) => m.name === 'args') : undefined;
  const array = args ? btf.resolveType(args.type) : undefined;
  const arg = array?.kind === BTF_KIND.ARRAY ? btf.resolveType(array.type) : undefined;
  return arg?.kind === BTF_KIND.STRUCT && arg.members.some((m) => m.name === 'idx_reg_off');
}

/**
 * The bytes of a struct __bpf_usdt_spec for these arguments, laid out by the object's own BTF of
 * the spec map's value (so any version of usdt.bpf.h the object was built with is followed).
 */
export function encodeUsdtSpec(btf: Btf, valueTypeId: number, args: readonly UsdtArgument[]): Buffer {
  return new BtfEncoder(btf).encode(
    valueTypeId,
    {
      args: args.map((a) => ({
        val_off: a.kind === 'const' ? a.value : a.kind === 'reg' ? 0n : a.offset,
        arg_type: ARG_TYPE[a.kind],
        reg_off: a.kind === 'const' ? 0 : X86_64_PT_REGS[a.register],
        ...(a.kind === 'sib' ? { idx_reg_off: X86_64_PT_REGS[a.index], scale_bitshift: Math.log2(a.scale) } : {}),
        arg_signed: a.signed,
        // The value's upper bits are cleared (or sign-extended) by shifting left and back.
        arg_bitshift: 64 - a.size * 8,
      })),
      // libbpf's own cookie for the program (bpf_usdt_cookie()); this tool has no option for it.
      usdt_cookie: 0n,
      arg_cnt: args.length,
    },
    USDT_SPECS_MAP,
  );
}

/** A USDT probe checked before loading: its sites in the binary, each with the spec its arguments need. */
export interface PreparedUsdt {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'usdt';
  /** The probe as asked for: binary, provider and name. */
  target: UsdtTarget;
  /** The binary's absolute path. */
  path: string;
  /** @internal Each site's note and argument spec, which attaching writes into the spec map. */
  sites: Array<{ site: UsdtSite; spec: Buffer }>;
  /** @internal What this kernel offers for uprobes (PMU, tracefs), which attaching uses. */
  support: ProbeSupport;
  /** How it will attach, and why. */
  method: AttachMethod;
  /** Things worth telling the user. */
  notes: Wording[];
  /** Fire in this process only. */
  pid?: number;
}

/** What prepareUsdt() takes besides its target. */
export interface UsdtOptions extends PrepareOptions {
  /** The object whose program reads the arguments: its BTF and usdt.bpf.h's spec map. */
  object: { btf?: Btf | undefined; maps: readonly MapSpec[] };
}

/** ELF machines by the names people know them. */
const MACHINE_NAMES: Readonly<Record<number, string>> = { [EM_X86_64]: 'x86-64', 183: 'arm64', 3: 'i386', 40: 'arm', 243: 'riscv64', 21: 'ppc64', 22: 's390x' };

/**
 * Refuses, by name, a binary or a machine that is not x86-64: the argument forms parsed here are
 * x86-64's operands and the registers' offsets x86-64's pt_regs (arm64's differ in both).
 */
export function refuseUsdtMachine(path: string, machine: number, arch: string = process.arch): void {
  if (machine === EM_X86_64 && arch === 'x64') return;
  const binary = MACHINE_NAMES[machine] ?? `ELF machine ${machine}`;
  throw new AttachError(`USDT arguments are read for x86-64 only: ${path} is for ${binary} and this machine is ${arch}`);
}

/**
 * Finds the probe in the binary's notes and lays out each site's argument spec. Refuses a probe
 * the binary lacks (naming the closest), arguments usdt.bpf.h cannot read, and an object without
 * usdt.bpf.h's spec map.
 */
export function prepareUsdt(target: UsdtTarget, options: UsdtOptions): PreparedUsdt {
  const { object, mode = 'auto', pid } = options;
  const specsMap = object.maps.find((m) => m.name === USDT_SPECS_MAP);
  if (!specsMap) throw new ObjectError(`a USDT program reads its arguments through the map ${USDT_SPECS_MAP}, which the object lacks: include <bpf/usdt.bpf.h> and read them with bpf_usdt_arg() or BPF_USDT()`);
  if (!object.btf || !specsMap.btf?.valueTypeId) throw new ObjectError(`map ${USDT_SPECS_MAP} has no BTF value type, which lays out the argument specs: compile with clang -g`);
  // The spec id reaches the program as its BPF cookie, which only a BPF link sets.
  if (!kernelHasBpfCookies()) throw new AttachError('USDT probes need BPF cookies on their uprobes, which kernels have from 5.15');
  const path = binaryPath(target.binary, pid, 'USDT binary');
  const elf = readTargetElf(path, 'USDT binary');
  refuseUsdtMachine(path, elf.machine);
  const probe = `${target.provider}:${target.name}`;
  let notes: StapsdtNote[];
  try {
    notes = readStapsdtNotes(elf);
  } catch (error) {
    if (error instanceof ElfError) throw new AttachError(`USDT binary ${path}: ${error.message}`);
    throw error;
  }
  const chosen = notes.filter((n) => n.provider === target.provider && n.name === target.name);
  if (chosen.length === 0) {
    const closest = closestNames(probe, new Set(notes.map((n) => `${n.provider}:${n.name}`)), 5);
    throw new AttachError(
      notes.length === 0 ? `${path} has no USDT probes (no ${STAPSDT_NOTE_SECTION} notes)` : `${path} has no USDT probe ${printable(probe)}${closest.length > 0 ? `; closest: ${closest.join(', ')}` : ''}`,
    );
  }
  let sites: UsdtSite[];
  try {
    sites = placeUsdtSites(elf, chosen, path);
  } catch (error) {
    // Its messages name the probe and the binary already.
    if (error instanceof ElfError) throw new AttachError(error.message);
    throw error;
  }
  const readsIndexed = usdtSpecHasIndexRegister(object.btf, specsMap.btf.valueTypeId);
  const specs = sites.map((site, i) => {
    const where = `USDT probe ${printable(probe)} of ${path} at 0x${site.address.toString(16)}`;
    const args = parseUsdtArguments(site.arguments, where, readsIndexed);
    try {
      return { site, spec: encodeUsdtSpec(object.btf!, specsMap.btf!.valueTypeId, args) };
    } catch (error) {
      if (error instanceof EncodeError) throw new ObjectError(`the ${USDT_SPECS_MAP} map's value is not usdt.bpf.h's struct __bpf_usdt_spec (site ${i}): ${error.message}`);
      throw error;
    }
  });
  const support = probeSupport('uprobe');
  const chosenMethod = chooseAttachMethod(mode, support);
  const semaphore = sites.find((s) => s.semaphoreFileOffset !== 0n)?.semaphoreFileOffset;
  if (semaphore !== undefined) {
    if (chosenMethod.source === 'pmu' && chosenMethod.pmu?.refCtrShift === undefined) throw new AttachError(`USDT probe ${printable(probe)} has a semaphore, which this kernel's uprobe PMU cannot count (ref_ctr_offset needs 4.20)`);
    if (semaphore >= 1n << 32n) throw new AttachError(`USDT probe ${printable(probe)}: its semaphore at file offset 0x${semaphore.toString(16)} is beyond the 32 bits the kernel takes`);
  }
  const method: AttachMethod = {
    ...chosenMethod,
    binding: 'link',
    reason: `${sites.length} uprobe(s) through the ${chosenMethod.source === 'pmu' ? 'uprobe PMU' : 'uprobe_events file'}, each on a BPF link carrying its argument spec id as cookie`,
  };
  const said = [...(pid === undefined ? [] : [`USDT probe ${probe} of ${describeProcessBinary(path, pid)}: fires in process ${pid} only`])];
  return { kind: 'usdt', target, path, sites: specs, support, method, notes: said, ...(pid === undefined ? {} : { pid }) };
}

/** Refuses, before loading, probes whose distinct argument specs together outgrow the spec map. */
export function requireUsdtSpecRoom(maps: readonly MapSpec[], probes: readonly PreparedUsdt[]): void {
  const capacity = maps.find((m) => m.name === USDT_SPECS_MAP)?.maxEntries ?? 0;
  const distinct = new Set(probes.flatMap((p) => p.sites.map((s) => s.spec.toString('hex')))).size;
  if (distinct > capacity) throw new AttachError(`the USDT probes need ${distinct} argument specs; map ${USDT_SPECS_MAP} holds ${capacity} (define BPF_USDT_MAX_SPEC_CNT larger)`);
}

/** The spec map of a loaded object: identical specs share an id, so sites and programs with the same arguments use one entry. */
export class UsdtSpecTable {
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly map: BpfMap,
    private readonly capacity: number,
  ) {}

  idFor(spec: Buffer): number {
    const key = spec.toString('hex');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.ids.size;
      if (id >= this.capacity) throw new AttachError(`map ${USDT_SPECS_MAP} is full (${this.capacity} argument specs); define BPF_USDT_MAX_SPEC_CNT larger`);
      this.map.update(hostU32Bytes(id), spec);
      this.ids.set(key, id);
    }
    return id;
  }
}

/** One uprobe per site, each carrying its spec id as BPF cookie; every handle is owned by the scope. */
export function attachUsdt(scope: ResourceScope, prepared: PreparedUsdt, program: BpfProgram, specs: UsdtSpecTable): Attachment {
  const { target, path, method, support } = prepared;
  const probe = `${target.provider}:${target.name}`;
  const notes: Wording[] = [];
  for (const { site, spec } of prepared.sites) {
    const cookie = BigInt(specs.idFor(spec));
    const location = {
      family: 'uprobe' as const,
      retprobe: false,
      target: path,
      offset: site.fileOffset,
      ...(site.semaphoreFileOffset !== 0n ? { refCtrOffset: site.semaphoreFileOffset } : {}),
      requested: `${target.binary}:${probe}`,
      resolved: `${path}:${probe} at file offset 0x${site.fileOffset.toString(16)}`,
    };
    notes.push(...(attachProbe(scope, { kind: 'probe', location, support, method, notes: [], cookie, ...(prepared.pid === undefined ? {} : { pid: prepared.pid }) }, program).notes ?? []));
  }
  const count = prepared.sites.length;
  const semaphore = prepared.sites.find((s) => s.site.semaphoreFileOffset !== 0n)?.site.semaphoreFileOffset;
  return {
    kind: 'usdt',
    program: program.name,
    target: `${target.binary}:${probe}`,
    resolved: `${path}:${probe} (${count} site${count === 1 ? '' : 's'}${semaphore === undefined ? '' : `, semaphore at file offset 0x${semaphore.toString(16)}`})`,
    source: method.source,
    binding: 'link',
    sites: count,
    ...(notes.length > 0 ? { notes } : {}),
  };
}
