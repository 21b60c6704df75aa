// Value formats: what a decoded field means to people (addresses, ports, errnos, durations, times, syscalls), one small named rule each, applied by the decoder's callers.
import { BTF_INT_SIGNED, BTF_KIND, type Btf } from '../btf/btf.js';
import { readInt64, type BtfDecoder, type Decoded } from '../btf/decode.js';
import { errnoName } from '../errors.js';
import { syscallName } from './syscalls.js';

/** A field's type as the rules see it: the typedef names on the way (outermost first) and what is under them. */
export interface FieldType {
  /** The typedef names, outermost first ("pid_t", "__kernel_pid_t"). */
  names: string[];
  /** What is under the typedefs. */
  kind: 'int' | 'enum' | 'array' | 'struct' | 'pointer' | 'other';
  /** Bytes. */
  size: number;
  /** A signed integer. */
  signed: boolean;
  /** For arrays: the element count and size. */
  elements?: number;
  /** For arrays: the size of an element in bytes. */
  elementSize?: number;
}

/** One decoded member of a record, as the value rules see it: its name, value and type. */
export interface Field {
  /** The member's name. */
  name: string;
  /** The value as the decoder gave it. */
  value: Decoded;
  /** The member's type. */
  type: FieldType;
}

/** A rule that shows a field's value with meaning (an address, an errno, a syscall name, a time). */
export interface ValueRule {
  name: string;
  /** What it does, for the README and --help. */
  describe: string;
  /** Whether the rule is for a field of this name and type, whatever its value: decided once per record type. */
  fits(name: string, type: FieldType): boolean;
  /** Whether the rule shows this value of a field it fits (a negative ret is an errno, a positive one is not). */
  accepts(value: Decoded): boolean;
  /** Whether the rule is for this field: it fits and accepts the value. */
  applies(field: Field): boolean;
  /** The field's value as the rule shows it. */
  format(field: Field, littleEndian: boolean): Decoded;
}

/** A rule from its parts; `accepts` defaults to every value. */
function valueRule(parts: Omit<ValueRule, 'applies' | 'accepts'> & { accepts?: (value: Decoded) => boolean }): ValueRule {
  const accepts = parts.accepts ?? ((): boolean => true);
  return { ...parts, accepts, applies: (f) => parts.fits(f.name, f.type) && accepts(f.value) };
}

const ADDRESS_NAME = /^(s|d|src|dst|local|remote|peer)?_?(addr|ip|address)(_?v?[46])?$|^(saddr|daddr|addr)\d?$/i;
const PORT_NAME = /port$/i;
const ERROR_NAME = /^(ret|retval|err|error|errno|rc)$/i;
const DURATION_NAME = /^(delta|lat|latency|duration|dur|elapsed)(_(ns|us|ms))?$|_(ns|us)$|^(delta|lat)_/i;
const TIME_NAME = /^(ts|ts_ns|ts_us|timestamp|start_ts|time_ns)$/i;
const SYSCALL_NAME = /^(syscall|syscall_id|syscall_nr|sys_nr|sysnum|nr_syscall)$/i;

/** 4 bytes of an integer in memory order: an IPv4 address is stored as its bytes. */
function memoryBytes(value: number, littleEndian: boolean): number[] {
  const bytes = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
  return littleEndian ? bytes : bytes.reverse();
}

export function ipv4Text(bytes: readonly number[]): string {
  return bytes.join('.');
}

