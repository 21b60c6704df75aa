// src/abi.ts: every constant and offset compared with the kernel's UAPI headers, compiled with cc.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from '../support/test.js';
import * as abi from '../../src/abi.js';
import { tool } from '../support/tools.js';

/** Names the installed headers (linux-libc-dev of Debian 12, from Linux 6.1) do not have yet. */
const NEWER_THAN_HEADERS = new Set(['BPF_MAP_TYPE_CGRP_STORAGE', 'BPF_MAP_TYPE_ARENA', 'BPF_PROG_TYPE_NETFILTER', 'PROG_LOAD.log_true_size', 'BTF_LOAD.btf_log_true_size']);

/** [what, our value, C expression]. */
const checks: Array<[string, number, string]> = [];
const add = (what: string, value: number, expression: string): void => {
  if (!NEWER_THAN_HEADERS.has(what)) checks.push([what, value, expression]);
};

for (const [name, value] of Object.entries(abi.BPF_CMD)) add(`BPF_${name}`, value, `BPF_${name}`);
for (const [name, value] of Object.entries(abi.MAP_TYPE)) add(`BPF_MAP_TYPE_${name}`, value, `BPF_MAP_TYPE_${name}`);
for (const [name, value] of Object.entries(abi.PROG_TYPE)) add(`BPF_PROG_TYPE_${name}`, value, `BPF_PROG_TYPE_${name}`);
for (const [name, value] of Object.entries(abi.ATTACH_TYPE)) add(`BPF_${name}`, value, `BPF_${name}`);
for (const [name, value] of Object.entries(abi.BPF_FUNC)) add(`BPF_FUNC_${name}`, value, `BPF_FUNC_${name}`);
for (const [name, value] of Object.entries(abi.LINK_TYPE)) add(`BPF_LINK_TYPE_${name}`, value, `BPF_LINK_TYPE_${name}`);
for (const name of ['BPF_ANY', 'BPF_NOEXIST', 'BPF_EXIST', 'BPF_F_NO_PREALLOC', 'BPF_F_RDONLY_PROG', 'BPF_F_MMAPABLE', 'BPF_F_KPROBE_MULTI_RETURN', 'BPF_OBJ_NAME_LEN', 'BPF_TAG_SIZE'] as const) {
  add(name, abi[name], name);
}
for (const name of ['BPF_PSEUDO_MAP_FD', 'BPF_PSEUDO_MAP_VALUE', 'BPF_PSEUDO_BTF_ID', 'BPF_PSEUDO_FUNC', 'BPF_PSEUDO_CALL', 'BPF_PSEUDO_KFUNC_CALL', 'BPF_RINGBUF_HDR_SZ'] as const) {
  add(name, abi[name], name);
}
add('BPF_RINGBUF_BUSY_BIT', abi.BPF_RINGBUF_BUSY_BIT >>> 0, 'BPF_RINGBUF_BUSY_BIT');
add('BPF_RINGBUF_DISCARD_BIT', abi.BPF_RINGBUF_DISCARD_BIT, 'BPF_RINGBUF_DISCARD_BIT');
add('FUNC_INFO_SIZE', abi.FUNC_INFO_SIZE, 'sizeof(struct bpf_func_info)');
add('LINE_INFO_SIZE', abi.LINE_INFO_SIZE, 'sizeof(struct bpf_line_info)');

