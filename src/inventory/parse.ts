// YAML in, plain data plus a way to find the source line of any field path out.
// js-yaml gives no positions on parsed values, so its parse listener records one tree of
// node offsets alongside, and `lineOf(path)` walks it.
import yaml from 'js-yaml';

export type PathSegment = string | number;

interface PosNode {
  readonly pos: number;
  value?: unknown;
  readonly children: PosNode[];
}

export interface ParsedYaml {
  readonly data: unknown;
  /** 1-based line of the field (its key, for mapping entries), if it can be told. */
  readonly lineOf: (path: readonly PathSegment[]) => number | undefined;
}

export class YamlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}

/** A wrapper node (a block sequence entry holding a flow collection) has one child with the same value. */
const unwrap = (n: PosNode): PosNode => {
  let node = n;
  while (node.children.length === 1 && node.children[0]!.value === node.value && typeof node.value === 'object') {
    node = node.children[0]!;
  }
  return node;
};

const childFor = (node: PosNode, segment: PathSegment): { key?: PosNode; value?: PosNode } => {
  const n = unwrap(node);
  if (typeof segment === 'number') return { value: Array.isArray(n.value) ? n.children[segment] : undefined };
  for (let i = 0; i + 1 < n.children.length; i += 2) {
    if (n.children[i]!.value === segment) return { key: n.children[i], value: n.children[i + 1] };
  }
  return {};
};

export const parseYaml = (text: string): ParsedYaml => {
  const root: PosNode = { pos: 0, children: [] };
  const stack: PosNode[] = [root];
  let data: unknown;
  try {
    data = yaml.load(text, {
      schema: yaml.CORE_SCHEMA, // no timestamps or other implicit types: `1.34` stays what it looks like
      json: false,
      listener(event, state) {
        if (event === 'open') {
          stack.push({ pos: state.position, children: [] });
        } else {
          const frame = stack.pop()!;
          frame.value = state.result;
          stack[stack.length - 1]!.children.push(frame);
        }
      },
    });
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const mark = err.mark as { line?: number; column?: number } | undefined;
      throw new YamlSyntaxError(
        err.reason || 'invalid YAML',
        mark?.line !== undefined ? mark.line + 1 : undefined,
        mark?.column !== undefined ? mark.column + 1 : undefined,
      );
    }
    if (err instanceof RangeError) throw new YamlSyntaxError('the document is nested too deeply to read');
    throw err;
  }

  const lineStarts: number[] = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineAt = (pos: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  const lineOf = (path: readonly PathSegment[]): number | undefined => {
    let node: PosNode | undefined = root.children[0];
    let last: PosNode | undefined = node;
    for (const segment of path) {
      if (!node) break;
      const { key, value } = childFor(node, segment);
      last = key ?? value ?? last;
      node = value;
      if (!key && !value) break;
    }
    return last ? lineAt(last.pos) : undefined;
  };
  return { data, lineOf };
};
