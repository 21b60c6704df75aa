// CO-RE relocations as libbpf computes them (relo_core.c): from the object's BTF, one .BTF.ext record and a target
// BTF, the value the instruction must hold on the target; then the instruction patched, or poisoned when nothing matched.
import { ObjectError } from '../errors.js';
import { Instructions, OP_CALL, OP_LD_IMM64 } from '../insn/instructions.js';
import { printable } from '../text.js';
import { BTF_KIND, type Btf, type BtfArray, type BtfComposite, type BtfEnum, type BtfType } from './btf.js';
import { BPF_CORE_KIND, coreKindName, type BpfCoreKind, type CoreRelocation } from './ext.js';

/** The helper id a poisoned instruction calls: the verifier refuses it only if the call is reachable ("bad relo"). */
export const CORE_POISON_HELPER = 0xbad2310;
/** libbpf's BPF_CORE_SPEC_MAX_LEN: the most indexes an access string may have. */
const SPEC_MAX_LEN = 64;
/** How deep type comparisons go before giving up (libbpf's limit). */
const MAX_TYPE_DEPTH = 32;
/** BTF_INT_SIGNED. */
const INT_SIGNED = 1;

/** What a relocation resolves to on one target. */
export interface CoreResolution {
  readonly relocation: CoreRelocation;
  /** The access in C terms, flavors dropped: "struct task_struct.comm", "enum bpf_map_type::BPF_MAP_TYPE_ARENA". */
  readonly subject: string;
  /** The value the compiler wrote, computed from the local BTF (libbpf's orig_val). */
  readonly localValue: bigint;
  /** The value for the target (libbpf's new_val); 0 when poisoned. */
  readonly targetValue: bigint;
  /** Whether the instruction must hold localValue before it is patched (not for bitfield layout or type ids). */
  readonly validate: boolean;
  /** Why nothing in the target matched ("not found in kernel BTF"); undefined when something did. */
  readonly missing: string | undefined;
  /** The instruction is to become a call to CORE_POISON_HELPER: what it reads does not exist on the target. */
  readonly poisoned: boolean;
  /** Memory access sizes of a field's load or store, local and target; 0 for kinds without one. */
  readonly localSize: number;
  readonly targetSize: number;
  /** Why a load or store cannot change size to the target's (it is then poisoned); undefined when it can. */
  readonly sizeConflict: string | undefined;
  /** The target type that matched; undefined when none did (and for TYPE_ID_LOCAL). */
  readonly targetTypeId: number | undefined;
}

/** What applying a resolution did to the instruction. */
export type CorePatch = { readonly poisoned: false } | { readonly poisoned: true; readonly reason: string };

/**
 * A target BTF (usually the kernel's) with its CO-RE candidates cached: the types whose name,
 * flavor dropped, is a local type's, per local BTF and type id. Kernel BTF has over 100,000 types
 * and one object makes many relocations against the same few.
 */
export class CoreTarget {
  /** Named types whose name has a flavor ("nf_conn___init"), by essential name; built on first use. */
  private flavored: Map<string, number[]> | undefined;
  private readonly candidateCache = new WeakMap<Btf, Map<number, readonly number[]>>();

  /** `name` says what the target is in messages ("not found in kernel BTF"). */
  constructor(
    readonly btf: Btf,
    readonly name = 'kernel BTF',
  ) {}

  /** The ids of target types that a local type may relocate to, in id order (libbpf's bpf_core_add_cands). */
  candidates(local: Btf, localId: number): readonly number[] {
    let cache = this.candidateCache.get(local);
    if (!cache) this.candidateCache.set(local, (cache = new Map()));
    const cached = cache.get(localId);
    if (cached) return cached;
    const localType = local.type(localId);
    const essential = essentialName(localType.name);
    const ids = [...this.btf.typesNamed(essential), ...(this.flavoredIndex().get(essential) ?? []).map((id) => this.btf.type(id))]
      .filter((t) => essentialName(t.name) === essential && kindsCompatible(localType, t))
      .map((t) => t.id)
      .sort((a, b) => a - b);
    cache.set(localId, ids);
    return ids;
  }

  private flavoredIndex(): Map<string, number[]> {
    if (this.flavored) return this.flavored;
    const index = new Map<string, number[]>();
    for (const [name, ids] of this.btf.namedTypeIds()) {
      if (!name.includes('___')) continue;
      const essential = essentialName(name);
      if (essential === name) continue;
      index.set(essential, [...(index.get(essential) ?? []), ...ids]);
    }
    return (this.flavored = index);
  }
}

/**
 * Resolves one CO-RE relocation of an object (whose BTF is `local`) against a target, as libbpf's
 * bpf_core_calc_relo_insn: target types of the same essential name are candidates, the access is
 * matched in each, and all that match must agree. When none does, existence checks and type-based
 * kinds resolve to 0 and the other kinds poison the instruction. A malformed or ambiguous
 * relocation is an ObjectError.
 */
