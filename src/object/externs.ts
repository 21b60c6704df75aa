// Externs of an object: __kconfig values laid out in a '.kconfig' map, __ksym symbols and kfuncs, described by BTF and symbols.
import { BTF_KIND, BTF_LINKAGE, type Btf } from '../btf/btf.js';
import { STB_WEAK, SHN_UNDEF, type ElfFile } from '../elf/reader.js';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';
import type { ExternSpec, MapReference, MapSpec, ProgramSpec } from './spec.js';

export const KCONFIG_MAP = '.kconfig';
const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_RDONLY_PROG = 1 << 7;

/**
 * The externs the programs name, from the undefined symbols and the object's BTF: VARs of the
 * DATASEC .kconfig are kernel config values, VARs of .ksyms (or void ones) kernel symbols, extern
 * FUNCs kfuncs. The kconfig values get offsets in one map, as libbpf lays them out.
 */
export function collectExterns(elf: ElfFile, btf: Btf | undefined, programs: readonly Pick<ProgramSpec, 'name' | 'externReferences'>[]): { externs: ExternSpec[]; kconfigMap?: MapSpec } {
  const names = [...new Set(programs.flatMap((p) => p.externReferences.map((r) => r.name)))];
  if (names.length === 0) return { externs: [] };
  const weak = (name: string): boolean => elf.symbols.some((s) => s.sectionIndex === SHN_UNDEF && s.name === name && s.bind === STB_WEAK);
  const kconfigVars = new Map<string, number>();
  if (btf) {
    for (const datasec of [btf.datasec('.kconfig'), btf.datasec('.ksyms')]) {
      for (const v of datasec?.vars ?? []) {
        const variable = btf.type(v.type);
        if (variable.kind === BTF_KIND.VAR && datasec!.name === '.kconfig') kconfigVars.set(variable.name, variable.type);
      }
    }
  }
  const externs: ExternSpec[] = [];
  let kconfigSize = 0;
  for (const name of names) {
    const calls = programs.flatMap((p) => p.externReferences.filter((r) => r.name === name).map((r) => r.call));
    if (calls.includes(true)) {
      const func = btf?.typesNamed(name, BTF_KIND.FUNC)[0];
      externs.push({ name, kind: 'kfunc', weak: weak(name), typeId: func?.id ?? 0, offset: 0, size: 0 });
      continue;
    }
    const kconfigType = kconfigVars.get(name);
    if (kconfigType !== undefined) {
      const size = btf!.sizeOf(kconfigType);
      // Each value aligned to its size (at most 8), as libbpf lays out the kconfig map.
      const align = Math.min(8, size & -size || 1);
      kconfigSize = Math.ceil(kconfigSize / align) * align;
      externs.push({ name, kind: 'kconfig', weak: weak(name), typeId: kconfigType, offset: kconfigSize, size });
      kconfigSize += size;
      continue;
    }
    if (/^(CONFIG_|LINUX_)/.test(name) && !btf) {
      throw new ObjectError(`'${printable(name)}' looks like a __kconfig value, but the object has no BTF to give its type and size: compile with clang -g`);
    }
    // A __ksym: typed when the object's BTF gives it a type other than void.
    const variable = btf?.typesNamed(name, BTF_KIND.VAR)[0];
    externs.push({ name, kind: 'ksym', weak: weak(name), typeId: variable?.kind === BTF_KIND.VAR ? btf!.resolve(variable.type) : 0, offset: 0, size: 0 });
  }
  if (btf) fixExternSections(btf, externs, kconfigSize);
  if (kconfigSize === 0) return { externs };
  return {
    externs,
    kconfigMap: {
      name: KCONFIG_MAP,
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: Math.ceil(kconfigSize / 8) * 8,
      maxEntries: 1,
      flags: BPF_F_RDONLY_PROG,
      pinning: 0,
      data: { initial: new Uint8Array(Math.ceil(kconfigSize / 8) * 8), readOnly: true },
      kconfig: true,
    },
  };
}

/** A program's kconfig references as loads from the .kconfig map; the other extern references stay for load time. */
export function kconfigReferences(program: ProgramSpec, externs: readonly ExternSpec[]): ProgramSpec {
  const mapReferences: MapReference[] = [...program.mapReferences];
  const rest = program.externReferences.filter((r) => {
    const extern = externs.find((e) => e.name === r.name);
    if (extern?.kind !== 'kconfig') return true;
    mapReferences.push({ instruction: r.instruction, map: KCONFIG_MAP, kind: 'value', offset: extern.offset });
    return false;
  });
  return { ...program, mapReferences, externReferences: rest };
}

/**
 * The kernel takes no extern VARs: the .kconfig DATASEC gets the map's layout and allocated
 * VARs, and the .ksyms one allocated 4-byte int VARs, as libbpf rewrites them.
 */
function fixExternSections(btf: Btf, externs: readonly ExternSpec[], kconfigSize: number): void {
  const kconfig = btf.datasec('.kconfig');
  if (kconfig) {
    const vars = kconfig.vars.map((v) => {
      const variable = btf.type(v.type);
      const extern = externs.find((e) => e.kind === 'kconfig' && e.name === variable.name);
      if (variable.kind === BTF_KIND.VAR) btf.setVar(variable.id, variable.type, BTF_LINKAGE.GLOBAL);
      return { ...v, offset: extern?.offset ?? 0 };
    });
    vars.sort((a, b) => a.offset - b.offset);
    btf.setDatasecLayout(kconfig.id, Math.ceil(kconfigSize / 8) * 8, vars);
  }
  const ksyms = btf.datasec('.ksyms');
  if (ksyms) {
    const int = btf.typesNamed('int', BTF_KIND.INT)[0];
    const vars = ksyms.vars.map((v, i) => {
      const variable = btf.type(v.type);
      if (variable.kind === BTF_KIND.VAR && int) btf.setVar(variable.id, int.id, BTF_LINKAGE.GLOBAL);
      return { ...v, offset: i * 4, size: 4 };
    });
    btf.setDatasecLayout(ksyms.id, vars.length * 4, vars);
  }
}
