import { useQuery } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { Async, Empty } from "../components";
import { formatCost, formatDuration, formatPercent, formatTokens } from "../format";
import { navigate, useLocation, withQuery } from "../router";
import { winner } from "../compare";
import { useAgents } from "./Runs";

type Stats = Schemas["AvAgentComparison"];

/** Each row: how to show it, which direction is better (none: just shown), and whether 0 means "not reported". */
const ROWS: { label: string; value: (s: Stats) => number | null; show: (v: number | null) => string; better?: "higher" | "lower"; usage?: true }[] = [
  { label: "Runs", value: (s) => s.total_runs, show: (v) => (v ?? 0).toLocaleString() },
  { label: "Success rate", value: (s) => s.success_rate, show: formatPercent, better: "higher" },
  { label: "Error rate", value: (s) => s.error_rate, show: formatPercent, better: "lower" },
  { label: "Successful runs", value: (s) => s.successful_runs, show: (v) => (v ?? 0).toLocaleString() },
  { label: "Failed runs", value: (s) => s.failed_runs, show: (v) => (v ?? 0).toLocaleString() },
  { label: "Avg cost / run", value: (s) => s.avg_cost_per_run, show: formatCost, better: "lower", usage: true },
  { label: "Total cost", value: (s) => s.total_cost, show: formatCost },
  { label: "Avg duration", value: (s) => s.avg_duration_ms, show: formatDuration, better: "lower" },
  { label: "p50 duration", value: (s) => s.p50_duration_ms, show: formatDuration, better: "lower" },
  { label: "p95 duration", value: (s) => s.p95_duration_ms, show: formatDuration, better: "lower" },
  { label: "Avg tokens / run", value: (s) => s.avg_tokens_per_run, show: formatTokens, better: "lower", usage: true },
  { label: "Total tokens", value: (s) => s.total_tokens, show: formatTokens },
];

export function ComparePage() {
  const client = useClient();
  const { query } = useLocation();
  const agents = useAgents();
  const a = query.get("a") ?? "";
  const b = query.get("b") ?? "";
  const days = query.get("days") ?? "";
  const set = (changes: Record<string, string>) => navigate(`/compare${withQuery(query, changes)}`, { replace: true });
  const ready = Boolean(a && b);
  const compare = useQuery({
    queryKey: ["compare", a, b, days],
    enabled: ready,
    queryFn: () =>
      unwrap(
        client.GET("/api/v1/dashboard/traces/compare-agents", {
          params: { query: { agent_a: a, agent_b: b, ...(days ? { days: days as "7" | "30" | "90" } : {}) } },
        }),
      ),
  });
  const picker = (key: "a" | "b", label: string, value: string) => (
    <label>
      {label}
      <select aria-label={label} value={value} onChange={(e) => set({ [key]: e.target.value })}>
        <option value="">Choose an agent</option>
        {agents.data?.map((agent) => (
          <option key={agent.id} value={agent.id}>
            {agent.name}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section aria-labelledby="compare-title">
      <div className="page-head">
        <h1 id="compare-title">Compare agents</h1>
      </div>
      <form className="filters" aria-label="Agents to compare" onSubmit={(e) => e.preventDefault()}>
        {picker("a", "Agent A", a)}
        {picker("b", "Agent B", b)}
        <label>
          Window
          <select aria-label="Window" value={days} onChange={(e) => set({ days: e.target.value })}>
            <option value="">All time</option>
            <option value="7">Last 7 days</option>
            <option value="30">Last 30 days</option>
            <option value="90">Last 90 days</option>
          </select>
        </label>
      </form>
      {!ready ? (
        <Empty title="Pick two agents to see them side by side.">The better value of each row is marked with ★.</Empty>
      ) : (
        <Async query={compare} label="Comparing…">
          {(data) => <Comparison stats={data.agents} />}
        </Async>
      )}
    </section>
  );
}

function Comparison({ stats }: { stats: Stats[] }) {
  const [left, right] = stats as [Stats, Stats];
  return (
    <>
      <div className="table-wrap compare-wrap">
        <table className="data compare">
          <caption className="sr-only">Agent figures side by side; the better value of each row is marked.</caption>
          <thead>
            <tr>
              <th scope="col">Figure</th>
              <th scope="col" className="num">{left.name}</th>
              <th scope="col" className="num">{right.name}</th>
            </tr>
          </thead>
          <tbody>
            {ROWS.map((row) => {
              const va = row.value(left);
              const vb = row.value(right);
              const win = winner(va, vb, row.better, row.usage);
              return (
                <tr key={row.label}>
                  <th scope="row">{row.label}</th>
                  {[va, vb].map((v, i) => (
                    <td key={i} className={`num${win === i ? " better" : ""}`}>
                      {row.show(v)}
                      {win === i && <span className="sr-only"> (better)</span>}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div className="grid-2 section">
        {[left, right].map((s) => (
          <div key={s.agent_id} className="card chart-card">
            <h2>Outcomes of {s.name}</h2>
            <Outcomes outcomes={s.outcomes} />
          </div>
        ))}
      </div>
    </>
  );
}

function Outcomes({ outcomes }: { outcomes: Record<string, number> }) {
  const entries = Object.entries(outcomes).sort((x, y) => y[1] - x[1]);
  if (entries.length === 0) return <p className="muted">No outcomes recorded.</p>;
  const total = entries.reduce((n, [, c]) => n + c, 0);
  return (
    <table className="data">
      <thead>
        <tr>
          <th scope="col">Outcome</th>
          <th scope="col" className="num">Runs</th>
          <th scope="col" className="num">Share</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([label, count]) => (
          <tr key={label}>
            <td>{label}</td>
            <td className="num">{count}</td>
            <td className="num">{formatPercent((count / total) * 100)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
