// src/attach/ld-cache.ts: glibc's ld.so.cache, new format alone and after the old table, and library look-up by name.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from '../support/test.js';
import { findLibrary, parseLdCache, type LdCacheEntry } from '../../src/attach/ld-cache.js';

/** A cache as ldconfig writes it: old table (optional), then the new header, entries and strings. */
function ldCache(entries: readonly LdCacheEntry[], withOldTable: boolean): Uint8Array {
  const oldSize = withOldTable ? Math.ceil((16 + entries.length * 12) / 8) * 8 : 0;
  const headerAndEntries = 48 + entries.length * 24;
  const strings: number[] = [];
  const offsets = entries.map((e) => {
    const at = headerAndEntries + strings.length;
    strings.push(...new TextEncoder().encode(e.name), 0);
    const path = headerAndEntries + strings.length;
    strings.push(...new TextEncoder().encode(e.path), 0);
    return [at, path] as const;
  });
  const bytes = new Uint8Array(oldSize + headerAndEntries + strings.length);
  const view = new DataView(bytes.buffer);
  if (withOldTable) {
    bytes.set(new TextEncoder().encode('ld.so-1.7.0'), 0);
    view.setUint32(12, entries.length, true);
  }
  bytes.set(new TextEncoder().encode('glibc-ld.so.cache1.1'), oldSize);
  view.setUint32(oldSize + 20, entries.length, true);
  view.setUint32(oldSize + 24, strings.length, true);
  entries.forEach((e, i) => {
    const at = oldSize + 48 + i * 24;
    view.setInt32(at, e.flags, true);
    view.setUint32(at + 4, offsets[i]![0], true);
    view.setUint32(at + 8, offsets[i]![1], true);
  });
  bytes.set(strings, oldSize + headerAndEntries);
  return bytes;
}

const ENTRIES: LdCacheEntry[] = [
  { name: 'libcrypt.so.1', path: '/lib/x86_64-linux-gnu/libcrypt.so.1', flags: 0x0303 },
  { name: 'libc.so.6', path: '/lib32/libc.so.6', flags: 0x0003 },
  { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6', flags: 0x0303 },
  { name: 'libz.so', path: '/usr/lib/x86_64-linux-gnu/libz.so', flags: 0x0303 },
  { name: 'libz.so.1', path: '/lib/x86_64-linux-gnu/libz.so.1', flags: 0x0303 },
];

describe('parseLdCache', () => {
  for (const withOldTable of [false, true]) {
    test(withOldTable ? 'after the old ld.so-1.7.0 table' : 'the new format alone', () => {
      assert.deepEqual(parseLdCache(ldCache(ENTRIES, withOldTable), true), ENTRIES);
    });
  }

  test('anything else, or a cache cut short, gives what it can and no more', () => {
    assert.deepEqual(parseLdCache(new TextEncoder().encode('not a cache at all, not at all, not at all, no'), true), []);
    assert.deepEqual(parseLdCache(new Uint8Array(0), true), []);
    const whole = ldCache(ENTRIES, false);
    assert.deepEqual(parseLdCache(whole.subarray(0, 48 + 24 * 2), true), []);
  });

  test("this machine's cache has libc", { skip: !existsSync('/etc/ld.so.cache') }, () => {
    const entries = parseLdCache(readFileSync('/etc/ld.so.cache'));
    assert.ok(entries.some((e) => e.name === 'libc.so.6' && e.path.endsWith('/libc.so.6')));
  });
});

describe('findLibrary', () => {
  test("by soname, by name without version, bare; this machine's architecture before others", () => {
    assert.equal(findLibrary(ENTRIES, 'libc.so.6', 'x64'), '/lib/x86_64-linux-gnu/libc.so.6');
    assert.equal(findLibrary(ENTRIES, 'libc', 'x64'), '/lib/x86_64-linux-gnu/libc.so.6');
    assert.equal(findLibrary(ENTRIES, 'c', 'x64'), '/lib/x86_64-linux-gnu/libc.so.6');
    assert.equal(findLibrary(ENTRIES, 'crypt', 'x64'), '/lib/x86_64-linux-gnu/libcrypt.so.1');
    assert.equal(findLibrary(ENTRIES, 'libz.so', 'x64'), '/usr/lib/x86_64-linux-gnu/libz.so');
    assert.equal(findLibrary(ENTRIES, 'z', 'x64'), '/usr/lib/x86_64-linux-gnu/libz.so');
  });

  test('another architecture still finds what is there; unknown names find nothing', () => {
    assert.equal(findLibrary(ENTRIES, 'libc.so.6', 'ia32'), '/lib32/libc.so.6');
    assert.equal(findLibrary(ENTRIES, 'libnothing', 'x64'), undefined);
    assert.equal(findLibrary(ENTRIES, 'libc.so.7', 'x64'), undefined);
  });
});
