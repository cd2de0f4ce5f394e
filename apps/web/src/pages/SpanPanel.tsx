import { useQuery } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { Conversation, JsonView, messagesOf } from "../JsonView";
import { ErrorState, Loading, StatusBadge } from "../components";
import { formatBytes, formatCost, formatDateTime, formatDuration, formatTokens } from "../format";
import { endOf } from "../timeaxis";
import type { Span, Trace } from "./Run";

type Field = Span["input"];
type Truncated = Schemas["AvTruncatedJson"];
const isTruncated = (v: Field): v is Truncated => Boolean(v && (v as Truncated)._truncated === true);

export function SpanPanel({ trace, span, onClose }: { trace: Trace; span: Span; onClose: () => void }) {
  const client = useClient();
  // Payloads over 8 KB come as a preview in the run's pages; the span alone has them whole.
  const full = useQuery({
    queryKey: ["span", trace.trace_id, span.span_id],
    enabled: span.truncated,
    queryFn: () =>
      unwrap(client.GET("/api/v1/dashboard/traces/{trace_id}/spans/{span_id}", { params: { path: { trace_id: trace.trace_id, span_id: span.span_id } } })),
  });
  const fields = (name: "input" | "output" | "metadata"): Field => (span.truncated && full.data ? full.data[name] : span[name]);
  const now = Date.now();
  const offset = Date.parse(span.started_at) - Date.parse(trace.started_at);
  const duration = span.duration_ms ?? endOf(span, now) - Date.parse(span.started_at);
  const validation = span.payload_validation;
  const input = fields("input");
  const output = fields("output");
  const metadata = fields("metadata");
  const chat = isTruncated(input) ? null : messagesOf(input);
  return (
    <aside className="span-panel card" aria-labelledby="span-title">
      <div className="panel-head">
        <h2 id="span-title">
          <span className={`swatch type-${span.type}`} aria-hidden="true" /> {span.name}
        </h2>
        <button type="button" className="quiet" onClick={onClose} aria-label="Close span details">
          ✕
        </button>
      </div>
      {span.summary && (
        <p className="span-summary" aria-label="Summary">
          {span.summary}
        </p>
      )}
      <dl className="facts compact">
        <div>
          <dt>Type</dt>
          <dd>{span.type}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={span.status} />
          </dd>
        </div>
        <div>
          <dt>Starts at</dt>
          <dd title={formatDateTime(span.started_at)}>+{formatDuration(offset)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{span.status === "running" ? `${formatDuration(duration)} so far` : formatDuration(duration)}</dd>
        </div>
        {span.model && (
          <div>
            <dt>Model</dt>
            <dd className="mono">{span.model}</dd>
          </div>
        )}
        {(span.total_tokens !== null || span.input_tokens !== null) && (
          <div>
            <dt>Tokens</dt>
            <dd>
              {formatTokens(span.total_tokens)}{" "}
              <span className="muted small">
                ({formatTokens(span.input_tokens)} in · {formatTokens(span.output_tokens)} out)
              </span>
            </dd>
          </div>
        )}
        {span.cost_usd !== null && (
          <div>
            <dt>Cost</dt>
            <dd>{formatCost(span.cost_usd)}</dd>
          </div>
        )}
        <div>
          <dt>Span id</dt>
          <dd className="mono small">{span.span_id}</dd>
        </div>
      </dl>
      {span.error_message && (
        <section aria-label="Error">
          <h3>Error</h3>
          <pre className="error-box">{span.error_message}</pre>
        </section>
      )}
      <section aria-label="Validation">
        <h3>
          Validation{" "}
          <span className={`badge validation-${validation.status}`}>
            {validation.status === "valid" ? "valid" : validation.status === "invalid" ? `invalid (${validation.errors.length})` : "not checked"}
          </span>
        </h3>
        {validation.status === "unchecked" && <p className="muted small">No JSON Schema is declared for this span type.</p>}
        {validation.errors.length > 0 && (
          <ul className="validation-errors">
            {validation.errors.map((e, i) => (
              <li key={i}>
                <span className="mono">
                  {e.target}
                  {e.path ? ` ${e.path}` : ""}
                </span>
                : {e.message}
              </li>
            ))}
          </ul>
        )}
      </section>
      {span.truncated && full.isPending && <Loading label="Loading the full payload…" />}
      {span.truncated && full.error && <ErrorState error={full.error} retry={() => full.refetch()} />}
      <section aria-label="Payload">
        <h3>Payload</h3>
        {chat && <Conversation messages={chat} />}
        <Json value={input} label="Payload JSON" empty="None." />
      </section>
      <section aria-label="Result">
        <h3>Result</h3>
        <Json value={output} label="Result JSON" empty={span.status === "running" ? "Not finished yet." : "None."} />
      </section>
      {metadata && Object.keys(metadata).length > 0 && (
        <section aria-label="Metadata">
          <h3>Metadata</h3>
          <Json value={metadata} label="Metadata JSON" empty="None." />
        </section>
      )}
    </aside>
  );
}

function Json({ value, label, empty }: { value: Field; label: string; empty: string }) {
  if (!value) return <p className="muted small">{empty}</p>;
  if (isTruncated(value))
    return (
      <div role="group" aria-label={label}>
        <p className="muted small">{formatBytes(value.size_bytes)} of JSON; the beginning:</p>
        <pre className="template">{value.preview}…</pre>
      </div>
    );
  return <JsonView value={value} label={label} />;
}
