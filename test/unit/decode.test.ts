// src/btf/decode.ts: a struct laid out by the C compiler (host) decoded through the BTF clang wrote for
// the same struct (BPF object): every kind of field, both byte orders of BTF, short input, JSON text.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from '../support/test.js';
import { BTF_KIND, type BtfComposite } from '../../src/btf/btf.js';
import { BtfDecoder, decodedJson } from '../../src/btf/decode.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { fixturePath, loadFixture } from './helpers.js';

const hostBytes = (): Uint8Array => execFileSync(fixturePath('decode_types'));

const EXPECTED = {
  u8: 200,
  s16: -1234,
  u32: 4000000000,
  s64: -5000000000000n,
  u64: 18446744073709551615n,
  comm: 'bash',
  state: 'STATE_RUNNING',
  inner: { port: 8080, delta: -7 },
  ports: [1, 2, 65535],
  flag_a: 1,
  level: 5,
  signed_bits: -9,
  ok: true,
  ptr: '0xffff888012345678',
  u: { as_u32: 0x04030201, as_bytes: [1, 2, 3, 4] },
  anon_a: 11,
  anon_b: 22,
  ratio: 0.25,
};

function eventType(name: string) {
  const spec = parseBpfObject(loadFixture(name));
  const map = spec.maps.find((m) => m.name === 'decode_events')!;
  assert.ok(spec.btf, 'the object keeps its BTF');
  assert.ok(map.btf, 'the map knows its key and value types');
  return { btf: spec.btf, key: map.btf.keyTypeId, value: map.btf.valueTypeId };
}

