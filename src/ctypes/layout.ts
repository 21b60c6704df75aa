// Where gcc and clang put members (x86-64 and BPF, System V rules): alignment and padding, bitfield storage units, packed and aligned attributes; and an enum's size.
import { alignOf, sizeOf, type CMember, type CRecordLayout } from './types.js';

export interface RecordAttributes {
  packed: boolean;
  /** __attribute__((aligned(N))); alone (no N) it is the target's largest alignment, 16. */
  align?: number;
}

/** The layout of members whose types are complete (checked by the caller); `fail` reports what C refuses. */
export function layoutRecord(kind: 'struct' | 'union', members: readonly CMember[], attributes: RecordAttributes, fail: (reason: string) => never): CRecordLayout {
  const offsets: number[] = [];
  let offset = 0;
  let end = 0;
  let align = 1;
  members.forEach((m, i) => {
    const natural = alignOf(m.type) ?? 1;
    const packed = attributes.packed || m.packed;
    // packed drops a member's alignment to 1; aligned raises it (and sets it, with packed).
    const memberAlign = m.align !== undefined ? (packed ? m.align : Math.max(natural, m.align)) : packed ? 1 : natural;
    if (kind === 'union') {
      offsets.push(0);
      end = Math.max(end, m.bits ?? (sizeOf(m.type) ?? 0) * 8);
      if (m.bits === undefined || (m.name !== '' && m.bits > 0)) align = Math.max(align, memberAlign);
      return;
    }
    if (m.bits === undefined) {
      const size = sizeOf(m.type);
      if (size === undefined && i !== members.length - 1) fail(`the flexible array member '${m.name}' is not the last member`);
      offset = roundUp(offset, memberAlign * 8);
      offsets.push(offset);
      offset += (size ?? 0) * 8;
      align = Math.max(align, memberAlign);
    } else if (m.bits === 0) {
      // `: 0` ends the storage unit: the next bitfield starts at the type's next boundary, packed or not.
      offset = roundUp(offset, natural * 8);
      offsets.push(offset);
    } else {
      if (m.align !== undefined) offset = roundUp(offset, m.align * 8);
      // A bitfield lies within one naturally aligned unit of its type; one that would cross into the next starts it.
      const unit = natural * 8;
      if (!packed && (offset % unit) + m.bits > unit) offset = roundUp(offset, unit);
      offsets.push(offset);
      offset += m.bits;
      // Unnamed bitfields are padding: they do not align the struct.
      if (m.name !== '') align = Math.max(align, memberAlign);
    }
    end = offset;
  });
  if (attributes.align !== undefined) align = Math.max(attributes.align, align);
  const size = roundUp(Math.ceil(end / 8), align);
  if (size > 0xffffffff) fail(`${size} bytes: BTF sizes stop at 4 GiB`);
  return { size, align, offsets };
}

/**
 * An enum's size and signedness: 4 bytes unless a value needs 8 (packed: the fewest bytes that hold
 * every value); signed when a value is negative. undefined when no 64-bit integer holds them all.
 */
export function enumLayout(values: readonly bigint[], packed: boolean): { size: number; signed: boolean } | undefined {
  const signed = values.some((v) => v < 0n);
  const fits = (size: number): boolean => {
    const bits = BigInt(size * 8);
    return values.every((v) => (signed ? v >= -(1n << (bits - 1n)) && v < 1n << (bits - 1n) : v < 1n << bits));
  };
  const size = (packed ? [1, 2, 4, 8] : [4, 8]).find(fits);
  return size === undefined ? undefined : { size, signed };
}

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
