import { describeType, isArrayType, isMapType, isRecordType, isUnionType, type AvroType } from './avro.ts';

/**
 * One way a value fails its Avro type. Describes *where* and *what was expected*, and the
 * JavaScript kind of what was found (`missing`, `string`, `number`, ...) — never the value.
 */
export interface ValueProblem {
  /** Path from the top-level record: `counts.read`, `resourceTypes[2]`; map keys appear as `[*]`. */
  readonly path: string;
  readonly problem: 'invalid' | 'undeclared_field';
  /** Readable expected type, e.g. `long`, `null | string`, `enum JobState`. */
  readonly expected: string;
  /** JavaScript kind of the value found: `missing`, `null`, `string`, `number`, `array`, ... */
  readonly actual: string;
}

export interface ValidateOptions {
  /** Accept object keys the schema does not declare (avsc ignores them when encoding). Default false. */
  readonly allowUndeclaredFields?: boolean;
}

/**
 * Checks a value against an Avro type and lists every problem (empty when valid). Uses avsc's
 * `isValid` error hook, so it agrees with what `toBuffer` accepts.
 */
export function findValueProblems(
  type: AvroType,
  value: unknown,
  options: ValidateOptions = {},
): ValueProblem[] {
  const problems: ValueProblem[] = [];
  type.isValid(value, {
    errorHook: (path, val: unknown, at: AvroType) => {
      problems.push({
        path: formatPath(type, path),
        problem: 'invalid',
        expected: describeType(at),
        actual: kindOf(val),
      });
    },
  });
  if (problems.length > 0 || options.allowUndeclaredFields === true) return problems;

  // A second pass for keys the schema does not know: with this flag avsc stops at the first record
  // holding one, so it only runs once the types are known to be right.
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (path, val: unknown, at: AvroType) => {
      if (!isRecordType(at) || val === null || typeof val !== 'object') return;
      const known = new Set(at.fields.map((f) => f.name));
      const prefix = formatPath(type, path);
      for (const key of Object.keys(val)) {
        if (known.has(key)) continue;
        problems.push({
          path: prefix === '' ? key : `${prefix}.${key}`,
          problem: 'undeclared_field',
          expected: `a field of ${describeType(at)}`,
          actual: 'undeclared',
        });
      }
    },
  });
  return problems;
}

/** One line per problem, for error messages: `counts.read: expected long, got string`. */
export function describeProblems(problems: readonly ValueProblem[], max = 5): string {
  const shown = problems
    .slice(0, max)
    .map((p) =>
      p.problem === 'undeclared_field'
        ? `${p.path || '(root)'}: field not declared by the schema`
        : `${p.path || '(root)'}: expected ${p.expected}, got ${p.actual}`,
    );
  const more = problems.length > max ? `; and ${problems.length - max} more` : '';
  return shown.join('; ') + more;
}

/**
 * Turns avsc's path elements into a readable path, walking the type alongside so that array
 * indexes and map keys are told apart: a map key is data and is replaced with `*`.
 */
function formatPath(root: AvroType, elements: readonly string[]): string {
  let type: AvroType | undefined = root;
  let out = '';
  for (const el of elements) {
    // A wrapped union puts its branch name on the path; step into the branch, print nothing.
    const branch: AvroType | undefined =
      type !== undefined && type.typeName === 'union:wrapped' ? branchNamed(type, el) : undefined;
    if (branch !== undefined) {
      type = branch;
      continue;
    }
    type = type === undefined ? undefined : containerFor(type, el);
    if (type !== undefined && isRecordType(type)) {
      out += out === '' ? el : `.${el}`;
      type = type.fields.find((f) => f.name === el)?.type;
    } else if (type !== undefined && isArrayType(type)) {
      out += `[${el}]`;
      type = type.itemsType;
    } else if (type !== undefined && isMapType(type)) {
      out += '[*]';
      type = type.valuesType as AvroType;
    } else {
      // Unknown shape: say where we lost track rather than print an element that may be data.
      return `${out}[?]`;
    }
  }
  return out;
}

function branchNamed(union: AvroType, name: string): AvroType | undefined {
  return isUnionType(union) ? union.types.find((t) => t.branchName === name) : undefined;
}

/** Steps through an unwrapped union: the branch a path element `el` descends into. */
function containerFor(type: AvroType, el: string): AvroType | undefined {
  if (!isUnionType(type)) return type;
  return (
    type.types.find((t) => isRecordType(t) && t.fields.some((f) => f.name === el)) ??
    type.types.find((t) => isArrayType(t) && /^\d+$/.test(el)) ??
    type.types.find((t) => isMapType(t))
  );
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Buffer.isBuffer(value)) return 'bytes';
  return typeof value;
}
