import { PipelineError } from '@ehrflow/errors';
import { isJsonObject, jsonTypeName, jsonTypeOfFhir } from './fhir-values.ts';
import { childOf, isDescribedType, isPrimitiveType, type ElementInfo } from './r4-model.ts';

/**
 * A small, safe subset of FHIRPath for the `fhirPath` attributes of the contracts. Expressions
 * are relative to the resource (no leading type name) and are compiled once, when a contract
 * loads; anything outside the subset is a CONTRACT_VIOLATION then, never per record.
 *
 * Supported:
 * - member access: `code.coding.code` (navigation flattens arrays, as in FHIRPath);
 * - indexer: `name[0]` (the n-th item of the collection so far);
 * - `first()`;
 * - `where(<dotted path> = '<string literal>')`, e.g. `telecom.where(system='phone')`. Deviation
 *   from FHIRPath: the comparison is true when any item of the dotted path equals the literal
 *   (FHIRPath proper needs a single item there; the two agree whenever the path yields one item).
 *   Literals support the escapes `\'` and `\\` only.
 *
 * Not supported: other functions, operators, `$this`, backtick identifiers, type prefixes.
 * Where the R4 model (r4-model.ts) describes a type, element names are checked at compile time,
 * and so is the shape of values at run time (0..* must be an array, complex types objects).
 *
 * @see https://hl7.org/fhirpath/N1/
 */

export type PathStep =
  | {
      readonly kind: 'child';
      readonly name: string;
      readonly element: ElementInfo | undefined;
      readonly text: string;
    }
  | { readonly kind: 'index'; readonly index: number; readonly text: string }
  | { readonly kind: 'first'; readonly text: string }
  | {
      readonly kind: 'where';
      readonly on: readonly string[];
      readonly equals: string;
      readonly text: string;
    };

/** How many values a path can yield, as far as the model can tell. */
export type PathCardinality = 'one' | 'many' | 'unknown';

export interface CompiledPath {
  readonly expression: string;
  readonly rootType: string;
  readonly steps: readonly PathStep[];
  /** FHIR type of the values yielded, when the model describes every step. */
  readonly leafType: string | undefined;
  /** The type owning the last element (`Reference` for `subject.reference`), when known. */
  readonly leafOwner: string | undefined;
  readonly cardinality: PathCardinality;
}

/** A value whose JSON shape contradicts the model, by path and type names only. */
export interface PathProblem {
  readonly path: string;
  readonly expected: string;
  readonly observed: string;
}

export interface PathResult {
  readonly values: readonly unknown[];
  readonly problems: readonly PathProblem[];
}

type RawStep =
  | { readonly kind: 'child'; readonly name: string; readonly text: string }
  | Exclude<PathStep, { kind: 'child' }>;

/**
 * Parses `expression` and checks it against the R4 model of `rootType`.
 * @throws PipelineError CONTRACT_VIOLATION when the expression is outside the subset or names an
 *   element the model does not know.
 */
export function compilePath(expression: string, rootType: string): CompiledPath {
  const raw = parsePath(expression);
  const steps: PathStep[] = [];
  let type: string | undefined = rootType;
  let owner: string | undefined;
  let cardinality: PathCardinality = 'one';
  for (const step of raw) {
    switch (step.kind) {
      case 'child': {
        if (type !== undefined && isPrimitiveType(type)) {
          throw pathError(expression, `"${step.name}" is read from a primitive (${type})`);
        }
        const element: ElementInfo | undefined =
          type !== undefined && isDescribedType(type) ? childOf(type, step.name) : undefined;
        if (type !== undefined && isDescribedType(type) && element === undefined) {
          throw pathError(expression, `${type} has no element "${step.name}" in FHIR R4`);
        }
        owner = type;
        type = element?.type;
        if (element?.array === true) cardinality = 'many';
        else if (element === undefined && cardinality === 'one') cardinality = 'unknown';
        steps.push({ ...step, element });
        break;
      }
      case 'index':
      case 'first':
        cardinality = 'one';
        steps.push(step);
        break;
      case 'where':
        if (type !== undefined) checkWherePath(expression, type, step.on);
        steps.push(step);
        break;
    }
  }
  return { expression, rootType, steps, leafType: type, leafOwner: owner, cardinality };
}

