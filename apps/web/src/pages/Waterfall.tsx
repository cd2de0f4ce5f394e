import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { formatDuration } from "../format";
import { barOf, endOf, extentOf, tickLabel, ticksOf, type Extent } from "../timeaxis";
import { ancestorsOf, buildTree, visibleRows, type VisibleRow } from "../tree";
import type { Span, Trace } from "./Run";

const ROW_HEIGHT = 30;
/** Deeper levels stop indenting (their level is still announced and shown on hover). */
const MAX_INDENT_LEVELS = 24;

const rowId = (spanId: string) => `span-row-${spanId}`;

export function Waterfall({ trace, selectedId, onSelect }: { trace: Trace; selectedId: string | null; onSelect: (id: string | null) => void }) {
  // One "now" per load: running spans end here, so bars do not creep between renders.
  const now = useMemo(() => Date.now(), [trace]);
  const tree = useMemo(() => buildTree(trace.spans), [trace.spans]);
  const extent = useMemo(() => extentOf(trace, trace.spans, now), [trace, now]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => visibleRows(tree.roots, collapsed), [tree, collapsed]);
  const indexOf = useMemo(() => new Map(rows.map((r, i) => [r.node.span.span_id, i])), [rows]);
  const [search, setSearch] = useState("");
  const needle = search.trim().toLowerCase();
  const matches = useMemo(() => {
    if (!needle) return null;
    const hit = new Set<string>();
    for (const node of tree.order) {
      const s = node.span;
      if (s.name.toLowerCase().includes(needle) || s.type.includes(needle) || (s.summary ?? "").toLowerCase().includes(needle) || (s.model ?? "").toLowerCase().includes(needle))
        hit.add(s.span_id);
    }
    return hit;
  }, [needle, tree]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const treeRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // A link with ?span= opens the run with that span revealed (ancestors expanded) and in view.
  const revealed = useRef<string | null>(null);
  useEffect(() => {
    if (!selectedId || revealed.current === selectedId) return;
    const hidden = ancestorsOf(tree, selectedId).filter((id) => collapsed.has(id));
    if (hidden.length) {
      setCollapsed((prev) => new Set([...prev].filter((id) => !hidden.includes(id))));
      return;
    }
    const index = indexOf.get(selectedId);
    if (index !== undefined) {
      revealed.current = selectedId;
      virtualizer.scrollToIndex(index, { align: "auto" });
    }
  }, [selectedId, tree, collapsed, indexOf, virtualizer]);

  const move = (index: number) => {
    const row = rows[Math.max(0, Math.min(rows.length - 1, index))];
    if (!row) return;
    revealed.current = row.node.span.span_id;
    onSelect(row.node.span.span_id);
    virtualizer.scrollToIndex(indexOf.get(row.node.span.span_id) ?? 0, { align: "auto" });
  };
  const toggle = (id: string, open?: boolean) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      const shouldOpen = open ?? next.has(id);
      if (shouldOpen) next.delete(id);
      else next.add(id);
      return next;
    });

  const current = selectedId === null ? -1 : (indexOf.get(selectedId) ?? -1);
  const onKeyDown = (event: KeyboardEvent) => {
    const row = rows[current];
    const hasChildren = Boolean(row?.node.children.length);
    const expanded = row ? hasChildren && !collapsed.has(row.node.span.span_id) : false;
    switch (event.key) {
      case "ArrowDown":
        move(current + 1);
        break;
      case "ArrowUp":
        move(current <= 0 ? 0 : current - 1);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(rows.length - 1);
        break;
      case "PageDown":
        move(current + 15);
        break;
      case "PageUp":
        move(current - 15);
        break;
      case "ArrowRight":
        if (!row) move(0);
        else if (hasChildren && !expanded) toggle(row.node.span.span_id, true);
        else if (expanded) move(current + 1);
        break;
      case "ArrowLeft":
        if (!row) break;
        if (expanded) toggle(row.node.span.span_id, false);
        else if (row.node.span.parent_span_id && indexOf.has(row.node.span.parent_span_id) && !row.node.orphan && !row.node.cycle)
          move(indexOf.get(row.node.span.parent_span_id)!);
        break;
      case "Enter":
      case " ":
        if (row && hasChildren) toggle(row.node.span.span_id);
        else if (!row) move(0);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const jumpToMatch = (direction: 1 | -1) => {
    if (!matches || matches.size === 0) return;
    for (let step = 1; step <= rows.length; step++) {
      const i = (current + direction * step + rows.length * 2) % rows.length;
      if (matches.has(rows[i]!.node.span.span_id)) return move(i);
    }
    // Matches hidden under collapsed spans: open everything and try again on the next render.
    setCollapsed(new Set());
  };

  const allFolded = collapsed.size > 0;
  const activeDescendant = current >= 0 ? rowId(rows[current]!.node.span.span_id) : undefined;
  const ticks = useMemo(() => ticksOf(extent.length), [extent.length]);

  return (
    <section className="waterfall card" aria-label="Waterfall">
      <div className="wf-toolbar">
        <label className="wf-search">
          <span className="sr-only">Find spans by name, type, model or summary</span>
          <input
            type="search"
            placeholder="Find spans (press /)"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                jumpToMatch(e.shiftKey ? -1 : 1);
              } else if (e.key === "Escape") {
                setSearch("");
                treeRef.current?.focus();
              }
            }}
          />
        </label>
        {matches && (
          <span className="muted small" role="status">
            {matches.size} {matches.size === 1 ? "match" : "matches"}
          </span>
        )}
        <button type="button" className="quiet" onClick={() => setCollapsed(allFolded ? new Set() : new Set(tree.order.filter((n) => n.children.length && n.depth === 0).map((n) => n.span.span_id)))}>
          {allFolded ? "Expand all" : "Collapse all"}
        </button>
        <Legend />
      </div>
      <div className="wf-scroll" ref={scrollRef}>
        <div className="wf-ruler" aria-hidden="true">
          <div className="wf-ruler-tree">Span</div>
          <div className="wf-ruler-time">
            {ticks.map((t) => (
              <Tick key={t} at={t / extent.length} label={tickLabel(t)} />
            ))}
          </div>
        </div>
        <div
          ref={treeRef}
          role="tree"
          aria-label={`Spans of the run (${trace.spans.length})`}
          aria-activedescendant={activeDescendant}
          tabIndex={0}
          className="wf-tree"
          onKeyDown={onKeyDown}
          onFocus={() => {
            if (current < 0 && rows.length) move(0);
          }}
          onKeyUp={(e) => {
            if (e.key === "/") {
              e.preventDefault();
              (e.currentTarget.closest(".waterfall")?.querySelector(".wf-search input") as HTMLInputElement | null)?.focus();
            }
          }}
        >
          <Sizer height={virtualizer.getTotalSize()}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index]!;
              const id = row.node.span.span_id;
              return (
                <Row
                  key={id}
                  row={row}
                  top={item.start}
                  extent={extent}
                  now={now}
                  selected={id === selectedId}
                  expanded={row.node.children.length ? !collapsed.has(id) : undefined}
                  dimmed={matches !== null && !matches.has(id)}
                  onSelect={() => {
                    revealed.current = id;
                    onSelect(id);
                    treeRef.current?.focus({ preventScroll: true });
                  }}
                  onToggle={() => toggle(id)}
                />
              );
            })}
          </Sizer>
        </div>
      </div>
      {rows.length === 0 && <p className="state muted">This run has no spans yet.</p>}
    </section>
  );
}

