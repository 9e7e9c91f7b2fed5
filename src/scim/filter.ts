/**
 * Translation of a SCIM filter (RFC 7644 §3.4.2.2) into a MongoDB-dialect query that both store adapters run.
 *
 * Why this does not use scimmy's `Types.Filter` output: scimmy 1.3.5 flattens a filter into disjunctive normal form
 * keyed by attribute name, and that form loses or changes meaning for inputs IdPs and clients send (each verified
 * with scimmy 1.3.5 before writing this):
 * - `not (A or B)` becomes `[not A, not B]` (an OR: wrong, De Morgan gives AND) and `not (A and B)` becomes
 *   `not A and not B` (wrong, should be OR);
 * - `emails[type eq "work"] and emails[value co "x"]` and `emails.type eq "work" and emails.value co "x"` merge into
 *   one object, indistinguishable from `emails[type eq "work" and value co "x"]`; RFC 7644 §3.4.2.2 makes the first
 *   two independent conditions (any email is work, any email contains x) and only the bracketed form one element;
 * - the unquoted literal `True` parses as `false`; `userName eq "a\"b"` throws; `"\\"` is not unescaped;
 * - `userName eq` (no value) parses as `{userName: ["eq"]}` instead of failing (RELIABILITY.md 0.9);
 * - only the first letter of a name is lower-cased (`USERNAME` → `uSERNAME`), and the parser itself has a ReDoS and
 *   a prototype-pollution path (RELIABILITY.md 0.1, 0.2).
 * Rather than patch its output shape by shape, this module has a small linear tokenizer and a recursive-descent
 * parser for the RFC grammar, then maps the tree onto allowlisted stored paths (`attributes.ts`). Client text only
 * ever becomes query *values* (strings, numbers, booleans, Dates, escaped RegExps), never query keys.
 */
import type { Query } from '../store/port';
import { EVERY_RESOURCE, NO_RESOURCE } from '../store/query';
import { TextPattern, type TextOp } from '../store/text-pattern';
import { caseKey } from '../services/users';
import { badRequest } from './errors';
import type { AttributeType, ComplexAttribute, DerivedAttribute, ResourceTypeName, SimpleAttribute } from './attributes';
import { joinStored, resolveAttribute, resolveSubAttribute } from './attributes';

/** Comparison operators of RFC 7644 §3.4.2.2, table 3. */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A comparison value: a JSON string (`quoted`) or a bare token (`true`, `42`, `null`, or Entra's unquoted `Test`). */
export interface Literal {
  readonly quoted: boolean;
  /** The text as written (unescaped when quoted). */
  readonly text: string;
  /** The JSON meaning of a bare token; for quoted text, the string itself. */
  readonly value: string | number | boolean | null;
}

/** The parsed filter, before attribute resolution. */
export type FilterNode =
  | { readonly t: 'and' | 'or'; readonly items: FilterNode[] }
  | { readonly t: 'not'; readonly item: FilterNode }
  | { readonly t: 'pr'; readonly path: string }
  | { readonly t: 'cmp'; readonly path: string; readonly op: CompareOp; readonly value: Literal }
  | {
      readonly t: 'valuePath';
      readonly path: string;
      readonly filter: FilterNode;
      /** `emails[type eq "work"].value eq "x"`: a comparison on a sub-attribute of the matching element. */
      readonly then?: { readonly sub: string; readonly op: CompareOp | 'pr'; readonly value?: Literal };
    };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
/** Nesting limit for parentheses/brackets: recursion depth stays bounded whatever the input. */
const MAX_NESTING = 32;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

const invalid = (detail: string) => badRequest('invalidFilter', detail);
/** Client text quoted in error details is cut short so a detail never echoes a large input. */
const show = (text: string) => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);

type Token =
  | { k: '(' | ')' | '[' | ']'; pos: number }
  | { k: 'word'; text: string; pos: number }
  | { k: 'string'; text: string; pos: number };

