// Chains of typedefs, qualifiers and arrays: a type that contains itself through them alone is refused, so following them ends.
import { DW_AT, DW_TAG } from './constants.js';
import type { Die, DwarfEntries } from './entries.js';

/** Tags whose DW_AT_type is part of the type itself, not behind a pointer or inside a struct or function. */
const CHAIN_TAGS = new Set<number>([DW_TAG.typedef, DW_TAG.const_type, DW_TAG.volatile_type, DW_TAG.restrict_type, DW_TAG.atomic_type, DW_TAG.array_type]);
const QUALIFIER_TAGS = new Set<number>([DW_TAG.typedef, DW_TAG.const_type, DW_TAG.volatile_type, DW_TAG.restrict_type, DW_TAG.atomic_type]);

/** Fails on the first chain that comes back to itself; each entry is followed once. */
export function checkTypeChains(entries: DwarfEntries): void {
  const done = new Set<Die>();
  for (const die of entries.dies) {
    if (!CHAIN_TAGS.has(die.tag) || done.has(die)) continue;
    const path = new Set<Die>();
    let current: Die | undefined = die;
    while (current && CHAIN_TAGS.has(current.tag) && !done.has(current)) {
      if (path.has(current)) {
        const loop = [...path].map((d) => `0x${d.offset.toString(16)}`).join(' -> ');
        entries.fail(current, `the type contains itself through ${loop} (no pointer or struct between)`);
      }
      path.add(current);
      current = entries.reference(current, DW_AT.type);
    }
    for (const d of path) done.add(d);
  }
}

/** The entry under typedefs and qualifiers (undefined for void); finite once checkTypeChains has passed. */
export function underQualifiers(entries: DwarfEntries, die: Die | undefined): Die | undefined {
  let current = die;
  while (current && QUALIFIER_TAGS.has(current.tag)) current = entries.reference(current, DW_AT.type);
  return current;
}
