/**
 * Lambda's event filtering (FilterCriteria) for Kafka event sources: which records a
 * subscription sends to its function. The syntax is Lambda's, which is EventBridge's event
 * pattern syntax ("Control which events Lambda sends to your function", "Filtering events from
 * Amazon MSK and self-managed Apache Kafka event sources"):
 *
 *   { "filters": [ { "pattern": "{ \"value\": { \"device_ID\": [ { \"prefix\": \"AB\" } ] } }" } ] }
 *
 * - A record passes when ANY filter's pattern matches it; the others are committed without an
 *   invocation.
 * - Kafka mappings filter on the record's `value` only (Lambda's rule): a pattern names `value`
 *   (and `$or` of patterns that name it), nothing else.
 * - The value is decoded as UTF-8 and read as JSON when it is JSON (`{"value": {"field": [...]}}`
 *   then looks inside it); otherwise it is a plain string (`{"value": [{"prefix": "INFO"}]}`).
 *   A value that is not UTF-8 matches only `exists: true`; a null value (a tombstone) is absent.
 * - Within a field's list: OR. Across fields of an object: AND. `$or: [pattern, ...]`: OR of
 *   sub-patterns at that level.
 * - Rules in a list: a string, number, boolean or null (exact, by value; "" is Lambda's "empty"),
 *   `{"prefix": s}`, `{"suffix": s}`, `{"equals-ignore-case": s}`, `{"exists": bool}`,
 *   `{"numeric": ["=", n]}` or a range (`[">", 0, "<=", 5]`), and `{"anything-but": x}` with x a
 *   string, a number, a list of them, `{"prefix": s}`, `{"suffix": s}` or
 *   `{"equals-ignore-case": s | [s]}`.
 * - A field in the record holding a list matches when any element matches (EventBridge's rule);
 *   a field holding an object is not a leaf, so leaf rules (including `exists: true`) do not
 *   match it and `exists: false` does (EventBridge's "exists works on leaf nodes only").
 *
 * Where this differs from Lambda: numbers are compared by value, so 300, 300.0 and 3.0e2 are
 * equal here (Lambda compares their text); `wildcard` and `cidr` are refused (Lambda does not
 * document them for event source mappings).
 */

/** Lambda's limits: 5 filters per event source mapping (10 with a quota increase), 4096 characters a pattern. */
export const FILTER_LIMITS = { filters: 5, patternLength: 4096 } as const;

export interface FilterCriteria {
  filters: { pattern: string }[];
}

/** What is wrong with a pattern, and where inside it (a path like `value.device_ID[0]`). */
export interface PatternProblem {
  path: string;
  message: string;
}

type Scalar = string | number | boolean | null;

type Rule =
  | { kind: 'exact'; value: Scalar }
  | { kind: 'prefix' | 'suffix' | 'equals-ignore-case'; value: string }
  | { kind: 'exists'; value: boolean }
  | { kind: 'numeric'; conditions: [NumericOperator, number][] }
  | { kind: 'anything-but'; values: (string | number)[] }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix'; value: string }
  | { kind: 'anything-but-ignore-case'; values: string[] };

type NumericOperator = '=' | '<' | '<=' | '>' | '>=';
const NUMERIC_OPERATORS: readonly string[] = ['=', '<', '<=', '>', '>='];

/** A pattern object: every field must match, and one alternative of every `$or`. */
interface CompiledObject {
  fields: [string, Rule[] | CompiledObject][];
  or: CompiledObject[][];
}

/** A value that is not UTF-8: present, but nothing can be compared with it. */
const NOT_TEXT = Symbol('not UTF-8');