export function resolveCoreRelocation(local: Btf, relocation: CoreRelocation, target: CoreTarget): CoreResolution {
  const where = `CO-RE ${coreKindName(relocation.kind)} relocation at instruction ${relocation.insnOff / 8} of section '${printable(relocation.section)}'`;
  let subject: string | undefined;
  try {
    const spec = parseLocalSpec(local, relocation);
    subject = describeSpec(spec, relocation.kind);
    const kind = relocation.kind;
    if (kind === BPF_CORE_KIND.TYPE_ID_LOCAL) {
      // The local id needs no target; the instruction's copy may be stale after linking, so it is not checked.
      const id = BigInt(relocation.typeId);
      return { ...NO_MEMORY_ACCESS, relocation, subject, localValue: id, targetValue: id, validate: false, missing: undefined, poisoned: false, targetTypeId: undefined };
    }
    if (local.type(relocation.typeId).name === '') throw new CoreFailure('relocations against anonymous types are not supported');
    let chosen: { outcome: Outcome; spec: Spec; id: number } | undefined;
    let mismatch: string | undefined;
    for (const id of target.candidates(local, relocation.typeId)) {
      const matched = matchSpec(spec, target.btf, id, kind);
      if (typeof matched === 'string') {
        mismatch ??= matched;
        continue;
      }
      const outcome = calculate(kind, spec, matched);
      if (!chosen) {
        chosen = { outcome, spec: matched, id };
      } else if (matched.bitOffset !== chosen.spec.bitOffset) {
        throw new CoreFailure(
          `ambiguous: ${target.name} ${target.btf.describe(chosen.id)} puts it at bit ${chosen.spec.bitOffset} and ${target.btf.describe(id)} at bit ${matched.bitOffset}`,
        );
      } else if (outcome.poisoned !== chosen.outcome.poisoned || outcome.targetValue !== chosen.outcome.targetValue) {
        throw new CoreFailure(
          `ambiguous: ${target.name} ${target.btf.describe(chosen.id)} gives ${show(chosen.outcome)} and ${target.btf.describe(id)} gives ${show(outcome)}`,
        );
      }
    }
    if (chosen) return { ...chosen.outcome, relocation, subject, missing: undefined, targetTypeId: chosen.id };
    return { ...calculate(kind, spec, undefined), relocation, subject, missing: `${mismatch ?? 'not found'} in ${target.name}`, targetTypeId: undefined };
  } catch (error) {
    if (error instanceof CoreFailure || error instanceof ObjectError) {
      throw new ObjectError(`${where}${subject ? ` (${subject})` : ''}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Patches instruction `index` as libbpf's bpf_core_patch_insn: an ALU immediate, a load or store
 * offset (and its size, for a field whose size changed), or a 64-bit immediate; or poisons it
 * (both slots of a 64-bit load). The instruction must still hold the local value when that is
 * checked; anything else is an ObjectError.
 */
export function applyCoreRelocation(insns: Instructions, index: number, resolution: CoreResolution): CorePatch {
  const { relocation } = resolution;
  function fail(message: string): never {
    throw new ObjectError(
      `CO-RE ${coreKindName(relocation.kind)} relocation of ${resolution.subject} at instruction ${index} of section '${printable(relocation.section)}': ${message}`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= insns.count) fail(`the section has ${insns.count} instructions`);
  const opcode = insns.opcode(index);
  const isLdImm64 = opcode === OP_LD_IMM64;
  if (isLdImm64 && index + 1 >= insns.count) fail('a 64-bit immediate load is missing its second half');
  const poison = (reason: string): CorePatch => {
    if (isLdImm64) poisonInstruction(insns, index + 1);
    poisonInstruction(insns, index);
    return { poisoned: true, reason };
  };
  if (resolution.poisoned) return poison(`${resolution.subject} ${resolution.missing ?? 'cannot be relocated'}`);

  const { localValue, targetValue } = resolution;
  const expect = (what: string, actual: bigint): void => {
    if (resolution.validate && actual !== localValue) fail(`the instruction's ${what} is ${actual}, but the object's BTF gives ${localValue}`);
  };
  switch (opcode & CLASS_MASK) {
    case CLASS.ALU:
    case CLASS.ALU64: {
      if ((opcode & SOURCE_REGISTER) !== 0) fail(`opcode 0x${hex(opcode)} takes a register, not an immediate`);
      expect('immediate', BigInt.asUintN(64, BigInt(insns.imm(index))));
      if (targetValue >= 1n << 32n && targetValue < (1n << 64n) - (1n << 31n)) fail(`the target value ${targetValue} does not fit a 32-bit immediate`);
      insns.setImm(index, Number(BigInt.asIntN(32, targetValue)));
      return { poisoned: false };
    }
    case CLASS.LDX:
    case CLASS.ST:
    case CLASS.STX: {
      expect('offset', BigInt.asUintN(64, BigInt(insns.offset(index))));
      if (targetValue > 0x7fffn) fail(`the target offset ${targetValue} does not fit the instruction's 16-bit offset`);
      if (resolution.sizeConflict) return poison(`${resolution.subject}: ${resolution.sizeConflict}`);
      insns.setOffset(index, Number(targetValue));
      if (resolution.targetSize !== resolution.localSize) {
        const size = ACCESS_SIZES.get(opcode & SIZE_MASK)!;
        if (size !== resolution.localSize) fail(`the instruction accesses ${size} bytes, but the field is ${resolution.localSize}`);
        const code = [...ACCESS_SIZES].find(([, bytes]) => bytes === resolution.targetSize)?.[0];
        if (code === undefined) fail(`the field is ${resolution.targetSize} bytes on the target, which no load or store can access`);
        insns.setOpcode(index, (opcode & ~SIZE_MASK) | code);
      }
      return { poisoned: false };
    }
    case CLASS.LD: {
      if (!isLdImm64 || insns.srcReg(index) !== 0 || insns.offset(index) !== 0) fail(`opcode 0x${hex(opcode)} is not a plain 64-bit immediate load`);
      const next = index + 1;
      if (insns.opcode(next) !== 0 || insns.dstReg(next) !== 0 || insns.srcReg(next) !== 0 || insns.offset(next) !== 0) {
        fail('the second half of the 64-bit immediate load is not blank');
      }
      expect('immediate', (BigInt(insns.imm(next) >>> 0) << 32n) | BigInt(insns.imm(index) >>> 0));
      insns.setImm(index, Number(BigInt.asIntN(32, targetValue)));
      insns.setImm(next, Number(BigInt.asIntN(32, targetValue >> 32n)));
      return { poisoned: false };
    }
    default:
      return fail(`opcode 0x${hex(opcode)} is not an ALU, load, store or 64-bit immediate instruction, which relocations patch`);
  }
}

/** The name without its flavor: "task_struct___old" -> "task_struct" (libbpf's bpf_core_essential_name_len). */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Specs: an access string parsed against a BTF (libbpf's struct bpf_core_spec).

/** One meaningful step of an access: a named member, an array element, or an enumerator. */
interface Accessor {
  /** The struct or union holding the member, the array's element type, or the enum (modifiers skipped). */
  readonly typeId: number;
  readonly index: number;
  /** The member's or enumerator's name; undefined for array elements, and for the root's "0". */
  readonly name: string | undefined;
}

interface Spec {
  readonly btf: Btf;
  readonly rootTypeId: number;
  /** How many indexes the access has, anonymous members included (libbpf's raw_len). */
  indexes: number;
  readonly accessors: Accessor[];
  /** Of the accessed field from the start of the root type. */
  bitOffset: number;
}

/** A relocation that cannot be computed at all: becomes an ObjectError naming the relocation. */
class CoreFailure extends Error {}

const isFieldBased = (kind: BpfCoreKind): boolean => kind <= BPF_CORE_KIND.FIELD_RSHIFT_U64;
const isEnumvalBased = (kind: BpfCoreKind): boolean => kind === BPF_CORE_KIND.ENUMVAL_EXISTS || kind === BPF_CORE_KIND.ENUMVAL_VALUE;
const isTypeBased = (kind: BpfCoreKind): boolean => !isFieldBased(kind) && !isEnumvalBased(kind);

/** libbpf's bpf_core_parse_spec: the local access, checked against the object's BTF. */
function parseLocalSpec(btf: Btf, relocation: CoreRelocation): Spec {
  const { accessStr, kind } = relocation;
  const root = btf.type(relocation.typeId);
  const spec: Spec = { btf, rootTypeId: root.id, indexes: 0, accessors: [], bitOffset: 0 };
  if (isTypeBased(kind)) {
    if (accessStr !== '0') throw new CoreFailure(`the access string of a type relocation must be "0", not '${printable(accessStr)}'`);
    return spec;
  }
  if (!/^\d+(:\d+)*$/.test(accessStr)) throw new CoreFailure(`access string '${printable(accessStr)}' is not indexes separated by ':'`);
  const raw = accessStr.split(':').map(Number);
  if (raw.length > SPEC_MAX_LEN) throw new CoreFailure(`access string '${printable(accessStr)}' has ${raw.length} indexes, more than ${SPEC_MAX_LEN}`);
  if (raw.some((index) => index > 0x7fffffff)) throw new CoreFailure(`access string '${printable(accessStr)}' has an index of 2^31 or more`);
  spec.indexes = raw.length;
  let { id, type } = skipModifiers(btf, root.id);
  const first = raw[0]!;

  if (isEnumvalBased(kind)) {
    if (!type || !isAnyEnum(type)) throw new CoreFailure(`${btf.describe(root.id)} is not an enum`);
    if (raw.length > 1 || first >= type.values.length) {
      throw new CoreFailure(`access string '${printable(accessStr)}' is not the index of one of the ${type.values.length} enumerators`);
    }
    spec.accessors.push({ typeId: id, index: first, name: type.values[first]!.name });
    return spec;
  }

  spec.accessors.push({ typeId: id, index: first, name: undefined });
  addBits(spec, first * btf.sizeOf(id) * 8);
  for (let i = 1; i < raw.length; i++) {
    ({ id, type } = skipModifiers(btf, id));
    const index = raw[i]!;
    if (type && isComposite(type)) {
      const member = type.members[index];
      if (!member) throw new CoreFailure(`index ${index} of '${printable(accessStr)}' is past the ${type.members.length} members of ${btf.describe(id)}`);
      addBits(spec, memberBitOffset(type, index));
      if (member.name !== '') spec.accessors.push({ typeId: id, index, name: member.name });
      id = member.type;
    } else if (type?.kind === BTF_KIND.ARRAY) {
      const element = skipModifiers(btf, type.type).id;
      if (!isFlexibleArray(btf, spec.accessors.at(-1)!, type) && index >= type.nelems) {
        throw new CoreFailure(`index ${index} of '${printable(accessStr)}' is past the ${type.nelems} elements of ${btf.describe(id)}`);
      }
      spec.accessors.push({ typeId: element, index, name: undefined });
      addBits(spec, index * btf.sizeOf(element) * 8);
      id = element;
    } else {
      throw new CoreFailure(`index ${i} of '${printable(accessStr)}' reaches ${btf.describe(id)}, which is not a struct, union or array`);
    }
  }
  return spec;
}

/**
 * libbpf's bpf_core_spec_match: the local spec followed in a candidate target type. A string says
 * why the candidate does not match.
 */
function matchSpec(local: Spec, btf: Btf, candidate: number, kind: BpfCoreKind): Spec | string {
  const target: Spec = { btf, rootTypeId: candidate, indexes: 0, accessors: [], bitOffset: 0 };
  if (isTypeBased(kind)) {
    const matches =
      kind === BPF_CORE_KIND.TYPE_MATCHES
        ? typesMatch(local.btf, local.rootTypeId, btf, candidate, false, MAX_TYPE_DEPTH)
        : typesAreCompatible(local.btf, local.rootTypeId, btf, candidate, MAX_TYPE_DEPTH);
    return matches ? target : kind === BPF_CORE_KIND.TYPE_MATCHES ? 'does not match' : 'is of an incompatible type';
  }

  const localAccessors = local.accessors;
  if (isEnumvalBased(kind)) {
    const { id, type } = skipModifiers(btf, candidate);
    if (!type || !isAnyEnum(type)) return 'not found';
    const wanted = essentialName(localAccessors[0]!.name!);
    const index = type.values.findIndex((v) => essentialName(v.name) === wanted);
    if (index < 0) return 'not found';
    target.accessors.push({ typeId: id, index, name: type.values[index]!.name });
    target.indexes++;
    return target;
  }

  let id = candidate;
  for (let i = 0; i < localAccessors.length; i++) {
    const accessor = localAccessors[i]!;
    const resolved = skipModifiers(btf, id);
    id = resolved.id;
    if (accessor.name !== undefined) {
      const next = matchMember(local.btf, accessor, btf, id, target);
      if (next === 'incompatible') {
        return i === localAccessors.length - 1 ? 'is of an incompatible type' : `has member '${printable(accessor.name)}' of an incompatible type`;
      }
      if (next === 'not found') return next;
      id = next;
      continue;
    }
    // The root's index treats the root as an array element; later indexes need an array.
    if (i > 0) {
      const array = resolved.type;
      if (array?.kind !== BTF_KIND.ARRAY) return `has no array at index ${i}`;
      if (!isFlexibleArray(btf, target.accessors[i - 1]!, array) && accessor.index >= array.nelems) {
        return `has ${array.nelems} elements, not ${accessor.index + 1}`;
      }
      id = skipModifiers(btf, array.type).id;
    }
    if (target.indexes === SPEC_MAX_LEN) throw new CoreFailure(`the target access nests more than ${SPEC_MAX_LEN} deep`);
    target.accessors.push({ typeId: id, index: accessor.index, name: undefined });
    target.indexes++;
    addBits(target, accessor.index * btf.sizeOf(id) * 8);
  }
  return target;
}

/**
 * libbpf's bpf_core_match_member: the member of the local accessor found by name in a target
 * struct or union, searching anonymous members too; its type id, or why it is not there.
 */
function matchMember(localBtf: Btf, accessor: Accessor, btf: Btf, targetId: number, target: Spec): number | 'not found' | 'incompatible' {
  const { id, type } = skipModifiers(btf, targetId);
  if (!type || !isComposite(type)) return 'not found';
  const localMember = (localBtf.type(accessor.typeId) as BtfComposite).members[accessor.index]!;
  let reason: 'not found' | 'incompatible' = 'not found';
  for (let i = 0; i < type.members.length; i++) {
    const member = type.members[i]!;
    const bits = memberBitOffset(type, i);
    if (target.indexes === SPEC_MAX_LEN) throw new CoreFailure(`the target access nests more than ${SPEC_MAX_LEN} deep`);
    // Speculate that this member is the one, and take it back if it is not.
    target.bitOffset += bits;
    target.indexes++;
    if (member.name === '') {
      const found = matchMember(localBtf, accessor, btf, member.type, target);
      if (typeof found === 'number') return found;
      if (found === 'incompatible') reason = found;
    } else if (member.name === localMember.name) {
      if (fieldsAreCompatible(localBtf, localMember.type, btf, member.type)) {
        target.accessors.push({ typeId: id, index: i, name: member.name });
        return member.type;
      }
      target.bitOffset -= bits;
      target.indexes--;
      return 'incompatible';
    }
    target.bitOffset -= bits;
    target.indexes--;
  }
  return reason;
}

function addBits(spec: Spec, bits: number): void {
  spec.bitOffset += bits;
  if (spec.bitOffset > 0xffffffff) throw new CoreFailure(`the access reaches past 2^32 bits from the start of ${spec.btf.describe(spec.rootTypeId)}`);
}

/** libbpf's is_flex_arr: a zero-length array that is the last member of the struct holding it. */
function isFlexibleArray(btf: Btf, holder: Accessor, array: BtfArray): boolean {
  if (holder.name === undefined || array.nelems > 0) return false;
  return holder.index === (btf.type(holder.typeId) as BtfComposite).members.length - 1;
}

/** "struct task_struct.comm", "struct sample[2].a[3]", "enum pageflags::PG_locked": libbpf's spec format, flavors dropped. */
function describeSpec(spec: Spec, kind: BpfCoreKind): string {
  const root = cType(spec.btf, spec.rootTypeId);
  if (isTypeBased(kind)) return root;
  if (isEnumvalBased(kind)) return `${root}::${printable(essentialName(spec.accessors[0]!.name!))}`;
  return (
    root +
    spec.accessors
      .map((a, i) => (a.name !== undefined ? `.${printable(a.name)}` : i > 0 || a.index > 0 ? `[${a.index}]` : ''))
      .join('')
  );
}

/** A type as C names it: "struct task_struct", "enum pageflags", "pid_t", "int". */
function cType(btf: Btf, id: number): string {
  const type = typeAt(btf, id);
  if (!type) return 'void';
  const name = printable(essentialName(type.name));
  switch (type.kind) {
    case BTF_KIND.STRUCT:
      return name ? `struct ${name}` : '(anonymous struct)';
    case BTF_KIND.UNION:
      return name ? `union ${name}` : '(anonymous union)';
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64:
      return name ? `enum ${name}` : '(anonymous enum)';
    case BTF_KIND.FWD:
      return `${type.kindFlag ? 'union' : 'struct'} ${name}`;
    default:
      return name || btf.describe(id);
  }
}

// ---------------------------------------------------------------------------------------------
// Values: what each kind gives for a spec (libbpf's bpf_core_calc_*_relo).

interface Outcome {
  readonly localValue: bigint;
  readonly targetValue: bigint;
  readonly validate: boolean;
  readonly poisoned: boolean;
  readonly localSize: number;
  readonly targetSize: number;
  readonly sizeConflict: string | undefined;
}

const NO_MEMORY_ACCESS = { localSize: 0, targetSize: 0, sizeConflict: undefined } as const;

/** A value for one side; `undefined` asks for the instruction to be poisoned. */
interface Value {
  readonly value: bigint;
  /** Only from the local side: whether the instruction's value is checked. */
  readonly validate: boolean;
  /** A field's load/store size and (resolved) type id, for FIELD_BYTE_OFFSET of a whole field. */
  readonly size: number;
  readonly typeId: number;
}

/** libbpf's bpf_core_calc_relo: the local and target values; `target` undefined when nothing matched. */
function calculate(kind: BpfCoreKind, local: Spec, target: Spec | undefined): Outcome {
  const valueOf = (spec: Spec | undefined): Value | undefined =>
    isFieldBased(kind) ? fieldValue(kind, spec, local.btf.littleEndian) : isEnumvalBased(kind) ? enumValue(kind, spec) : typeValue(kind, spec);
  const before = valueOf(local)!;
  const after = valueOf(target);
  if (!after) return { ...NO_MEMORY_ACCESS, localValue: before.value, targetValue: 0n, validate: before.validate, poisoned: true };
  let sizeConflict: string | undefined;
  if (before.size !== after.size) {
    // A load or store may change size only for pointers and unsigned integers: zero-extension keeps their value.
    const from = typeAt(local.btf, before.typeId);
    const to = typeAt(target!.btf, after.typeId);
    const unsigned = (t: BtfType | undefined): boolean => t?.kind === BTF_KIND.INT && t.encoding !== INT_SIGNED;
    const resizable = (from?.kind === BTF_KIND.PTR && to?.kind === BTF_KIND.PTR) || (unsigned(from) && unsigned(to));
    if (!resizable) {
      sizeConflict =
        before.size === 0
          ? `it is a bitfield in the object but a ${after.size}-byte field on the target`
          : after.size === 0
            ? `it is a ${before.size}-byte field in the object but a bitfield on the target`
            : `its size changes from ${before.size} to ${after.size} bytes and it is not an unsigned integer or a pointer`;
    }
  }
  return {
    localValue: before.value,
    targetValue: after.value,
    validate: before.validate,
    poisoned: false,
    localSize: before.size,
    targetSize: after.size,
    sizeConflict,
  };
}

/** `littleEndian`: the program's byte order, which decides where a bitfield's bytes land in a u64. */
function fieldValue(kind: BpfCoreKind, spec: Spec | undefined, littleEndian: boolean): Value | undefined {
  const plain = (value: bigint | number, validate = true): Value => ({ value: BigInt(value), validate, size: 0, typeId: 0 });
  if (kind === BPF_CORE_KIND.FIELD_EXISTS) return plain(spec ? 1 : 0);
  if (!spec) return undefined;
  const { btf } = spec;
  const accessor = spec.accessors.at(-1)!;
  if (accessor.name === undefined) {
    // An array element (or the root itself): it has an offset and a size, nothing of a bitfield.
    const size = btf.sizeOf(accessor.typeId);
    if (kind === BPF_CORE_KIND.FIELD_BYTE_OFFSET) return { value: BigInt(Math.floor(spec.bitOffset / 8)), validate: true, size, typeId: accessor.typeId };
    if (kind === BPF_CORE_KIND.FIELD_BYTE_SIZE) return plain(size);
    throw new CoreFailure(`${coreKindName(kind)} does not apply to an array element`);
  }
  const holder = btf.type(accessor.typeId) as BtfComposite;
  const member = holder.members[accessor.index]!;
  const field = skipModifiers(btf, member.type);
  const bitOffset = spec.bitOffset;
  let bitSize = memberBitfieldSize(holder, accessor.index);
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOffset: number;
  if (bitfield) {
    // The smallest load, at least as wide as the field's type, aligned to its size, that holds every bit.
    byteSize = field.type && 'size' in field.type ? field.type.size : 0;
    if (byteSize === 0) throw new CoreFailure(`bitfield '${printable(member.name)}' has a type without a size, ${btf.describe(field.id)}`);
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreFailure(`bitfield '${printable(member.name)}' cannot be read with one 64-bit load`);
      byteSize *= 2;
      byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = btf.sizeOf(field.id);
    byteOffset = Math.floor(bitOffset / 8);
    bitSize = byteSize * 8;
  }
  // Bitfield layout is the compiler's choice and may differ from ours: only signedness and the right shift are checked.
  switch (kind) {
    case BPF_CORE_KIND.FIELD_BYTE_OFFSET:
      return bitfield ? plain(byteOffset, false) : { value: BigInt(byteOffset), validate: true, size: byteSize, typeId: field.id };
    case BPF_CORE_KIND.FIELD_BYTE_SIZE:
      return plain(byteSize, !bitfield);
    case BPF_CORE_KIND.FIELD_SIGNED: {
      const t = field.type;
      return plain((t && isAnyEnum(t) && t.kindFlag) || (t?.kind === BTF_KIND.INT && (t.encoding & INT_SIGNED) !== 0) ? 1 : 0);
    }
    case BPF_CORE_KIND.FIELD_LSHIFT_U64: {
      // The field's bytes are loaded into the low-order bytes of a u64 and shifted to its top; libbpf computes in u32.
      const shift = littleEndian ? 64 - (bitOffset + bitSize - byteOffset * 8) : (8 - byteSize) * 8 + (bitOffset - byteOffset * 8);
      return plain(shift >>> 0, !bitfield);
    }
    default:
      return plain((64 - bitSize) >>> 0);
  }
}

function typeValue(kind: BpfCoreKind, spec: Spec | undefined): Value {
  const plain = (value: bigint | number, validate = true): Value => ({ value: BigInt(value), validate, size: 0, typeId: 0 });
  // Type relocations resolve to 0 on a target without the type, poisoning nothing.
  if (!spec) return plain(0);
  switch (kind) {
    case BPF_CORE_KIND.TYPE_ID_TARGET:
      // The compiler's copy of the id may be renumbered by linking: it is not checked.
      return plain(spec.rootTypeId, false);
    case BPF_CORE_KIND.TYPE_SIZE:
      return plain(spec.btf.sizeOf(spec.rootTypeId));
    default:
      return plain(1);
  }
}

function enumValue(kind: BpfCoreKind, spec: Spec | undefined): Value | undefined {
  if (kind === BPF_CORE_KIND.ENUMVAL_EXISTS) return { value: spec ? 1n : 0n, validate: true, size: 0, typeId: 0 };
  if (!spec) return undefined;
  const accessor = spec.accessors[0]!;
  const type = spec.btf.type(accessor.typeId) as BtfEnum;
  const value = type.values[accessor.index]!.value;
  // As libbpf: a 32-bit enumerator widens with its sign whatever the enum's signedness; a 64-bit one is taken as is.
  return { value: BigInt.asUintN(64, type.kind === BTF_KIND.ENUM ? BigInt.asIntN(32, value) : value), validate: true, size: 0, typeId: 0 };
}

function show(outcome: Outcome): string {
  return outcome.poisoned ? 'a poisoned instruction' : String(outcome.targetValue);
}

// ---------------------------------------------------------------------------------------------
// Type compatibility (libbpf's bpf_core_fields_are_compat, bpf_core_types_are_compat, bpf_core_types_match).

/** The type with this id; undefined for 0, void. */
function typeAt(btf: Btf, id: number): BtfType | undefined {
  return id === 0 ? undefined : btf.type(id);
}

/** The id and type reached by skipping typedefs and modifiers (type undefined for void). */
function skipModifiers(btf: Btf, id: number): { id: number; type: BtfType | undefined } {
  const resolved = btf.resolve(id);
  return { id: resolved, type: typeAt(btf, resolved) };
}

const kindOf = (t: BtfType | undefined): number => t?.kind ?? BTF_KIND.UNKN;

function isComposite(t: BtfType): t is BtfComposite {
  return t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION;
}

function isAnyEnum(t: BtfType): t is BtfEnum {
  return t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64;
}

/** btf_kind_core_compat: the same kind, or both enums of either width. */
function kindsCompatible(a: BtfType | undefined, b: BtfType | undefined): boolean {
  return kindOf(a) === kindOf(b) || (a !== undefined && b !== undefined && isAnyEnum(a) && isAnyEnum(b));
}

function memberBitOffset(t: BtfComposite, index: number): number {
  const offset = t.members[index]!.offset;
  return t.kindFlag ? offset & 0xffffff : offset;
}

function memberBitfieldSize(t: BtfComposite, index: number): number {
  return t.kindFlag ? t.members[index]!.offset >>> 24 : 0;
}

/** Essential names equal, or one of them anonymous. */
function sameOrAnonymous(a: BtfType, b: BtfType): boolean {
  const local = essentialName(a.name);
  const target = essentialName(b.name);
  return local === '' || target === '' || local === target;
}

/** libbpf's bpf_core_fields_are_compat: a field of the local type may be read as the target's. */
function fieldsAreCompatible(localBtf: Btf, localId: number, btf: Btf, targetId: number): boolean {
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    const local = skipModifiers(localBtf, localId).type;
    const target = skipModifiers(btf, targetId).type;
    if (local && target && isComposite(local) && isComposite(target)) return true;
    if (!local || !target || !kindsCompatible(local, target)) return false;
    switch (local.kind) {
      case BTF_KIND.PTR:
      case BTF_KIND.FLOAT:
        return true;
      case BTF_KIND.FWD:
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
        return sameOrAnonymous(local, target);
      case BTF_KIND.INT:
        // Integers of any size and sign are compatible; only the old bitfield-like encoding is not.
        return local.bitOffset === 0 && (target as typeof local).bitOffset === 0;
      case BTF_KIND.ARRAY:
        localId = local.type;
        targetId = (target as BtfArray).type;
        continue;
      default:
        return false;
    }
  }
  throw new CoreFailure(`array types nest more than ${MAX_TYPE_DEPTH} deep`);
}

/** libbpf's __bpf_core_types_are_compat, for TYPE_EXISTS, TYPE_SIZE and TYPE_ID_TARGET. */
function typesAreCompatible(localBtf: Btf, localId: number, btf: Btf, targetId: number, level: number): boolean {
  if (!kindsCompatible(typeAt(localBtf, localId), typeAt(btf, targetId))) return false;
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    const l = skipModifiers(localBtf, localId).type;
    const t = skipModifiers(btf, targetId).type;
    if (!kindsCompatible(l, t)) return false;
    // Both void, then.
    if (!l || !t) return true;
    switch (l.kind) {
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
      case BTF_KIND.FWD:
        return true;
      case BTF_KIND.INT:
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case BTF_KIND.PTR:
        localId = l.type;
        targetId = (t as typeof l).type;
        continue;
      case BTF_KIND.ARRAY:
        localId = l.type;
        targetId = (t as typeof l).type;
        continue;
      case BTF_KIND.FUNC_PROTO: {
        const target = t as typeof l;
        if (l.params.length !== target.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (level <= 0) throw new CoreFailure(`function types nest more than ${MAX_TYPE_DEPTH} deep`);
          if (!typesAreCompatible(localBtf, localBtf.resolve(l.params[i]!.type), btf, btf.resolve(target.params[i]!.type), level - 1)) return false;
        }
        localId = l.returnType;
        targetId = target.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  throw new CoreFailure(`types nest more than ${MAX_TYPE_DEPTH} deep`);
}

/** libbpf's bpf_core_names_match: essential names equal; an anonymous target matches only an anonymous local. */
function namesMatch(local: string, target: string): boolean {
  return target === '' ? local === '' : essentialName(local) === essentialName(target);
}

/** libbpf's __bpf_core_types_match, for TYPE_MATCHES: a stricter, member-by-member comparison. */
function typesMatch(localBtf: Btf, localId: number, btf: Btf, targetId: number, behindPointer: boolean, level: number): boolean {
  if (level <= 0) throw new CoreFailure(`types nest more than ${MAX_TYPE_DEPTH} deep`);
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    const l = skipModifiers(localBtf, localId).type;
    const t = skipModifiers(btf, targetId).type;
    if (!namesMatch(l?.name ?? '', t?.name ?? '')) return false;
    if (!l || !t) return kindOf(l) === kindOf(t);
    switch (l.kind) {
      case BTF_KIND.FWD:
        if (behindPointer && t.kind !== BTF_KIND.FWD) return (t.kind === BTF_KIND.STRUCT && !l.kindFlag) || (t.kind === BTF_KIND.UNION && l.kindFlag);
        return t.kind === BTF_KIND.FWD && l.kindFlag === t.kindFlag;
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
        return isAnyEnum(t) && enumsMatch(l, t);
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        if (behindPointer) {
          if (l.kind === t.kind) return true;
          return t.kind === BTF_KIND.FWD && (l.kind === BTF_KIND.UNION) === t.kindFlag;
        }
        return l.kind === t.kind && compositesMatch(localBtf, l, btf, t as BtfComposite, behindPointer, level);
      case BTF_KIND.INT:
        return t.kind === BTF_KIND.INT && l.size === t.size && (l.encoding & INT_SIGNED) === (t.encoding & INT_SIGNED);
      case BTF_KIND.PTR:
        if (t.kind !== BTF_KIND.PTR) return false;
        behindPointer = true;
        localId = l.type;
        targetId = t.type;
        continue;
      case BTF_KIND.ARRAY:
        if (t.kind !== BTF_KIND.ARRAY || l.nelems !== t.nelems) return false;
        localId = l.type;
        targetId = t.type;
        continue;
      case BTF_KIND.FUNC_PROTO: {
        if (t.kind !== BTF_KIND.FUNC_PROTO || l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (!typesMatch(localBtf, l.params[i]!.type, btf, t.params[i]!.type, behindPointer, level - 1)) return false;
        }
        localId = l.returnType;
        targetId = t.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  throw new CoreFailure(`types nest more than ${MAX_TYPE_DEPTH} deep`);
}

/** Same size, and every local enumerator has a target one of the same name (values may differ). */
function enumsMatch(local: BtfEnum, target: BtfEnum): boolean {
  if (local.size !== target.size || local.values.length > target.values.length) return false;
  return local.values.every((l) => target.values.some((t) => namesMatch(l.name, t.name)));
}

/** Every local member has a target member of the same name whose type matches. */
function compositesMatch(localBtf: Btf, local: BtfComposite, btf: Btf, target: BtfComposite, behindPointer: boolean, level: number): boolean {
  if (local.members.length > target.members.length) return false;
  return local.members.every((l) =>
    target.members.some((t) => namesMatch(l.name, t.name) && typesMatch(localBtf, l.type, btf, t.type, behindPointer, level - 1)),
  );
}

// ---------------------------------------------------------------------------------------------
// Instruction encoding.

const CLASS_MASK = 0x07;
const CLASS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, ALU64: 0x07 } as const;
/** BPF_X: the source is a register. */
const SOURCE_REGISTER = 0x08;
const SIZE_MASK = 0x18;
/** BPF_W, BPF_H, BPF_B, BPF_DW and the bytes they access. */
const ACCESS_SIZES = new Map([
  [0x00, 4],
  [0x08, 2],
  [0x10, 1],
  [0x18, 8],
]);

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** A call of the invalid helper, with every other field cleared (libbpf's bpf_core_poison_insn). */
function poisonInstruction(insns: Instructions, index: number): void {
  insns.setOpcode(index, OP_CALL);
  insns.setDstReg(index, 0);
  insns.setSrcReg(index, 0);
  insns.setOffset(index, 0);
  insns.setImm(index, CORE_POISON_HELPER);
}