/** Elements placed by the CSSOM (allowed by style-src 'self', unlike style attributes in HTML). */
function Sizer({ height, children }: { height: number; children: ReactNode }) {
  return (
    <div className="wf-sizer" style={{ height }}>
      {children}
    </div>
  );
}

function Tick({ at, label }: { at: number; label: string }) {
  return (
    <span className="wf-tick" style={{ left: `${at * 100}%` }}>
      {label}
    </span>
  );
}

const TYPES = ["agent", "llm", "tool", "retrieval", "http", "db", "custom"] as const;

function Legend() {
  return (
    <ul className="legend" aria-label="Span types">
      {TYPES.map((t) => (
        <li key={t}>
          <span className={`swatch type-${t}`} aria-hidden="true" />
          {t}
        </li>
      ))}
      <li>
        <span className="swatch failed" aria-hidden="true" />
        failed
      </li>
    </ul>
  );
}

interface RowProps {
  row: VisibleRow<Span>;
  top: number;
  extent: Extent;
  now: number;
  selected: boolean;
  expanded: boolean | undefined;
  dimmed: boolean;
  onSelect: () => void;
  onToggle: () => void;
}

const Row = memo(function Row({ row, top, extent, now, selected, expanded, dimmed, onSelect, onToggle }: RowProps) {
  const { node } = row;
  const span = node.span;
  const bar = barOf(span, extent, now);
  const duration = endOf(span, now) - Date.parse(span.started_at);
  const failed = span.status === "failed" || span.status === "timed_out";
  const invalid = span.payload_validation.status === "invalid";
  const indent = Math.min(node.depth, MAX_INDENT_LEVELS);
  const label = `${span.name}, ${span.type}, ${span.status === "timed_out" ? "timed out" : span.status}, ${formatDuration(duration)}${invalid ? ", schema violation" : ""}${span.summary ? `: ${span.summary}` : ""}`;
  return (
    <div
      id={rowId(span.span_id)}
      role="treeitem"
      aria-label={label}
      aria-level={node.depth + 1}
      aria-setsize={row.siblings}
      aria-posinset={row.position}
      aria-expanded={expanded}
      aria-selected={selected}
      className={`wf-row${selected ? " selected" : ""}${failed ? " is-failed" : ""}${dimmed ? " dimmed" : ""}`}
      style={{ transform: `translateY(${top}px)` }}
      onClick={onSelect}
      title={node.depth > MAX_INDENT_LEVELS ? `level ${node.depth + 1}` : undefined}
    >
      <div className="wf-name">
        <Indent levels={indent} />
        {expanded === undefined ? (
          <span className="wf-toggle-space" aria-hidden="true" />
        ) : (
          <button
            type="button"
            tabIndex={-1}
            aria-hidden="true"
            className="wf-toggle"
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {expanded ? "▾" : "▸"}
          </button>
        )}
        <span className={`swatch type-${span.type}`} aria-hidden="true" />
        <span className="wf-label">
          {span.name}
          {span.summary && <span className="wf-summary"> {span.summary}</span>}
        </span>
        {failed && (
          <span className="badge status-failed" aria-hidden="true">
            {span.status === "timed_out" ? "timed out" : "failed"}
          </span>
        )}
        {invalid && (
          <span className="badge invalid" aria-hidden="true">
            schema
          </span>
        )}
        {(node.orphan || node.cycle) && (
          <span className="badge muted-badge" aria-hidden="true" title={node.orphan ? "Its parent span is not in this run" : "Its parents form a cycle"}>
            {node.orphan ? "orphan" : "cycle"}
          </span>
        )}
      </div>
      <div className="wf-time" aria-hidden="true">
        <Bar left={bar.left} width={bar.width} type={span.type} failed={failed} running={span.status === "running"} />
        <span className={`wf-duration${bar.left + bar.width > 0.85 ? " inside" : ""}`} style={{ left: `${(bar.left + bar.width) * 100}%` }}>
          {formatDuration(duration)}
        </span>
      </div>
    </div>
  );
});

function Indent({ levels }: { levels: number }) {
  return <span className="wf-indent" style={{ width: levels * 14 }} aria-hidden="true" />;
}

function Bar({ left, width, type, failed, running }: { left: number; width: number; type: string; failed: boolean; running: boolean }) {
  return (
    <span
      className={`wf-bar type-${type}${failed ? " failed" : ""}${running ? " running" : ""}`}
      style={{ left: `${left * 100}%`, width: `${width * 100}%` }}
    />
  );
}