class PatternError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** A pattern, checked; throws PatternError naming where it is wrong. */
function compilePattern(pattern: string): CompiledObject {
  if (pattern.length > FILTER_LIMITS.patternLength) {
    throw new PatternError(
      '',
      `a pattern is at most ${FILTER_LIMITS.patternLength} characters, got ${pattern.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch (error) {
    throw new PatternError('', `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new PatternError('', 'a pattern is a JSON object');
  const root = compileObject(parsed, '');
  checkKafkaFields(root, '');
  return root;
}

/** Kafka mappings filter on `value` only (Lambda's rule), at the top and inside each `$or`. */
function checkKafkaFields(root: CompiledObject, path: string): void {
  for (const [name] of root.fields) {
    if (name !== 'value') {
      throw new PatternError(
        join(path, name),
        `Kafka filters match the record's value only (as Lambda's Kafka event sources do): name "value", not "${name}"`,
      );
    }
  }
  for (const alternatives of root.or) {
    alternatives.forEach((alt, i) => {
      checkKafkaFields(alt, `${join(path, '$or')}[${i}]`);
    });
  }
}

function compileObject(object: Record<string, unknown>, path: string): CompiledObject {
  const compiled: CompiledObject = { fields: [], or: [] };
  const entries = Object.entries(object);
  if (entries.length === 0) throw new PatternError(path, 'an empty object matches nothing');
  for (const [name, rule] of entries) {
    const at = join(path, name);
    if (name === '$or') {
      if (!Array.isArray(rule) || rule.length < 2 || !rule.every(isObject)) {
        throw new PatternError(at, '$or takes a list of at least two pattern objects');
      }
      compiled.or.push(
        (rule as Record<string, unknown>[]).map((alt, i) => compileObject(alt, `${at}[${i}]`)),
      );
    } else if (Array.isArray(rule)) {
      if (rule.length === 0) throw new PatternError(at, 'a list of rules may not be empty');
      compiled.fields.push([name, rule.map((r, i) => compileRule(r, `${at}[${i}]`))]);
    } else if (isObject(rule)) {
      compiled.fields.push([name, compileObject(rule, at)]);
    } else {
      throw new PatternError(
        at,
        `a field's rules are a list (["a", "b"], [{"prefix": "x"}]) or an object of fields, got ${JSON.stringify(rule)}`,
      );
    }
  }
  return compiled;
}

function compileRule(rule: unknown, path: string): Rule {
  if (rule === null || ['string', 'boolean'].includes(typeof rule)) {
    return { kind: 'exact', value: rule as Scalar };
  }
  if (typeof rule === 'number') return { kind: 'exact', value: finite(rule, path) };
  if (!isObject(rule)) {
    throw new PatternError(
      path,
      `a rule is a value or an operator object, got ${JSON.stringify(rule)}`,
    );
  }
  const keys = Object.keys(rule);
  if (keys.length !== 1) {
    throw new PatternError(path, `an operator object has exactly one operator, got ${keys.length}`);
  }
  const operator = keys[0] as string;
  const operand = rule[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      return { kind: operator, value: text(operand, `${path}.${operator}`) };
    case 'exists':
      if (typeof operand !== 'boolean') {
        throw new PatternError(`${path}.exists`, 'exists takes true or false');
      }
      return { kind: 'exists', value: operand };
    case 'numeric':
      return { kind: 'numeric', conditions: numericConditions(operand, `${path}.numeric`) };
    case 'anything-but':
      return anythingBut(operand, `${path}.anything-but`);
    case 'wildcard':
    case 'cidr':
      throw new PatternError(
        `${path}.${operator}`,
        `"${operator}" is not an operator of Lambda's event filtering`,
      );
    default:
      throw new PatternError(
        path,
        `unknown operator "${operator}": use prefix, suffix, equals-ignore-case, exists, numeric or anything-but`,
      );
  }
}

function anythingBut(operand: unknown, path: string): Rule {
  if (typeof operand === 'string') return { kind: 'anything-but', values: [operand] };
  if (typeof operand === 'number') return { kind: 'anything-but', values: [finite(operand, path)] };
  if (Array.isArray(operand)) {
    if (operand.length === 0) throw new PatternError(path, 'anything-but takes a non-empty list');
    return {
      kind: 'anything-but',
      values: operand.map((v, i) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'number') return finite(v, `${path}[${i}]`);
        throw new PatternError(`${path}[${i}]`, 'anything-but lists hold strings and numbers');
      }),
    };
  }
  if (isObject(operand) && Object.keys(operand).length === 1) {
    if ('prefix' in operand) {
      return { kind: 'anything-but-prefix', value: text(operand['prefix'], `${path}.prefix`) };
    }
    if ('suffix' in operand) {
      return { kind: 'anything-but-suffix', value: text(operand['suffix'], `${path}.suffix`) };
    }
    if ('equals-ignore-case' in operand) {
      const value = operand['equals-ignore-case'];
      const at = `${path}.equals-ignore-case`;
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) throw new PatternError(at, 'takes a string or a non-empty list');
      return {
        kind: 'anything-but-ignore-case',
        values: values.map((v, i) => text(v, Array.isArray(value) ? `${at}[${i}]` : at)),
      };
    }
  }
  throw new PatternError(
    path,
    'anything-but takes a string, a number, a list of them, {"prefix": s}, {"suffix": s} or {"equals-ignore-case": s}',
  );
}