/** Splits a filter into tokens in one pass (no backtracking, so the time is linear in the input length). */
export function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ k: c, pos: i++ });
    } else if (c === '"') {
      const start = i++;
      let text = '';
      for (;;) {
        if (i >= filter.length) throw invalid(`unterminated string starting at position ${start + 1}`);
        const d = filter[i++];
        if (d === '"') break;
        if (d !== '\\') {
          text += d;
          continue;
        }
        // JSON string escapes (RFC 7644 §3.4.2.2: compValue strings are JSON strings, RFC 7159 §7).
        const e = filter[i++];
        const simpleEscapes: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && Object.prototype.hasOwnProperty.call(simpleEscapes, e)) {
          text += simpleEscapes[e];
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(filter.slice(i, i + 4))) {
          text += String.fromCharCode(parseInt(filter.slice(i, i + 4), 16));
          i += 4;
        } else {
          throw invalid(`invalid escape sequence in string at position ${i}`);
        }
      }
      tokens.push({ k: 'string', text, pos: start });
    } else {
      const start = i;
      while (i < filter.length && !' \t\n\r()[]"'.includes(filter[i])) i++;
      tokens.push({ k: 'word', text: filter.slice(start, i), pos: start });
    }
  }
  return tokens;
}

/**
 * Parses a filter into a {@link FilterNode} tree. Grammar (RFC 7644 §3.4.2.2, figure 1), with precedence
 * `not` > `and` > `or` and case-insensitive operators:
 *
 *     filter    = or
 *     or        = and *("or" and)
 *     and       = unary *("and" unary)
 *     unary     = "not" "(" filter ")" / "not" primary / primary
 *     primary   = "(" filter ")" / attrPath "[" filter "]" ["." subAttr op [value]] / attrPath "pr" / attrPath op value
 *
 * Leniencies, all in use by clients or scimmy's fixtures: `not` without parentheses, and bare (unquoted) values
 * (Microsoft Entra sends `userName eq Test`).
 */
export function parseFilter(filter: string): FilterNode {
  const tokens = tokenize(filter);
  let at = 0;
  let depth = 0;

  const peek = (offset = 0): Token | undefined => tokens[at + offset];
  const isWord = (t: Token | undefined, ...words: string[]): boolean =>
    t?.k === 'word' && words.includes(t.text.toLowerCase());
  const where = (t: Token | undefined) => (t ? `at position ${t.pos + 1}` : 'at the end of the filter');
  const describe = (t: Token | undefined) => (t === undefined ? 'end of filter' : t.k === 'word' || t.k === 'string' ? show(t.text) : `'${t.k}'`);
  const expect = (k: Token['k']) => {
    const t = peek();
    if (t?.k !== k) throw invalid(`expected '${k}' but found ${describe(t)} ${where(t)}`);
    at++;
  };
  const nest = <T>(parse: () => T): T => {
    if (++depth > MAX_NESTING) throw invalid(`filter is nested more than ${MAX_NESTING} levels deep`);
    const result = parse();
    depth--;
    return result;
  };

  function parseOr(inValuePath: boolean): FilterNode {
    const items = [parseAnd(inValuePath)];
    while (isWord(peek(), 'or')) {
      at++;
      items.push(parseAnd(inValuePath));
    }
    return items.length === 1 ? items[0] : { t: 'or', items };
  }

  function parseAnd(inValuePath: boolean): FilterNode {
    const items = [parseUnary(inValuePath)];
    while (isWord(peek(), 'and')) {
      at++;
      items.push(parseUnary(inValuePath));
    }
    return items.length === 1 ? items[0] : { t: 'and', items };
  }

  function parseUnary(inValuePath: boolean): FilterNode {
    const t = peek();
    // `not` is a keyword unless an operator follows it, in which case it is an attribute named "not".
    if (isWord(t, 'not') && !isOperator(peek(1))) {
      at++;
      return { t: 'not', item: nest(() => parseUnary(inValuePath)) };
    }
    return parsePrimary(inValuePath);
  }

  function parseValue(op: string): Literal {
    const t = peek();
    if (t?.k === 'string') {
      at++;
      return { quoted: true, text: t.text, value: t.text };
    }
    if (t?.k === 'word' && !isWord(t, 'and', 'or')) {
      at++;
      return { quoted: false, text: t.text, value: bareValue(t.text) };
    }
    throw invalid(`operator '${op}' needs a value ${where(t)}`);
  }

  function parseComparison(path: string): { op: CompareOp | 'pr'; value?: Literal } {
    const t = peek();
    if (!isOperator(t)) throw invalid(`expected an operator after attribute ${show(path)} but found ${describe(t)} ${where(t)}`);
    at++;
    const op = (t as { text: string }).text.toLowerCase();
    if (op === 'pr') return { op: 'pr' };
    return { op: op as CompareOp, value: parseValue(op) };
  }

  function parsePrimary(inValuePath: boolean): FilterNode {
    const t = peek();
    if (t?.k === '(') {
      at++;
      const inner = nest(() => parseOr(inValuePath));
      expect(')');
      return inner;
    }
    if (t?.k !== 'word' || isWord(t, 'and', 'or')) throw invalid(`expected an attribute but found ${describe(t)} ${where(t)}`);
    at++;
    const path = t.text;
    if (peek()?.k === '[') {
      // RFC 7644 §3.4.2.2: a value filter cannot contain another value filter.
      if (inValuePath) throw invalid(`value filters cannot be nested (${show(path)} ${where(t)})`);
      at++;
      const filter = nest(() => parseOr(true));
      expect(']');
      const next = peek();
      if (next?.k === 'word' && next.text.startsWith('.')) {
        at++;
        const sub = next.text.slice(1);
        return { t: 'valuePath', path, filter, then: { sub, ...parseComparison(`${path}.${sub}`) } };
      }
      return { t: 'valuePath', path, filter };
    }
    const { op, value } = parseComparison(path);
    return op === 'pr' ? { t: 'pr', path } : { t: 'cmp', path, op, value: value as Literal };
  }

  if (tokens.length === 0) throw invalid('filter is empty');
  const tree = parseOr(false);
  if (at < tokens.length) throw invalid(`unexpected ${describe(peek())} ${where(peek())}`);
  return tree;
}