/** The union bpf_attr member each layout's fields live in ('' for the command's anonymous struct). */
const ATTR_MEMBERS: Record<keyof typeof abi.ATTR, (field: string) => string> = {
  MAP_CREATE: (f) => f,
  MAP_ELEM: (f) => f,
  MAP_BATCH: (f) => `batch.${f}`,
  MAP_FREEZE: (f) => f,
  PROG_LOAD: (f) => f,
  OBJ: (f) => f,
  GET_ID: (f) => (f === 'id' ? 'prog_id' : f),
  INFO_BY_FD: (f) => `info.${f}`,
  RAW_TRACEPOINT_OPEN: (f) => `raw_tracepoint.${f}`,
  BTF_LOAD: (f) => f,
  LINK_CREATE: (f) => {
    const nested = /^(perf_event|kprobe_multi|tracing)_(.+)$/.exec(f);
    return nested ? `link_create.${nested[1]}.${nested[2]}` : `link_create.${f}`;
  },
  PROG_BIND_MAP: (f) => `prog_bind_map.${f}`,
};
for (const [layout, fields] of Object.entries(abi.ATTR) as Array<[keyof typeof abi.ATTR, Record<string, number>]>) {
  for (const [field, offset] of Object.entries(fields)) {
    if (field === 'size') continue;
    add(`${layout}.${field}`, offset, `offsetof(union bpf_attr, ${ATTR_MEMBERS[layout](field)})`);
  }
}
const structs: Array<[string, Record<string, number>, string]> = [
  ['MAP_INFO', abi.MAP_INFO, 'struct bpf_map_info'],
  ['PROG_INFO', abi.PROG_INFO, 'struct bpf_prog_info'],
  ['LINK_INFO', { ...abi.LINK_INFO, union: 16 }, 'struct bpf_link_info'],
  ['BTF_INFO', abi.BTF_INFO, 'struct bpf_btf_info'],
  ['PERF_EVENT_ATTR', abi.PERF_EVENT_ATTR, 'struct perf_event_attr'],
  ['PERF_MMAP_PAGE', abi.PERF_MMAP_PAGE, 'struct perf_event_mmap_page'],
];
for (const [name, fields, type] of structs) {
  for (const [field, offset] of Object.entries(fields)) {
    if (name === 'LINK_INFO' && field === 'union') add(`${name}.union`, offset, `offsetof(${type}, raw_tracepoint)`);
    else if (field === 'size') add(`${name}.size`, offset, name === 'PERF_EVENT_ATTR' ? 'PERF_ATTR_SIZE_VER5' : `sizeof(${type})`);
    else if (name === 'PERF_EVENT_ATTR' && field === 'attr_size') add(`${name}.attr_size`, offset, `offsetof(${type}, size)`);
    else if (name === 'PERF_EVENT_ATTR' && field === 'flags') add(`${name}.flags`, offset, `offsetof(${type}, read_format) + 8`);
    else add(`${name}.${field}`, offset, `offsetof(${type}, ${field})`);
  }
}
for (const [name, value] of Object.entries(abi.PERF_TYPE)) add(`PERF_TYPE_${name}`, value, `PERF_TYPE_${name}`);
add('PERF_COUNT_SW_BPF_OUTPUT', abi.PERF_COUNT_SW_BPF_OUTPUT, 'PERF_COUNT_SW_BPF_OUTPUT');
add('PERF_SAMPLE_RAW', abi.PERF_SAMPLE_RAW, 'PERF_SAMPLE_RAW');
add('PERF_FLAG_FD_CLOEXEC', abi.PERF_FLAG_FD_CLOEXEC, 'PERF_FLAG_FD_CLOEXEC');
for (const [name, value] of Object.entries(abi.PERF_EVENT_IOC)) add(`PERF_EVENT_IOC_${name}`, value, `PERF_EVENT_IOC_${name}`);
for (const [name, value] of Object.entries(abi.PERF_RECORD)) add(`PERF_RECORD_${name}`, value, `PERF_RECORD_${name}`);
// Bitfields have no offsetof: the C side sets one and reads the flags word back.
for (const [name, bit] of Object.entries(abi.PERF_ATTR_FLAG)) {
  const field = name.toLowerCase();
  add(`PERF_ATTR_FLAG.${name}`, Number(bit), `({ struct perf_event_attr a = { .${field} = 1 }; *(unsigned long long *)((char *)&a + ${abi.PERF_EVENT_ATTR.flags}); })`);
}
add('PERF_EVENT_HEADER_SIZE', abi.PERF_EVENT_HEADER_SIZE, 'sizeof(struct perf_event_header)');

let dir = '';
let actual = new Map<string, number>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkb-abi-'));
  const lines = checks.map(([what, , expression]) => `  printf("%s %lld\\n", "${what}", (long long)(${expression}));`);
  writeFileSync(
    join(dir, 'abi.c'),
    `#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\n#include <linux/perf_event.h>\nint main(void) {\n${lines.join('\n')}\n  return 0;\n}\n`,
  );
  execFileSync(tool('cc', 'CC'), ['-o', join(dir, 'abi'), join(dir, 'abi.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = execFileSync(join(dir, 'abi'), { encoding: 'utf8' });
  actual = new Map(out.trim().split('\n').map((l) => {
    const [what, value] = l.split(' ');
    return [what!, Number(value)];
  }));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every constant and offset in src/abi.ts matches <linux/bpf.h> and <linux/perf_event.h>', () => {
  assert.ok(checks.length > 200, `${checks.length} checks`);
  const wrong = checks.filter(([what, value]) => actual.get(what) !== value).map(([what, value]) => `${what}: ours ${value}, headers ${actual.get(what)}`);
  assert.deepEqual(wrong, []);
});

