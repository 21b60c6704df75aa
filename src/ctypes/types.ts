// The C types a header reader builds, with their sizes and alignments as gcc and clang give them for x86-64 and BPF (LP64).
import { BTF_POINTER_SIZE, type Btf } from '../btf/btf.js';

/** A type of the object's BTF that the header uses and does not declare, with what layout needs of it. */
export interface BtfTypeRef {
  readonly btf: Btf;
  readonly id: number;
  readonly size: number | undefined;
  readonly align: number | undefined;
  readonly integer?: IntegerTraits;
}

export interface IntegerTraits {
  readonly size: number;
  readonly unsigned: boolean;
  readonly bool: boolean;
}

export interface CVoid {
  readonly kind: 'void';
}

export interface CInt {
  readonly kind: 'int';
  /** As clang names it in BTF: "unsigned int", "long", "_Bool". */
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly bool: boolean;
}

export interface CFloat {
  readonly kind: 'float';
  readonly name: string;
  readonly size: number;
}

export interface CPointer {
  readonly kind: 'pointer';
  readonly target: CType;
}

export interface CArray {
  readonly kind: 'array';
  readonly element: CType;
  /** undefined for `[]`: a flexible array member, of no size. */
  readonly length: number | undefined;
  /** Known when built: an array's element is complete. */
  readonly size: number | undefined;
  readonly align: number;
}

export interface CMember {
  /** '' for an anonymous struct or union member, and for an unnamed bitfield (padding). */
  readonly name: string;
  readonly type: CType;
  /** A bitfield's width. */
  readonly bits?: number;
  /** __attribute__((aligned(N))) on the member. */
  readonly align?: number;
  /** __attribute__((packed)) on the member. */
  readonly packed: boolean;
}

export interface CRecordLayout {
  readonly size: number;
  readonly align: number;
  /** Each member's offset in bits from the start, in the order of `members`. */
  readonly offsets: readonly number[];
}

/** A struct or union: declared first, defined (members and layout set) when its body is read. */
export interface CRecord {
  readonly kind: 'struct' | 'union';
  /** '' when anonymous. */
  readonly tag: string;
  members?: readonly CMember[];
  layout?: CRecordLayout;
  /** Declared in the header, defined in the object's BTF. */
  from?: BtfTypeRef;
}

export interface CEnumerator {
  readonly name: string;
  readonly value: bigint;
}

export interface CEnum {
  readonly kind: 'enum';
  readonly tag: string;
  values?: readonly CEnumerator[];
  size: number;
  signed: boolean;
  from?: BtfTypeRef;
}

export interface CTypedef {
  readonly kind: 'typedef';
  readonly name: string;
  readonly target: CType;
  /** __attribute__((aligned(N))) on a typedef sets the alignment, up or down. */
  readonly align?: number;
}

export type Qualifier = 'const' | 'volatile' | 'restrict';

export interface CQualified {
  readonly kind: 'qualified';
  readonly qualifier: Qualifier;
  readonly target: CType;
}

export interface CParameter {
  readonly name: string;
  readonly type: CType;
}

export interface CFunction {
  readonly kind: 'function';
  readonly returns: CType;
  readonly params: readonly CParameter[];
  readonly variadic: boolean;
}

/** A typedef name found in the object's BTF. */
export interface CBtfType {
  readonly kind: 'btf';
  readonly name: string;
  readonly ref: BtfTypeRef;
}

export type CType = CVoid | CInt | CFloat | CPointer | CArray | CRecord | CEnum | CTypedef | CQualified | CFunction | CBtfType;

/** The type under typedefs and qualifiers. */
export function resolve(type: CType): CType {
  let t = type;
  while (t.kind === 'typedef' || t.kind === 'qualified') t = t.target;
  return t;
}

/** Size in bytes; undefined for what has none (void, functions, declared-only structs and enums, `[]`). */
export function sizeOf(type: CType): number | undefined {
  const t = resolve(type);
  switch (t.kind) {
    case 'int':
    case 'float':
      return t.size;
    case 'pointer':
      return BTF_POINTER_SIZE;
    case 'array':
      return t.size;
    case 'struct':
    case 'union':
      return t.layout?.size ?? t.from?.size;
    case 'enum':
      return t.values !== undefined ? t.size : t.from?.size;
    case 'btf':
      return t.ref.size;
    default:
      return undefined;
  }
}

export function alignOf(type: CType): number | undefined {
  let t = type;
  for (;;) {
    if (t.kind === 'typedef') {
      if (t.align !== undefined) return t.align;
      t = t.target;
    } else if (t.kind === 'qualified') t = t.target;
    else break;
  }
  switch (t.kind) {
    case 'int':
    case 'float':
      return t.size;
    case 'pointer':
      return BTF_POINTER_SIZE;
    case 'array':
      return t.align;
    case 'struct':
    case 'union':
      return t.layout?.align ?? t.from?.align;
    case 'enum':
      return t.values !== undefined ? t.size : t.from?.align;
    case 'btf':
      return t.ref.align;
    default:
      return undefined;
  }
}

/** What a cast to the type or a bitfield of it needs: integers, enums, _Bool and pointers. */
export function integerOf(type: CType): IntegerTraits | undefined {
  const t = resolve(type);
  switch (t.kind) {
    case 'int':
      return { size: t.size, unsigned: !t.signed, bool: t.bool };
    case 'enum':
      if (t.values !== undefined) return { size: t.size, unsigned: !t.signed, bool: false };
      return t.from?.integer;
    case 'pointer':
      return { size: BTF_POINTER_SIZE, unsigned: true, bool: false };
    case 'btf':
      return t.ref.integer;
    default:
      return undefined;
  }
}

/** How C writes the type, for messages ("struct event", "__u32 *", "char[16]"). */
export function describe(type: CType, depth = 0): string {
  if (depth > 8) return '...';
  switch (type.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'float':
    case 'typedef':
    case 'btf':
      return type.name;
    case 'pointer':
      return `${describe(type.target, depth + 1)} *`;
    case 'array':
      return `${describe(type.element, depth + 1)}[${type.length ?? ''}]`;
    case 'struct':
    case 'union':
    case 'enum':
      return `${type.kind} ${type.tag || '(anonymous)'}`;
    case 'qualified':
      return `${type.qualifier} ${describe(type.target, depth + 1)}`;
    case 'function':
      return `${describe(type.returns, depth + 1)} (${type.params.map((p) => describe(p.type, depth + 1)).join(', ')})`;
  }
}

/** Whether two types are the same C type, typedef names seen through (a typedef may be repeated, if it says the same). */
export function sameType(x: CType, y: CType, depth = 0): boolean {
  let a = x;
  let b = y;
  while (a.kind === 'typedef') a = a.target;
  while (b.kind === 'typedef') b = b.target;
  if (a === b) return true;
  if (depth > 32 || a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'pointer':
      return sameType(a.target, (b as CPointer).target, depth + 1);
    case 'array':
      return a.length === (b as CArray).length && sameType(a.element, (b as CArray).element, depth + 1);
    case 'qualified':
      return a.qualifier === (b as CQualified).qualifier && sameType(a.target, (b as CQualified).target, depth + 1);
    case 'btf':
      return a.ref.id === (b as CBtfType).ref.id;
    case 'function': {
      const f = b as CFunction;
      return (
        a.variadic === f.variadic &&
        a.params.length === f.params.length &&
        sameType(a.returns, f.returns, depth + 1) &&
        a.params.every((p, i) => sameType(p.type, f.params[i]!.type, depth + 1))
      );
    }
    default:
      // Base types are shared objects; records, enums and typedefs are one object each.
      return false;
  }
}
