// C text -> tokens with their file and line, as a C compiler's first phases see them: line continuations joined, comments dropped.
import { ObjectError } from '../errors.js';

export type TokenKind = 'identifier' | 'number' | 'string' | 'char' | 'punctuator' | 'end';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** The first token of its line (continuations joined): only there does '#' start a directive. */
  readonly lineStart: boolean;
  /** Space or a comment came before it: what shows a declaration as it was written. */
  readonly spaced: boolean;
  /** Set by the preprocessor on tokens a macro gave: the use of the macro's name, shown in messages instead. */
  readonly expandedFrom?: Token;
  /** Set by the preprocessor: the name of a function-like macro, which this reader does not expand. */
  readonly functionMacro?: boolean;
}

const PUNCTUATORS = [
  '...', '<<=', '>>=',
  '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '*=', '/=', '%=', '+=', '-=', '&=', '^=', '|=', '##',
];

export function tokenize(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = true;
  let spaced = false;
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = source.length;
  const push = (kind: TokenKind, text: string, tokenLine: number): void => {
    tokens.push({ kind, text, file, line: tokenLine, lineStart, spaced });
    lineStart = false;
    spaced = false;
  };
  /** A backslash-newline at `at`: its length (2 or 3 with \r), else 0. */
  const continuation = (at: number): number => {
    if (source[at] !== '\\') return 0;
    if (source[at + 1] === '\n') return 2;
    return source[at + 1] === '\r' && source[at + 2] === '\n' ? 3 : 0;
  };
  while (i < n) {
    const c = source[i]!;
    const joined = continuation(i);
    if (joined > 0) {
      i += joined;
      line++;
      continue;
    }
    if (c === '\n') {
      i++;
      line++;
      lineStart = true;
      spaced = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      spaced = true;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new ObjectError(`${file}:${line}: a comment starts here and never ends`);
      for (let j = i; j < end; j++) if (source[j] === '\n') line++;
      i = end + 2;
      spaced = true;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      // A line comment ends at the end of the line, unless a continuation carries it on.
      while (i < n && source[i] !== '\n') {
        const more = continuation(i);
        if (more > 0) {
          i += more;
          line++;
        } else i++;
      }
      spaced = true;
      continue;
    }
    const start = i;
    const startLine = line;
    if (isIdentifierStart(c)) {
      let text = '';
      while (i < n) {
        const more = continuation(i);
        if (more > 0) {
          i += more;
          line++;
        } else if (isIdentifierPart(source[i]!)) text += source[i++];
        else break;
      }
      push('identifier', text, startLine);
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(source[i + 1] ?? ''))) {
      // A preprocessing number: digits, letters, dots, and signs after an exponent letter.
      let text = '';
      while (i < n) {
        const d = source[i]!;
        if (isIdentifierPart(d) || d === '.') text += source[i++];
        else if ((d === '+' || d === '-') && /[eEpP]$/.test(text)) text += source[i++];
        else break;
      }
      push('number', text, startLine);
      continue;
    }
    if (c === '"' || c === "'") {
      // Unterminated literals end at the end of the line: text in a skipped #if 0 block may hold a lone apostrophe.
      i++;
      while (i < n && source[i] !== c && source[i] !== '\n') i += source[i] === '\\' && i + 1 < n && source[i + 1] !== '\n' ? 2 : 1;
      if (source[i] === c) i++;
      push(c === '"' ? 'string' : 'char', source.slice(start, i), startLine);
      continue;
    }
    const punctuator = PUNCTUATORS.find((p) => source.startsWith(p, i)) ?? c;
    i += punctuator.length;
    push('punctuator', punctuator, startLine);
  }
  tokens.push({ kind: 'end', text: '', file, line, lineStart: true, spaced: false });
  return tokens;
}

function isIdentifierStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
}

function isIdentifierPart(c: string): boolean {
  return isIdentifierStart(c) || isDigit(c);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Tokens as they were written (macro expansions shown as the macro's name), for messages. */
export function tokensText(tokens: readonly Token[]): string {
  let text = '';
  let previousMacro: Token | undefined;
  for (const t of tokens) {
    if (t.kind === 'end') break;
    const shown = t.expandedFrom ?? t;
    if (t.expandedFrom !== undefined && t.expandedFrom === previousMacro) continue;
    previousMacro = t.expandedFrom;
    text += (text !== '' && (shown.spaced || shown.lineStart) ? ' ' : '') + shown.text;
  }
  return text;
}
