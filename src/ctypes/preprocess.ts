// The C preprocessor as far as a header's types need it: object-like macros, #if/#ifdef/#elif/#else/#endif, #include "..." of neighbours.
import { posix } from 'node:path';
import { ObjectError } from '../errors.js';
import { evaluate, type CValue, type ExpressionSource } from './expression.js';
import { printable } from '../text.js';
import { tokenize, tokensText, type Token } from './lexer.js';

export interface PreprocessOptions {
  /** The name of the text's file, in messages; `#include "x.h"` is looked for next to it. */
  readonly file: string;
  /** The text of `#include "name"` seen in `from`, or undefined when there is no such file. */
  readonly readInclude: (name: string, from: string) => string | undefined;
  /** Macros defined before the first line (the target's byte order and such): name and replacement text. */
  readonly predefined: ReadonlyArray<readonly [string, string]>;
}

export interface Preprocessed {
  /** The tokens outside directives and skipped groups, macros expanded, ending with an 'end' token. */
  readonly tokens: readonly Token[];
  /** The object-like macros defined at the end, for suggestions. */
  readonly macroNames: readonly string[];
}

/** The macros a token came from, innermost first: they are not expanded again in it (C's rule against endless expansion). */
interface Hidden {
  readonly name: string;
  readonly outer: Hidden | undefined;
}

type Expanding = Token & { readonly hidden?: Hidden };

function isHidden(name: string, hidden: Hidden | undefined): boolean {
  for (let h = hidden; h !== undefined; h = h.outer) if (h.name === name) return true;
  return false;
}

type Macro = { readonly kind: 'object'; readonly body: readonly Token[] } | { readonly kind: 'function' };

interface Condition {
  readonly hash: Token;
  readonly parentActive: boolean;
  /** This group's tokens are kept. */
  taking: boolean;
  /** A group of this #if has been kept (so later #elif and #else groups are not). */
  taken: boolean;
  sawElse: boolean;
}

/** Deeper than any real chain of headers. */
const MAX_INCLUDE_DEPTH = 64;
/** Tokens a header may produce, macros expanded: bounds a macro that doubles at every level. */
const MAX_TOKENS = 1_000_000;

export function preprocess(text: string, options: PreprocessOptions): Preprocessed {
  return new Preprocessor(options).run(text);
}

const FUNCTION_MACRO = 'is a function-like macro, which this reader does not expand';

export function functionMacroReason(name: string): string {
  return `'${name}' ${FUNCTION_MACRO}`;
}

class Preprocessor {
  private readonly macros = new Map<string, Macro>();
  private readonly included = new Set<string>();
  private readonly out: Token[] = [];
  private produced = 0;

  constructor(private readonly options: PreprocessOptions) {
    for (const [name, body] of options.predefined) {
      this.macros.set(name, { kind: 'object', body: tokenize(body, '<built-in>').filter((t) => t.kind !== 'end') });
    }
  }

  run(text: string): Preprocessed {
    const file = posix.normalize(this.options.file);
    this.included.add(file);
    const end = this.file(file, text, 0);
    this.out.push(end);
    const macroNames = [...this.macros].filter(([, m]) => m.kind === 'object').map(([name]) => name);
    return { tokens: this.out, macroNames };
  }

  /** Reads one file (and what it includes) into `out`; gives its 'end' token. */
  private file(file: string, text: string, depth: number): Token {
    const tokens = tokenize(text, file);
    const conditions: Condition[] = [];
    let run: Token[] = [];
    let i = 0;
    for (;;) {
      const t = tokens[i]!;
      if (t.kind === 'end' || (t.lineStart && t.kind === 'punctuator' && t.text === '#')) {
        this.expand(run, this.out);
        run = [];
        if (t.kind === 'end') break;
        let j = i + 1;
        while (!tokens[j]!.lineStart) j++;
        this.directive(t, tokens.slice(i + 1, j), conditions, depth);
        i = j;
        continue;
      }
      if (conditions.length === 0 || conditions[conditions.length - 1]!.taking) run.push(t);
      i++;
    }
    const open = conditions[conditions.length - 1];
    if (open) throw new ObjectError(`${file}:${open.hash.line}: this #if has no #endif before the end of the file`);
    return tokens[i]!;
  }