function isOperator(t: Token | undefined): boolean {
  if (t?.k !== 'word') return false;
  const text = t.text.toLowerCase();
  return text === 'pr' || COMPARE_OPS.has(text);
}

const isNull = (literal: Literal | undefined) => literal !== undefined && !literal.quoted && literal.value === null;

/** JSON literals are recognised case-insensitively because IdPs send `True`/`False` unquoted. */
function bareValue(text: string): string | number | boolean | null {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (NUMBER.test(text)) return Number(text);
  return text;
}

/** Where the paths of a (sub-)filter are resolved: the whole resource, or the inside of `parent[...]`. */
type Scope =
  | { kind: 'resource'; resourceType: ResourceTypeName }
  | { kind: 'valuePath'; resourceType: ResourceTypeName; parent: ComplexAttribute };

/**
 * Translates a SCIM filter into a MongoDB-dialect query over the stored documents of `resourceType`.
 *
 * Semantics (RFC 7644 §3.4.2.2): a condition on a sub-attribute of a multi-valued attribute (`emails.value co "x"`)
 * matches when one element satisfies it; `emails[type eq "work" and value co "x"]` needs one element satisfying
 * both (`$elemMatch`); `ne` and `not` are the negation of the positive match (`$nor`), so they also match resources
 * where the attribute is unassigned (RFC 7643 §2.5); `pr` needs a non-null, non-empty value (for a multi-valued
 * attribute, at least one element); `eq null` means "not present" and `ne null` "present".
 *
 * Run `guardFilter` first: this function is linear in its input, but the guard also rejects control characters and
 * size before anything else touches the text.
 *
 * @throws ScimError 400 `invalidFilter` for malformed filters, unknown or unsupported attributes, and operator/type
 * combinations the RFC does not define (`gt` on a boolean, `co` on a dateTime, ...).
 */
export function translateFilter(resourceType: ResourceTypeName, filter: string): Query {
  return translateNode(parseFilter(filter), { kind: 'resource', resourceType });
}

