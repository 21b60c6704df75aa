// Where a header's names come from: its own declarations first, then the object's BTF, then the built-in names.
import { BTF_INT_BOOL, BTF_INT_SIGNED, BTF_KIND, BTF_MAX_RESOLVE_DEPTH, type Btf } from '../btf/btf.js';
import type { BtfTypeRef, CBtfType, CEnum, CRecord, CType, CTypedef, IntegerTraits } from './types.js';

export class Scope {
  /** Struct, union and enum tags (one namespace in C). */
  readonly tags = new Map<string, CRecord | CEnum>();
  readonly typedefs = new Map<string, CTypedef>();
  readonly enumerators = new Map<string, bigint>();
  /** Structs, unions, enums and typedefs in the order the header completes them: what the BTF holds. */
  readonly declared: CType[] = [];
  private readonly btfTypedefs = new Map<string, CBtfType | null>();
  private readonly btfAligns = new Map<number, number | undefined>();
  private btfEnumerators: Map<string, bigint> | undefined;

  constructor(
    private readonly base: Btf | undefined,
    private readonly builtins: ReadonlyMap<string, CType>,
  ) {}

  typedef(name: string): CType | undefined {
    return this.typedefs.get(name) ?? this.btfTypedef(name) ?? this.builtins.get(name);
  }

  /**
   * Whether a struct, union or enum is complete, taking its definition from the object's BTF when
   * the header only declares it (it is used by value: a pointer to it needs no definition).
   */
  complete(type: CRecord | CEnum): boolean {
    if ((type.kind === 'enum' ? type.values : type.members) !== undefined) return true;
    if (type.from === undefined && this.base !== undefined && type.tag !== '') {
      const kinds: number[] = type.kind === 'struct' ? [BTF_KIND.STRUCT] : type.kind === 'union' ? [BTF_KIND.UNION] : [BTF_KIND.ENUM, BTF_KIND.ENUM64];
      const found = this.base.typesNamed(type.tag).find((t) => kinds.includes(t.kind));
      if (found) type.from = this.ref(this.base, found.id);
    }
    return type.from?.size !== undefined && type.from.align !== undefined;
  }

  enumerator(name: string): bigint | undefined {
    const own = this.enumerators.get(name);
    if (own !== undefined || this.base === undefined) return own;
    if (this.btfEnumerators === undefined) {
      this.btfEnumerators = new Map();
      for (const t of this.base.types) {
        if (t.kind !== BTF_KIND.ENUM && t.kind !== BTF_KIND.ENUM64) continue;
        for (const v of t.values) if (!this.btfEnumerators.has(v.name)) this.btfEnumerators.set(v.name, v.value);
      }
    }
    return this.btfEnumerators.get(name);
  }

  /** Every type name known here, for suggestions. */
  typeNames(): string[] {
    const fromBtf: string[] = [];
    if (this.base) {
      for (const [name, ids] of this.base.namedTypeIds()) if (ids.some((id) => this.base!.type(id).kind === BTF_KIND.TYPEDEF)) fromBtf.push(name);
    }
    return [...this.typedefs.keys(), ...fromBtf, ...this.builtins.keys()];
  }

  private btfTypedef(name: string): CBtfType | undefined {
    if (this.base === undefined) return undefined;
    let found = this.btfTypedefs.get(name);
    if (found === undefined) {
      const typedef = this.base.typesNamed(name, BTF_KIND.TYPEDEF)[0];
      found = typedef ? { kind: 'btf', name, ref: this.ref(this.base, typedef.id) } : null;
      this.btfTypedefs.set(name, found);
    }
    return found ?? undefined;
  }

  private ref(btf: Btf, id: number): BtfTypeRef {
    let size: number | undefined;
    try {
      size = btf.sizeOf(id);
    } catch {
      size = undefined;
    }
    return { btf, id, size, align: this.align(btf, id, 0), integer: integerTraits(btf, id) };
  }

  /** A BTF type's alignment as libbpf's btf__align_of finds it: a packed struct shows as a member off its alignment, or a size that is no multiple of it. */
  private align(btf: Btf, id: number, depth: number): number | undefined {
    if (depth > BTF_MAX_RESOLVE_DEPTH) return undefined;
    if (this.btfAligns.has(id)) return this.btfAligns.get(id);
    let result: number | undefined;
    try {
      const t = btf.resolveType(id);
      switch (t?.kind) {
        case BTF_KIND.INT:
        case BTF_KIND.FLOAT:
        case BTF_KIND.ENUM:
        case BTF_KIND.ENUM64:
          result = t.size;
          break;
        case BTF_KIND.PTR:
          result = 8;
          break;
        case BTF_KIND.ARRAY:
          result = this.align(btf, t.type, depth + 1);
          break;
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION: {
          result = 1;
          for (const m of t.members) {
            const a = this.align(btf, m.type, depth + 1);
            if (a === undefined) {
              result = undefined;
              break;
            }
            const bitfield = t.kindFlag ? m.offset >>> 24 !== 0 : false;
            const offset = t.kindFlag ? m.offset & 0xffffff : m.offset;
            if (!bitfield && offset % (a * 8) !== 0) {
              result = 1;
              break;
            }
            result = Math.max(result, a);
          }
          if (result !== undefined && t.size % result !== 0) result = 1;
          break;
        }
        default:
          result = undefined;
      }
    } catch {
      result = undefined;
    }
    this.btfAligns.set(id, result);
    return result;
  }
}

function integerTraits(btf: Btf, id: number): IntegerTraits | undefined {
  try {
    const t = btf.resolveType(id);
    if (t?.kind === BTF_KIND.INT) return { size: t.size, unsigned: (t.encoding & BTF_INT_SIGNED) === 0, bool: (t.encoding & BTF_INT_BOOL) !== 0 };
    if (t?.kind === BTF_KIND.ENUM || t?.kind === BTF_KIND.ENUM64) return { size: t.size, unsigned: !t.kindFlag, bool: false };
    if (t?.kind === BTF_KIND.PTR) return { size: 8, unsigned: true, bool: false };
  } catch {
    // A malformed chain: not an integer this reader can use.
  }
  return undefined;
}
