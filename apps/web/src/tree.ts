// The span tree of a run, built once in O(n) from parent_span_id. Spans whose parent is missing
// (not sent yet, or dropped) become roots marked as orphans; spans caught in a parent cycle are
// cut loose at the first span of the cycle (in input order), so no span ever disappears and no
// walk ever loops.

export interface SpanLike {
  span_id: string;
  parent_span_id: string | null;
}

export interface TreeNode<S extends SpanLike> {
  span: S;
  children: TreeNode<S>[];
  depth: number;
  /** Its parent_span_id names no span of the run. */
  orphan: boolean;
  /** Its parent chain led back to itself; shown as a root. */
  cycle: boolean;
}

export interface SpanTree<S extends SpanLike> {
  roots: TreeNode<S>[];
  byId: Map<string, TreeNode<S>>;
  /** Every node in depth-first order (children in input order). */
  order: TreeNode<S>[];
}

export function buildTree<S extends SpanLike>(spans: readonly S[]): SpanTree<S> {
  const byId = new Map<string, TreeNode<S>>();
  const nodes: TreeNode<S>[] = [];
  for (const span of spans) {
    if (byId.has(span.span_id)) continue;
    const node: TreeNode<S> = { span, children: [], depth: 0, orphan: false, cycle: false };
    byId.set(span.span_id, node);
    nodes.push(node);
  }
  const parentOf = new Map<TreeNode<S>, TreeNode<S>>();
  const roots: TreeNode<S>[] = [];
  for (const node of nodes) {
    const parentId = node.span.parent_span_id;
    const parent = parentId === null ? undefined : byId.get(parentId);
    if (parent && parent !== node) {
      parent.children.push(node);
      parentOf.set(node, parent);
    } else {
      node.orphan = parentId !== null && parent === undefined;
      node.cycle = parent === node;
      roots.push(node);
    }
  }

  const order: TreeNode<S>[] = [];
  const visited = new Set<TreeNode<S>>();
  const walk = (root: TreeNode<S>) => {
    const stack: TreeNode<S>[] = [root];
    root.depth = 0;
    while (stack.length) {
      const node = stack.pop()!;
      if (visited.has(node)) continue;
      visited.add(node);
      order.push(node);
      for (let i = node.children.length - 1; i >= 0; i--) {
        const child = node.children[i]!;
        child.depth = node.depth + 1;
        stack.push(child);
      }
    }
  };
  roots.forEach(walk);

  // Whatever no root reached hangs in a cycle: detach its first span from its parent and walk it.
  if (visited.size < nodes.length) {
    for (const node of nodes) {
      if (visited.has(node)) continue;
      const parent = parentOf.get(node);
      if (parent) parent.children = parent.children.filter((c) => c !== node);
      node.cycle = true;
      roots.push(node);
      walk(node);
    }
  }
  return { roots, byId, order };
}

export interface VisibleRow<S extends SpanLike> {
  node: TreeNode<S>;
  /** 1-based position among its siblings, and their count (aria-posinset / aria-setsize). */
  position: number;
  siblings: number;
}

/** The rows on screen: depth-first, skipping the descendants of collapsed spans. */
export function visibleRows<S extends SpanLike>(roots: readonly TreeNode<S>[], collapsed: ReadonlySet<string>): VisibleRow<S>[] {
  const rows: VisibleRow<S>[] = [];
  const stack: VisibleRow<S>[] = [];
  const pushLevel = (level: readonly TreeNode<S>[]) => {
    for (let i = level.length - 1; i >= 0; i--) stack.push({ node: level[i]!, position: i + 1, siblings: level.length });
  };
  pushLevel(roots);
  while (stack.length) {
    const row = stack.pop()!;
    rows.push(row);
    if (row.node.children.length && !collapsed.has(row.node.span.span_id)) pushLevel(row.node.children);
  }
  return rows;
}

/** The span ids from the root down to (not including) this one: to expand before revealing it. */
export function ancestorsOf<S extends SpanLike>(tree: SpanTree<S>, spanId: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let node = tree.byId.get(spanId);
  while (node && !node.orphan && !node.cycle && node.span.parent_span_id !== null) {
    const parentId = node.span.parent_span_id;
    if (seen.has(parentId)) break;
    seen.add(parentId);
    out.unshift(parentId);
    node = tree.byId.get(parentId);
  }
  return out;
}