function translateNode(node: FilterNode, scope: Scope): Query {
  switch (node.t) {
    case 'and':
      return { $and: node.items.map((n) => translateNode(n, scope)) };
    case 'or':
      return { $or: node.items.map((n) => translateNode(n, scope)) };
    case 'not':
      // `$nor` rather than a field-level `$not`: it negates any sub-query, and the embedded adapter rewrites it.
      return { $nor: [translateNode(node.item, scope)] };
    case 'pr':
      return translateComparison(node.path, 'pr', undefined, scope);
    case 'cmp':
      return translateComparison(node.path, node.op, node.value, scope);
    case 'valuePath':
      return translateValuePath(node, scope);
  }
}

function translateValuePath(node: Extract<FilterNode, { t: 'valuePath' }>, scope: Scope): Query {
  const resolved = resolveAttribute(scope.resourceType, node.path);
  if (!resolved) throw unknownAttribute(node.path);
  const parent = resolved.attribute;
  if (parent.kind === 'unsupported') throw invalid(parent.reason);
  if (parent.kind !== 'complex' || resolved.sub) {
    throw invalid(`attribute ${show(node.path)} is not complex, so it cannot have a value filter '[...]'`);
  }
  const inner: Scope = { kind: 'valuePath', resourceType: scope.resourceType, parent };
  const conditions = [translateNode(node.filter, inner)];
  if (node.then) conditions.push(translateComparison(node.then.sub, node.then.op, node.then.value, inner));
  const query = conditions.length === 1 ? conditions[0] : { $and: conditions };
  // A singular complex attribute (`name[givenName eq "x"]`) has full paths already; a multi-valued one needs one
  // element to satisfy every condition of the brackets.
  if (!parent.multiValued) return query;
  const match = { [parent.stored]: { $elemMatch: query } };
  // `emails[type eq "work"].value eq "x"` implies `emailKeys` holds "x": adding that to the query changes nothing it
  // matches, but lets the store start from the index instead of testing every user (IdPs match users this way).
  const then = node.then;
  const sub = then && then.op === 'eq' && !isNull(then.value) ? resolveSubAttribute(parent, then.sub) : undefined;
  return sub?.kind === 'simple' && sub.key && then ? { ...condition(sub, sub.key, sub.key, 'eq', then.value), ...match } : match;
}

function unknownAttribute(path: string) {
  return invalid(`unknown or unfilterable attribute ${show(path)}`);
}

function translateComparison(path: string, op: CompareOp | 'pr', value: Literal | undefined, scope: Scope): Query {
  if (scope.kind === 'valuePath') {
    // Inside `emails[...]` names are sub-attributes of `emails` (RFC 7644 §3.4.2.2 valFilter).
    const sub = resolveSubAttribute(scope.parent, path);
    if (!sub) throw invalid(`unknown attribute ${show(path)} in the value filter of ${show(scope.parent.name)}`);
    if (sub.kind === 'derived') return derivedCondition(sub, op, value);
    // Relative to the element when multi-valued (inside `$elemMatch`); no lower-cased copy applies to one element.
    const stored = scope.parent.multiValued ? sub.stored : joinStored(scope.parent, sub);
    return condition(sub, stored, undefined, op, value);
  }
  const resolved = resolveAttribute(scope.resourceType, path);
  if (!resolved) throw unknownAttribute(path);
  const { attribute, sub } = resolved;
  if (attribute.kind === 'unsupported') throw invalid(attribute.reason);
  if (attribute.kind === 'simple') return condition(attribute, attribute.stored, attribute.key, op, value);
  if (attribute.kind === 'derived') return derivedCondition(attribute, op, value);
  if (!sub) {
    // RFC 7644 §3.4.2.2: a multi-valued attribute compared as a whole compares its values (`emails co "example.com"`).
    if (op !== 'pr' && attribute.multiValued && attribute.sub.has('value')) return translateComparison(`${path}.value`, op, value, scope);
    // For other complex attributes a sub-attribute must be named, except for presence.
    if (op !== 'pr') {
      throw invalid(`attribute ${show(attribute.name)} is complex: name a sub-attribute (e.g. ${[...attribute.sub.values()][0].name})`);
    }
    // `meta` has no stored object (its parts are top-level fields) and every resource has it.
    if (attribute.stored === '') return EVERY_RESOURCE;
    return attribute.multiValued
      ? { [`${attribute.stored}.0`]: { $exists: true } }
      : { [attribute.stored]: { $exists: true, $ne: null } };
  }
  if (sub.kind === 'derived') return derivedCondition(sub, op, value);
  if (!attribute.multiValued) return condition(sub, joinStored(attribute, sub), undefined, op, value);
  if (sub.key && op !== 'pr' && op !== 'ne' && !isNull(value)) {
    // `emails.value eq "x"` outside brackets: any element; the lower-cased copy holds one entry per element. Not for
    // `ne`: on the copy it would mean "no element equals", where RFC 7644 §3.4.2.2 asks "some element differs".
    return condition(sub, sub.key, sub.key, op, value);
  }
  // `emails.type eq "work"`: some element matches. Each such condition is its own `$elemMatch`, so
  // `emails.type eq "work" and emails.value co "x"` stays two independent conditions.
  return { [attribute.stored]: { $elemMatch: condition(sub, sub.stored, undefined, op, value) } };
}

