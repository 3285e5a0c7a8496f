// A check that a regular expression cannot backtrack catastrophically, for
// the schema's patterns (ajv runs them with JavaScript's backtracking
// engine). It flags a NESTED QUANTIFIER: a group repeated more than once
// whose body holds another repetition, unless the body is delimited: it
// starts (or ends) with a character class no other part of the body can
// match, so each repetition's extent is fixed and the input can be split
// into repetitions in one way only. `^/([A-Za-z0-9._+@-]+/?)*$` is flagged
// (`a/b` splits as `a/` `b` or `a` ... : 2^n ways to fail); `(\.[a-z]+)*`
// is not. Covers the syntax the schema uses: literals, escapes, classes,
// groups, alternation, anchors and the quantifiers * + ? {n} {n,} {n,m}.

type Node =
  | { readonly t: 'set'; readonly chars: ReadonlySet<number> }
  | { readonly t: 'seq'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly options: readonly Node[] }
  | { readonly t: 'rep'; readonly body: Node; readonly min: number; readonly max: number };

/** Code points 0-127, and 128 for "any other". */
const UNIVERSE = Array.from({ length: 129 }, (_, i) => i);
const range = (a: number, b: number) => UNIVERSE.filter((c) => c >= a && c <= b);
const classes: Record<string, number[]> = {
  d: range(48, 57),
  w: [...range(48, 57), ...range(65, 90), ...range(97, 122), 95],
  s: [9, 10, 11, 12, 13, 32, 128],
};
const complement = (chars: readonly number[]) => UNIVERSE.filter((c) => !chars.includes(c));

function escape(ch: string): number[] {
  if (ch in classes) return classes[ch]!;
  if (ch.toLowerCase() in classes) return complement(classes[ch.toLowerCase()]!);
  const named: Record<string, number> = { t: 9, n: 10, r: 13, f: 12, v: 11 };
  return [named[ch] ?? ch.charCodeAt(0)];
}

export function parseRegex(source: string): Node {
  let i = 0;
  const peek = () => source[i];
  const set = (chars: Iterable<number>): Node => ({ t: 'set', chars: new Set(chars) });
  const empty: Node = { t: 'seq', items: [] };

  function parseClass(): Node {
    i++; // [
    const negate = peek() === '^';
    if (negate) i++;
    const chars: number[] = [];
    while (peek() !== ']') {
      if (i >= source.length) throw new SyntaxError(`unterminated class in ${source}`);
      let from: number[];
      if (peek() === '\\') {
        from = escape(source[i + 1]!);
        i += 2;
      } else {
        from = [source.charCodeAt(i)];
        i++;
      }
      if (peek() === '-' && source[i + 1] !== ']' && from.length === 1) {
        i++;
        const to = peek() === '\\' ? escape(source[++i]!)[0]! : source.charCodeAt(i);
        i++;
        chars.push(...range(from[0]!, to));
      } else chars.push(...from);
    }
    i++; // ]
    return set(negate ? complement(chars) : chars);
  }

  function parseAtom(): Node {
    const ch = peek()!;
    if (ch === '(') {
      i++;
      if (source.startsWith('?:', i)) i += 2;
      const inner = parseAlt();
      if (peek() !== ')') throw new SyntaxError(`unbalanced ( in ${source}`);
      i++;
      return inner;
    }
    if (ch === '[') return parseClass();
    if (ch === '\\') {
      i += 2;
      return set(escape(source[i - 1]!));
    }
    i++;
    if (ch === '^' || ch === '$') return empty;
    if (ch === '.') return set(complement([10]));
    return set([ch.charCodeAt(0)]);
  }

  function parseQuantified(): Node {
    const atom = parseAtom();
    const q = peek();
    let min: number;
    let max: number;
    if (q === '*') [min, max] = [0, Infinity];
    else if (q === '+') [min, max] = [1, Infinity];
    else if (q === '?') [min, max] = [0, 1];
    else if (q === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))!;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      i += m[0].length - 1;
    } else return atom;
    i++;
    if (peek() === '?') i++; // lazy: same language, same ambiguity
    return { t: 'rep', body: atom, min, max };
  }

  function parseSeq(): Node {
    const items: Node[] = [];
    while (i < source.length && peek() !== '|' && peek() !== ')') items.push(parseQuantified());
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  function parseAlt(): Node {
    const options = [parseSeq()];
    while (peek() === '|') {
      i++;
      options.push(parseSeq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  const node = parseAlt();
  if (i !== source.length) throw new SyntaxError(`unexpected ${peek()} at ${i} in ${source}`);
  return node;
}

function setsOf(node: Node): ReadonlySet<number>[] {
  switch (node.t) {
    case 'set':
      return [node.chars];
    case 'seq':
      return node.items.flatMap(setsOf);
    case 'alt':
      return node.options.flatMap(setsOf);
    case 'rep':
      return setsOf(node.body);
  }
}

function matchesEmpty(node: Node): boolean {
  switch (node.t) {
    case 'set':
      return false;
    case 'seq':
      return node.items.every(matchesEmpty);
    case 'alt':
      return node.options.some(matchesEmpty);
    case 'rep':
      return node.min === 0 || matchesEmpty(node.body);
  }
}

function hasRepeat(node: Node): boolean {
  switch (node.t) {
    case 'set':
      return false;
    case 'seq':
      return node.items.some(hasRepeat);
    case 'alt':
      return node.options.some(hasRepeat);
    case 'rep':
      return node.max > 1 || hasRepeat(node.body);
  }
}

const disjoint = (a: ReadonlySet<number>, others: readonly ReadonlySet<number>[]) => others.every((o) => [...a].every((c) => !o.has(c)));

/** Whether `edge` (the body's first or last item) delimits the body whose other items are `rest`. */
function delimits(edge: Node | undefined, rest: readonly Node[]): boolean {
  if (edge === undefined) return false;
  const restNode: Node = { t: 'seq', items: rest };
  if (edge.t === 'set') return disjoint(edge.chars, setsOf(restNode));
  if (edge.t === 'rep' && edge.body.t === 'set' && edge.min >= 1) {
    // A repeated delimiter fixes the split only when something else must follow it.
    return disjoint(edge.body.chars, setsOf(restNode)) && (edge.max === 1 || !matchesEmpty(restNode));
  }
  return false;
}

/** Every nested quantifier of `source` that can backtrack catastrophically, described; empty when none. */
export function nestedQuantifiers(source: string): string[] {
  const found: string[] = [];
  const walk = (node: Node): void => {
    if (node.t === 'seq') node.items.forEach(walk);
    else if (node.t === 'alt') node.options.forEach(walk);
    else if (node.t === 'rep') {
      if (node.max > 1 && hasRepeat(node.body)) {
        const items = node.body.t === 'seq' ? node.body.items : [node.body];
        const delimited = delimits(items[0], items.slice(1)) || delimits(items[items.length - 1], items.slice(0, -1));
        if (!delimited) found.push(`a repetition (max ${node.max}) of a group that repeats inside, with no delimiter fixing each repetition's extent`);
      }
      walk(node.body);
    }
  };
  walk(parseRegex(source));
  return found;
}