/**
 * The collections between steps live in two scratch arrays the steps alternate between, with
 * their lengths kept apart (shrinking an array would give up its capacity). The validator
 * evaluates a path per contract field per record, and the fresh arrays of each step were about a
 * third of what it allocated. Evaluation is synchronous and calls nothing that evaluates again;
 * the values are copied out at the end, so a caller may keep them while evaluating more.
 */
let scratch: unknown[] = [];
let spare: unknown[] = [];

/** Evaluates a compiled path on a parsed resource. Never throws on data; shape problems are returned. */
export function evaluatePath(path: CompiledPath, root: unknown): PathResult {
  let collection = scratch;
  let next = spare;
  let length = 1;
  /** Most entries either scratch array got in this call: what to clear at the end. */
  let written = 1;
  collection[0] = root;
  // Allocated on the first problem only: almost every record has none.
  const found: Found = { problems: undefined, length: 0 };
  let previousText = '';
  for (const step of path.steps) {
    switch (step.kind) {
      case 'child': {
        found.length = 0;
        for (let i = 0; i < length; i++) {
          const node = collection[i];
          if (!isJsonObject(node)) {
            found.problems = add(found.problems, {
              path: joinPath(path.rootType, previousText),
              expected: 'object',
              observed: jsonTypeName(node),
            });
            continue;
          }
          collectChild(node, step, path.rootType, next, found);
        }
        const filled = next;
        next = collection;
        collection = filled;
        length = found.length;
        if (length > written) written = length;
        break;
      }
      case 'index':
        if (step.index < length) {
          collection[0] = collection[step.index];
          length = 1;
        } else length = 0;
        break;
      case 'first':
        if (length > 1) length = 1;
        break;
      case 'where': {
        let kept = 0;
        for (let i = 0; i < length; i++) {
          const node = collection[i];
          if (isJsonObject(node) && anyEquals(node, step.on, step.equals)) collection[kept++] = node;
        }
        length = kept;
        break;
      }
    }
    previousText = step.text;
  }
  const values = length === 0 ? NO_VALUES : collection.slice(0, length);
  // No resource stays reachable from the scratch arrays between calls.
  collection.fill(undefined, 0, written);
  next.fill(undefined, 0, written);
  scratch = collection;
  spare = next;
  return { values, problems: found.problems ?? NO_PROBLEMS };
}

const NO_PROBLEMS: readonly PathProblem[] = Object.freeze([]);
const NO_VALUES: readonly unknown[] = Object.freeze([]);

/** What a child step collected into the next scratch array: its length, and shape problems. */
interface Found {
  problems: PathProblem[] | undefined;
  length: number;
}

/** Adds the items of `node[step.name]` to `into` at `found.length`; shape problems to `found`. */
function collectChild(
  node: Readonly<Record<string, unknown>>,
  step: Extract<PathStep, { kind: 'child' }>,
  rootType: string,
  into: unknown[],
  found: Found,
): void {
  if (!Object.hasOwn(node, step.name)) return;
  const value = node[step.name];
  if (value === null || value === undefined) return;
  const element = step.element;
  const isArray = Array.isArray(value);
  if (element !== undefined && element.array !== isArray) {
    const expected = element.array
      ? 'array'
      : isPrimitiveType(element.type)
        ? jsonTypeOfFhir(element.type)
        : 'object';
    found.problems = add(found.problems, {
      path: joinPath(rootType, step.text),
      expected,
      observed: jsonTypeName(value),
    });
    return;
  }
  const complex = element !== undefined && !isPrimitiveType(element.type);
  if (!isArray) {
    if (complex && !isJsonObject(value)) {
      found.problems = add(found.problems, {
        path: joinPath(rootType, step.text),
        expected: 'object',
        observed: jsonTypeName(value),
      });
      return;
    }
    into[found.length++] = value;
    return;
  }
  for (const item of value as readonly unknown[]) {
    if (item === null) continue;
    if (complex && !isJsonObject(item)) {
      found.problems = add(found.problems, {
        path: joinPath(rootType, step.text),
        expected: 'object',
        observed: jsonTypeName(item),
      });
      continue;
    }
    into[found.length++] = item;
  }
}

function add(problems: PathProblem[] | undefined, problem: PathProblem): PathProblem[] {
  if (problems === undefined) return [problem];
  problems.push(problem);
  return problems;
}

