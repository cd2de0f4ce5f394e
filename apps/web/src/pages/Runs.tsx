import { useEffect, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { Empty, ErrorState, Loading, StatusBadge, SuccessBadge } from "../components";
import { formatCost, formatDateTime, formatDuration, formatRelative, formatTokens } from "../format";
import { Link, navigate, useLocation, withQuery } from "../router";

const RANGES: Record<string, { label: string; ms: number }> = {
  "1h": { label: "Last hour", ms: 3_600_000 },
  "24h": { label: "Last 24 hours", ms: 86_400_000 },
  "7d": { label: "Last 7 days", ms: 7 * 86_400_000 },
  "30d": { label: "Last 30 days", ms: 30 * 86_400_000 },
};
const PAGE_SIZE = 50;
const LIVE_MS = 5_000;

/** The agents, for filter and compare pickers. */
export function useAgents() {
  const client = useClient();
  return useQuery({ queryKey: ["agents"], queryFn: () => unwrap(client.GET("/api/v1/agents")) });
}

/** A text filter typed into a box, written to the URL once typing pauses. */
function useUrlText(key: string, query: URLSearchParams): [string, (v: string) => void] {
  const current = query.get(key) ?? "";
  const [text, setText] = useState(current);
  useEffect(() => setText(current), [current]);
  useEffect(() => {
    if (text === current) return;
    const timer = setTimeout(() => navigate(`/runs${withQuery(new URLSearchParams(window.location.search), { [key]: text, page: null })}`, { replace: true }), 300);
    return () => clearTimeout(timer);
  }, [text, current, key]);
  return [text, setText];
}

const seconds = (v: string | null) => (v && /^\d+(\.\d+)?$/.test(v) ? Math.round(Number(v) * 1000) : undefined);

export function RunsPage() {
  const client = useClient();
  const { query } = useLocation();
  const agents = useAgents();
  const [q, setQ] = useUrlText("q", query);
  const [minS, setMinS] = useUrlText("min_s", query);
  const [maxS, setMaxS] = useUrlText("max_s", query);
  const page = Math.max(1, Number(query.get("page")) || 1);
  const live = query.get("live") === "1";
  const range = query.get("range") ?? "";
  // Rounded to the minute so that the query key (and cache) holds still between renders.
  const start = RANGES[range] ? new Date(Math.floor((Date.now() - RANGES[range].ms) / 60_000) * 60_000).toISOString() : undefined;
  const status = query.get("status") ?? "";
  const success = query.get("success") ?? "";

  const params = {
    page,
    page_size: PAGE_SIZE,
    agent: query.get("agent") || undefined,
    status: (status || undefined) as Schemas["AvTraceStatus"] | undefined,
    success: (success || undefined) as "true" | "false" | undefined,
    start,
    min_duration_ms: seconds(query.get("min_s")),
    max_duration_ms: seconds(query.get("max_s")),
    q: query.get("q") || undefined,
  };
  const runs = useQuery({
    queryKey: ["runs", params],
    queryFn: () => unwrap(client.GET("/api/v1/dashboard/traces/", { params: { query: params } })),
    placeholderData: keepPreviousData,
    refetchInterval: live ? LIVE_MS : false,
  });

  const set = (changes: Record<string, string | null>) => navigate(`/runs${withQuery(query, { ...changes, page: null })}`);
  const filtered = [...query.keys()].some((k) => k !== "page" && k !== "live");

  return (
    <section aria-labelledby="runs-title">
      <div className="page-head">
        <h1 id="runs-title">Runs</h1>
        <label className="toggle">
          <input type="checkbox" checked={live} onChange={(e) => navigate(`/runs${withQuery(query, { live: e.target.checked ? "1" : null })}`)} />
          Live (refresh every {LIVE_MS / 1000} s)
        </label>
      </div>
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Agent
          <select aria-label="Agent" value={query.get("agent") ?? ""} onChange={(e) => set({ agent: e.target.value })}>
            <option value="">All agents</option>
            {agents.data?.map((a) => (
              <option key={a.id} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select aria-label="Status" value={status} onChange={(e) => set({ status: e.target.value })}>
            <option value="">Any status</option>
            <option value="running">Running</option>
            <option value="completed">Completed</option>
            <option value="failed">Failed</option>
            <option value="timed_out">Timed out</option>
          </select>
        </label>
        <label>
          Success
          <select aria-label="Success" value={success} onChange={(e) => set({ success: e.target.value })}>
            <option value="">Any</option>
            <option value="true">Succeeded</option>
            <option value="false">Did not succeed</option>
          </select>
        </label>
        <label>
          Started
          <select aria-label="Started" value={range} onChange={(e) => set({ range: e.target.value })}>
            <option value="">Any time</option>
            {Object.entries(RANGES).map(([key, r]) => (
              <option key={key} value={key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Min duration (s)
          <input type="number" min="0" step="any" inputMode="decimal" className="narrow" value={minS} onChange={(e) => setMinS(e.target.value)} />
        </label>
        <label>
          Max duration (s)
          <input type="number" min="0" step="any" inputMode="decimal" className="narrow" value={maxS} onChange={(e) => setMaxS(e.target.value)} />
        </label>
        <label className="grow">
          Search
          <input type="search" placeholder="agent, outcome, error or run id" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        {filtered && (
          <button type="button" className="quiet" onClick={() => navigate(`/runs${withQuery(new URLSearchParams(), { live: live ? "1" : null })}`)}>
            Clear filters
          </button>
        )}
      </form>
      {runs.isPending ? (
        <Loading label="Loading runs…" />
      ) : runs.error ? (
        <ErrorState error={runs.error} retry={() => runs.refetch()} />
      ) : runs.data.results.length === 0 ? (
        filtered ? (
          <Empty title="No run matches these filters.">Widen the time range or clear the filters.</Empty>
        ) : (
          <Empty title="No runs yet.">
            Send your first trace: <code>POST /api/v1/traces/batch</code> (AgentVista SDKs) or register an agent instance (Prefactor SDKs). See{" "}
            <a href="/docs">the API reference</a>.
          </Empty>
        )
      ) : (
        <RunsTable runs={runs.data.results} />
      )}
      {runs.data && runs.data.total > 0 && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={page <= 1} onClick={() => navigate(`/runs${withQuery(query, { page: page > 2 ? String(page - 1) : null })}`)}>
            Previous
          </button>
          <span>
            Page {page} of {Math.max(1, Math.ceil(runs.data.total / PAGE_SIZE))} · {runs.data.total.toLocaleString()} runs
          </span>
          <button type="button" disabled={!runs.data.has_next} onClick={() => navigate(`/runs${withQuery(query, { page: String(page + 1) })}`)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

export function RunsTable({ runs, showAgent = true }: { runs: Schemas["AvTrace"][]; showAgent?: boolean }) {
  const now = new Date();
  return (
    <div className="table-wrap">
      <table className="data">
        <thead>
          <tr>
            {showAgent && <th scope="col">Agent</th>}
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col" className="num">
              Tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col">Outcome</th>
            <th scope="col">Run</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.trace_id}>
              {showAgent && (
                <td>
                  <Link to={`/agents/${encodeURIComponent(run.agent_id)}`}>{run.agent_name}</Link>
                </td>
              )}
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>
                <span className="nowrap">{formatDateTime(run.started_at)}</span> <span className="muted small">{formatRelative(run.started_at, now)}</span>
              </td>
              <td className="num">{formatDuration(run.duration_ms)}</td>
              <td className="num">{formatTokens(run.total_tokens)}</td>
              <td className="num">{formatCost(run.total_cost_usd)}</td>
              <td className="clip">
                <SuccessBadge success={run.success} outcome={run.outcome} />
                {run.error_message && <div className="error-text small clip">{run.error_message}</div>}
              </td>
              <td>
                <Link to={`/runs/${encodeURIComponent(run.trace_id)}`} className="mono" aria-label={`Open run ${run.trace_id} of ${run.agent_name}`}>
                  {run.trace_id.slice(0, 8)}…
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
