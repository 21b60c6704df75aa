// Names a header may use without declaring them: C's own types (named as clang names them in BTF), the kernel's and libc's fixed-width and system typedefs, and the target's predefined macros.
import type { CFloat, CInt, CType, CVoid } from './types.js';

const VOID: CVoid = { kind: 'void' };

const int = (name: string, size: number, signed: boolean, bool = false): CInt => ({ kind: 'int', name, size, signed, bool });
const float = (name: string, size: number): CFloat => ({ kind: 'float', name, size });

// One object per C type: typedefs of the same type compare equal, and each becomes one BTF record.
const CHAR = int('char', 1, true);
const SIGNED_CHAR = int('signed char', 1, true);
const UNSIGNED_CHAR = int('unsigned char', 1, false);
const BOOL = int('_Bool', 1, false, true);
const INT128 = int('__int128', 16, true);
const UNSIGNED_INT128 = int('unsigned __int128', 16, false);
const FLOAT = float('float', 4);
const DOUBLE = float('double', 8);
const LONG_DOUBLE = float('long double', 16);
const INTEGERS = new Map<string, CInt>(
  (
    [
      ['short', 2],
      ['int', 4],
      ['long', 8],
      ['long long', 8],
    ] as const
  ).flatMap(([name, size]) => [
    [`signed ${name}`, int(name, size, true)],
    [`unsigned ${name}`, int(`unsigned ${name}`, size, false)],
  ]),
);

export type Length = 'short' | 'long' | 'long long';

/** The type a list of keywords names (`unsigned long`, `long double`...), or why they name none. */
export function keywordType(keyword: string | undefined, signedness: 'signed' | 'unsigned' | undefined, length: Length | undefined): CType | string {
  const modified = signedness !== undefined || length !== undefined;
  switch (keyword) {
    case 'void':
      return modified ? `'${signedness ?? length}' does not go with 'void'` : VOID;
    case '_Bool':
      return modified ? `'${signedness ?? length}' does not go with '_Bool'` : BOOL;
    case 'float':
      return modified ? `'${signedness ?? length}' does not go with 'float'` : FLOAT;
    case 'double':
      if (signedness !== undefined || (length !== undefined && length !== 'long')) return `'${signedness ?? length}' does not go with 'double'`;
      return length === 'long' ? LONG_DOUBLE : DOUBLE;
    case '__int128':
      if (length !== undefined) return `'${length}' does not go with '__int128'`;
      return signedness === 'unsigned' ? UNSIGNED_INT128 : INT128;
    case 'char':
      if (length !== undefined) return `'${length}' does not go with 'char'`;
      return signedness === undefined ? CHAR : signedness === 'signed' ? SIGNED_CHAR : UNSIGNED_CHAR;
    default:
      if (keyword === undefined && !modified) return 'expected a type';
      return INTEGERS.get(`${signedness ?? 'signed'} ${length ?? 'int'}`)!;
  }
}

/** Keywords that name or modify a base type. */
export const TYPE_KEYWORDS: ReadonlySet<string> = new Set(['void', '_Bool', 'char', 'short', 'int', 'long', 'float', 'double', '__int128', 'signed', '__signed', '__signed__', 'unsigned']);

/**
 * The typedefs every tool header takes for granted, with the sizes the BPF program sees: the kernel's
 * (vmlinux.h: __u64, u32, __be16, pid_t, dev_t of 4 bytes, umode_t) and libc's fixed-width ones (LP64).
 */
export const BUILTIN_TYPEDEFS = `
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef unsigned __int128 __u128;
typedef __int128 __s128;
typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;
typedef __u128 u128;
typedef __s128 s128;
typedef __u16 __be16;
typedef __u16 __le16;
typedef __u32 __be32;
typedef __u32 __le32;
typedef __u64 __be64;
typedef __u64 __le64;
typedef __u16 __sum16;
typedef __u32 __wsum;
typedef __u64 __aligned_u64 __attribute__((aligned(8)));
typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef unsigned short uint16_t;
typedef short int16_t;
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned long uintptr_t;
typedef long intptr_t;
typedef long ptrdiff_t;
typedef unsigned long size_t;
typedef long ssize_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef long time_t;
typedef long long loff_t;
typedef long off_t;
typedef unsigned short umode_t;
typedef unsigned int mode_t;
typedef __u32 dev_t;
typedef __u64 sector_t;
typedef _Bool bool;
`;

/** What gcc and clang define before the first line that a header may test: the byte order, LP64, true and false. */
export function predefinedMacros(littleEndian: boolean): ReadonlyArray<readonly [string, string]> {
  return [
    ['__ORDER_LITTLE_ENDIAN__', '1234'],
    ['__ORDER_BIG_ENDIAN__', '4321'],
    ['__BYTE_ORDER__', littleEndian ? '__ORDER_LITTLE_ENDIAN__' : '__ORDER_BIG_ENDIAN__'],
    [littleEndian ? '__LITTLE_ENDIAN__' : '__BIG_ENDIAN__', '1'],
    ['__LP64__', '1'],
    ['__CHAR_BIT__', '8'],
    ['__SIZEOF_INT__', '4'],
    ['__SIZEOF_LONG__', '8'],
    ['__SIZEOF_POINTER__', '8'],
    ['__STDC__', '1'],
    ['NULL', '((void *)0)'],
    ['true', '1'],
    ['false', '0'],
  ];
}