/** `["=", n]`, or one or two bounds (`[">", 0]`, `[">=", 0, "<", 10]`), lower before upper. */
function numericConditions(operand: unknown, path: string): [NumericOperator, number][] {
  const usage =
    'numeric takes ["=", n], or one or two bounds such as [">", 0, "<=", 10] (a lower bound before an upper one)';
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0) {
    throw new PatternError(path, usage);
  }
  const conditions: [NumericOperator, number][] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const operator = operand[i];
    const n = operand[i + 1];
    if (typeof operator !== 'string' || !NUMERIC_OPERATORS.includes(operator)) {
      throw new PatternError(
        `${path}[${i}]`,
        `${JSON.stringify(operator)} is not one of =, <, <=, >, >=`,
      );
    }
    if (typeof n !== 'number') throw new PatternError(`${path}[${i + 1}]`, 'a bound is a number');
    conditions.push([operator as NumericOperator, finite(n, `${path}[${i + 1}]`)]);
  }
  const kinds = conditions.map(([op]) =>
    op === '=' ? 'eq' : op.startsWith('>') ? 'lower' : 'upper',
  );
  const shapeOk =
    (kinds.length === 1 && kinds[0] !== undefined) ||
    (kinds.length === 2 && kinds[0] === 'lower' && kinds[1] === 'upper');
  if (!shapeOk) throw new PatternError(path, usage);
  if (kinds.length === 2 && (conditions[0]?.[1] as number) >= (conditions[1]?.[1] as number)) {
    throw new PatternError(path, 'the lower bound must be below the upper bound');
  }
  return conditions;
}

/**
 * Every problem of a FilterCriteria object (none when it is fine), each with a path
 * (`filters[0].pattern`, `filters[0].pattern: value.device_ID[0]`).
 */
export function filterCriteriaProblems(criteria: unknown): PatternProblem[] {
  if (!isObject(criteria))
    return [
      { path: '', message: 'filterCriteria is an object: {"filters": [{"pattern": "..."}]}' },
    ];
  const extra = Object.keys(criteria).filter((k) => k !== 'filters');
  if (extra.length > 0) {
    return [
      { path: '', message: `filterCriteria has only "filters"; unknown: ${extra.join(', ')}` },
    ];
  }
  const filters = criteria['filters'];
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) return [{ path: 'filters', message: 'filters is a list' }];
  const problems: PatternProblem[] = [];
  if (filters.length > FILTER_LIMITS.filters) {
    problems.push({
      path: 'filters',
      message: `at most ${FILTER_LIMITS.filters} filters (Lambda's default quota), got ${filters.length}`,
    });
  }
  filters.forEach((filter, i) => {
    const at = `filters[${i}]`;
    if (!isObject(filter) || Object.keys(filter).some((k) => k !== 'pattern')) {
      problems.push({ path: at, message: 'a filter is {"pattern": "<JSON text>"}' });
      return;
    }
    const pattern = filter['pattern'];
    if (typeof pattern !== 'string') {
      problems.push({ path: `${at}.pattern`, message: 'a pattern is JSON text (a string)' });
      return;
    }
    try {
      compilePattern(pattern);
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      const where = error.path === '' ? '' : ` at ${error.path}`;
      problems.push({
        path: `${at}.pattern`,
        message: `invalid pattern${where}: ${error.message}`,
      });
    }
  });
  return problems;
}

