import type { ReactNode } from "react";
import { ApiError } from "./api";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <div className="state state-error" role="alert">
      <strong>Could not load this.</strong> {message}
      {retry && (
        <button type="button" className="link-button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** Query states in one place: loading, error (with retry), or the content. */
export function Async<T>({
  query,
  children,
  label,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  children: (data: T) => ReactNode;
  label?: string;
}) {
  if (query.isPending) return <Loading label={label} />;
  if (query.error || query.data === undefined) return <ErrorState error={query.error} retry={() => query.refetch()} />;
  return <>{children(query.data)}</>;
}

export type RunStatus = "running" | "completed" | "failed" | "timed_out";

export function StatusBadge({ status }: { status: string }) {
  const label = status === "timed_out" ? "timed out" : status;
  return <span className={`badge status-${status}`}>{label}</span>;
}

export function SuccessBadge({ success, outcome }: { success: boolean | null; outcome?: string | null }) {
  const mark = success === null ? null : success ? "✓" : "✗";
  return (
    <span className={`outcome ${success === null ? "" : success ? "ok" : "bad"}`}>
      {mark && <span aria-label={success ? "success" : "failure"}>{mark} </span>}
      {outcome ?? (success === null ? "—" : success ? "success" : "failure")}
    </span>
  );
}
