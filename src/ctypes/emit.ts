// A header's C types -> BTF records through BtfWriter: each type once, structs reserved before their members so that they may refer to themselves.
import type { Btf } from '../btf/btf.js';
import type { BtfWriter, WriterMember } from '../btf/writer.js';
import { ObjectError } from '../errors.js';
import type { Scope } from './scope.js';
import type { BtfTypeRef, CRecord, CType } from './types.js';

/** Deeper than a real type (struct members are written later, so a struct is one level). */
const MAX_DEPTH = 1000;

/** Writes every type the header defines (and what they use), in the order it defines them; then the structs it only declares. */
export function emitTypes(scope: Scope, writer: BtfWriter): void {
  const emitter = new Emitter(writer);
  for (const type of scope.declared) emitter.emit(type);
  for (const type of scope.tags.values()) emitter.emit(type);
}

class Emitter {
  private readonly ids = new Map<CType, number>();
  private readonly copied = new Map<Btf, Map<number, number>>();
  /** Structs and unions whose ids are reserved and whose members are still to write. */
  private readonly pending: Array<{ record: CRecord; id: number }> = [];

  constructor(private readonly writer: BtfWriter) {}

  emit(type: CType): void {
    this.id(type, 0);
    for (let job = this.pending.pop(); job !== undefined; job = this.pending.pop()) this.writeRecord(job.record, job.id);
  }

  private id(type: CType, depth: number): number {
    const known = this.ids.get(type);
    if (known !== undefined) return known;
    if (depth > MAX_DEPTH) throw new ObjectError(`the header's types nest more than ${MAX_DEPTH} deep`);
    const w = this.writer;
    let id: number;
    switch (type.kind) {
      case 'void':
        return 0;
      case 'int':
        id = w.int(type.name, type.size, { signed: type.signed, bool: type.bool });
        break;
      case 'float':
        id = w.float(type.name, type.size);
        break;
      case 'pointer':
        id = w.pointer(this.id(type.target, depth + 1));
        break;
      case 'array':
        id = w.array(this.id(type.element, depth + 1), type.length ?? 0);
        break;
      case 'struct':
      case 'union':
        // The header's definition first; one only declared there may be the object's, or stay a forward.
        if (type.members !== undefined) {
          id = w.reserve();
          this.pending.push({ record: type, id });
        } else if (type.from) id = this.copy(type.from);
        else id = w.forward(type.kind, type.tag);
        break;
      case 'enum':
        if (type.values === undefined && type.from) id = this.copy(type.from);
        // Declared and never defined: an enum of no values, as clang writes one.
        else id = w.enumeration(type.tag, type.size, type.values ?? [], type.signed);
        break;
      case 'typedef':
        id = w.typedef(type.name, this.id(type.target, depth + 1));
        break;
      case 'qualified':
        id = w.modifier(type.qualifier, this.id(type.target, depth + 1));
        break;
      case 'function': {
        const params = type.params.map((p) => ({ name: p.name, type: this.id(p.type, depth + 1) }));
        // BTF marks `...` as a last parameter of no name and type 0.
        if (type.variadic) params.push({ name: '', type: 0 });
        id = w.functionProto(this.id(type.returns, depth + 1), params);
        break;
      }
      case 'btf':
        id = this.copy(type.ref);
        break;
    }
    this.ids.set(type, id);
    return id;
  }

  private copy(ref: BtfTypeRef): number {
    let copied = this.copied.get(ref.btf);
    if (copied === undefined) this.copied.set(ref.btf, (copied = new Map()));
    return this.writer.copyFrom(ref.btf, ref.id, copied);
  }

  private writeRecord(record: CRecord, id: number): void {
    const layout = record.layout!;
    const members: WriterMember[] = [];
    record.members!.forEach((m, i) => {
      // Unnamed bitfields are padding, which BTF (as clang writes it) leaves out.
      if (m.bits !== undefined && m.name === '') return;
      members.push({ name: m.name, type: this.id(m.type, 0), bitOffset: layout.offsets[i]!, bitSize: m.bits });
    });
    this.writer.composite(record.kind, record.tag, layout.size, members, id);
  }
}
