// Record types: which struct of the known type sources (the object's BTF, its DWARF, headers and ELFs given with --types) a ring or perf buffer record is.
import { BTF_KIND, isCharType, type Btf, type BtfComposite, type BtfType } from '../btf/btf.js';

/** Types from one place: "the object's BTF", "its DWARF", "opensnoop.h". */
export interface TypeSource {
  name: string;
  btf: Btf;
  /** Structs it has only for its programs to read the kernel's (CO-RE): never records (kernelOnlyStructs). */
  kernelStructs?: ReadonlySet<string>;
}

/** The struct chosen for a map's records, and where its type came from. */
export interface RecordType {
  source: TypeSource;
  typeId: number;
  /** "struct event", or a typedef's name for an anonymous struct ("data_t"). */
  name: string;
}

/** The names tools give their records first; then structs of a header or DWARF; kernel structs the object's BTF carries for its programs last. */
const RECORD_NAMES = [/^event$/, /^data_t$/, /_event$/, /^event_/, /_data$|_data_t$/];
const KERNEL_NAMES = /^(trace_event_raw_|trace_entry$|pt_regs$|user_pt_regs$|bpf_|__sk_buff$|sk_buff$|task_struct$|xdp_md$|sock$|file$|inode$)/;

interface Candidate extends RecordType {
  size: number;
  /** A last member of 0 elements: records of this struct are at least `size` bytes, longer by their data. */
  flexible: boolean;
  /** Where a last member of chars begins: records of this struct may end inside it (execsnoop's args). */
  charTail?: number;
  rank: number;
  order: number;
}

const KERNEL_RANK = 100;

function rankOf(name: string, sourceIndex: number): number {
  const preferred = RECORD_NAMES.findIndex((pattern) => pattern.test(name));
  if (preferred >= 0) return preferred;
  if (KERNEL_NAMES.test(name)) return KERNEL_RANK;
  return 10 + sourceIndex;
}

/** A struct's or union's name as candidates() gives it: "struct event", or its typedef's for an anonymous one. */
function structName(btf: Btf, t: BtfType): string | undefined {
  if ((t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) && t.name !== '') return `${t.kind === BTF_KIND.STRUCT ? 'struct' : 'union'} ${t.name}`;
  if (t.kind !== BTF_KIND.TYPEDEF) return undefined;
  const target = btf.resolveType(t.type);
  return (target?.kind === BTF_KIND.STRUCT || target?.kind === BTF_KIND.UNION) && target.name === '' ? t.name : undefined;
}

/** The names of the structs reachable from these types: through members, pointers, arrays, typedefs, functions and variables. */
function reachableStructs(btf: Btf, roots: Iterable<number>): Set<string> {
  const names = new Set<string>();
  const seen = new Set<number>();
  const pending = [...roots];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (id === 0 || id > btf.count || seen.has(id)) continue;
    seen.add(id);
    const t = btf.type(id);
    const name = structName(btf, t);
    if (name) names.add(name);
    if (t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) pending.push(...t.members.map((m) => m.type));
    else if (t.kind === BTF_KIND.FUNC_PROTO) pending.push(t.returnType, ...t.params.map((p) => p.type));
    else if (t.kind === BTF_KIND.DATASEC) pending.push(...t.vars.map((v) => v.type));
    else if ('type' in t && typeof t.type === 'number') pending.push(t.type);
  }
  return names;
}

/**
 * The structs an object's BTF has only because its programs read the kernel's through them (CO-RE:
 * `coreRoots`, the types its relocations start from), as execsnoop's task->real_parent brings in
 * task_struct and all it holds: reachable from those, not from a map's or global's type. A record
 * is none of them, whatever its size.
 */
export function kernelOnlyStructs(btf: Btf, coreRoots: readonly number[]): Set<string> {
  if (coreRoots.length === 0) return new Set();
  const kept = reachableStructs(btf, [...Array(btf.count).keys()].map((i) => i + 1).filter((id) => btf.type(id).kind === BTF_KIND.DATASEC));
  return new Set([...reachableStructs(btf, coreRoots)].filter((name) => !kept.has(name)));
}

