// src/ctypes: C headers read into BTF with no compiler, checked against the C compiler's own layout and against values laid out by hand.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from '../support/test.js';
import { BTF_KIND, type Btf } from '../../src/btf/btf.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { parseCHeader, readCHeader } from '../../src/ctypes/header.js';
import { ObjectError } from '../../src/errors.js';
import { composite, LAYOUTS_H, member, memberNames, named, testCompilerLayout } from './compiler-layout.js';

function offsets(btf: Btf, struct: string): Record<string, number> {
  const t = composite(btf, named(btf, struct).id);
  return Object.fromEntries(memberNames(btf, t).map((name) => [name, member(btf, t, name)!.bitOffset / 8]));
}

function oneLineError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ObjectError, `not an ObjectError: ${String(error)}`);
    assert.ok(!error.message.includes('\n'), `more than one line: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

describe('the layout of test/fixtures/include/layouts.h, as the C compiler gives it', () => {
  const btf = readCHeader(LAYOUTS_H);
  testCompilerLayout(() => btf);

  test('the enumerators with their values and signedness', () => {
    const big = named(btf, 'big_values', BTF_KIND.ENUM64);
    assert.ok(big.kind === BTF_KIND.ENUM64 && big.kindFlag, 'signed ENUM64');
    assert.deepEqual(big.values, [
      { name: 'BIG_LOW', value: -1n },
      { name: 'BIG_HIGH', value: 0x7fffffffffffn },
    ]);
    const small = named(btf, 'small_state', BTF_KIND.ENUM);
    assert.ok(small.kind === BTF_KIND.ENUM && !small.kindFlag);
    assert.deepEqual(
      small.values.map((v) => v.value),
      [0n, 5n, 6n],
    );
  });

  test('typedef chains, function pointers and const char * keep their names and kinds', () => {
    const nested = composite(btf, named(btf, 'nested').id);
    const count = btf.type(member(btf, nested, 'count')!.type);
    assert.equal(count.kind === BTF_KIND.TYPEDEF && count.name, 'counter_t');
    const chain: string[] = [];
    for (let id = count.id; btf.type(id).kind === BTF_KIND.TYPEDEF; id = (btf.type(id) as { type: number }).type) chain.push(btf.type(id).name);
    assert.deepEqual(chain, ['counter_t', 'u32_alias', '__u32']);
    const callback = btf.type(member(btf, nested, 'callback')!.type);
    assert.ok(callback.kind === BTF_KIND.PTR);
    const proto = btf.type(callback.type);
    assert.ok(proto.kind === BTF_KIND.FUNC_PROTO && proto.params.length === 2 && proto.returnType === 0);
    const name = btf.type(member(btf, nested, 'name')!.type);
    assert.ok(name.kind === BTF_KIND.PTR && btf.type(name.type).kind === BTF_KIND.CONST);
    const grid = btf.type(member(btf, nested, 'grid')!.type);
    assert.ok(grid.kind === BTF_KIND.ARRAY && grid.nelems === 2 && (btf.type(grid.type) as { nelems: number }).nelems === 3);
  });
});

// ---------------------------------------------------------------------------------------------
// Headers as the tools have them.

const OPENSNOOP_H = `/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255
#define INVALID_UID ((uid_t)-1)
#define MAX_PATH_DEPTH 32

struct args_t {
\tconst char *fname;
\tint flags;
\t__u32 mode;
};

struct event {
\t/* user terminology for pid: */
\t__u64 ts;
\tpid_t pid;
\tuid_t uid;
\tint ret;
\tint flags;
\t__u32 mode;
\t__u64 callers[2];
\tchar comm[TASK_COMM_LEN];

\t/**
\t * Example: "/a/b/c/d"
\t * fname[]: "|d\\0     |c\\0     |b\\0     |a\\0     |       |..."
\t *           |NAME_MAX|
\t */
\tchar fname[NAME_MAX * MAX_PATH_DEPTH];
\t__u32 path_depth;
};

#endif /* __OPENSNOOP_H */
`;

const TCPCONNECT_H = `// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2020 Anton Protopopov
#ifndef __TCPCONNECT_H
#define __TCPCONNECT_H

/* The maximum number of items in maps */
#define MAX_ENTRIES 8192

/* The maximum number of ports to filter */
#define MAX_PORTS 64

#define TASK_COMM_LEN 16

struct ipv4_flow_key {
\t__u32 saddr;
\t__u32 daddr;
\t__u16 dport;
};

struct ipv6_flow_key {
\t__u8 saddr[16];
\t__u8 daddr[16];
\t__u16 dport;
};

struct event {
\tunion {
\t\t__u32 saddr_v4;
\t\t__u8 saddr_v6[16];
\t};
\tunion {
\t\t__u32 daddr_v4;
\t\t__u8 daddr_v6[16];
\t};
\tchar task[TASK_COMM_LEN];
\t__u64 ts_us;
\t__u32 af; // AF_INET or AF_INET6
\t__u32 pid;
\t__u32 uid;
\t__u16 dport;
\t__u64 mntns_id;
};

#endif /* __TCPCONNECT_H */
`;

const BOOTSTRAP_H = `/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Copyright (c) 2020 Facebook */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN\t 16
#define MAX_FILENAME_LEN 127

struct event {
\tint pid;
\tint ppid;
\tunsigned exit_code;
\tunsigned long long duration_ns;
\tchar comm[TASK_COMM_LEN];
\tchar filename[MAX_FILENAME_LEN];
\tbool exit_event;
};

#endif /* __BOOTSTRAP_H */
`;

/** Decodes hand-laid bytes through the header's BTF, then encodes the result back to the same bytes. */
function roundTrip(btf: Btf, struct: string, bytes: Buffer, expected: Record<string, unknown>): void {
  const id = named(btf, struct).id;
  assert.equal(btf.sizeOf(id), bytes.length, `sizeof(struct ${struct})`);
  const decoded = new BtfDecoder(btf).decode(id, bytes);
  assert.deepEqual(decoded, expected);
  assert.deepEqual(new BtfEncoder(btf).encode(id, decoded), bytes);
}

describe("tool headers decode the bytes their programs write", () => {
  test('opensnoop.h: struct event (pid_t, uid_t, a #define product as an array size) and struct args_t', () => {
    const btf = parseCHeader(OPENSNOOP_H, { file: 'opensnoop.h' });
    // Laid out by hand, as C does: callers is 8-aligned after mode; fname is 255 * 32 bytes; the size rounds to 8.
    const bytes = Buffer.alloc(8232);
    bytes.writeBigUInt64LE(123456789012n, 0);
    bytes.writeInt32LE(4242, 8);
    bytes.writeUInt32LE(1000, 12);
    bytes.writeInt32LE(-2, 16);
    bytes.writeInt32LE(0o1101, 20);
    bytes.writeUInt32LE(0o644, 24);
    bytes.writeBigUInt64LE(0xffffffff81000000n, 32);
    bytes.writeBigUInt64LE(0xffffffff81000010n, 40);
    bytes.write('cat', 48);
    bytes.write('passwd', 64);
    bytes.writeUInt32LE(2, 8224);
    roundTrip(btf, 'event', bytes, {
      ts: 123456789012n,
      pid: 4242,
      uid: 1000,
      ret: -2,
      flags: 0o1101,
      mode: 0o644,
      callers: [0xffffffff81000000n, 0xffffffff81000010n],
      comm: 'cat',
      fname: 'passwd',
      path_depth: 2,
    });
    const event = composite(btf, named(btf, 'event').id);
    assert.deepEqual(
      ['pid', 'uid'].map((m) => btf.type(member(btf, event, m)!.type).name),
      ['pid_t', 'uid_t'],
    );
    assert.deepEqual(offsets(btf, 'args_t'), { fname: 0, flags: 8, mode: 12 });
    assert.equal(btf.sizeOf(named(btf, 'args_t').id), 16);
  });

  test('tcpconnect.h: anonymous unions of an IPv4 and an IPv6 address, and the flow keys', () => {
    const btf = parseCHeader(TCPCONNECT_H, { file: 'tcpconnect.h' });
    const bytes = Buffer.alloc(80);
    bytes.set([10, 0, 0, 1], 0);
    bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 16);
    bytes.write('curl', 32);
    bytes.writeBigUInt64LE(5000000n, 48);
    bytes.writeUInt32LE(10, 56);
    bytes.writeUInt32LE(77, 60);
    bytes.writeUInt32LE(0, 64);
    bytes.writeUInt16LE(443, 68);
    bytes.writeBigUInt64LE(4026531840n, 72);
    roundTrip(btf, 'event', bytes, {
      saddr_v4: 0x0100000a,
      saddr_v6: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      daddr_v4: 0xb80d0120,
      daddr_v6: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      task: 'curl',
      ts_us: 5000000n,
      af: 10,
      pid: 77,
      uid: 0,
      dport: 443,
      mntns_id: 4026531840n,
    });
    assert.deepEqual(offsets(btf, 'ipv4_flow_key'), { saddr: 0, daddr: 4, dport: 8 });
    assert.equal(btf.sizeOf(named(btf, 'ipv4_flow_key').id), 12);
    assert.equal(btf.sizeOf(named(btf, 'ipv6_flow_key').id), 34);
  });

  test("bootstrap.h: 'unsigned' alone, unsigned long long, and bool", () => {
    const btf = parseCHeader(BOOTSTRAP_H, { file: 'bootstrap.h' });
    const bytes = Buffer.alloc(168);
    bytes.writeInt32LE(31337, 0);
    bytes.writeInt32LE(1, 4);
    bytes.writeUInt32LE(256, 8);
    bytes.writeBigUInt64LE(1500000n, 16);
    bytes.write('sh', 24);
    bytes.write('/bin/sh', 40);
    bytes[167] = 1;
    roundTrip(btf, 'event', bytes, { pid: 31337, ppid: 1, exit_code: 256, duration_ns: 1500000n, comm: 'sh', filename: '/bin/sh', exit_event: true });
  });

  test('shapes of other tools: static inline helpers, unused function-like macros, [0] arrays, pointers to undeclared structs, __int128, bitfields in a union', () => {
    const btf = parseCHeader(
      `#define KSNOOP_IP_FIX(ip) (ip - sizeof(kprobe_opcode_t))
#define BASE_EVENT_SIZE (size_t)(&((struct event*)0)->args)
#define MAX_TRACES 8
enum arg { KSNOOP_ARG1, KSNOOP_ARG2, KSNOOP_RETURN };
struct trace {
\tstruct btf *btf;
\tenum arg base_arg;
\t__u8 nr_traces;
\tchar buf[MAX_TRACES * 4];
\tchar buf_end[0];
\tstruct bpf_link *links[2];
};
static inline int base_arg_is_entry(enum arg base_arg)
{
\treturn base_arg != KSNOOP_RETURN ? KSNOOP_IP_FIX(1) : { 0 };
}
static __always_inline __u64 helper(void *p) { return *(__u64 *)p; }
struct bind_event {
\tunsigned __int128 addr;
\t__u16 port;
};
union bind_options {
\t__u8 data;
\tstruct {
\t\t__u8 freebind : 1;
\t\t__u8 transparent : 1;
\t\t__u8 reuseport : 1;
\t} fields;
};
int prototype(const char *fmt, ...);
extern unsigned long long counter;
typedef void (*handler_t)(int signal, void *context);
typedef int matrix_t[2][3];
struct uses { handler_t handle; matrix_t m; };
`,
      { file: 'shapes.h' },
    );
    assert.deepEqual(offsets(btf, 'trace'), { btf: 0, base_arg: 8, nr_traces: 12, buf: 13, buf_end: 45, links: 48 });
    assert.equal(btf.sizeOf(named(btf, 'trace').id), 64);
    const links = btf.type(member(btf, composite(btf, named(btf, 'trace').id), 'links')!.type);
    assert.ok(links.kind === BTF_KIND.ARRAY);
    const link = btf.type(links.type);
    assert.ok(link.kind === BTF_KIND.PTR && btf.type(link.type).kind === BTF_KIND.FWD && btf.type(link.type).name === 'bpf_link');
    assert.equal(btf.sizeOf(named(btf, 'bind_event').id), 32);
    const options = named(btf, 'bind_options', BTF_KIND.UNION);
    const bytes = Buffer.from([0b101]);
    assert.deepEqual(new BtfDecoder(btf).decode(options.id, bytes), { data: 5, fields: { freebind: 1, transparent: 0, reuseport: 1 } });
    assert.deepEqual(offsets(btf, 'uses'), { handle: 0, m: 8 });
    assert.equal(btf.sizeOf(named(btf, 'uses').id), 32);
    assert.equal(btf.typesNamed('base_arg_is_entry').length, 0, 'functions give no BTF');
  });

  test("C's base types and #defines of type names", () => {
    const btf = parseCHeader(
      `#define u64_t __u64
#define event_t struct mixed
struct mixed { short s; float f; double d; signed char c; long long ll; _Bool b; long double ld; unsigned short int us; u64_t big; };
typedef event_t mixed_t;
struct holder { event_t inner; mixed_t *next; const volatile int *__restrict p; };
`,
      { file: 'types.h' },
    );
    assert.deepEqual(offsets(btf, 'mixed'), { s: 0, f: 4, d: 8, c: 16, ll: 24, b: 32, ld: 48, us: 64, big: 72 });
    assert.equal(btf.sizeOf(named(btf, 'mixed').id), 80);
    const mixed = composite(btf, named(btf, 'mixed').id);
    const kinds = mixed.members.map((m) => {
      const t = btf.type(m.type);
      return `${btf.type(btf.resolve(m.type)).kind === BTF_KIND.FLOAT ? 'float' : 'int'} ${t.name}`;
    });
    assert.deepEqual(kinds, ['int short', 'float float', 'float double', 'int signed char', 'int long long', 'int _Bool', 'float long double', 'int unsigned short', 'int __u64']);
    assert.deepEqual(offsets(btf, 'holder'), { inner: 0, next: 80, p: 88 });
  });

  test('big-endian BTF counts bitfields from the most significant bit, as gcc lays them out there', () => {
    const btf = parseCHeader('struct flags { __u8 low : 3; __u8 high : 5; __be16 port; };', { littleEndian: false });
    assert.equal(btf.littleEndian, false);
    const id = named(btf, 'flags').id;
    assert.deepEqual(new BtfDecoder(btf).decode(id, Buffer.from([(5 << 5) | 17, 0, 0x01, 0xbb])), { low: 5, high: 17, port: 443 });
  });
});

test('readCHeader reads the header and its "..." neighbours from disk, relative to the file that includes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctypes-'));
  try {
    mkdirSync(join(dir, 'include'));
    writeFileSync(join(dir, 'tool.h'), '#include "include/common.h"\nstruct event { struct common c; __u32 pid; };\n');
    writeFileSync(join(dir, 'include', 'common.h'), '#include "limits.h"\nstruct common { char comm[TASK_COMM_LEN]; };\n');
    writeFileSync(join(dir, 'include', 'limits.h'), '#define TASK_COMM_LEN 16\n');
    const btf = readCHeader(join(dir, 'tool.h'));
    assert.deepEqual(offsets(btf, 'event'), { c: 0, pid: 16 });
    writeFileSync(join(dir, 'include', 'common.h'), '#include "missing.h"\n');
    oneLineError(() => readCHeader(join(dir, 'tool.h')), new RegExp(`^${join(dir, 'include', 'common.h')}:1: cannot read '#include "missing\\.h"' \\(there is no missing\\.h next to `));
    oneLineError(() => readCHeader(join(dir, 'nothing.h')), /nothing\.h: no such file$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------

describe("names the header uses and does not declare come from the object's BTF", () => {
  function objectBtf(): Btf {
    const w = new BtfWriter();
    // Named as gcc names it (vmlinux.h's), unlike the built-in 'unsigned long long': which one was used shows.
    const ull = w.int('long long unsigned int', 8);
    w.typedef('u64', ull);
    const u32 = w.int('unsigned int', 4);
    const u16 = w.int('unsigned short', 2);
    const u8 = w.int('unsigned char', 1);
    w.composite('struct', 'sock_info', 8, [
      { name: 'addr', type: u32, bitOffset: 0 },
      { name: 'port', type: u16, bitOffset: 32 },
    ]);
    // Packed: 9 bytes, its u64 at byte 1. Its alignment is 1, which only its layout shows.
    w.composite('struct', 'packed_pair', 9, [
      { name: 'tag', type: u8, bitOffset: 0 },
      { name: 'value', type: ull, bitOffset: 8 },
    ]);
    w.enumeration('', 4, [{ name: 'TASK_COMM_LEN', value: 16n }], false);
    return w.finish();
  }

  const HEADER = `struct event {
\tu64 ts;
\tstruct sock_info sock;
\t__u8 flag;
\tstruct packed_pair pair;
\tchar comm[TASK_COMM_LEN];
\tstruct task_struct *task;
};
`;

  test('a typedef (u64), structs used by value (their alignment from their layout), an enumerator as an array size', () => {
    const base = objectBtf();
    const btf = parseCHeader(HEADER, { base });
    assert.deepEqual(offsets(btf, 'event'), { ts: 0, sock: 8, flag: 16, pair: 17, comm: 26, task: 48 });
    assert.equal(btf.sizeOf(named(btf, 'event').id), 56);
    const event = composite(btf, named(btf, 'event').id);
    const ts = btf.type(member(btf, event, 'ts')!.type);
    assert.equal(ts.kind === BTF_KIND.TYPEDEF && btf.type(ts.type).name, 'long long unsigned int');
    const sock = composite(btf, member(btf, event, 'sock')!.type);
    assert.deepEqual(
      sock.members.map((m) => m.name),
      ['addr', 'port'],
    );
    const task = btf.type(member(btf, event, 'task')!.type);
    assert.ok(task.kind === BTF_KIND.PTR && btf.type(task.type).kind === BTF_KIND.FWD, 'a pointer to an unknown struct points to a forward declaration');
    const bytes = Buffer.alloc(56);
    bytes.writeBigUInt64LE(99n, 0);
    bytes.writeUInt32LE(0x0100007f, 8);
    bytes.writeUInt16LE(8080, 12);
    bytes[16] = 1;
    bytes[17] = 7;
    bytes.writeBigUInt64LE(1n << 40n, 18);
    bytes.write('nginx', 26);
    bytes.writeBigUInt64LE(0xffff888000001000n, 48);
    const decoded = new BtfDecoder(btf).decode(event.id, bytes);
    assert.deepEqual(decoded, { ts: 99n, sock: { addr: 0x0100007f, port: 8080 }, flag: 1, pair: { tag: 7, value: 1n << 40n }, comm: 'nginx', task: '0xffff888000001000' });
    assert.deepEqual(new BtfEncoder(btf).encode(event.id, decoded), bytes);
  });

  test('without the base, the same header is refused, naming what is missing', () => {
    oneLineError(() => parseCHeader(HEADER, { file: 'needs.h' }), /^needs\.h:3: cannot read 'struct sock_info sock' \(struct sock_info is declared but not defined, here or in the object's BTF\)$/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the preprocessor: conditions, constant expressions, includes', () => {
  const COMMON_H = `#ifndef COMMON_H
#define COMMON_H
#pragma once
#define TASK_COMM_LEN 16
#define MINORBITS 20
#define MINORMASK ((1U << MINORBITS) - 1)
#define INVALID_UID ((uid_t)-1)
#define MKDEV(ma, mi) (((ma) << MINORBITS) | (mi))
struct common { char comm[TASK_COMM_LEN]; };
#endif
`;
  const GUARDED_H = `#ifndef GUARDED_H
#define GUARDED_H
struct guarded { int x; };
#endif
`;
  const MAIN_H = `#include "common.h"
#include "common.h"
#include <linux/types.h>
#define GUARDED_H
#include "sub/guarded.h"
#define FEATURE 2
#if FEATURE > 1 && defined(TASK_COMM_LEN) && !defined MKDEV_UNDEFINED
#define CHOSEN 1
#elif 1 / 0
#define CHOSEN 2
#else
#define CHOSEN 3
#endif
#ifdef UNDEFINED_THING
#error "never read"
#endif
#ifndef UNDEFINED_THING
struct seen { int x; };
#else
struct not_seen { int x; };
#endif
#if UNDEFINED_NAME == 0 && (0 && 1 / 0) == 0 && __has_attribute(packed) == 0
#define UNDEFINED_IS_ZERO 1
#endif
#if INVALID_UID == -1
#define UID_IN_IF 1
#endif
#undef FEATURE
#ifdef FEATURE
struct not_seen_either { int x; };
#endif
#if 0
this is not C ' at all {
#if 1
#error "nested in a skipped group"
#endif
#endif
#define EXTRA \\
\t(TASK_COMM_LEN + \\
\t 1)

enum unsigned_consts {
\tU_INVALID = INVALID_UID,
\tU_MASK = MINORMASK,
\tU_SIZE = sizeof(struct common) * 2,
\tU_TERNARY = CHOSEN == 1 ? 10 : 20,
\tU_MIXED = (-1 < 1U),
\tU_FLAGS = UNDEFINED_IS_ZERO | UID_IN_IF << 1,
\tU_HEX = 0x10 | 010 | 0b1,
};
enum signed_consts { S_DIV = -5 / 2, S_MOD = -5 % 3, S_SHIFT = -16 >> 2, S_NOT = ~0, S_BOOL = !0 + !5, S_CHAR = 'A', S_CAST = (signed char)200 };
enum wide { W_BIG = 1ULL << 40 };
struct sized {
\tchar a[EXTRA * 2];
\t__u8 b[MINORBITS % 7];
\tchar c[sizeof(__u64) + sizeof(int[3])];
};
`;

  const files: Record<string, string> = { 'common.h': COMMON_H, 'sub/guarded.h': GUARDED_H };

  function read(calls: string[]) {
    return (name: string, from: string): string | undefined => {
      calls.push(`${from} -> ${name}`);
      return files[name];
    };
  }

  test('#if/#elif/#else/#ifdef/#ifndef choose, #undef undefines, skipped groups are not read', () => {
    const btf = parseCHeader(MAIN_H, { file: 'main.h', readInclude: read([]) });
    assert.ok(btf.typesNamed('seen', BTF_KIND.STRUCT).length === 1);
    assert.equal(btf.typesNamed('not_seen').length, 0);
    assert.equal(btf.typesNamed('not_seen_either').length, 0);
  });

  test('constant expressions as C evaluates them, with casts like ((uid_t)-1) and sizeof', () => {
    const btf = parseCHeader(MAIN_H, { file: 'main.h', readInclude: read([]) });
    const values = (name: string) => {
      const t = btf.typesNamed(name).find((x) => x.kind === BTF_KIND.ENUM || x.kind === BTF_KIND.ENUM64);
      assert.ok(t && (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64));
      return { size: t.size, signed: t.kindFlag, values: Object.fromEntries(t.values.map((v) => [v.name, v.value])) };
    };
    assert.deepEqual(values('unsigned_consts'), {
      size: 4,
      signed: false,
      values: { U_INVALID: 0xffffffffn, U_MASK: 0xfffffn, U_SIZE: 32n, U_TERNARY: 10n, U_MIXED: 0n, U_FLAGS: 3n, U_HEX: 0x19n },
    });
    assert.deepEqual(values('signed_consts'), { size: 4, signed: true, values: { S_DIV: -2n, S_MOD: -2n, S_SHIFT: -4n, S_NOT: -1n, S_BOOL: 1n, S_CHAR: 65n, S_CAST: -56n } });
    assert.deepEqual(values('wide'), { size: 8, signed: false, values: { W_BIG: 1n << 40n } });
    assert.deepEqual(offsets(btf, 'sized'), { a: 0, b: 34, c: 40 });
    assert.equal(btf.sizeOf(named(btf, 'sized').id), 60);
  });

  test('#include "..." reads each neighbour once, relative to the including file; include guards hold', () => {
    const calls: string[] = [];
    const btf = parseCHeader(MAIN_H, { file: 'tools/main.h', readInclude: read(calls) });
    assert.deepEqual(calls, ['tools/main.h -> common.h', 'tools/main.h -> sub/guarded.h']);
    assert.equal(btf.typesNamed('common', BTF_KIND.STRUCT).length, 1);
    assert.equal(btf.typesNamed('guarded').length, 0, 'GUARDED_H was defined before the include');
  });

  test('a missing neighbour, an unbalanced #if, #error and a function-like macro in #if are one-line errors', () => {
    oneLineError(() => parseCHeader('\n#include "nowhere.h"\n', { file: 'a/b.h' }), /^a\/b\.h:2: cannot read '#include "nowhere\.h"' \(there is no nowhere\.h next to a\/b\.h\)$/);
    oneLineError(() => parseCHeader('#ifdef X\nstruct a { int b; };\n', { file: 'x.h' }), /^x\.h:1: this #if has no #endif before the end of the file$/);
    oneLineError(() => parseCHeader('#endif\n', { file: 'x.h' }), /^x\.h:1: cannot read '#endif' \(#endif without #if\)$/);
    oneLineError(() => parseCHeader('\n#error "unsupported target"\n', { file: 'x.h' }), /^x\.h:2: #error "unsupported target"$/);
    oneLineError(() => parseCHeader('#define V(a, b) ((a) << 8 | (b))\n#if V(5, 4) > 1\n#endif\n', { file: 'x.h' }), /^x\.h:2: cannot read '#if V\(5, 4\) > 1' \('V' is a function-like macro, which this reader does not expand\)$/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('declarations the reader cannot read are one error naming the file and line', () => {
  test('an unterminated struct', () => {
    oneLineError(
      () => parseCHeader('#define X 1\n\nstruct event {\n\t__u64 ts;\n\tint pid;\n', { file: 'opensnoop.h' }),
      /^opensnoop\.h:3: cannot read 'struct event \{ __u64 ts; int pid;' \(expected '\}' to close the '\{' on line 3 before the end of the file\)$/,
    );
  });

  test("an array size with no ']'", () => {
    oneLineError(() => parseCHeader('#define TASK_COMM_LEN 16\nstruct event {\n\tint pid;\n\tchar comm[TASK_COMM_LEN;\n};\n', { file: 'opensnoop.h' }), /^opensnoop\.h:4: cannot read 'char comm\[TASK_COMM_LEN' \(expected '\]'\)$/);
  });

  test('an unknown type name, with the closest known names', () => {
    oneLineError(() => parseCHeader('struct event {\n\t__u64 ts;\n\tu46 delta;\n};\n', { file: 'tool.h' }), /^tool\.h:3: cannot read 'u46 delta' \(unknown type name 'u46'; did you mean 'u16'(, '[\w]+')*\?\)$/);
    oneLineError(() => parseCHeader('typedef unsigned int pid_type;\nstruct e { pid_tpye p; };\n', { file: 'tool.h' }), /^tool\.h:2: cannot read 'pid_tpye p' \(unknown type name 'pid_tpye'; did you mean ('\w+', )*'pid_type'/);
  });

  test('a function-like macro used as a type', () => {
    oneLineError(
      () => parseCHeader('#define DECLARE_FIELD(x) __u32 x\nstruct event {\n\tDECLARE_FIELD(pid);\n};\n', { file: 'tool.h' }),
      /^tool\.h:3: cannot read 'DECLARE_FIELD\(pid\)' \('DECLARE_FIELD' is a function-like macro, which this reader does not expand\)$/,
    );
  });

  test('a constant nobody defines, and an error inside an included file, name where they are', () => {
    oneLineError(() => parseCHeader('#define TASK_COMM_LEN 16\nstruct e { char comm[TASK_COM_LEN]; };\n', { file: 'tool.h' }), /^tool\.h:2: cannot read 'char comm\[TASK_COM_LEN\]' \('TASK_COM_LEN' is not a constant: .*did you mean 'TASK_COMM_LEN'/);
    oneLineError(() => parseCHeader('#include "inner.h"\n', { file: 'dir/tool.h', readInclude: () => '\n\nstruct broken { int a b; };\n' }), /^dir\/inner\.h:3: cannot read 'int a b' \(expected ';'\)$/);
  });

  test('C that compilers refuse: bitfields too wide, two definitions, a struct in itself', () => {
    oneLineError(() => parseCHeader('struct a { __u8 x : 9; };'), /^header\.h:1: cannot read '__u8 x : 9' \(a width of 9: the type has 8 bits\)$/);
    oneLineError(() => parseCHeader('struct a { int x; };\nstruct a { int y; };'), /^header\.h:2: cannot read 'struct a' \(struct a is defined twice\)$/);
    oneLineError(() => parseCHeader('struct a { int x; struct a inner; };'), /cannot read 'struct a inner' \(struct a cannot contain itself/);
    // An anonymous union's members are the outer struct's: a name in both is one name twice (and one key in a decoded value).
    oneLineError(() => parseCHeader('struct a {\n\tint x;\n\tunion { int x; long y; };\n};'), /^header\.h:3: cannot read 'union \{ int x; long y; \}' \(a second member named 'x'\)$/);
  });

  test('every prefix of a real header either reads or fails with one ObjectError; nothing hangs', () => {
    for (const header of [OPENSNOOP_H, TCPCONNECT_H, BOOTSTRAP_H]) {
      for (let end = 0; end <= header.length; end += 3) {
        try {
          parseCHeader(header.slice(0, end));
        } catch (error) {
          assert.ok(error instanceof ObjectError, `prefix of ${end} characters: ${String(error)}`);
          assert.ok(!error.message.includes('\n'));
        }
      }
    }
  });

  test('hostile nesting and expanding macros are bounded', () => {
    const deep = (open: string, n: number) => open.repeat(n);
    const cases = [
      `struct a { ${deep('struct { ', 5000)}`,
      `char x[${deep('(', 100000)}1];`,
      `int ${deep('*', 100000)}p;`,
      `int ${deep('(', 20000)}p;`,
      `#define A0 x x\n${Array.from({ length: 40 }, (_, i) => `#define A${i + 1} A${i} A${i}`).join('\n')}\nA40`,
      `#define LOOP LOOP\nstruct a { char x[LOOP]; };`,
      `${deep('typedef int t;\n', 10)}${Array.from({ length: 3000 }, (_, i) => `typedef t${i === 0 ? '' : i - 1} t${i};`).join('\n')}`,
    ];
    for (const text of cases) {
      const started = Date.now();
      try {
        parseCHeader(text);
      } catch (error) {
        assert.ok(error instanceof ObjectError, String(error));
      }
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms: ${text.slice(0, 40)}`);
    }
  });
});
