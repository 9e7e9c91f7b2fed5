/**
 * A text comparison in a query (`eq`, `sw`, `ew`, `co`; case-sensitive or not) as the regular expression MongoDB runs,
 * which the embedded store tests without compiling it.
 *
 * V8 compiles a regular expression when it is first used, ~40–80 µs with the `i` flag, and every filter value makes
 * a new one: `emails[type eq "work"].value eq "…"`, which must hold for one element and so cannot use the folded copy
 * `emailKeys`, paid that on each lookup (~80 µs of ~110). NeDB matches a RegExp value by calling its `test`; this one
 * compares the strings directly, by the rules of the expression it stands for. Without the `u` flag, JavaScript's
 * case-insensitive matching compares code units after Canonicalize (ECMA-262, RegExp semantics): the upper case of the
 * unit when that is a single unit, except a non-ASCII unit whose upper case is ASCII. MongoDB receives the expression
 * itself (`source`, `flags`), as before.
 */
export type TextOp = 'eq' | 'sw' | 'ew' | 'co';

/** Canonicalize of non-ASCII code units, worked out once each. */
const canonicalOf = new Map<number, number>();

function canonical(unit: number): number {
  if (unit < 128) return unit >= 97 && unit <= 122 ? unit - 32 : unit;
  let c = canonicalOf.get(unit);
  if (c === undefined) {
    const upper = String.fromCharCode(unit).toUpperCase();
    c = upper.length === 1 && upper.charCodeAt(0) >= 128 ? upper.charCodeAt(0) : unit;
    canonicalOf.set(unit, c);
  }
  return c;
}

/** `text` with every code unit canonicalized: two texts match case-insensitively when these are equal. */
function folded(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 128;
  if (ascii) return text.toUpperCase();
  let out = '';
  for (let i = 0; i < text.length; i++) out += String.fromCharCode(canonical(text.charCodeAt(i)));
  return out;
}

/**
 * The expression: escaped, and anchored for `eq`, `sw` and `ew`. The end anchor is `(?![\s\S])` rather than `$`:
 * MongoDB's PCRE `$` also matches before a final newline, so `^x$` would match "x\n"; the lookahead means "end of
 * text" in both engines.
 */
function sourceOf(op: TextOp, text: string): string {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (op === 'eq') return `^${escaped}(?![\\s\\S])`;
  if (op === 'sw') return `^${escaped}`;
  if (op === 'ew') return `${escaped}(?![\\s\\S])`;
  return escaped;
}

/** Its state is in private fields: like any RegExp, it has no own properties (JSON, logs and clones see none). */
export class TextPattern extends RegExp {
  readonly #op: TextOp;
  readonly #wanted: string;
  readonly #folds: boolean;

  constructor(op: TextOp, text: string, caseInsensitive: boolean) {
    super(sourceOf(op, text), caseInsensitive ? 'i' : '');
    this.#op = op;
    this.#folds = caseInsensitive;
    this.#wanted = caseInsensitive ? folded(text) : text;
  }

  override test(input: string): boolean {
    const text = this.#folds ? folded(String(input)) : String(input);
    switch (this.#op) {
      case 'eq':
        return text === this.#wanted;
      case 'sw':
        return text.startsWith(this.#wanted);
      case 'ew':
        return text.endsWith(this.#wanted);
      case 'co':
        return text.includes(this.#wanted);
    }
  }
}
