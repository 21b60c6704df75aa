// Record types: which struct of the known type sources (the object's BTF, its DWARF, headers and ELFs given with --types) a ring or perf buffer record is.
import { BTF_KIND, type Btf, type BtfComposite } from '../btf/btf.js';

/** Types from one place: "the object's BTF", "its DWARF", "opensnoop.h". */
export interface TypeSource {
  name: string;
  btf: Btf;
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

/** Named structs and unions, and anonymous ones named by a typedef, of every source, in source order. */
function candidates(sources: readonly TypeSource[]): Candidate[] {
  const found: Candidate[] = [];
  sources.forEach((source, sourceIndex) => {
    const { btf } = source;
    for (let id = 1; id <= btf.count; id++) {
      const t = btf.type(id);
      let struct: BtfComposite | undefined;
      let name: string;
      if ((t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) && t.name !== '') {
        struct = t;
        name = `${t.kind === BTF_KIND.STRUCT ? 'struct' : 'union'} ${t.name}`;
      } else if (t.kind === BTF_KIND.TYPEDEF) {
        const target = btf.resolveType(t.type);
        if ((target?.kind !== BTF_KIND.STRUCT && target?.kind !== BTF_KIND.UNION) || target.name !== '') continue;
        struct = target;
        name = t.name;
      } else {
        continue;
      }
      const last = struct.members[struct.members.length - 1];
      const lastType = last ? btf.resolveType(last.type) : undefined;
      const flexible = lastType?.kind === BTF_KIND.ARRAY && lastType.nelems === 0;
      const bare = name.replace(/^(struct|union) /, '');
      found.push({ source, typeId: id, name, size: struct.size, flexible, rank: rankOf(bare, sourceIndex), order: found.length });
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
 * than it (a variable-length record); among them the names tools use (event, data_t, *_event),
 * then the sources' order; never a kernel struct. `others` names the rest that fit, so the
 * choice can be said and changed; `flexible`: the chosen one ends in a flexible array, so records
 * of other sizes are likely it too.
 */
export function recordTypeBySize(sources: readonly TypeSource[], size: number): { chosen: RecordType; others: string[]; flexible: boolean } | undefined {
  // Kernel structs the object's BTF carries for its programs' contexts are never its records.
  const all = candidates(sources).filter((c) => c.rank < KERNEL_RANK);
  let fitting = all.filter((c) => c.size === size);
  // A perf buffer pads each record so that its size word and data end 8-byte aligned.
  if (fitting.length === 0) fitting = all.filter((c) => c.size < size && size < c.size + 8);
  if (fitting.length === 0) fitting = all.filter((c) => c.flexible && c.size <= size);
  if (fitting.length === 0) return undefined;
  fitting.sort((a, b) => a.rank - b.rank || a.order - b.order);
  const [best] = fitting;
  return {
    chosen: { source: best!.source, typeId: best!.typeId, name: best!.name },
    others: [...new Set(fitting.slice(1).map((c) => c.name))].filter((n) => n !== best!.name),
    flexible: best!.flexible,
  };
}
