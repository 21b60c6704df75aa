// The C compiler's layout of test/fixtures/include/layouts.h (printed by test/fixtures/user/layouts.c), and the checks that hold a type reader's BTF to it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../support/test.js';
import { BTF_KIND, type Btf, type BtfComposite, type BtfType } from '../../src/btf/btf.js';
import { FIXTURE_BUILD, REPO } from './helpers.js';

export const LAYOUTS_H = join(REPO, 'test', 'fixtures', 'include', 'layouts.h');

/** What layouts.c prints: each struct's size and members (offset and size, or bit offset and width), each enum's size. */
export interface CompilerLayout {
  structs: Record<string, { size: number; members: Record<string, { offset?: number; size?: number; bitOffset?: number; bitSize?: number }> }>;
  enums: Record<string, number>;
}

/** What the C compiler makes of layouts.h (the program is built when missing or older than its sources). */
export function compilerLayout(): CompilerLayout {
  const program = join(FIXTURE_BUILD, 'layouts');
  const sources = [LAYOUTS_H, join(REPO, 'test', 'fixtures', 'user', 'layouts.c')];
  if (!existsSync(program) || sources.some((s) => statSync(s).mtimeMs > statSync(program).mtimeMs)) {
    execFileSync('make', ['-s', '-C', join(REPO, 'test', 'fixtures'), 'build/layouts'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return JSON.parse(execFileSync(program, { encoding: 'utf8' })) as CompilerLayout;
}

/** The type called `name` of one kind; fails the test when there is none. */
export function named(btf: Btf, name: string, kind: number = BTF_KIND.STRUCT): BtfType {
  const found = btf.typesNamed(name, kind)[0];
  assert.ok(found, `the BTF has no ${name}`);
  return found;
}

/** The struct or union `id` resolves to; fails the test when it is neither. */
export function composite(btf: Btf, id: number): BtfComposite {
  const t = btf.resolveType(id);
  assert.ok(t?.kind === BTF_KIND.STRUCT || t?.kind === BTF_KIND.UNION, `${btf.describe(id)} is not a struct or union`);
  return t;
}

/** A member's place in its outermost struct, and its type. */
export interface FoundMember {
  bitOffset: number;
  bitSize: number;
  type: number;
}

/** A member by its C path ("v4" through anonymous unions, "named.y"), with its offset from the outer struct. */
export function member(btf: Btf, outer: BtfComposite, path: string): FoundMember | undefined {
  const search = (t: BtfComposite, name: string, base: number): FoundMember | undefined => {
    for (const m of t.members) {
      const bitOffset = base + (t.kindFlag ? m.offset & 0xffffff : m.offset);
      const bitSize = t.kindFlag ? m.offset >>> 24 : 0;
      if (m.name === name) return { bitOffset, bitSize, type: m.type };
      if (m.name === '') {
        const inner = search(composite(btf, m.type), name, bitOffset);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  let found: FoundMember | undefined = { bitOffset: 0, bitSize: 0, type: outer.id };
  for (const part of path.split('.')) found = found && search(composite(btf, found.type), part, found.bitOffset);
  return found;
}

/** Member names as C sees them: an anonymous struct's or union's are the outer one's. */
export function memberNames(btf: Btf, t: BtfComposite): string[] {
  return t.members.flatMap((m) => (m.name === '' ? memberNames(btf, composite(btf, m.type)) : [m.name]));
}

/** One test per struct of layouts.h and one for its enums: `btf` (from some reader) lays them out as the compiler does. */
export function testCompilerLayout(btf: () => Btf): void {
  const reference = compilerLayout();
  for (const [name, expected] of Object.entries(reference.structs)) {
    test(`struct ${name}: size, member names, offsets, bitfields`, () => {
      const types = btf();
      const t = composite(types, named(types, name).id);
      assert.equal(t.size, expected.size, 'size');
      const topLevel = Object.keys(expected.members).filter((m) => !m.includes('.'));
      assert.deepEqual(memberNames(types, t), topLevel, 'member names');
      for (const [path, want] of Object.entries(expected.members)) {
        const got = member(types, t, path);
        assert.ok(got, `no member ${path}`);
        if (want.bitSize !== undefined) {
          assert.deepEqual({ bitOffset: got.bitOffset, bitSize: got.bitSize }, { bitOffset: want.bitOffset, bitSize: want.bitSize }, `bitfield ${path}`);
        } else {
          assert.equal(got.bitSize, 0, `${path} is no bitfield`);
          assert.equal(got.bitOffset, want.offset! * 8, `offset of ${path}`);
          assert.equal(types.sizeOf(got.type), want.size, `size of ${path}`);
        }
      }
    });
  }
  test('enum sizes', () => {
    const types = btf();
    for (const [name, size] of Object.entries(reference.enums)) {
      const t = types.typesNamed(name).find((x) => x.kind === BTF_KIND.ENUM || x.kind === BTF_KIND.ENUM64);
      assert.ok(t, `no enum ${name}`);
      assert.equal(types.sizeOf(t.id), size, `sizeof(enum ${name})`);
    }
  });
}