/** RFC 5952: lower-case hex groups, the longest run of two or more zero groups as '::', IPv4-mapped as ::ffff:a.b.c.d. */
export function ipv6Text(bytes: readonly number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${ipv4Text(bytes.slice(12))}`;
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

/** 1234567 ns -> "1.235 ms": three significant decimals in the largest unit under the value. */
export function durationText(nanoseconds: number): string {
  const units: Array<[string, number]> = [
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
  ];
  for (const [unit, scale] of units) if (Math.abs(nanoseconds) >= scale) return `${(nanoseconds / scale).toFixed(3)} ${unit}`;
  return `${nanoseconds} ns`;
}

const asNumber = (value: Decoded): number | undefined => (typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined);
const unitOf = (name: string): number => (/_us$|^ts_us$/i.test(name) ? 1e3 : /_ms$/i.test(name) ? 1e6 : 1);

/** The value rules, in the order they are tried; the first that applies shows the field. */
export const VALUE_RULES: readonly ValueRule[] = [
  valueRule({
    name: 'ipv4',
    describe: 'a 4-byte integer named like an address (saddr, daddr, addr, ip, *_v4) is an IPv4 address: 127.0.0.1',
    fits: (name, type) => type.kind === 'int' && type.size === 4 && !type.signed && ADDRESS_NAME.test(name) && !/6$/.test(name),
    format: (f, le) => ipv4Text(memoryBytes(f.value as number, le)),
  }),
  valueRule({
    name: 'ipv6',
    describe: 'a 16-byte array named like an address (saddr_v6, daddr, addr6) is an IPv6 address: ::1',
    fits: (name, type) => type.kind === 'array' && type.elements === 16 && type.elementSize === 1 && ADDRESS_NAME.test(name),
    accepts: (value) => Array.isArray(value),
    format: (f) => ipv6Text(f.value as number[]),
  }),
  valueRule({
    name: 'port',
    describe: 'a 2-byte integer named *port of type __be16 is in network order: shown in host order',
    fits: (name, type) => type.kind === 'int' && type.size === 2 && PORT_NAME.test(name) && type.names.includes('__be16'),
    format: (f, le) => (le ? (((f.value as number) & 0xff) << 8) | ((f.value as number) >>> 8) : f.value),
  }),
  valueRule({
    name: 'errno',
    describe: 'a negative signed integer named ret, retval, err, error or rc is an errno: -2 ENOENT',
    fits: (name, type) => type.kind === 'int' && type.signed && ERROR_NAME.test(name),
    accepts: (value) => (asNumber(value) ?? 0) < 0 && (asNumber(value) ?? 0) >= -4095,
    format: (f) => `${String(f.value)} ${errnoName(-asNumber(f.value)!)}`,
  }),
  valueRule({
    name: 'duration',
    describe: 'an integer of 4 or 8 bytes named delta*, lat*, *_ns or *_us, not negative, is a duration: 1.235 ms',
    fits: (name, type) => type.kind === 'int' && type.size >= 4 && DURATION_NAME.test(name) && !TIME_NAME.test(name),
    accepts: (value) => (asNumber(value) ?? -1) >= 0,
    format: (f) => durationText(asNumber(f.value)! * unitOf(f.name)),
  }),
  valueRule({
    name: 'time',
    describe: 'an integer named ts, ts_ns, ts_us or timestamp is a time since boot: seconds with 6 decimals',
    fits: (name, type) => type.kind === 'int' && type.size === 8 && TIME_NAME.test(name),
    format: (f) => {
      const unit = unitOf(f.name);
      // In nanoseconds the value converts as it is; other units multiply exactly first.
      return ((unit === 1 ? Number(f.value) : Number(BigInt(f.value as bigint | number) * BigInt(unit))) / 1e9).toFixed(6);
    },
  }),
  valueRule({
    name: 'syscall',
    describe: 'an integer named syscall, syscall_id or sysnum is a system call number: openat',
    fits: (name, type) => type.kind === 'int' && SYSCALL_NAME.test(name),
    accepts: (value) => syscallName(asNumber(value) ?? -1) !== undefined,
    format: (f) => syscallName(asNumber(f.value)!)!,
  }),
];

/** The raw_syscalls event a program runs on: every system call's entry or exit, its number in the context's id. */
export type SyscallEvent = 'sys_enter' | 'sys_exit';

/**
 * Whether a map's keys are system call numbers, as libbpf-tools' syscount keys its counts by
 * raw_syscalls' id: a hash map (an array's keys are its slots: a one-slot counter of every call
 * is no table of system calls) with a plain integer key, and every program that uses the map runs
 * on raw_syscalls' sys_enter, or every one on sys_exit (`users`: each one's event, undefined for
 * any other). A map used at both carries something from a thread's entry to its exit, so is keyed
 * by thread (syscount's `start`). Not when the object's `count_by_process` is set (syscount -P,
 * which keys the same map by pid). Its keys are then shown as a field named `syscall` would be.
 */
export function syscallKeyed(map: { hash: boolean; integerKey: boolean; users: ReadonlyArray<SyscallEvent | undefined>; countByProcess: boolean }): boolean {
  const [first] = map.users;
  return map.hash && map.integerKey && !map.countByProcess && first !== undefined && map.users.every((event) => event === first);
}

const SYSCALL_KEY: FieldType = { names: [], kind: 'int', size: 4, signed: false };

/** A key of a map whose keys are system call numbers (syscallKeyed), as the `syscall` rule shows it: its name, else its number. */
export function syscallKey(value: Decoded): Decoded {
  return formatField({ name: 'syscall', value, type: SYSCALL_KEY }, true);
}

/** The value a field shows: the first rule that applies, else the value as decoded. */
export function formatField(field: Field, littleEndian: boolean): Decoded {
  if (field.value === null) return null;
  const rule = VALUE_RULES.find((r) => r.applies(field));
  return rule ? rule.format(field, littleEndian) : field.value;
}

/** The fields of a struct type by the names the decoder gives them (anonymous members' fields in the outer one), with their types. */
export function fieldTypes(btf: Btf, typeId: number): Map<string, FieldType> {
  const fields = new Map<string, FieldType>();
  const struct = btf.resolveType(typeId);
  if (struct?.kind !== BTF_KIND.STRUCT && struct?.kind !== BTF_KIND.UNION) return fields;
  for (const member of struct.members) {
    if (member.name === '') {
      for (const [name, type] of fieldTypes(btf, member.type)) fields.set(name, type);
    } else {
      fields.set(member.name, fieldType(btf, member.type));
    }
  }
  return fields;
}

function fieldType(btf: Btf, id: number): FieldType {
  const names: string[] = [];
  let current = id;
  for (let depth = 0; depth < 32 && current !== 0; depth++) {
    const t = btf.type(current);
    if (t.kind !== BTF_KIND.TYPEDEF && t.kind !== BTF_KIND.CONST && t.kind !== BTF_KIND.VOLATILE && t.kind !== BTF_KIND.RESTRICT && t.kind !== BTF_KIND.TYPE_TAG) break;
    if (t.kind === BTF_KIND.TYPEDEF) names.push(t.name);
    current = t.type;
  }
  const t = current === 0 ? undefined : btf.type(current);
  if (t?.name) names.push(t.name);
  const size = (() => {
    try {
      return btf.sizeOf(current);
    } catch {
      return 0;
    }
  })();
  switch (t?.kind) {
    case BTF_KIND.INT:
      return { names, kind: 'int', size, signed: (t.encoding & BTF_INT_SIGNED) !== 0 };
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64:
      return { names, kind: 'enum', size, signed: t.kindFlag };
    case BTF_KIND.ARRAY: {
      const element = btf.sizeOf(t.type);
      return { names, kind: 'array', size, signed: false, elements: t.nelems, elementSize: element };
    }
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
      return { names, kind: 'struct', size, signed: false };
    case BTF_KIND.PTR:
      return { names, kind: 'pointer', size, signed: false };
    default:
      return { names, kind: 'other', size, signed: false };
  }
}

const FAMILY_NAME = /^(af|family|sa_family|ip_version|ipver)$/i;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * A decoded record with each field's meaning shown: the rules above, and an address kept twice
 * (`saddr_v4` and `saddr_v6` in a union, as tcpconnect writes it) shown once as `saddr`, chosen
 * by the record's address family field.
 */
export function formatRecord(btf: Btf, typeId: number, decoded: Decoded): Decoded {
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) return decoded;
  const plan = recordPlan(btf, typeId, decoded);
  const family = plan.familyField === undefined ? undefined : asNumber(decoded[plan.familyField] ?? null);
  const littleEndian = btf.littleEndian;
  const result: { [field: string]: Decoded } = {};
  for (const field of plan.fields) {
    const value = decoded[field.name];
    if (value === undefined) continue;
    if (field.pair && family !== undefined) {
      // One of a v4/v6 pair: only the member the family chooses is shown, under the pair's name.
      const wanted = family === AF_INET ? '4' : family === AF_INET6 ? '6' : undefined;
      if (wanted === field.pair.digit) result[field.pair.base] = shownValue(field, value, littleEndian);
      else if (wanted === undefined) result[field.name] = shownValue(field, value, littleEndian);
      continue;
    }
    result[field.name] = shownValue(field, value, littleEndian);
  }
  return result;
}

/** How one member of a record type is shown, worked out once per type: the rules that fit it, and whether it is half of a v4/v6 address pair. */
interface FieldPlan {
  name: string;
  type: FieldType | undefined;
  rules: readonly ValueRule[];
  pair?: { base: string; digit: string };
}

interface RecordPlan {
  familyField: string | undefined;
  fields: FieldPlan[];
}

/** Plans per BTF and type: a stream of records shows the same struct each time. */
const recordPlans = new WeakMap<Btf, Map<number, RecordPlan>>();

function recordPlan(btf: Btf, typeId: number, decoded: { [field: string]: Decoded }): RecordPlan {
  let byType = recordPlans.get(btf);
  if (!byType) recordPlans.set(btf, (byType = new Map()));
  let plan = byType.get(typeId);
  // The decoder gives every member of a type, always in the same order: the names of one record are those of all.
  if (!plan) byType.set(typeId, (plan = planFields(btf, typeId, Object.keys(decoded))));
  return plan;
}

/** The plan of a record type's fields of these names: the rules that fit each, the family field, the v4/v6 pairs. */
function planFields(btf: Btf, typeId: number, names: readonly string[]): RecordPlan {
  const types = fieldTypes(btf, typeId);
  const familyField = names.find((k) => FAMILY_NAME.test(k));
  const fields = names.map((name): FieldPlan => {
    const type = types.get(name);
    const pair = /^(.*?)_?v?([46])$/.exec(name);
    const partner = pair && names.some((k) => k !== name && k.replace(/_?v?[46]$/, '') === pair[1] && /[46]$/.test(k));
    return {
      name,
      type,
      rules: type ? VALUE_RULES.filter((r) => r.fits(name, type)) : [],
      ...(pair && partner && ADDRESS_NAME.test(name) && familyField !== undefined && type ? { pair: { base: pair[1]!, digit: pair[2]! } } : {}),
    };
  });
  return { familyField, fields };
}

/**
 * What a column of a RecordColumnFormatter shows, for writers of text as bytes: a whole integer's
 * digits, the C string of a char array, nanoseconds as the time rule shows them (seconds with 6
 * decimals), a small integer a rule shows, or any other value (RecordColumnFormatter.value, made
 * text by the caller).
 */
export type ColumnSource =
  | { kind: 'integer'; offset: number; size: number; signed: boolean }
  | { kind: 'chars'; offset: number; length: number }
  | { kind: 'seconds'; offset: number; signed: boolean }
  /** An integer of up to 4 bytes a value rule shows (an errno, a port, an address): the same integer, the same text. */
  | { kind: 'ruled'; offset: number; size: number; signed: boolean }
  | { kind: 'value' };

/**
 * A record type shown as columns, worked out once: what formatRecord gives, flattened as a table
 * shows it (a nested struct's members as "outer.inner"), each column's text read straight from
 * the bytes with no object between. For records of at least the type's size; a type whose column
 * names depend on a value (a v4/v6 address pair chosen by the family) has none: format those with
 * formatRecord.
 */
export class RecordColumnFormatter {
  private constructor(
    /** The columns' names. */
    readonly names: readonly string[],
    /** The type's size: shorter records are not for this formatter. */
    readonly size: number,
    /** What each column shows, for writers that make its text themselves. */
    readonly sources: readonly ColumnSource[],
    /** The byte order of the records (the type's BTF's). */
    readonly littleEndian: boolean,
    private readonly columns: readonly ColumnText[],
  ) {}

  /** The formatter of a struct or union type; undefined for other types and those with v4/v6 pairs. */
  static of(decoder: BtfDecoder, typeId: number): RecordColumnFormatter | undefined {
    const columns = decoder.columns(typeId);
    if (!columns) return undefined;
    const btf = decoder.btf;
    const plan = planFields(btf, typeId, columns.filter((c) => c.top).map((c) => c.name));
    if (plan.fields.some((f) => f.pair)) return undefined;
    const byName = new Map(plan.fields.map((f) => [f.name, f]));
    const littleEndian = btf.littleEndian;
    const sources: ColumnSource[] = [];
    const shown = columns.map((column): ColumnText => {
      const field = column.top ? byName.get(column.name) : undefined;
      const int64 = column.integer?.size === 8 ? column.integer : undefined;
      const read = int64 ? (bytes: Uint8Array) => readInt64(bytes, int64.offset, int64.signed, littleEndian) : column.read;
      const rules = field?.rules ?? [];
      if (field && rules.length > 0) {
        // Nanoseconds since boot, the time rule alone: its text needs no double where the writer can make it exactly.
        const seconds = rules.length === 1 && rules[0]!.name === 'time' && unitOf(field.name) === 1 && int64;
        if (seconds) sources.push({ kind: 'seconds', offset: int64.offset, signed: int64.signed });
        else if (column.integer && column.integer.size <= 4) sources.push({ kind: 'ruled', ...column.integer });
        else sources.push({ kind: 'value' });
        return { value: (bytes) => shownValue(field, read(bytes), littleEndian), decoded: column.read };
      }
      if (column.integer) sources.push({ kind: 'integer', ...column.integer });
      else if (column.chars) sources.push({ kind: 'chars', ...column.chars });
      else sources.push({ kind: 'value' });
      // An integer's text is its digits, whatever the table's cell would add to other values.
      return column.integer ? { value: read, decoded: column.read, integer: true } : { value: read, decoded: column.read };
    });
    return new RecordColumnFormatter(
      columns.map((c) => c.name),
      btf.sizeOf(typeId),
      sources,
      littleEndian,
      shown,
    );
  }

  /**
   * Each column's value of one record as the value rules show it, made text by `cell`, pushed
   * onto `texts`. An 8-byte integer below 2^53 comes as a number, not a bigint: the same text.
   */
  texts(bytes: Uint8Array, cell: (value: Decoded) => string, texts: string[] = []): string[] {
    for (const column of this.columns) {
      const value = column.value(bytes);
      texts.push(column.integer && typeof value === 'number' ? integerText(value) : cell(value));
    }
    return texts;
  }

  /** Column `index`'s value of one record as the value rules show it (what texts() makes text). */
  value(index: number, bytes: Uint8Array): Decoded {
    return this.columns[index]!.value(bytes);
  }

  /** Column `index`'s value of one record as the decoder gives it (8-byte integers as bigints), before the rules. */
  decoded(index: number, bytes: Uint8Array): Decoded {
    return this.columns[index]!.decoded(bytes);
  }
}

/** How a column of a RecordColumnFormatter reads its value; `integer`: a whole integer, shown as its digits. */
interface ColumnText {
  value: (bytes: Uint8Array) => Decoded;
  decoded: (bytes: Uint8Array) => Decoded;
  integer?: boolean;
}

/** An integer's decimal digits: above 2^31, in two parts, as V8 prints a small integer far faster than a double. */
export function integerText(value: number): string {
  if (value <= 0x7fffffff && value >= -0x80000000) return String(value);
  const negative = value < 0;
  const magnitude = negative ? -value : value;
  const high = Math.floor(magnitude / 1e9);
  const low = String(magnitude - high * 1e9);
  return `${negative ? '-' : ''}${high}${'000000000'.slice(low.length)}${low}`;
}

/** A member's value as the first of its fitting rules that accepts it shows it, else as decoded. */
function shownValue(field: FieldPlan, value: Decoded, littleEndian: boolean): Decoded {
  if (value === null || field.type === undefined) return value;
  for (const rule of field.rules) if (rule.accepts(value)) return rule.format({ name: field.name, value, type: field.type }, littleEndian);
  return value;
}
