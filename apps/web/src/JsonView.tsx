import { useState } from "react";

// Payloads as a collapsible tree (native <details>: keyboard and screen-reader friendly, no script
// needed to fold). Large arrays and objects show their first entries and a button for the rest.

const FIRST = 100;

export function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json" role="group" aria-label={label}>
      <Node value={value} depth={0} />
    </div>
  );
}

function Node({ value, depth, name }: { value: unknown; depth: number; name?: string }) {
  const key = name !== undefined && <span className="json-key">{name}: </span>;
  if (value === null || typeof value !== "object") {
    return (
      <div className="json-leaf">
        {key}
        <Scalar value={value} />
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const open = Array.isArray(value) ? "[" : "{";
  const close = Array.isArray(value) ? "]" : "}";
  if (entries.length === 0) {
    return (
      <div className="json-leaf">
        {key}
        <span className="json-punct">{open + close}</span>
      </div>
    );
  }
  return (
    <details open={depth < 2}>
      <summary>
        {key}
        <span className="json-punct">{open}</span>
        <span className="muted small"> {entries.length} {Array.isArray(value) ? (entries.length === 1 ? "item" : "items") : entries.length === 1 ? "key" : "keys"} </span>
        <span className="json-punct">{close}</span>
      </summary>
      <Entries entries={entries} depth={depth} />
    </details>
  );
}

function Entries({ entries, depth }: { entries: [string, unknown][]; depth: number }) {
  const [shown, setShown] = useState(FIRST);
  return (
    <div className="json-children">
      {entries.slice(0, shown).map(([k, v]) => (
        <Node key={k} name={k} value={v} depth={depth + 1} />
      ))}
      {entries.length > shown && (
        <button type="button" className="link-button small" onClick={() => setShown((n) => n + FIRST * 10)}>
          Show {Math.min(FIRST * 10, entries.length - shown)} more of {entries.length - shown}
        </button>
      )}
    </div>
  );
}

function Scalar({ value }: { value: unknown }) {
  if (typeof value === "string") return <span className="json-string">"{value}"</span>;
  if (typeof value === "number") return <span className="json-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="json-bool">{String(value)}</span>;
  return <span className="json-null">null</span>;
}

interface Message {
  role: string;
  content: string;
}

/** Chat-style payloads ({messages: [{role, content}]}) as a conversation; null when not one. */
export function messagesOf(value: unknown): Message[] | null {
  const messages = (value as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const ok = messages.every((m) => m && typeof m === "object" && typeof (m as Message).role === "string" && typeof (m as Message).content === "string");
  return ok ? (messages as Message[]) : null;
}

export function Conversation({ messages }: { messages: Message[] }) {
  return (
    <ol className="chat" aria-label="Messages">
      {messages.map((m, i) => (
        <li key={i} className={`chat-${m.role}`}>
          <span className="chat-role">{m.role}</span>
          <div className="chat-text">{m.content}</div>
        </li>
      ))}
    </ol>
  );
}