/** Named structs and unions, and anonymous ones named by a typedef, of every source, in source order. */
function candidates(sources: readonly TypeSource[]): Candidate[] {
  const found: Candidate[] = [];
  sources.forEach((source, sourceIndex) => {
    const { btf } = source;
    for (let id = 1; id <= btf.count; id++) {
      const t = btf.type(id);
      const name = structName(btf, t);
      if (name === undefined || source.kernelStructs?.has(name)) continue;
      const struct = btf.resolveType(id) as BtfComposite;
      const last = struct.members[struct.members.length - 1];
      const lastType = last ? btf.resolveType(last.type) : undefined;
      const flexible = lastType?.kind === BTF_KIND.ARRAY && lastType.nelems === 0;
      const charTail = struct.kind === BTF_KIND.STRUCT && !struct.kindFlag && lastType?.kind === BTF_KIND.ARRAY && lastType.nelems > 0 && isCharType(btf, lastType.type) ? last!.offset / 8 : undefined;
      const bare = name.replace(/^(struct|union) /, '');
      found.push({ source, typeId: id, name, size: struct.size, flexible, ...(charTail === undefined ? {} : { charTail }), rank: rankOf(bare, sourceIndex), order: found.length });
    }
  });
  return found;
}

/** The struct named `name` ("event", "struct event" or a typedef), from the first source that has one. */
export function findRecordType(sources: readonly TypeSource[], name: string): RecordType | undefined {
  const bare = name.replace(/^(struct|union) /, '');
  const found = candidates(sources).find((c) => c.name.replace(/^(struct|union) /, '') === bare);
  return found && { source: found.source, typeId: found.typeId, name: found.name };
}

/** Every struct name the sources know, for messages. */
export function recordTypeNames(sources: readonly TypeSource[]): string[] {
  return [...new Set(candidates(sources).filter((c) => c.rank < KERNEL_RANK).map((c) => c.name))];
}

/**
 * The struct a record of `size` bytes most likely is: those of exactly its size, else those up to
 * 7 bytes shorter (a perf buffer's padding), else those with a flexible last member no longer
 * than it (a variable-length record), else those whose last member is chars that the record ends
 * inside (`cut`: execsnoop sends its struct up to the arguments it holds); among them the names
 * tools use (event, data_t, *_event), then the sources' order; never a kernel struct. `others`
 * names the rest that fit, so the choice can be said and changed; `flexible`: the chosen one ends
 * in a flexible array, so records of other sizes are likely it too (as they are when `cut`).
 */
export function recordTypeBySize(sources: readonly TypeSource[], size: number): { chosen: RecordType; others: string[]; flexible: boolean; cut: boolean } | undefined {
  // Kernel structs the object's BTF carries for its programs' contexts are never its records.
  const all = candidates(sources).filter((c) => c.rank < KERNEL_RANK);
  let fitting = all.filter((c) => c.size === size);
  // A perf buffer pads each record so that its size word and data end 8-byte aligned.
  if (fitting.length === 0) fitting = all.filter((c) => c.size < size && size < c.size + 8);
  if (fitting.length === 0) fitting = all.filter((c) => c.flexible && c.size <= size);
  const cut = fitting.length === 0;
  if (cut) fitting = all.filter((c) => c.charTail !== undefined && c.charTail < size && size < c.size);
  if (fitting.length === 0) return undefined;
  fitting.sort((a, b) => a.rank - b.rank || a.order - b.order);
  const [best] = fitting;
  return {
    chosen: { source: best!.source, typeId: best!.typeId, name: best!.name },
    others: [...new Set(fitting.slice(1).map((c) => c.name))].filter((n) => n !== best!.name),
    flexible: best!.flexible,
    cut,
  };
}
