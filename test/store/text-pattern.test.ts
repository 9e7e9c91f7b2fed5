/**
 * A filter's text comparison is a RegExp both stores understand (src/store/text-pattern.ts): MongoDB gets its source
 * and flags, the embedded store calls its `test`, which must answer exactly as the expression would.
 */
import { TextPattern, type TextOp } from '../../src/store/text-pattern';
import { seededRandom } from '../../src/cli/demo';

// Letters whose case rules differ (ß, long s, Kelvin sign, dotless and dotted i, final sigma, title-case ǅ, the ﬀ
// ligature, Turkish and Greek letters), an astral letter with a case pair (𐐨/𐐀), regex metacharacters, a newline.
const ALPHABET = ['a', 'A', 'z', 'Z', 'k', 'K', 's', 'S', 'i', 'I', '0', '@', '.', '-', '_', ' ', '\n', '*', '(', '[', '\\', '^', '$', '|', '?', '+'];
const UNICODE = ['é', 'É', 'ß', 'ẞ', 'ſ', '\u212A', 'ı', 'İ', 'σ', 'ς', 'Σ', 'ǅ', 'Ǆ', 'ǆ', 'ﬀ', 'µ', 'Μ', 'ÿ', 'Ÿ', '𐐨', '𐐀', 'Ω', 'ω', '\u2126', 'ǰ'];

describe('text patterns', () => {
  test('test as their regular expression does, for every operator, with and without case', () => {
    const random = seededRandom(17);
    const pick = () => (random.next() < 0.3 ? random.pick(UNICODE) : random.pick(ALPHABET));
    const word = (max: number) => Array.from({ length: Math.floor(random.next() * max) }, pick).join('');
    // The input often contains the text, in another case, so that matches are common.
    const flip = (text: string) => [...text].map((c) => (random.next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
    let matched = 0;
    let refused = 0;
    for (let n = 0; n < 20_000; n++) {
      const op = random.pick<TextOp>(['eq', 'sw', 'ew', 'co']);
      const caseInsensitive = random.next() < 0.7;
      const text = word(5);
      const input = random.next() < 0.6 ? `${random.next() < 0.5 ? word(2) : ''}${flip(text)}${random.next() < 0.5 ? word(2) : ''}` : word(7);
      const pattern = new TextPattern(op, text, caseInsensitive);
      const expression = new RegExp(pattern.source, pattern.flags);
      const expected = expression.test(input);
      if (pattern.test(input) !== expected) throw new Error(`${op} ${caseInsensitive ? 'i' : ''} ${JSON.stringify(text)} on ${JSON.stringify(input)}: expected ${expected}`);
      if (expected) matched++;
      else refused++;
    }
    expect(matched).toBeGreaterThan(3000);
    expect(refused).toBeGreaterThan(3000);
  });

  test('are the expressions the stores received before: escaped, anchored, and ended without matching a newline', () => {
    expect(new TextPattern('eq', 'a.b*c', true)).toEqual(/^a\.b\*c(?![\s\S])/i);
    expect(new TextPattern('sw', '(x', false)).toEqual(/^\(x/);
    expect(new TextPattern('ew', 'x$', true)).toEqual(/x\$(?![\s\S])/i);
    expect(new TextPattern('co', '[y]', false)).toEqual(/\[y\]/);
    expect(new TextPattern('eq', 'x', false).test('x\n')).toBe(false);
    expect(Object.prototype.toString.call(new TextPattern('eq', 'x', true))).toBe('[object RegExp]');
    // No own properties: a query logged or copied shows no more of the filter's value than a RegExp does.
    expect(JSON.stringify({ value: new TextPattern('eq', 'ada@example.com', true) })).toBe('{"value":{}}');
    expect(Object.keys(new TextPattern('co', 'ada', false))).toEqual([]);
  });
});
