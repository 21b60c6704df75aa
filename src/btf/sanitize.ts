// BTF for an older kernel: kinds it does not know replaced by ones it does, as libbpf's bpf_object__sanitize_btf does.
import { BTF_HEADER_SIZE, BTF_KIND, BTF_LINKAGE, type Btf } from './btf.js';

/** What a kernel's BTF loader accepts (each probed by loading a tiny BTF that uses it). */
export interface BtfFeatures {
  func: boolean;
  globalFunc: boolean;
  datasec: boolean;
  float: boolean;
  declTag: boolean;
  typeTag: boolean;
  enum64: boolean;
}

export const ALL_BTF_FEATURES: BtfFeatures = { func: true, globalFunc: true, datasec: true, float: true, declTag: true, typeTag: true, enum64: true };

const info = (kind: number, vlen: number, kindFlag = false): number => ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen;
const INT_ENCODING_8_BITS = 8;

/**
 * The BTF's bytes with unknown kinds replaced (record sizes kept, so type ids stay); an added
 * 8-byte integer type stands in for ENUM64 members. Returns the bytes unchanged when the kernel
 * knows everything this BTF uses.
 */
export function sanitizeBtf(btf: Btf, features: BtfFeatures): Uint8Array {
  const original = btf.bytes();
  const needs = (kind: number): boolean => {
    for (let id = (btf.base?.count ?? 0) + 1; id <= btf.count; id++) if (btf.type(id).kind === kind) return true;
    return false;
  };
  const touch =
    (!features.datasec && (needs(BTF_KIND.VAR) || needs(BTF_KIND.DATASEC))) ||
    (!features.func && (needs(BTF_KIND.FUNC) || needs(BTF_KIND.FUNC_PROTO))) ||
    (!features.globalFunc && needs(BTF_KIND.FUNC)) ||
    (!features.float && needs(BTF_KIND.FLOAT)) ||
    (!features.declTag && needs(BTF_KIND.DECL_TAG)) ||
    (!features.typeTag && needs(BTF_KIND.TYPE_TAG)) ||
    (!features.enum64 && (needs(BTF_KIND.ENUM64) || needs(BTF_KIND.ENUM)));
  if (!touch) return original;

  const little = btf.littleEndian;
  const header = btf.header;
  const hasEnum64 = !features.enum64 && needs(BTF_KIND.ENUM64);
  // The placeholder integer for ENUM64 members goes after the last type: 16 more bytes of types.
  const extra = hasEnum64 ? 16 : 0;
  const bytes = new Uint8Array(original.length + extra);
  const typesStart = header.hdrLen + header.typeOff;
  const typesEnd = typesStart + header.typeLen;
  const stringsStart = header.hdrLen + header.strOff;
  // Lay out: header, types (+ placeholder), strings; whatever order the original had.
  bytes.set(original.subarray(0, header.hdrLen), 0);
  bytes.set(original.subarray(typesStart, typesEnd), header.hdrLen);
  bytes.set(original.subarray(stringsStart, stringsStart + header.strLen), header.hdrLen + header.typeLen + extra);
  const view = new DataView(bytes.buffer);
  const u32 = (at: number, value: number): void => view.setUint32(at, value >>> 0, little);
  u32(8, 0);
  u32(12, header.typeLen + extra);
  u32(16, header.typeLen + extra);
  const shift = header.hdrLen - typesStart; // from a record's offset in the original to its place here
  const placeholder = btf.count + 1;
  if (hasEnum64) {
    const at = header.hdrLen + header.typeLen;
    u32(at, 0);
    u32(at + 4, info(BTF_KIND.INT, 0));
    u32(at + 8, 8);
    u32(at + 12, 64);
  }
  const names = bytes.subarray(header.hdrLen + header.typeLen + extra);

  for (let id = (btf.base?.count ?? 0) + 1; id <= btf.count; id++) {
    const t = btf.type(id);
    const at = t.offset + shift;
    const setInfo = (kind: number, vlen: number, kindFlag = false): void => u32(at + 4, info(kind, vlen, kindFlag));
    switch (t.kind) {
      case BTF_KIND.VAR:
        if (!features.datasec) {
          setInfo(BTF_KIND.INT, 0);
          u32(at + 8, 1);
          u32(at + 12, INT_ENCODING_8_BITS);
        }
        break;
      case BTF_KIND.DATASEC:
        if (!features.datasec) {
          // A struct of the same size whose members are the variables ('.' is no identifier character).
          setInfo(BTF_KIND.STRUCT, t.vlen);
          for (let i = t.nameOffset; i < names.length && names[i] !== 0; i++) if (names[i] === 0x2e) names[i] = 0x5f;
          t.vars.forEach((v, i) => {
            const m = at + 12 + i * 12;
            const variable = btf.type(v.type);
            u32(m, variable.nameOffset);
            u32(m + 4, variable.kind === BTF_KIND.VAR ? variable.type : v.type);
            u32(m + 8, v.offset * 8);
          });
        }
        break;
      case BTF_KIND.FUNC_PROTO:
        // An enum whose enumerators are the parameters keeps the record's size.
        if (!features.func) {
          setInfo(BTF_KIND.ENUM, t.vlen);
          u32(at + 8, 4);
        }
        break;
      case BTF_KIND.FUNC:
        if (!features.func) setInfo(BTF_KIND.TYPEDEF, 0);
        else if (!features.globalFunc && t.linkage === BTF_LINKAGE.GLOBAL) setInfo(BTF_KIND.FUNC, BTF_LINKAGE.STATIC);
        break;
      case BTF_KIND.FLOAT:
        if (!features.float) {
          u32(at, 0);
          setInfo(BTF_KIND.STRUCT, 0);
        }
        break;
      case BTF_KIND.DECL_TAG:
        if (!features.declTag) {
          u32(at, 0);
          setInfo(BTF_KIND.INT, 0);
          u32(at + 8, 1);
          u32(at + 12, INT_ENCODING_8_BITS);
        }
        break;
      case BTF_KIND.TYPE_TAG:
        if (!features.typeTag) {
          u32(at, 0);
          setInfo(BTF_KIND.CONST, 0);
        }
        break;
      case BTF_KIND.ENUM:
        // Signed enums (kind_flag) came with ENUM64.
        if (!features.enum64 && t.kindFlag) setInfo(BTF_KIND.ENUM, t.vlen);
        break;
      case BTF_KIND.ENUM64:
        if (!features.enum64) {
          setInfo(BTF_KIND.UNION, t.vlen);
          t.values.forEach((_, i) => {
            const m = at + 12 + i * 12;
            u32(m + 4, placeholder);
            u32(m + 8, 0);
          });
        }
        break;
      default:
        break;
    }
  }
  return bytes;
}

/** A header and string section for a tiny BTF blob (feature probes): types given as 32-bit words. */
export function tinyBtf(words: readonly number[], strings: string, littleEndian: boolean): Uint8Array {
  const text = new TextEncoder().encode(strings);
  const bytes = new Uint8Array(BTF_HEADER_SIZE + words.length * 4 + text.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xeb9f, littleEndian);
  bytes[2] = 1;
  view.setUint32(4, BTF_HEADER_SIZE, littleEndian);
  view.setUint32(8, 0, littleEndian);
  view.setUint32(12, words.length * 4, littleEndian);
  view.setUint32(16, words.length * 4, littleEndian);
  view.setUint32(20, text.length, littleEndian);
  words.forEach((w, i) => view.setUint32(BTF_HEADER_SIZE + i * 4, w >>> 0, littleEndian));
  bytes.set(text, BTF_HEADER_SIZE + words.length * 4);
  return bytes;
}

/** The kind-info word of a type record, for tinyBtf. */
export function btfInfo(kind: number, vlen = 0, kindFlag = false): number {
  return info(kind, vlen, kindFlag);
}
