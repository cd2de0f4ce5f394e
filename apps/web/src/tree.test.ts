import { describe, expect, it } from "vitest";
import { ancestorsOf, buildTree, visibleRows } from "./tree";

const s = (span_id: string, parent_span_id: string | null = null) => ({ span_id, parent_span_id });

describe("buildTree", () => {
  it("nests children under their parents in input order, with depths", () => {
    const tree = buildTree([s("a"), s("b", "a"), s("c", "a"), s("d", "b")]);
    expect(tree.roots.map((n) => n.span.span_id)).toEqual(["a"]);
    expect(tree.order.map((n) => [n.span.span_id, n.depth])).toEqual([["a", 0], ["b", 1], ["d", 2], ["c", 1]]);
  });

  it("keeps children that arrive before their parent", () => {
    const tree = buildTree([s("child", "root"), s("root")]);
    expect(tree.roots.map((n) => n.span.span_id)).toEqual(["root"]);
    expect(tree.order.map((n) => n.span.span_id)).toEqual(["root", "child"]);
  });

  it("shows spans with a missing parent as orphan roots instead of dropping them", () => {
    const tree = buildTree([s("a"), s("lost", "never-sent"), s("kid", "lost")]);
    expect(tree.roots.map((n) => [n.span.span_id, n.orphan])).toEqual([["a", false], ["lost", true]]);
    expect(tree.order).toHaveLength(3);
    expect(tree.byId.get("kid")?.depth).toBe(1);
  });

  it("breaks parent cycles without hanging or losing a span", () => {
    const spans = [s("root"), s("x", "z"), s("y", "x"), s("z", "y"), s("self", "self"), s("under", "y")];
    const tree = buildTree(spans);
    expect(new Set(tree.order.map((n) => n.span.span_id))).toEqual(new Set(spans.map((p) => p.span_id)));
    expect(tree.order).toHaveLength(spans.length);
    const x = tree.byId.get("x")!;
    expect(x.cycle).toBe(true);
    expect(tree.roots).toContain(x);
    expect(tree.order.map((n) => [n.span.span_id, n.depth])).toEqual([
      ["root", 0], ["self", 0], ["x", 0], ["y", 1], ["z", 2], ["under", 2],
    ]);
    expect(visibleRows(tree.roots, new Set())).toHaveLength(spans.length);
    expect(ancestorsOf(tree, "z")).toEqual(["x", "y"]);
  });

  it("ignores a repeated span id rather than showing it twice", () => {
    const tree = buildTree([s("a"), s("a"), s("b", "a")]);
    expect(tree.order.map((n) => n.span.span_id)).toEqual(["a", "b"]);
  });

  it("builds 10,000 spans, deep and wide, in linear time", () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => s(`s${i}`, i === 0 ? null : `s${i < 5000 ? i - 1 : i % 50}`));
    const started = performance.now();
    const tree = buildTree(spans);
    expect(performance.now() - started).toBeLessThan(500);
    expect(tree.order).toHaveLength(10_000);
    expect(tree.byId.get("s4999")?.depth).toBe(4999);
  });
});

describe("visibleRows", () => {
  it("hides the descendants of collapsed spans and numbers siblings", () => {
    const tree = buildTree([s("a"), s("b", "a"), s("c", "b"), s("d", "a"), s("e")]);
    expect(visibleRows(tree.roots, new Set()).map((r) => r.node.span.span_id)).toEqual(["a", "b", "c", "d", "e"]);
    const folded = visibleRows(tree.roots, new Set(["b"]));
    expect(folded.map((r) => r.node.span.span_id)).toEqual(["a", "b", "d", "e"]);
    expect(folded.map((r) => [r.position, r.siblings])).toEqual([[1, 2], [1, 2], [2, 2], [2, 2]]);
    expect(visibleRows(tree.roots, new Set(["a"])).map((r) => r.node.span.span_id)).toEqual(["a", "e"]);
  });
});
