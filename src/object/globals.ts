// Global variables of an object (.rodata, .data, .bss) by name: listing them, and setting one before load (--set NAME=VALUE).
import { BTF_KIND } from '../btf/btf.js';
import { BtfEncoder, EncodeError } from '../btf/encode.js';
import { UsageError } from '../errors.js';
import { printable } from '../text.js';
import type { BpfObjectSpec, MapSpec } from './spec.js';

/** A global variable of the object's data sections, found by its BTF. */
export interface GlobalVariable {
  name: string;
  /** The data section (map) that holds it. */
  section: string;
  offset: number;
  size: number;
  typeId: number;
  /** Read-only for the program after load (.rodata: const volatile). */
  readOnly: boolean;
}

/** The object's global variables, from the DATASECs of its BTF. */
export function globalVariables(spec: BpfObjectSpec): GlobalVariable[] {
  const btf = spec.btf;
  if (!btf) return [];
  const variables: GlobalVariable[] = [];
  for (const map of spec.maps) {
    if (!map.data || !map.btf?.valueTypeId) continue;
    const datasec = btf.type(map.btf.valueTypeId);
    if (datasec.kind !== BTF_KIND.DATASEC) continue;
    for (const v of datasec.vars) {
      const variable = btf.type(v.type);
      if (variable.kind !== BTF_KIND.VAR) continue;
      variables.push({ name: variable.name, section: map.name, offset: v.offset, size: v.size, typeId: variable.type, readOnly: map.data.readOnly });
    }
  }
  return variables;
}

/** Whether the global variable `name` starts non-zero (as the object has it, or as --set made it); false when the object has none of that name. */
export function globalIsSet(spec: BpfObjectSpec, name: string): boolean {
  const variable = globalVariables(spec).find((v) => v.name === name);
  const data = variable && spec.maps.find((m) => m.name === variable.section)?.data;
  return data !== undefined && data.initial.subarray(variable!.offset, variable!.offset + variable!.size).some((byte) => byte !== 0);
}

/** A value typed on the command line as JSON would be: true/false, numbers (big ones as text), JSON, else a string. */
function commandLineValue(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?(0x[0-9a-fA-F]+|\d+)$/.test(text)) return text;
  if (/^\s*[[{"]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: take it as text.
    }
  }
  return text;
}

/**
 * The spec with global variables set before load, as a libbpf skeleton does between open and
 * load: typed by BTF (integers, bools, enums by name, char arrays from strings, structs as JSON).
 * `.rodata` is frozen after the map is filled, so what is set here is what the program sees.
 */
export function withGlobals(spec: BpfObjectSpec, assignments: ReadonlyMap<string, string>): BpfObjectSpec {
  if (assignments.size === 0) return spec;
  const variables = globalVariables(spec);
  if (!spec.btf) throw new UsageError((n) => `${n('globals')} needs the object's BTF to find its globals (compile with clang -g)`);
  const encoder = new BtfEncoder(spec.btf);
  const data = new Map(spec.maps.filter((m) => m.data).map((m) => [m.name, Uint8Array.from(m.data!.initial)]));
  for (const [name, text] of assignments) {
    const variable = variables.find((v) => v.name === name);
    if (!variable) {
      const names = variables.map((v) => `${v.name} (${v.section})`);
      throw new UsageError((n) => `${n('globals', printable(name))}: the object has no global variable '${printable(name)}'${names.length > 0 ? `; it has ${names.join(', ')}` : ' (it has none that BTF describes)'}`);
    }
    let bytes: Buffer;
    try {
      bytes = encoder.encode(variable.typeId, commandLineValue(text), name);
    } catch (error) {
      if (error instanceof EncodeError) throw new UsageError((n) => `${n('globals', `${printable(name)}=${printable(text)}`)}: ${error.message}`);
      throw error;
    }
    data.get(variable.section)!.set(bytes.subarray(0, variable.size), variable.offset);
  }
  const maps: MapSpec[] = spec.maps.map((m) => (m.data ? { ...m, data: { ...m.data, initial: data.get(m.name)! } } : m));
  return { ...spec, maps };
}
