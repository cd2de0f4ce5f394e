import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { ErrorState, Loading, StatusBadge, SuccessBadge } from "../components";
import { formatCost, formatDateTime, formatDuration, formatRelative, formatTokens } from "../format";
import { Link, navigate, useLocation, withQuery } from "../router";
import { SpanPanel } from "./SpanPanel";
import { Waterfall } from "./Waterfall";

export type Trace = Schemas["AvTraceDetail"];
export type Span = Schemas["AvTraceDetailSpan"];

/** The largest page the API serves: a 10,000-span run arrives in two requests. */
const SPAN_PAGE = 5000;

/** The run with every span: the detail comes in pages (span_cursor), joined here in order. */
export function useTrace(traceId: string) {
  const client = useClient();
  return useQuery({
    queryKey: ["trace", traceId],
    queryFn: async () => {
      const path = { trace_id: traceId };
      const first = await unwrap(client.GET("/api/v1/dashboard/traces/{trace_id}", { params: { path, query: { span_limit: SPAN_PAGE, span_payloads: "none" } } }));
      const spans = [...first.spans];
      for (let cursor = first.next_span_cursor; cursor !== null; ) {
        const page = await unwrap(client.GET("/api/v1/dashboard/traces/{trace_id}", { params: { path, query: { span_limit: SPAN_PAGE, span_cursor: cursor, span_payloads: "none" } } }));
        spans.push(...page.spans);
        cursor = page.spans.length ? page.next_span_cursor : null;
      }
      return { ...first, spans, next_span_cursor: null };
    },
  });
}

export function RunPage({ traceId }: { traceId: string }) {
  const trace = useTrace(traceId);
  const { query } = useLocation();
  const selectedId = query.get("span");
  const select = (spanId: string | null) => navigate(`/runs/${encodeURIComponent(traceId)}${withQuery(query, { span: spanId })}`, { replace: true });

  if (trace.isPending) return <Loading label="Loading the run…" />;
  if (trace.error) return <ErrorState error={trace.error} retry={() => trace.refetch()} />;
  const data = trace.data;
  const selected = selectedId ? (data.spans.find((s) => s.span_id === selectedId) ?? null) : null;
  return (
    <div className="run">
      <RunHeader trace={data} />
      <div className={`run-body ${selected ? "with-panel" : ""}`}>
        <Waterfall trace={data} selectedId={selected?.span_id ?? null} onSelect={select} />
        {selected && <SpanPanel trace={data} span={selected} onClose={() => select(null)} />}
      </div>
    </div>
  );
}

function RunHeader({ trace }: { trace: Trace }) {
  return (
    <header className="run-head card">
      <div className="run-title">
        <nav aria-label="Breadcrumb" className="muted small">
          <Link to="/runs">Runs</Link> / <span className="mono">{trace.trace_id}</span>
        </nav>
        <h1>
          <Link to={`/agents/${encodeURIComponent(trace.agent_id)}`}>{trace.agent_name}</Link> <StatusBadge status={trace.status} />
        </h1>
      </div>
      <dl className="facts">
        <div>
          <dt>Started</dt>
          <dd>
            {formatDateTime(trace.started_at)} <span className="muted small">{formatRelative(trace.started_at)}</span>
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(trace.duration_ms)}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd>{formatTokens(trace.total_tokens)}</dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{formatCost(trace.total_cost_usd)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd>{trace.spans.length.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Outcome</dt>
          <dd>
            <SuccessBadge success={trace.success} outcome={trace.outcome} />
          </dd>
        </div>
      </dl>
      {trace.error_message && (
        <p className="error-text" role="note">
          {trace.error_message}
        </p>
      )}
      <div className="run-actions">
        <OutcomeEditor trace={trace} />
        {trace.status === "running" && <Terminate trace={trace} />}
      </div>
    </header>
  );
}

function OutcomeEditor({ trace }: { trace: Trace }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [success, setSuccess] = useState<boolean | null>(trace.success);
  const [outcome, setOutcome] = useState(trace.outcome ?? "");
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        client.PATCH("/api/v1/dashboard/traces/{trace_id}/outcome", {
          params: { path: { trace_id: trace.trace_id } },
          body: { success: success ?? false, outcome: outcome.trim() === "" ? null : outcome.trim() },
        }),
      ),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["trace", trace.trace_id] });
      void queryClient.invalidateQueries({ queryKey: ["runs"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="outcome-editor" onSubmit={submit} aria-label="Set the outcome">
      <fieldset className="segmented">
        <legend>Result</legend>
        <label>
          <input type="radio" name="success" checked={success === true} onChange={() => setSuccess(true)} /> Success
        </label>
        <label>
          <input type="radio" name="success" checked={success === false} onChange={() => setSuccess(false)} /> Failure
        </label>
      </fieldset>
      <label className="grow">
        Outcome
        <input type="text" maxLength={1024} value={outcome} onChange={(e) => setOutcome(e.target.value)} placeholder="e.g. qualified, refunded, escalated" />
      </label>
      <button type="submit" className="primary" disabled={success === null || save.isPending}>
        {save.isPending ? "Saving…" : "Save outcome"}
      </button>
      <span role="status" className="small">
        {save.isSuccess && !save.isPending && "Saved."}
        {save.error && <span className="error-text">{save.error.message}</span>}
      </span>
    </form>
  );
}

function Terminate({ trace }: { trace: Trace }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const terminate = useMutation({
    mutationFn: () =>
      unwrap(client.POST("/api/v1/agent_instance/{id}/terminate", { params: { path: { id: trace.trace_id } }, body: { reason: reason.trim() } })),
    onSuccess: () => {
      setOpen(false);
      void queryClient.invalidateQueries({ queryKey: ["trace", trace.trace_id] });
      void queryClient.invalidateQueries({ queryKey: ["runs"] });
    },
  });
  if (!open)
    return (
      <button type="button" className="danger" onClick={() => setOpen(true)}>
        Terminate
      </button>
    );
  return (
    <form
      className="terminate"
      aria-label="Terminate the run"
      onSubmit={(e) => {
        e.preventDefault();
        terminate.mutate();
      }}
    >
      <label className="grow">
        Reason
        <input type="text" required maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Why stop this run?" autoFocus />
      </label>
      <button type="submit" className="danger" disabled={!reason.trim() || terminate.isPending}>
        Terminate run
      </button>
      <button type="button" className="quiet" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {terminate.error && (
        <span className="error-text" role="alert">
          {terminate.error.message}
        </span>
      )}
    </form>
  );
}