  private fail(hash: Token, line: readonly Token[], reason: string): never {
    throw new ObjectError(`${hash.file}:${hash.line}: cannot read '#${printable(tokensText(line))}' (${printable(reason)})`);
  }

  private directive(hash: Token, line: readonly Token[], conditions: Condition[], depth: number): void {
    const keyword = line[0];
    if (keyword === undefined) return;
    const active = conditions.length === 0 || conditions[conditions.length - 1]!.taking;
    const top = conditions[conditions.length - 1];
    const needTop = (): Condition => top ?? this.fail(hash, line, `#${keyword.text} without #if`);
    switch (keyword.text) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        // In a skipped group only the nesting counts: nothing there is evaluated.
        const taking = active && this.condition(hash, line);
        conditions.push({ hash, parentActive: active, taking, taken: taking || !active, sawElse: false });
        return;
      }
      case 'elif':
      case 'elifdef':
      case 'elifndef': {
        const c = needTop();
        if (c.sawElse) this.fail(hash, line, `#${keyword.text} after #else`);
        c.taking = c.parentActive && !c.taken && this.condition(hash, line);
        c.taken ||= c.taking;
        return;
      }
      case 'else': {
        const c = needTop();
        if (c.sawElse) this.fail(hash, line, '#else after #else');
        c.taking = c.parentActive && !c.taken;
        c.taken = true;
        c.sawElse = true;
        return;
      }
      case 'endif':
        needTop();
        conditions.pop();
        return;
      default:
        break;
    }
    if (!active) return;
    switch (keyword.text) {
      case 'define': {
        const name = line[1];
        if (name?.kind !== 'identifier') this.fail(hash, line, 'expected a macro name');
        // A '(' right after the name (no space) makes a function-like macro.
        const parameters = line[2]?.text === '(' && line[2].kind === 'punctuator' && !line[2].spaced;
        this.macros.set(name.text, parameters ? { kind: 'function' } : { kind: 'object', body: line.slice(2) });
        return;
      }
      case 'undef':
        if (line[1]?.kind !== 'identifier') this.fail(hash, line, 'expected a macro name');
        this.macros.delete(line[1].text);
        return;
      case 'include':
        return this.include(hash, line, depth);
      case 'error':
        throw new ObjectError(`${hash.file}:${hash.line}: #error ${printable(tokensText(line.slice(1)))}`);
      case 'pragma': // #pragma once too: every file is read once.
      case 'warning':
      case 'line':
      case 'ident':
      case 'sccs':
        return;
      default:
        this.fail(hash, line, `unknown directive #${keyword.text}`);
    }
  }

  private include(hash: Token, line: readonly Token[], depth: number): void {
    const target = line[1];
    // <...> names the system's headers: their names are built in.
    if (target?.kind === 'punctuator' && target.text === '<') return;
    if (target?.kind !== 'string' || target.text.length < 3 || !target.text.endsWith('"')) this.fail(hash, line, 'expected "file" or <file>');
    const name = target.text.slice(1, -1);
    const path = posix.normalize(posix.join(posix.dirname(hash.file), name));
    if (this.included.has(path)) return;
    this.included.add(path);
    if (depth + 1 > MAX_INCLUDE_DEPTH) this.fail(hash, line, `more than ${MAX_INCLUDE_DEPTH} files deep`);
    const text = this.options.readInclude(name, hash.file);
    if (text === undefined) this.fail(hash, line, `there is no ${name} next to ${hash.file}`);
    this.file(path, text, depth + 1);
  }

  /** An #if, #elif, #ifdef or #ifndef line's truth. */
  private condition(hash: Token, line: readonly Token[]): boolean {
    const keyword = line[0]!.text;
    const rest = line.slice(1);
    if (keyword.endsWith('def')) {
      const name = rest[0];
      if (name?.kind !== 'identifier') this.fail(hash, line, 'expected a macro name');
      return this.macros.has(name.text) === !keyword.endsWith('ndef');
    }
    if (rest.length === 0) this.fail(hash, line, 'no condition');
    // `defined X` and `__has_include(...)`-like tests are answered before expansion, as C does.
    const replaced: Token[] = [];
    for (let k = 0; k < rest.length; k++) {
      const t = rest[k]!;
      if (t.kind === 'identifier' && t.text === 'defined') {
        const paren = rest[k + 1]?.text === '(';
        const name = rest[k + (paren ? 2 : 1)];
        if (name?.kind !== 'identifier') this.fail(hash, line, "expected a name after 'defined'");
        if (paren && rest[k + 3]?.text !== ')') this.fail(hash, line, `expected ')' after 'defined(${name.text}'`);
        replaced.push({ ...t, kind: 'number', text: this.macros.has(name.text) ? '1' : '0' });
        k += paren ? 3 : 1;
      } else if (t.kind === 'identifier' && /^__has_\w+$/.test(t.text) && rest[k + 1]?.text === '(') {
        // This reader knows no attributes, builtins or features to report.
        let open = 0;
        let m = k + 1;
        for (; m < rest.length; m++) {
          if (rest[m]!.text === '(') open++;
          else if (rest[m]!.text === ')' && --open === 0) break;
        }
        replaced.push({ ...t, kind: 'number', text: '0' });
        k = m;
      } else replaced.push(t);
    }
    const tokens: Token[] = [];
    this.expand(replaced, tokens);
    const end: Token = { kind: 'end', text: '', file: hash.file, line: hash.line, lineStart: true, spaced: false };
    let at = 0;
    const zero: CValue = { value: 0n, size: 8, unsigned: false };
    const source: ExpressionSource = {
      peek: (ahead = 0) => tokens[at + ahead] ?? end,
      next: () => tokens[at++] ?? end,
      fail: (reason) => this.fail(hash, line, reason),
      // Names left after expansion are 0, as in C; a function-like macro's value is unknown here.
      identifier: (t) => (t.functionMacro ? this.fail(hash, line, functionMacroReason(t.text)) : zero),
      typeName: () => undefined,
    };
    const value = evaluate(source, 'preprocessor');
    if (at < tokens.length) this.fail(hash, line, `unexpected '${tokens[at]!.text}'`);
    return value.value !== 0n;
  }

  /** Object-like macros replaced (again in what they give, but never inside their own expansion); function-like ones marked. */
  private expand(input: readonly Token[], out: Token[]): void {
    const pending: Expanding[] = [];
    for (let k = input.length - 1; k >= 0; k--) pending.push(input[k]!);
    while (pending.length > 0) {
      const t = pending.pop()!;
      const macro = t.kind === 'identifier' ? this.macros.get(t.text) : undefined;
      if (macro?.kind === 'object' && !isHidden(t.text, t.hidden)) {
        this.produced += macro.body.length;
        if (this.produced > MAX_TOKENS) throw new ObjectError(`${t.file}:${t.line}: the macros give more than ${MAX_TOKENS} tokens (expanding '${t.text}')`);
        const hidden: Hidden = { name: t.text, outer: t.hidden };
        const origin = t.expandedFrom ?? t;
        for (let k = macro.body.length - 1; k >= 0; k--) {
          const b = macro.body[k]!;
          pending.push({ kind: b.kind, text: b.text, file: t.file, line: t.line, lineStart: false, spaced: k === 0 ? t.spaced : b.spaced, expandedFrom: origin, hidden });
        }
        continue;
      }
      if (++this.produced > MAX_TOKENS) throw new ObjectError(`${t.file}:${t.line}: the header gives more than ${MAX_TOKENS} tokens`);
      out.push(macro?.kind === 'function' ? { ...t, functionMacro: true } : t);
    }
  }
}
