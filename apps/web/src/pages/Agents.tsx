import { Async, Empty } from "../components";
import { formatCost, formatDateTime, formatPercent, formatRelative } from "../format";
import { Link } from "../router";
import { useAgents } from "./Runs";

export function AgentsPage() {
  const agents = useAgents();
  return (
    <section aria-labelledby="agents-title">
      <div className="page-head">
        <h1 id="agents-title">Agents</h1>
      </div>
      <Async query={agents} label="Loading agents…">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No agents yet.">An agent appears with its first run, from any SDK.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">Agent</th>
                    <th scope="col" className="num">Runs</th>
                    <th scope="col" className="num">Success rate</th>
                    <th scope="col" className="num">Total cost</th>
                    <th scope="col" className="num">Avg cost / run</th>
                    <th scope="col">Last run</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((a) => (
                    <tr key={a.id}>
                      <td>
                        <Link to={`/agents/${encodeURIComponent(a.id)}`}>{a.name}</Link>
                      </td>
                      <td className="num">{a.total_runs.toLocaleString()}</td>
                      <td className="num">{formatPercent(a.success_rate)}</td>
                      <td className="num">{formatCost(a.total_cost)}</td>
                      <td className="num">{formatCost(a.avg_cost_per_run)}</td>
                      <td>
                        {a.last_run_at ? (
                          <>
                            {formatDateTime(a.last_run_at)} <span className="muted small">{formatRelative(a.last_run_at)}</span>
                          </>
                        ) : (
                          "—"
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </section>
  );
}
