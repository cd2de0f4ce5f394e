import { lazy, Suspense, useState, type FormEvent } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError } from "./api";
import { AuthProvider, useAuth } from "./auth";
import { Loading } from "./components";
import { Link, useLocation } from "./router";
import { AgentsPage } from "./pages/Agents";
import { ComparePage } from "./pages/Compare";
import { RunPage } from "./pages/Run";
import { RunsPage } from "./pages/Runs";
import { SettingsPage } from "./pages/Settings";

// The agent page carries the chart library: loaded when first opened, not with the first page.
const AgentPage = lazy(() => import("./pages/Agent"));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      // A 4xx will not change on retry; a network blip or 5xx may.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <Shell />
      </AuthProvider>
    </QueryClientProvider>
  );
}

function Shell() {
  const { client } = useAuth();
  return client ? <SignedIn /> : <SignIn />;
}

function SignIn() {
  const { signIn, notice } = useAuth();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span className="logo" aria-hidden="true" /> Spyglass
        </h1>
        <p className="muted">Sign in with an API token of your account (the admin token, or one made under Settings).</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? "signin-error" : undefined}
        />
        {error && (
          <p id="signin-error" className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="muted small">The token is kept for this browser tab's session only.</p>
      </form>
    </main>
  );
}

const NAV = [
  { to: "/runs", label: "Runs", match: (p: string) => p === "/" || p.startsWith("/runs") },
  { to: "/agents", label: "Agents", match: (p: string) => p.startsWith("/agents") },
  { to: "/compare", label: "Compare", match: (p: string) => p.startsWith("/compare") },
  { to: "/settings", label: "Settings", match: (p: string) => p.startsWith("/settings") },
];

function SignedIn() {
  const { signOut } = useAuth();
  const { path } = useLocation();
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/runs" className="brand" aria-label="Spyglass home">
          <span className="logo" aria-hidden="true" /> Spyglass
        </Link>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} aria-current={item.match(path) ? "page" : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <button type="button" className="quiet" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main className="content">
        <Route path={path} />
      </main>
    </div>
  );
}

function Route({ path }: { path: string }) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [section, id] = parts;
  if (!section || (section === "runs" && !id)) return <RunsPage />;
  if (section === "runs" && id) return <RunPage key={id} traceId={id} />;
  if (section === "agents" && !id) return <AgentsPage />;
  if (section === "agents" && id)
    return (
      <Suspense fallback={<Loading />}>
        <AgentPage key={id} agentId={id} />
      </Suspense>
    );
  if (section === "compare") return <ComparePage />;
  if (section === "settings") return <SettingsPage />;
  return (
    <div className="state">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/runs">Go to the runs</Link>.
      </p>
    </div>
  );
}
