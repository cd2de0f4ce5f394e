import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap, type Schemas } from "../api";
import { useClient } from "../auth";
import { Async, Empty } from "../components";
import { formatDateTime, formatRelative } from "../format";

type Token = Schemas["ApiToken"];
type Action = "suspend" | "activate" | "revoke";

export function SettingsPage() {
  const client = useClient();
  const tokens = useQuery({
    queryKey: ["tokens"],
    queryFn: () => unwrap(client.GET("/api/v1/api_token", { params: { query: { "pagination[page_size]": 100 } } })),
  });
  return (
    <section aria-labelledby="settings-title">
      <div className="page-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      <h2>API tokens</h2>
      <p className="muted">Tokens let SDKs send runs (write) and people or tools read them (read). A new token's secret is shown once.</p>
      <CreateToken />
      <Async query={tokens} label="Loading tokens…">
        {(page) => (page.summaries.length === 0 ? <Empty title="No tokens." /> : <TokenTable tokens={page.summaries} />)}
      </Async>
    </section>
  );
}

function CreateToken() {
  const client = useClient();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Set<"read" | "write">>(() => new Set(["read"]));
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      unwrap(client.POST("/api/v1/me/api-keys/", { body: { name: name.trim() || null, scopes: [...scopes] } })),
    onSuccess: () => {
      setName("");
      setCopied(false);
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const toggle = (scope: "read" | "write", on: boolean) =>
    setScopes((prev) => {
      const next = new Set(prev);
      if (on) next.add(scope);
      else next.delete(scope);
      return next;
    });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const copy = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <>
      <form className="form-row card secret-form" onSubmit={submit} aria-label="Create a token">
        <label>
          Token name
          <input type="text" maxLength={255} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. production SDK" />
        </label>
        <fieldset className="checks">
          <legend>Scopes</legend>
          <label>
            <input type="checkbox" checked={scopes.has("read")} onChange={(e) => toggle("read", e.target.checked)} /> read
          </label>
          <label>
            <input type="checkbox" checked={scopes.has("write")} onChange={(e) => toggle("write", e.target.checked)} /> write
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={scopes.size === 0 || create.isPending}>
          Create token
        </button>
        {create.error && (
          <span className="error-text" role="alert">
            {create.error.message}
          </span>
        )}
      </form>
      {create.data && (
        <div className="card secret" role="status" aria-label="New token secret">
          <strong>Copy the secret of “{create.data.name ?? create.data.prefix}” now: it is not shown again.</strong>
          <code data-testid="new-secret">{create.data.key}</code>
          <button type="button" onClick={() => copy(create.data.key)}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
    </>
  );
}

function TokenTable({ tokens }: { tokens: Token[] }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const act = useMutation({
    mutationFn: ({ id, action }: { id: string; action: Action }) => {
      const path = { params: { path: { id } }, body: {} };
      if (action === "suspend") return unwrap(client.POST("/api/v1/api_token/{id}/suspend", path));
      if (action === "activate") return unwrap(client.POST("/api/v1/api_token/{id}/activate", path));
      return unwrap(client.POST("/api/v1/api_token/{id}/revoke", path));
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["tokens"] }),
  });
  return (
    <>
      {act.error && (
        <p className="error-text" role="alert">
          {act.error.message}
        </p>
      )}
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => {
              const label = t.name ?? t.prefix;
              const busy = act.isPending && act.variables?.id === t.id;
              return (
                <tr key={t.id}>
                  <td>{t.name ?? <span className="muted">unnamed</span>}</td>
                  <td className="mono">{t.prefix}…</td>
                  <td>{t.scopes.join(", ")}</td>
                  <td>
                    <span className={`badge token-${t.status}`}>{t.status}</span>
                  </td>
                  <td>{formatDateTime(t.inserted_at)}</td>
                  <td>{t.last_used_at ? formatRelative(t.last_used_at) : <span className="muted">never</span>}</td>
                  <td className="actions">
                    {t.status === "active" && (
                      <button type="button" disabled={busy} onClick={() => act.mutate({ id: t.id, action: "suspend" })} aria-label={`Suspend ${label}`}>
                        Suspend
                      </button>
                    )}
                    {t.status === "suspended" && (
                      <button type="button" disabled={busy} onClick={() => act.mutate({ id: t.id, action: "activate" })} aria-label={`Activate ${label}`}>
                        Activate
                      </button>
                    )}
                    {t.status !== "revoked" && (
                      <button
                        type="button"
                        className="danger"
                        disabled={busy}
                        onClick={() => {
                          if (window.confirm(`Revoke “${label}”? Anything using it stops working at once.`)) act.mutate({ id: t.id, action: "revoke" });
                        }}
                        aria-label={`Revoke ${label}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
