import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { Async, Empty } from "../components";
import { formatCost, formatDateTime, formatDuration, formatPercent } from "../format";
import { navigate, useLocation, withQuery } from "../router";
import { Chart } from "./Chart";
import { RunsTable } from "./Runs";

const WINDOWS = ["7", "30", "90"] as const;

export default function AgentPage({ agentId }: { agentId: string }) {
  const client = useClient();
  const { query } = useLocation();
  const days = WINDOWS.find((d) => d === query.get("days")) ?? "30";
  const path = { params: { path: { id: agentId } } };
  const agent = useQuery({ queryKey: ["agent", agentId], queryFn: () => unwrap(client.GET("/api/v1/agents/{id}", path)) });
  const stats = useQuery({
    queryKey: ["agent-stats", agentId, days],
    queryFn: () => unwrap(client.GET("/api/v1/agents/{id}/stats", { params: { path: { id: agentId }, query: { days } } })),
  });
  const runs = useQuery({
    queryKey: ["agent-runs", agentId],
    queryFn: () => unwrap(client.GET("/api/v1/agents/{id}/runs", { params: { path: { id: agentId }, query: { page_size: 10 } } })),
  });
  return (
    <section aria-labelledby="agent-title">
      <Async query={agent} label="Loading the agent…">
        {(a) => (
          <div className="run-head card">
            <h1 id="agent-title">{a.name}</h1>
            <dl className="facts">
              <div>
                <dt>Runs</dt>
                <dd>{a.total_runs.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Success rate</dt>
                <dd>{formatPercent(a.success_rate)}</dd>
              </div>
              <div>
                <dt>Failed runs</dt>
                <dd>{a.failed_runs.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Total cost</dt>
                <dd>{formatCost(a.total_cost)}</dd>
              </div>
              <div>
                <dt>Avg cost / run</dt>
                <dd>{formatCost(a.avg_cost_per_run)}</dd>
              </div>
              <div>
                <dt>Last run</dt>
                <dd>{formatDateTime(a.last_run_at)}</dd>
              </div>
            </dl>
          </div>
        )}
      </Async>
      <div className="page-head section">
        <h2>Daily figures (UTC days)</h2>
        <label className="toggle">
          Window
          <select aria-label="Window" value={days} onChange={(e) => navigate(`/agents/${encodeURIComponent(agentId)}${withQuery(query, { days: e.target.value })}`, { replace: true })}>
            {WINDOWS.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </label>
      </div>
      <Async query={stats} label="Loading figures…">
        {(s) => <Charts days={s.days} />}
      </Async>
      <div className="section">
        <h2>Recent runs</h2>
        <Async query={runs} label="Loading runs…">
          {(page) => (page.results.length ? <RunsTable runs={page.results} showAgent={false} /> : <Empty title="No runs yet." />)}
        </Async>
      </div>
      <Versions agentId={agentId} />
    </section>
  );
}

const pct = (v: number | null) => formatPercent(v === null ? null : Math.round(v * 10) / 10);
const count = (v: number | null) => (v === null ? "—" : String(Math.round(v)));

function Charts({ days }: { days: Schemas["AvAgentDayStats"][] }) {
  const series = useMemo(() => {
    const x = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
    return {
      x,
      runs: days.map((d) => d.total_runs),
      success: days.map((d) => (d.successful_runs + d.failed_runs > 0 && d.total_runs > 0 ? (d.successful_runs / d.total_runs) * 100 : null)),
      cost: days.map((d) => d.total_cost),
      p95: days.map((d) => d.p95_duration_ms),
    };
  }, [days]);
  return (
    <div className="grid-2">
      <Chart title="Runs per day" x={series.x} y={series.runs} format={count} bars colorVar="--t-llm" />
      <Chart title="Success rate" x={series.x} y={series.success} format={pct} colorVar="--ok" />
      <Chart title="Cost per day" x={series.x} y={series.cost} format={formatCost} bars colorVar="--t-tool" />
      <Chart title="p95 duration" x={series.x} y={series.p95} format={formatDuration} colorVar="--t-agent" />
    </div>
  );
}

function Versions({ agentId }: { agentId: string }) {
  const client = useClient();
  const versions = useQuery({
    queryKey: ["versions", agentId],
    queryFn: () => unwrap(client.GET("/api/v1/agent_version", { params: { query: { agent_id: agentId, "pagination[page_size]": 100 } } })),
  });
  const schemas = useQuery({
    queryKey: ["schema-versions", agentId],
    queryFn: () => unwrap(client.GET("/api/v1/agent_schema_version", { params: { query: { agent_id: agentId, "pagination[page_size]": 100 } } })),
  });
  return (
    <div className="grid-2 section">
      <div>
        <h2>Versions</h2>
        <Async query={versions} label="Loading versions…">
          {(page) =>
            page.summaries.length === 0 ? (
              <Empty title="No versions.">Versions come from runs registered through the Prefactor API.</Empty>
            ) : (
              <div className="table-wrap">
                <table className="data">
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Name</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.summaries.map((v) => (
                      <tr key={v.id}>
                        <td className="mono">
                          {v.external_identifier} {v.current_version && <span className="badge status-completed">current</span>}
                        </td>
                        <td>{v.name ?? "—"}</td>
                        <td>{formatDateTime(v.inserted_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </div>
      <div>
        <h2>Schema versions</h2>
        <Async query={schemas} label="Loading schema versions…">
          {(page) =>
            page.summaries.length === 0 ? (
              <Empty title="No schema versions." />
            ) : (
              <div className="card chart-card">
                {page.summaries.map((sv) => (
                  <details key={sv.id} open={sv.current_version}>
                    <summary>
                      <span className="mono">{sv.external_identifier}</span> {sv.current_version && <span className="badge status-completed">current</span>}{" "}
                      <span className="muted small">{Object.keys(sv.span_type_schemas).length} span types</span>
                    </summary>
                    {Object.values(sv.span_type_schemas).map((t) => (
                      <SpanType key={t.name} type={t} />
                    ))}
                  </details>
                ))}
              </div>
            )
          }
        </Async>
      </div>
    </div>
  );
}

function SpanType({ type }: { type: Schemas["SpanTypeSchemaDetails"] }) {
  return (
    <details className="schema-type">
      <summary>
        {type.title || type.name} <span className="mono muted small">{type.name}</span>
      </summary>
      {type.description && <p>{type.description}</p>}
      <h3>Template</h3>
      {type.template ? <pre className="template">{type.template}</pre> : <p className="muted small">None.</p>}
      <h3>Params schema</h3>
      <pre className="template">{JSON.stringify(type.params_schema, null, 2)}</pre>
      <h3>Result schema</h3>
      <pre className="template">{JSON.stringify(type.result_schema, null, 2)}</pre>
    </details>
  );
}