function anyEquals(node: Readonly<Record<string, unknown>>, on: readonly string[], literal: string): boolean {
  let collection: unknown[] = [node];
  for (const name of on) {
    const next: unknown[] = [];
    for (const item of collection) {
      if (!isJsonObject(item) || !Object.hasOwn(item, name)) continue;
      const value = item[name];
      if (Array.isArray(value)) next.push(...(value as unknown[]));
      else next.push(value);
    }
    collection = next;
  }
  return collection.some((value) => value === literal);
}

function checkWherePath(expression: string, type: string, on: readonly string[]): void {
  let current: string | undefined = type;
  for (const name of on) {
    if (current === undefined || !isDescribedType(current)) return;
    const element = childOf(current, name);
    if (element === undefined) throw pathError(expression, `${current} has no element "${name}" in FHIR R4`);
    current = element.type;
  }
  if (isDescribedType(current)) {
    throw pathError(expression, `where() compares ${current}, a complex type, with a string`);
  }
}

function joinPath(rootType: string, text: string): string {
  return text === '' ? rootType : `${rootType}.${text}`;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/** Recursive-descent parser of the subset; `i` is the cursor into `expr`. */
function parsePath(expr: string): RawStep[] {
  const steps: RawStep[] = [];
  let i = 0;
  const fail = (reason: string): never => {
    throw pathError(expr, `${reason} at offset ${i}`);
  };
  const identifier = (): string => {
    const start = i;
    if (!IDENT_START.test(expr.charAt(i))) fail('expected an element name');
    while (i < expr.length && IDENT_PART.test(expr.charAt(i))) i++;
    return expr.slice(start, i);
  };
  const skipSpaces = (): void => {
    while (expr.charAt(i) === ' ') i++;
  };
  const literal = (): string => {
    if (expr.charAt(i) !== "'") fail("expected a 'string' literal");
    i++;
    let out = '';
    while (i < expr.length && expr.charAt(i) !== "'") {
      if (expr.charAt(i) === '\\') {
        const escaped = expr.charAt(i + 1);
        if (escaped !== "'" && escaped !== '\\') fail('unsupported escape in string literal');
        out += escaped;
        i += 2;
      } else {
        out += expr.charAt(i);
        i++;
      }
    }
    if (i >= expr.length) fail('unterminated string literal');
    i++;
    return out;
  };

  if (expr.length === 0) fail('empty expression');
  for (;;) {
    const name = identifier();
    if (expr.charAt(i) === '(') {
      if (steps.length === 0) fail('an expression must start with an element name');
      i++;
      if (name === 'first') {
        if (expr.charAt(i) !== ')') fail('first() takes no argument');
        i++;
        steps.push({ kind: 'first', text: expr.slice(0, i) });
      } else if (name === 'where') {
        skipSpaces();
        const on = [identifier()];
        while (expr.charAt(i) === '.') {
          i++;
          on.push(identifier());
        }
        skipSpaces();
        if (expr.charAt(i) !== '=') fail("where() supports only <path> = 'literal'");
        i++;
        skipSpaces();
        const equals = literal();
        skipSpaces();
        if (expr.charAt(i) !== ')') fail("where() supports only <path> = 'literal'");
        i++;
        steps.push({ kind: 'where', on, equals, text: expr.slice(0, i) });
      } else {
        fail(`function ${name}() is not supported`);
      }
    } else {
      steps.push({ kind: 'child', name, text: expr.slice(0, i) });
    }
    while (expr.charAt(i) === '[') {
      i++;
      const start = i;
      while (/[0-9]/.test(expr.charAt(i))) i++;
      if (i === start || expr.charAt(i) !== ']') fail('expected [<non-negative integer>]');
      const index = Number(expr.slice(start, i));
      i++;
      steps.push({ kind: 'index', index, text: expr.slice(0, i) });
    }
    if (i === expr.length) return steps;
    if (expr.charAt(i) !== '.') fail('unexpected character');
    i++;
  }
}

function pathError(expression: string, reason: string): PipelineError {
  return new PipelineError('CONTRACT_VIOLATION', `fhirPath "${expression}" is not supported: ${reason}`, {
    context: { fhirPath: expression },
  });
}