describe('BtfDecoder', () => {
  test('every field of a clang-laid-out struct, through clang BTF', () => {
    const { btf, value } = eventType('decode_types.o');
    assert.equal(btf.type(value).name, 'decode_event');
    const bytes = hostBytes();
    assert.equal(bytes.length, btf.sizeOf(value), 'the host and the BPF target lay the struct out alike');
    assert.deepEqual(new BtfDecoder(btf).decode(value, bytes), EXPECTED);
  });

  test('the key type (a typedef of __u32) is a number', () => {
    const { btf, key } = eventType('decode_types.o');
    assert.equal(new BtfDecoder(btf).decode(key, new Uint8Array([0x2a, 0, 0, 0])), 42);
  });

  test('big-endian BTF decodes big-endian bytes', () => {
    const { btf, value } = eventType('decode_types.bpfeb.o');
    assert.equal(btf.littleEndian, false);
    const decoder = new BtfDecoder(btf);
    const u32Member = (btf.type(value) as BtfComposite).members.find((m) => m.name === 'u32')!;
    const bytes = new Uint8Array(btf.sizeOf(value));
    bytes.set([0xee, 0x6b, 0x28, 0x00], u32Member.offset / 8);
    assert.equal((decoder.decode(value, bytes) as Record<string, unknown>).u32, 0xee6b2800);
    // Every whole-integer width and sign, written big-endian where the BTF puts each member.
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = (name: string): number => (btf.type(value) as BtfComposite).members.find((m) => m.name === name)!.offset / 8;
    view.writeUInt8(200, at('u8'));
    view.writeInt16BE(-1234, at('s16'));
    view.writeUInt32BE(4000000000, at('u32'));
    view.writeBigInt64BE(-5000000000000n, at('s64'));
    view.writeBigUInt64BE(0x0102030405060708n, at('u64'));
    const decoded = decoder.decode(value, bytes) as Record<string, unknown>;
    assert.deepEqual([decoded.u8, decoded.s16, decoded.u32, decoded.s64, decoded.u64], [200, -1234, 4000000000, -5000000000000n, 0x0102030405060708n]);
  });

  test('an enum value no enumerator has is its number; input cut short decodes as far as it goes', () => {
    const { btf, value } = eventType('decode_types.o');
    const decoder = new BtfDecoder(btf);
    const bytes = hostBytes().slice();
    const stateType = btf.typesNamed('state', BTF_KIND.ENUM)[0]!;
    const decoded = decoder.decode(stateType.id, new Uint8Array([7, 0, 0, 0]));
    assert.equal(decoded, 7);
    assert.equal(decoder.decode(stateType.id, new Uint8Array([0xff, 0xff, 0xff, 0xff])), 'STATE_GONE');
    const short = decoder.decode(value, bytes.subarray(0, 8)) as Record<string, unknown>;
    assert.equal(short.u8, 200);
    assert.equal(short.s16, -1234);
    assert.equal(short.comm, null);
  });

  test('char arrays are strings up to the NUL; the decoder says which types are strings', () => {
    const { btf, value } = eventType('decode_types.o');
    const decoder = new BtfDecoder(btf);
    const comm = (btf.type(value) as BtfComposite).members.find((m) => m.name === 'comm')!;
    assert.equal(decoder.isString(comm.type), true);
    assert.equal(decoder.isString(value), false);
    assert.equal(decoder.decode(comm.type, new TextEncoder().encode('héllo\0junk\0\0\0\0\0\0\0')), 'héllo');
  });

  test("a record cut short inside its struct's last chars (execsnoop's args) holds what was sent; whole, the chars end at their first NUL", () => {
    const w = new BtfWriter();
    const u32 = w.int('unsigned int', 4);
    const char = w.int('char', 1, { signed: true, char: true });
    // struct event { u32 args_size; char comm[4]; char args[16]; }
    const event = w.composite('struct', 'event', 24, [
      { name: 'args_size', type: u32, bitOffset: 0 },
      { name: 'comm', type: w.array(char, 4), bitOffset: 32 },
      { name: 'args', type: w.array(char, 16), bitOffset: 64 },
    ]);
    const decoder = new BtfDecoder(w.finish());
    const record = (text: string): Uint8Array => Uint8Array.from([text.length, 0, 0, 0, ...Buffer.from('sh\0\0', 'latin1'), ...Buffer.from(text, 'latin1')]);
    assert.deepEqual(decoder.decode(event, record('ls\0-l\0/tmp\0')), { args_size: 11, comm: 'sh', args: 'ls -l /tmp' });
    const whole = record('ls\0-l\0stale\0\0\0\0\0');
    assert.equal(whole.length, 24);
    assert.deepEqual(decoder.decode(event, whole), { args_size: 16, comm: 'sh', args: 'ls' }, 'a whole struct may hold stale bytes past the NUL');
    assert.deepEqual(decoder.decode(event, record('')), { args_size: 0, comm: 'sh', args: null }, 'ending before the chars');
  });

  test("a flexible array holds the rest of a variable-length record; a 0-element array elsewhere holds nothing", () => {
    const w = new BtfWriter();
    const u32 = w.int('unsigned int', 4);
    const u16 = w.int('unsigned short', 2);
    const char = w.int('char', 1, { signed: true, char: true });
    // struct exec_event { u32 pid; u32 len; char args[]; } and struct samples { u16 n; u16 values[]; }
    const exec = w.composite('struct', 'exec_event', 8, [
      { name: 'pid', type: u32, bitOffset: 0 },
      { name: 'len', type: u32, bitOffset: 32 },
      { name: 'args', type: w.array(char, 0), bitOffset: 64 },
    ]);
    const samples = w.composite('struct', 'samples', 2, [
      { name: 'n', type: u16, bitOffset: 0 },
      { name: 'values', type: w.array(u16, 0), bitOffset: 16 },
    ]);
    // A marker of 0 elements before the last member is no flexible array.
    const marked = w.composite('struct', 'marked', 4, [
      { name: 'start', type: w.array(u16, 0), bitOffset: 0 },
      { name: 'a', type: u16, bitOffset: 0 },
      { name: 'b', type: u16, bitOffset: 16 },
    ]);
    const decoder = new BtfDecoder(w.finish());
    const record = (head: number[], tail: string): Uint8Array => Uint8Array.from([...head, ...Buffer.from(tail, 'latin1')]);
    // No NUL: the record's end ends the string; NUL-separated strings (an argument list) are joined by spaces, as execsnoop prints them.
    assert.deepEqual(decoder.decode(exec, record([7, 0, 0, 0, 9, 0, 0, 0], '/bin/true')), { pid: 7, len: 9, args: '/bin/true' });
    assert.deepEqual(decoder.decode(exec, record([7, 0, 0, 0, 6, 0, 0, 0], 'ls\0-l\0')), { pid: 7, len: 6, args: 'ls -l' });
    assert.deepEqual(decoder.decode(exec, record([7, 0, 0, 0, 6, 0, 0, 0], 'ls\0-l\0\0\0')), { pid: 7, len: 6, args: 'ls -l' }, "a perf buffer's padding is no argument");
    assert.deepEqual(decoder.decode(exec, record([7, 0, 0, 0, 0, 0, 0, 0], '')), { pid: 7, len: 0, args: '' });
    assert.deepEqual(decoder.decode(exec, record([7, 0, 0, 0], '')), { pid: 7, len: null, args: null }, 'cut short before the array');
    // Whole elements only: a perf buffer's odd padding byte is no element.
    assert.deepEqual(decoder.decode(samples, Uint8Array.from([3, 0, 1, 0, 2, 0, 0xff, 0xff, 0])), { n: 3, values: [1, 2, 0xffff] });
    assert.deepEqual(decoder.decode(marked, Uint8Array.from([1, 0, 2, 0, 9, 9])), { start: [], a: 1, b: 2 });
    assert.deepEqual(
      decoder.columns(exec)!.map((c) => [c.name, c.read(record([7, 0, 0, 0, 4, 0, 0, 0], 'echo'))]),
      [['pid', 7], ['len', 4], ['args', 'echo']],
      'columns read the tail as decode() does',
    );
  });

  test('JSON text keeps 64-bit integers exact', () => {
    assert.equal(decodedJson({ a: 18446744073709551615n, b: [1, 'x', true, null], c: -5n }), '{"a":18446744073709551615,"b":[1,"x",true,null],"c":-5}');
  });
});
