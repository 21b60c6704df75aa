// C++ and Rust symbol names as people read them: demangled in one batch per file by binutils' c++filt, where it is installed.
import { spawnSync } from 'node:child_process';

/** Itanium C++ (_Z), Rust legacy (_ZN...h<hash>E) and Rust v0 (_R) manglings. */
const MANGLED = /^_[ZR]/;

/** Whether c++filt could be run; once it could not, names stay as they are. */
let demangler: 'unknown' | 'found' | 'missing' = 'unknown';

/**
 * The names demangled, in order; names that are not mangled, or that c++filt leaves alone, come back
 * unchanged, and all of them when c++filt is missing (binutils is no requirement of the loader).
 */
export function demangleNames(names: readonly string[]): string[] {
  const mangled = names.map((name, i) => (MANGLED.test(name) ? i : -1)).filter((i) => i >= 0);
  if (mangled.length === 0 || demangler === 'missing') return [...names];
  const result = spawnSync('c++filt', [], { input: mangled.map((i) => names[i]).join('\n'), encoding: 'utf8', maxBuffer: 256 << 20 });
  const lines = result.status === 0 ? result.stdout.split('\n') : [];
  if (lines.length < mangled.length) {
    if (demangler === 'unknown') demangler = 'missing';
    return [...names];
  }
  demangler = 'found';
  const out = [...names];
  mangled.forEach((i, k) => (out[i] = lines[k]!));
  return out;
}