/**
 * The condition for a derived attribute (`schemas`, `meta.resourceType`): the stored conditions of the values that
 * satisfy the comparison, compared as case-insensitive strings (folded like the stored copies, `caseKey`). As for
 * stored multi-valued attributes, `ne` means "some value differs"; `eq null` matches nothing (every resource has a
 * value), `ne null` everything.
 */
function derivedCondition(attr: DerivedAttribute, op: CompareOp | 'pr', value: Literal | undefined): Query {
  if (op !== 'pr' && isNull(value)) {
    if (op === 'eq') return NO_RESOURCE;
    if (op === 'ne') return EVERY_RESOURCE;
    throw invalid(`operator '${op}' cannot compare ${show(attr.name)} with null`);
  }
  const wanted = op === 'pr' ? '' : caseKey((value as Literal).text);
  const holding = attr.values.filter((held) => op === 'pr' || compares(caseKey(held.value), op, wanted));
  if (holding.some(({ when }) => when === EVERY_RESOURCE)) return EVERY_RESOURCE;
  if (holding.length === 0) return NO_RESOURCE;
  return holding.length === 1 ? holding[0].when : { $or: holding.map(({ when }) => when) };
}

/** RFC 7644 §3.4.2.2's string comparisons (lexicographic for the order operators) of a value held and one wanted. */
function compares(held: string, op: CompareOp, wanted: string): boolean {
  switch (op) {
    case 'eq':
      return held === wanted;
    case 'ne':
      return held !== wanted;
    case 'co':
      return held.includes(wanted);
    case 'sw':
      return held.startsWith(wanted);
    case 'ew':
      return held.endsWith(wanted);
    case 'gt':
      return held > wanted;
    case 'ge':
      return held >= wanted;
    case 'lt':
      return held < wanted;
    case 'le':
      return held <= wanted;
  }
}

const ORDER_OPS: Record<string, string> = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte' };
const isOrderOp = (op: string) => op === 'gt' || op === 'ge' || op === 'lt' || op === 'le';

/**
 * The condition for one attribute. `key` is the lower-cased copy when one exists (then `stored === key` is possible
 * for multi-valued copies); only eq/ne/co/sw/ew/gt/ge/lt/le use it.
 */
