// src/values/formats.ts: each value rule on its own, and a tcpconnect-shaped record formatted whole.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { VALUE_RULES, durationText, formatField, formatRecord, integerText, ipv6Text, syscallKey, syscallKeyed, type FieldType } from '../../src/values/formats.js';
import { cellText, columns } from '../../src/cli/format.js';
import { fixtureRecordTypes } from './helpers.js';
import { syscallName } from '../../src/values/syscalls.js';

const int = (size: number, signed = false, names: string[] = []): FieldType => ({ names, kind: 'int', size, signed });
const bytes16: FieldType = { names: [], kind: 'array', size: 16, signed: false, elements: 16, elementSize: 1 };
const shown = (name: string, value: number | bigint | number[], type: FieldType, littleEndian = true) => formatField({ name, value, type }, littleEndian);

describe('value rules', () => {
  test('every rule has a name and a description, and the names are unique', () => {
    assert.equal(new Set(VALUE_RULES.map((r) => r.name)).size, VALUE_RULES.length);
    for (const r of VALUE_RULES) assert.ok(r.describe.length > 20, r.name);
  });

  test('ipv4: a u32 address stored in network order, in either byte order of the object', () => {
    assert.equal(shown('saddr', 0x0100007f, int(4)), '127.0.0.1');
    assert.equal(shown('daddr_v4', 0x0a00a8c0, int(4)), '192.168.0.10');
    assert.equal(shown('saddr', 0x7f000001, int(4), false), '127.0.0.1');
    assert.equal(shown('pid', 0x0100007f, int(4)), 0x0100007f, 'not an address by name');
    assert.equal(shown('addr', -1, int(4, true)), -1, 'a signed integer is no address');
  });

  test('ipv6: 16 bytes named like an address, compressed as RFC 5952 says', () => {
    assert.equal(shown('daddr_v6', [...Array(15).fill(0), 1], bytes16), '::1');
    assert.equal(ipv6Text([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), '2001:db8::1:0:0:1');
    assert.equal(ipv6Text([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1]), '2001:db8:1:0:1:1:1:1', 'a single zero group stays');
    assert.equal(ipv6Text([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]), '::ffff:10.0.0.1');
    assert.equal(ipv6Text(Array(16).fill(0)), '::');
  });

  test('port: __be16 is swapped to host order; a plain u16 is left as it is', () => {
    assert.equal(shown('dport', 0x5000, int(2, false, ['__be16', '__u16', 'unsigned short'])), 80);
    assert.equal(shown('dport', 80, int(2, false, ['__u16'])), 80);
  });

  test('errno: negative returns get the errno name; 0, positives and other names do not', () => {
    assert.equal(shown('ret', -2, int(4, true)), '-2 ENOENT');
    assert.equal(shown('err', -13, int(4, true)), '-13 EACCES');
    assert.equal(shown('ret', 3, int(4, true)), 3);
    assert.equal(shown('fd', -2, int(4, true)), -2);
    assert.equal(shown('ret', -100000, int(8, true)), -100000, 'beyond the errno range');
  });

  test('duration and time: units from the name', () => {
    assert.equal(shown('delta_ns', 1234567n, int(8)), '1.235 ms');
    assert.equal(shown('lat_us', 2500, int(4)), '2.500 ms');
    assert.equal(shown('delta', 999, int(8)), '999 ns');
    assert.equal(durationText(3e9), '3.000 s');
    assert.equal(shown('ts', 12345678901234n, int(8)), '12345.678901');
    assert.equal(shown('ts_us', 12345678901n, int(8)), '12345.678901');
  });

  test('syscall: a number named syscall_id is its name on this architecture', () => {
    const nr = [...Array(500).keys()].find((n) => syscallName(n) === 'openat');
    assert.ok(nr !== undefined, `this architecture (${process.arch}) has a table with openat`);
    assert.equal(shown('syscall_id', nr, int(4)), 'openat');
    assert.equal(syscallName(257, 'x64'), 'openat');
    assert.equal(syscallName(56, 'arm64'), 'openat');
    assert.equal(syscallName(99999, 'x64'), undefined);
  });

  test("a syscount-shaped map: plain integer keys used only on raw_syscalls' sys_enter, or only on sys_exit, are system calls", () => {
    const keyed = (users: Array<'sys_enter' | 'sys_exit' | undefined>, integerKey = true, countByProcess = false, hash = true) => syscallKeyed({ hash, integerKey, users, countByProcess });
    assert.equal(keyed(['sys_exit']), true, "syscount's data");
    assert.equal(keyed(['sys_enter', 'sys_enter']), true);
    assert.equal(keyed(['sys_enter', 'sys_exit']), false, "used at both, keyed by thread: syscount's start");
    assert.equal(keyed(['sys_exit', undefined]), false, 'a program elsewhere uses it too');
    assert.equal(keyed([]), false, 'no program uses it');
    assert.equal(keyed(['sys_exit'], false), false, 'a struct key');
    assert.equal(keyed(['sys_exit'], true, true), false, 'count_by_process: keyed by pid (syscount -P)');
    assert.equal(keyed(['sys_enter'], true, false, false), false, "an array's slots: a one-slot counter of every call");
    const nr = [...Array(500).keys()].find((n) => syscallName(n) === 'bpf')!;
    assert.equal(syscallKey(nr), 'bpf');
    assert.equal(syscallKey(BigInt(nr)), 'bpf', 'an 8-byte key');
    assert.equal(syscallKey(99999), 99999, 'a number with no name stays a number');
  });
});

test('a tcpconnect-shaped record: each v4/v6 union shown once by the family, ports and the task as they are', () => {
  const w = new BtfWriter();
  const u8 = w.int('unsigned char', 1);
  const u16 = w.typedef('__u16', w.int('unsigned short', 2));
  const u32 = w.typedef('__u32', w.int('unsigned int', 4));
  const u64 = w.typedef('__u64', w.int('unsigned long long', 8));
  const char = w.int('char', 1, { signed: true, char: true });
  const v6 = w.array(u8, 16);
  const union = (a: string, b: string) => w.composite('union', '', 16, [{ name: a, type: u32, bitOffset: 0 }, { name: b, type: v6, bitOffset: 0 }]);
  const saddr = union('saddr_v4', 'saddr_v6');
  const daddr = union('daddr_v4', 'daddr_v6');
  const event = w.composite('struct', 'event', 64, [
    { name: '', type: saddr, bitOffset: 0 },
    { name: '', type: daddr, bitOffset: 128 },
    { name: 'task', type: w.array(char, 16), bitOffset: 256 },
    { name: 'ts_us', type: u64, bitOffset: 384 },
    { name: 'af', type: u32, bitOffset: 448 },
    { name: 'dport', type: u16, bitOffset: 480 },
  ]);
  const btf = w.finish();
  const encode = (value: object) => new BtfDecoder(btf).decode(event, new BtfEncoder(btf).encode(event, value));
  const v4 = encode({ saddr_v4: 0x0100007f, daddr_v4: 0x0200007f, task: 'curl', ts_us: 5_000_000n, af: 2, dport: 8080 });
  assert.deepEqual(formatRecord(btf, event, v4), { saddr: '127.0.0.1', daddr: '127.0.0.2', task: 'curl', ts_us: '5.000000', af: 2, dport: 8080 });
  const loopback6 = [...Array(15).fill(0), 1];
  const v6record = encode({ saddr_v6: loopback6, daddr_v6: loopback6, task: 'curl', ts_us: 1n, af: 10, dport: 443 });
  assert.deepEqual(formatRecord(btf, event, v6record), { saddr: '::1', daddr: '::1', task: 'curl', ts_us: '0.000001', af: 10, dport: 443 });
});

test('a signed difference named delta, or a 2-byte one, is no duration', () => {
  assert.equal(formatField({ name: 'delta', value: -3, type: { names: [], kind: 'int', size: 8, signed: true } }, true), -3);
  assert.equal(formatField({ name: 'delta', value: 3, type: { names: [], kind: 'int', size: 2, signed: true } }, true), 3);
});

test('RecordColumnFormatter reads from the bytes the text of exactly what formatRecord shows, flattened as a table: every struct of every fixture, from BTF and DWARF', () => {
  let checked = 0;
  let seed = 7;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const { path, btf, decoder, id, formatter } of fixtureRecordTypes()) {
    // Random bytes (longer than the type, as a padded record is); all ones: -1 in every signed int, EPERM where a rule shows errnos;
    // small numbers (one low byte in 8); the high half of every 8 bytes set: a negative 8-byte value read as a number.
    const patterns: Array<(i: number) => number> = [random, random, () => 0xff, (i) => (i % 8 === 0 ? random() : 0), (i) => (i % 8 >= 4 ? 0xff : 0)];
    for (const [round, pattern] of patterns.entries()) {
      const record: Buffer = Buffer.from(Array.from({ length: formatter.size + round }, (_, i) => pattern(i)));
      const expected: Array<[string, string]> = columns(formatRecord(btf, id, decoder.decode(id, record)), 'data').map(([name, value]) => [name, cellText(value)] as [string, string]);
      const texts = formatter.texts(record, cellText);
      assert.deepEqual(
        formatter.names.map((n, i) => [n, texts[i]]),
        expected,
        `${path}: type ${id} ${btf.type(id).name}`,
      );
    }
    checked++;
  }
  assert.ok(checked > 50, `${checked} struct types checked`);
});

test('integerText: the decimal digits of every exact integer, at the 2^31 and 10^9 edges and up to 2^53', () => {
  const values = [0, 7, -7, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 1e9, 1e9 - 1, 5e9 + 7, 5e9 + 1e8, 4096 * 4294967295, 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (const value of values) assert.equal(integerText(value), String(BigInt(value)), String(value));
});
