// Small text helpers for messages: closest-name suggestions, names made printable, text made safe for a terminal.

/** Levenshtein distance, giving up (returning max + 1) once it must exceed `max`. */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Up to `limit` names that the user probably meant: names containing what was typed (or
 * contained in it) first, shortest first; then names within a few edits.
 */
export function closestNames(target: string, names: Iterable<string>, limit: number): string[] {
  const maxDistance = Math.max(2, Math.floor(target.length / 3));
  const scored: Array<{ name: string; score: number }> = [];
  for (const name of names) {
    if (name === target) continue;
    if (target.length >= 3 && (name.includes(target) || (name.length >= 3 && target.includes(name)))) {
      scored.push({ name, score: Math.abs(name.length - target.length) / 1000 });
      continue;
    }
    const distance = editDistance(target, name, maxDistance);
    if (distance <= maxDistance) scored.push({ name, score: distance });
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return [...new Set(scored.map((s) => s.name))].slice(0, limit);
}

/**
 * A name from an input file, made safe to put in a one-line message: control characters (line
 * breaks included), DEL, C1 controls and the Unicode line/paragraph separators become escapes.
 */
/** A glob ("vfs_*", "handle_?") as a whole-name pattern: * any run of characters, ? one. */
export function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/**
 * Text made safe to write to a terminal: every control character (escape sequences, backspace,
 * carriage return, line breaks), DEL and C1 control becomes a visible \xNN escape. Backslashes
 * stay as they are, so text already passed through printable() is not escaped twice.
 */
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function terminalSafe(text: string): string {
  // Nearly every line is safe as it is: a test is cheaper than a replace.
  if (!TERMINAL_UNSAFE.test(text)) return text;
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