function condition(attr: SimpleAttribute, stored: string, key: string | undefined, op: CompareOp | 'pr', value: Literal | undefined): Query {
  if (op === 'pr') return present(stored);
  const literal = value as Literal;
  if (op === 'ne') return { $nor: [condition(attr, stored, key, 'eq', literal)] };
  if (isNull(literal)) {
    // RFC 7643 §2.5: null is equivalent to "unassigned".
    if (op === 'eq') return { $nor: [present(stored)] };
    throw invalid(`operator '${op}' cannot compare ${show(attr.name)} with null`);
  }
  switch (attr.type) {
    case 'string':
    case 'reference':
      return stringCondition(attr, stored, key, op, literal);
    case 'binary':
      if (op !== 'eq') throw unsupportedOp(op, attr.name, attr.type);
      return stringCondition(attr, stored, undefined, op, literal);
    case 'boolean': {
      if (op !== 'eq') throw unsupportedOp(op, attr.name, attr.type);
      return { [stored]: booleanValue(attr, literal) };
    }
    case 'dateTime': {
      if (op === 'co' || op === 'sw' || op === 'ew') throw unsupportedOp(op, attr.name, attr.type);
      const date = dateValue(attr, literal);
      return op === 'eq' ? { [stored]: date } : { [stored]: { [ORDER_OPS[op]]: date } };
    }
    case 'integer':
    case 'decimal': {
      if (op === 'co' || op === 'sw' || op === 'ew') throw unsupportedOp(op, attr.name, attr.type);
      if (literal.quoted || typeof literal.value !== 'number' || (attr.type === 'integer' && !Number.isInteger(literal.value))) {
        throw invalid(`${show(attr.name)} is ${attr.type === 'integer' ? 'an integer' : 'a number'}: compare it with an unquoted number`);
      }
      return op === 'eq' ? { [stored]: literal.value } : { [stored]: { [ORDER_OPS[op]]: literal.value } };
    }
  }
}

function stringCondition(attr: SimpleAttribute, stored: string, key: string | undefined, op: Exclude<CompareOp, 'ne'>, literal: Literal): Query {
  // A bare token compared with a string attribute is the string as written (Entra: `userName eq Test`, `externalId eq 0042`).
  const text = literal.text;
  if (key) {
    // The copy is folded (caseKey: NFC, lower case), so a folded value makes every operator case-insensitive and
    // blind to how an accent is encoded; `eq` stays an index lookup.
    const lower = caseKey(text);
    if (op === 'eq') return { [key]: lower };
    if (isOrderOp(op)) return { [key]: { [ORDER_OPS[op]]: lower } };
    return { [key]: new TextPattern(op, lower, false) };
  }
  if (op === 'eq' && attr.caseExact) return { [stored]: text };
  if (isOrderOp(op)) {
    // RFC 7644 §3.4.2.2: lexicographic order for strings. Without a lower-cased copy this compares stored case.
    return { [stored]: { [ORDER_OPS[op]]: text } };
  }
  return { [stored]: new TextPattern(op as TextOp, text, !attr.caseExact) };
}

/** Present = assigned, not null and not the empty string (RFC 7644 §3.4.2.2 `pr`, RFC 7643 §2.5). */
function present(stored: string): Query {
  return { [stored]: { $exists: true, $nin: [null, ''] } };
}

function booleanValue(attr: SimpleAttribute, literal: Literal): boolean {
  if (typeof literal.value === 'boolean') return literal.value;
  // Quoted "true"/"false" are accepted: some clients quote every value.
  const lower = literal.text.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  throw invalid(`${show(attr.name)} is a boolean: compare it with true or false, not ${show(literal.text)}`);
}

/** RFC 7643 §2.3.5: xsd:dateTime; a date or year-month prefix is accepted as the start of that period (UTC). */
const DATE_TIME = /^\d{4}-\d{2}(?:-\d{2}(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?$/;

function dateValue(attr: SimpleAttribute, literal: Literal): Date {
  const match = typeof literal.value === 'string' ? DATE_TIME.exec(literal.text) : null;
  // A time without an offset is read as UTC (JavaScript would read it as local time).
  const date = match ? new Date(match[1] && !match[2] ? `${literal.text}Z` : literal.text) : undefined;
  if (!date || Number.isNaN(date.getTime()) || !isCalendarDate(literal.text)) {
    throw invalid(`${show(attr.name)} is a dateTime: compare it with a quoted date such as "2024-01-31T00:00:00Z"`);
  }
  return date;
}

/** JavaScript rolls a day past the month's end over ("2027-02-31" is March 3rd); such a date is not one. */
function isCalendarDate(text: string): boolean {
  const [year, month, day = 1] = text.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function unsupportedOp(op: string, name: string, type: AttributeType) {
  return invalid(`operator '${op}' is not supported for ${show(name)} (type ${type}, RFC 7644 §3.4.2.2)`);
}