/** A record filter from valid criteria; undefined when there are no filters (every record passes). */
export function compileFilterCriteria(
  criteria: FilterCriteria | undefined,
): ((value: Uint8Array | null) => boolean) | undefined {
  const filters = criteria?.filters ?? [];
  if (filters.length === 0) return undefined;
  const patterns = filters.map((f) => compilePattern(f.pattern));
  return (value) => {
    const event = { value: decodeValue(value) };
    return patterns.some((p) => matchObject(p, event));
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What a pattern sees as `value`: the parsed JSON, the text, NOT_TEXT, or undefined (null). */
function decodeValue(value: Uint8Array | null): unknown {
  if (value === null) return undefined;
  let decoded: string;
  try {
    decoded = utf8.decode(value);
  } catch {
    return NOT_TEXT;
  }
  try {
    return JSON.parse(decoded) as unknown;
  } catch {
    return decoded;
  }
}

function matchObject(pattern: CompiledObject, subject: unknown): boolean {
  const object = isObject(subject) ? subject : undefined;
  for (const [name, rule] of pattern.fields) {
    const field = object !== undefined && Object.hasOwn(object, name) ? object[name] : undefined;
    const ok = Array.isArray(rule) ? matchLeaf(rule, field) : matchNested(rule, field);
    if (!ok) return false;
  }
  return pattern.or.every((alternatives) => alternatives.some((alt) => matchObject(alt, subject)));
}

/** A nested pattern against a field: an object, or a list of objects (any one may match). */
function matchNested(pattern: CompiledObject, field: unknown): boolean {
  if (Array.isArray(field)) {
    const objects = field.filter(isObject);
    return objects.length === 0
      ? matchObject(pattern, undefined)
      : objects.some((o) => matchObject(pattern, o));
  }
  return matchObject(pattern, field);
}

function matchLeaf(rules: Rule[], field: unknown): boolean {
  const leaves =
    field === undefined || isObject(field)
      ? []
      : Array.isArray(field)
        ? field.filter((v) => !isObject(v) && !Array.isArray(v))
        : [field];
  return rules.some((rule) => {
    if (rule.kind === 'exists') return rule.value === leaves.length > 0;
    return leaves.some((leaf) => matchRule(rule, leaf));
  });
}

function matchRule(rule: Exclude<Rule, { kind: 'exists' }>, leaf: unknown): boolean {
  switch (rule.kind) {
    case 'exact':
      return leaf === rule.value;
    case 'prefix':
      return typeof leaf === 'string' && leaf.startsWith(rule.value);
    case 'suffix':
      return typeof leaf === 'string' && leaf.endsWith(rule.value);
    case 'equals-ignore-case':
      return typeof leaf === 'string' && leaf.toLowerCase() === rule.value.toLowerCase();
    case 'numeric':
      return typeof leaf === 'number' && rule.conditions.every(([op, n]) => compare(leaf, op, n));
    case 'anything-but':
      return (
        (typeof leaf === 'string' || typeof leaf === 'number' || typeof leaf === 'boolean') &&
        !rule.values.includes(leaf as string | number)
      );
    case 'anything-but-prefix':
      return typeof leaf === 'string' && !leaf.startsWith(rule.value);
    case 'anything-but-suffix':
      return typeof leaf === 'string' && !leaf.endsWith(rule.value);
    case 'anything-but-ignore-case':
      return (
        typeof leaf === 'string' && !rule.values.some((v) => v.toLowerCase() === leaf.toLowerCase())
      );
  }
}

function compare(x: number, op: NumericOperator, n: number): boolean {
  switch (op) {
    case '=':
      return x === n;
    case '<':
      return x < n;
    case '<=':
      return x <= n;
    case '>':
      return x > n;
    case '>=':
      return x >= n;
  }
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new PatternError(path, 'takes a string');
  return value;
}

function finite(n: number, path: string): number {
  if (!Number.isFinite(n)) throw new PatternError(path, 'numbers must be finite');
  return n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
