// Value formats: what a decoded field means to people (addresses, ports, errnos, durations, times, syscalls), one small named rule each, applied by the decoder's callers.
import { BTF_KIND, type Btf } from '../btf/btf.js';
import type { Decoded } from '../btf/decode.js';
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
  /** Whether the rule is for this field (by its name and type). */
  applies(field: Field): boolean;
  /** The field's value as the rule shows it. */
  format(field: Field, littleEndian: boolean): Decoded;
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
  {
    name: 'ipv4',
    describe: 'a 4-byte integer named like an address (saddr, daddr, addr, ip, *_v4) is an IPv4 address: 127.0.0.1',
    applies: (f) => f.type.kind === 'int' && f.type.size === 4 && !f.type.signed && ADDRESS_NAME.test(f.name) && !/6$/.test(f.name),
    format: (f, le) => ipv4Text(memoryBytes(f.value as number, le)),
  },
  {
    name: 'ipv6',
    describe: 'a 16-byte array named like an address (saddr_v6, daddr, addr6) is an IPv6 address: ::1',
    applies: (f) => f.type.kind === 'array' && f.type.elements === 16 && f.type.elementSize === 1 && ADDRESS_NAME.test(f.name) && Array.isArray(f.value),
    format: (f) => ipv6Text(f.value as number[]),
  },
  {
    name: 'port',
    describe: 'a 2-byte integer named *port of type __be16 is in network order: shown in host order',
    applies: (f) => f.type.kind === 'int' && f.type.size === 2 && PORT_NAME.test(f.name) && f.type.names.includes('__be16'),
    format: (f, le) => (le ? (((f.value as number) & 0xff) << 8) | ((f.value as number) >>> 8) : f.value),
  },
  {
    name: 'errno',
    describe: 'a negative signed integer named ret, retval, err, error or rc is an errno: -2 ENOENT',
    applies: (f) => f.type.kind === 'int' && f.type.signed && ERROR_NAME.test(f.name) && (asNumber(f.value) ?? 0) < 0 && (asNumber(f.value) ?? 0) >= -4095,
    format: (f) => `${String(f.value)} ${errnoName(-asNumber(f.value)!)}`,
  },
  {
    name: 'duration',
    describe: 'an integer of 4 or 8 bytes named delta*, lat*, *_ns or *_us, not negative, is a duration: 1.235 ms',
    applies: (f) => f.type.kind === 'int' && f.type.size >= 4 && DURATION_NAME.test(f.name) && !TIME_NAME.test(f.name) && (asNumber(f.value) ?? -1) >= 0,
    format: (f) => durationText(asNumber(f.value)! * unitOf(f.name)),
  },
  {
    name: 'time',
    describe: 'an integer named ts, ts_ns, ts_us or timestamp is a time since boot: seconds with 6 decimals',
    applies: (f) => f.type.kind === 'int' && f.type.size === 8 && TIME_NAME.test(f.name),
    format: (f) => (Number(BigInt(f.value as bigint | number) * BigInt(unitOf(f.name))) / 1e9).toFixed(6),
  },
  {
    name: 'syscall',
    describe: 'an integer named syscall, syscall_id or sysnum is a system call number: openat',
    applies: (f) => f.type.kind === 'int' && SYSCALL_NAME.test(f.name) && typeof f.value === 'number' && syscallName(f.value) !== undefined,
    format: (f) => syscallName(f.value as number)!,
  },
];

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
      return { names, kind: 'int', size, signed: (t.encoding & 1) !== 0 };
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

/** Field types per BTF and type: a stream of records asks for the same struct's fields each time. */
const fieldTypeCache = new WeakMap<Btf, Map<number, Map<string, FieldType>>>();

function cachedFieldTypes(btf: Btf, typeId: number): Map<string, FieldType> {
  let byType = fieldTypeCache.get(btf);
  if (!byType) fieldTypeCache.set(btf, (byType = new Map()));
  let fields = byType.get(typeId);
  if (!fields) byType.set(typeId, (fields = fieldTypes(btf, typeId)));
  return fields;
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
  const types = cachedFieldTypes(btf, typeId);
  const familyField = Object.keys(decoded).find((k) => FAMILY_NAME.test(k));
  const family = familyField === undefined ? undefined : asNumber(decoded[familyField]!);
  const result: { [field: string]: Decoded } = {};
  for (const [name, value] of Object.entries(decoded)) {
    const pair = /^(.*?)_?v?([46])$/.exec(name);
    const partner = pair ? Object.keys(decoded).find((k) => k !== name && k.replace(/_?v?[46]$/, '') === pair[1] && /[46]$/.test(k)) : undefined;
    const type = types.get(name);
    if (pair && partner && ADDRESS_NAME.test(name) && family !== undefined && type) {
      // One of a v4/v6 pair: only the member the family chooses is shown, under the pair's name.
      const wanted = family === AF_INET ? '4' : family === AF_INET6 ? '6' : undefined;
      if (wanted === pair[2]) result[pair[1]!] = formatField({ name, value, type }, btf.littleEndian);
      else if (wanted === undefined) result[name] = formatField({ name, value, type }, btf.littleEndian);
      continue;
    }
    result[name] = type ? formatField({ name, value, type }, btf.littleEndian) : value;
  }
  return result;
}
