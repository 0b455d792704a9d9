import { CfnResource, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Turns a resolved CloudFormation value into one string that rules can compare: `Ref` becomes
 * `<LogicalId>`, `Fn::GetAtt` `<LogicalId.Attribute>`, `Fn::Join` is joined, `Fn::Sub` keeps its
 * template with `${X}` written `<X>`. Anything else (`Fn::If`, `Fn::Select`, ...) becomes
 * `undefined`: the value is not known at synth time and rules must not guess.
 */
export function flatten(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (!isObject(value)) {
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return undefined;
  }
  const [fn] = keys;
  const arg = value[fn];
  if (fn === 'Ref' && typeof arg === 'string') {
    return `<${arg}>`;
  }
  if (fn === 'Fn::GetAtt') {
    const parts = Array.isArray(arg) ? arg : typeof arg === 'string' ? arg.split('.') : [];
    return parts.length === 2 && parts.every((p) => typeof p === 'string') ? `<${parts[0]}.${parts[1]}>` : undefined;
  }
  if (fn === 'Fn::Join' && Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
    const items = arg[1].map(flatten);
    return items.every((i): i is string => i !== undefined) ? items.join(arg[0]) : undefined;
  }
  if (fn === 'Fn::Sub') {
    const template = Array.isArray(arg) ? arg[0] : arg;
    return typeof template === 'string' ? template.replace(/\$\{([^}]*)\}/g, '<$1>') : undefined;
  }
  if (fn === 'Fn::ImportValue') {
    const name = flatten(arg);
    return name === undefined ? undefined : `<ImportValue:${name}>`;
  }
  return undefined;
}

/** A list of resolved values, each flattened; `undefined` if any cannot be. */
export function flattenAll(value: unknown): string[] | undefined {
  const values = Array.isArray(value) ? value : [value];
  const flat = values.map(flatten);
  return flat.every((v): v is string => v !== undefined) ? flat : undefined;
}

export function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a resolved value is a CloudFormation intrinsic (`Ref`, `Fn::*`) rather than data. */
export function isIntrinsic(value: unknown): boolean {
  return isObject(value) && Object.keys(value).some((key) => key === 'Ref' || key.startsWith('Fn::'));
}

/** Resolves `value` as CloudFormation sees it from `scope`'s stack. */
export function resolveIn(scope: IConstruct, value: unknown): any {
  return Stack.of(scope).resolve(value);
}

/** The logical ID of a resource, resolved. */
export function logicalIdOf(resource: CfnResource): string {
  return Stack.of(resource).resolve(resource.logicalId);
}

/**
 * Whether `value`, a property of `consumer`, refers to `target` (by `Ref` or `Fn::GetAtt`).
 *
 * The token is reversed to the CDK reference it came from, which identifies the target
 * construct even across stacks (where CloudFormation sees only `Fn::ImportValue`); a value
 * that was written as a literal or an intrinsic by hand is compared by logical ID inside one
 * stack, as cdk-nag's own rules do.
 */
export function refersTo(consumer: CfnResource, value: unknown, target: CfnResource): boolean {
  const referenced = referenceTarget(value);
  if (referenced) {
    return referenced === target;
  }
  if (Stack.of(consumer) !== Stack.of(target)) {
    return false;
  }
  const resolved = resolveIn(consumer, value);
  const id = logicalIdOf(target);
  if (isObject(resolved)) {
    if (resolved.Ref === id) {
      return true;
    }
    const getAtt = resolved['Fn::GetAtt'];
    return Array.isArray(getAtt) && getAtt[0] === id;
  }
  return false;
}

/**
 * What one validation run has already computed: the app's constructs and per-resource results.
 * Rules run once per resource and several need the same bucket policy, so without it a
 * validation walks the whole app once per bucket and rule.
 */
interface AppIndex {
  readonly root: IConstruct;
  readonly constructs: IConstruct[];
  readonly memo: Map<string, WeakMap<object, unknown>>;
}
let activeIndex: AppIndex | undefined;

/** Runs `fn` with the app of `scope` indexed; the index is dropped afterwards (the tree may change). */
export function withAppIndex<T>(scope: IConstruct, fn: () => T): T {
  const previous = activeIndex;
  const root = scope.node.root;
  activeIndex = { root, constructs: root.node.findAll(), memo: new Map() };
  try {
    return fn();
  } finally {
    activeIndex = previous;
  }
}

/** `compute(target)`, computed once per validation run (every time outside one). */
export function memoized<K extends object, V>(name: string, target: K, compute: (target: K) => V): V {
  const index = activeIndex;
  if (!index || !isInIndexedApp(target)) {
    return compute(target);
  }
  let byTarget = index.memo.get(name);
  if (!byTarget) {
    byTarget = new WeakMap();
    index.memo.set(name, byTarget);
  }
  if (!byTarget.has(target)) {
    byTarget.set(target, compute(target));
  }
  return byTarget.get(target) as V;
}

function isInIndexedApp(target: object): boolean {
  const node = (target as Partial<IConstruct>).node;
  return activeIndex !== undefined && node !== undefined && node.root === activeIndex.root;
}

/** The construct a token string refers to (`Ref`/`Fn::GetAtt` made by the CDK), if any. */
export function referenceTarget(value: unknown): IConstruct | undefined {
  if (typeof value === 'string' && Token.isUnresolved(value)) {
    const reversed = Tokenization.reverse(value);
    if (reversed && Reference.isReference(reversed)) {
      return reversed.target;
    }
  }
  return undefined;
}

/** Every construct of the app `scope` belongs to that satisfies `test` (`name` keys the memo). */
export function findInApp<T extends IConstruct>(scope: IConstruct, name: string, test: (c: IConstruct) => c is T): T[] {
  return memoized(`findInApp:${name}`, scope.node.root, (root) => {
    const constructs = activeIndex?.root === root ? activeIndex.constructs : root.node.findAll();
    return constructs.filter(test);
  });
}

/** Glob match as IAM does it: `*` any run of characters, `?` one character; case-insensitive when asked. */
export function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'is' : 's').test(value);
}
