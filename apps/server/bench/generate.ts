// Deterministic, realistic agent runs: a tree of 5–200 spans per run, LLM spans with model, tokens
// and cost, payloads of 0.2–4 KB, mostly completed with some failures. One generator feeds every
// phase, so the raw-SQL floors insert exactly the rows the HTTP phases send.
import { Rng } from "./rng.js";

export const SPAN_TYPES = ["agent", "llm", "tool", "http", "db", "retrieval", "custom"] as const;
export type SpanType = (typeof SPAN_TYPES)[number];

export type GenStatus = "completed" | "failed" | "running";
export type GenTraceStatus = GenStatus | "timed_out";

export interface AgentDef {
  index: number;
  name: string;
  /** Share of all runs (Zipf-like: a few agents do most of the work). */
  weight: number;
  good: readonly string[];
  bad: readonly string[];
}

export interface GenSpan {
  id: string;
  parentId: string | null;
  type: SpanType;
  name: string;
  status: GenStatus;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  /** Cost in millionths of a dollar, so sums are exact. */
  costMicros: number | null;
  input: Record<string, unknown>;
  output: Record<string, unknown> | null;
  errorMessage: string | null;
  /** The payload deliberately breaks its span type's params_schema (validation flags it). */
  invalid: boolean;
  children: GenSpan[];
}

export interface GenTrace {
  id: string;
  agent: AgentDef;
  status: GenTraceStatus;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  success: boolean | null;
  outcome: string | null;
  errorMessage: string | null;
  totalTokens: number;
  totalCostMicros: number;
  /** The client reports totals itself (else the server sums the llm spans). */
  totalsExplicit: boolean;
  metadata: Record<string, unknown>;
  /** Pre-order (every parent before its children), the order an SDK reports them. */
  spans: GenSpan[];
}

const AGENT_NAMES = [
  "lead-qualifier", "support-triage", "invoice-extractor", "code-reviewer", "meeting-summarizer",
  "sales-researcher", "ticket-router", "contract-analyst", "onboarding-guide", "churn-predictor",
  "email-drafter", "faq-responder", "data-cleaner", "seo-writer", "bug-reproducer",
  "hr-screener", "travel-planner", "compliance-checker", "pricing-advisor", "report-builder",
] as const;

const GOOD = ["qualified", "resolved", "approved", "answered", "completed_task"] as const;
const BAD = ["rejected", "escalated", "no_answer", "needs_review", "abandoned"] as const;

export function agentDefs(count = 20): AgentDef[] {
  const raw = Array.from({ length: count }, (_, i) => 1 / Math.pow(i + 1, 0.8));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w, i) => ({
    index: i,
    name: AGENT_NAMES[i % AGENT_NAMES.length]! + (i >= AGENT_NAMES.length ? `-${Math.floor(i / AGENT_NAMES.length)}` : ""),
    weight: w / sum,
    good: GOOD.slice(0, 2 + (i % 3)),
    bad: BAD.slice(0, 2 + ((i + 1) % 3)),
  }));
}

// $ per 1M tokens (input, output): micro-dollars per token.
const MODELS: readonly (readonly [string, number, number, number])[] = [
  ["gpt-4o", 2.5, 10, 3],
  ["gpt-4o-mini", 0.15, 0.6, 4],
  ["claude-sonnet-4", 3, 15, 2],
  ["claude-haiku-4", 0.8, 4, 2],
  ["llama-3.1-70b", 0.6, 0.6, 1],
];

const LLM_VERBS = ["classify", "plan", "summarize", "extract", "answer", "rewrite", "judge", "route"];
const TOOLS = ["search_crm", "lookup_account", "send_email", "create_ticket", "get_weather", "calc", "fetch_invoice"];
const HOSTS = ["api.hubspot.com", "api.stripe.com", "api.github.com", "internal-gateway", "api.slack.com"];
const TABLES = ["leads", "accounts", "tickets", "invoices", "events"];

const WORDS = (
  "the agent asked the model to consider a customer request about billing and routing then checked " +
  "context from prior tickets summarized account history with notes on renewal risk pricing tiers " +
  "and product usage while a tool returned structured results json rows latency errors retries cache " +
  "hits vector search documents embeddings score threshold policy compliance approval workflow draft " +
  "reply tone friendly concise escalate human reviewer deadline invoice amount currency region"
).split(" ");

/** A fixed pseudo-text corpus; payload text is sliced from it (cheap at a million spans). */
const CORPUS = (() => {
  const rng = new Rng("spyglass-bench-corpus");
  const parts: string[] = [];
  let length = 0;
  while (length < 1 << 16) {
    const w = rng.pick(WORDS);
    parts.push(w);
    length += w.length + 1;
  }
  return parts.join(" ");
})();

function text(rng: Rng, length: number): string {
  const n = Math.max(8, Math.min(length, CORPUS.length - 1));
  const start = rng.int(0, CORPUS.length - n - 1);
  return CORPUS.slice(start, start + n);
}

export interface SpanTypeSchema {
  name: SpanType;
  title: string;
  description: string;
  template: string;
  params_schema: Record<string, unknown>;
  result_schema: Record<string, unknown>;
}

const obj = (properties: Record<string, unknown>, required: string[]) => ({ type: "object", properties, required });
const str = { type: "string" };
const int = { type: "integer", minimum: 0 };

/** The span types a Prefactor agent registers (validation and Liquid summaries run on these). */
export const SPAN_TYPE_SCHEMAS: readonly SpanTypeSchema[] = [
  {
    name: "agent",
    title: "Agent step",
    description: "A reasoning step that may call other steps",
    template: "{{ goal | truncate: 60 }}{% if answer %} → {{ answer | truncate: 40 }}{% endif %}",
    params_schema: obj({ goal: str, step: int }, ["goal"]),
    result_schema: obj({ answer: str }, []),
  },
  {
    name: "llm",
    title: "LLM call",
    description: "One model completion",
    template: "{{ model }}: {{ messages | size }} messages{% if usage %}, {{ usage.input_tokens }}→{{ usage.output_tokens }} tokens{% endif %}",
    params_schema: obj({ model: str, temperature: { type: "number" }, messages: { type: "array", items: obj({ role: str, content: str }, ["role", "content"]) } }, ["model", "messages"]),
    result_schema: obj({ response: str, finish_reason: str, usage: obj({ input_tokens: int, output_tokens: int }, ["input_tokens", "output_tokens"]) }, ["response"]),
  },
  {
    name: "tool",
    title: "Tool call",
    description: "A function the agent invoked",
    template: "{{ tool }}({{ arguments.query | truncate: 40 }}){% if items %} = {{ items }} items{% endif %}",
    params_schema: obj({ tool: str, arguments: { type: "object" } }, ["tool", "arguments"]),
    result_schema: obj({ output: str, items: int }, ["output"]),
  },
  {
    name: "http",
    title: "HTTP request",
    description: "An outbound HTTP call",
    template: "{{ method }} {{ url | truncate: 60 }}{% if status_code %} → {{ status_code }}{% endif %}",
    params_schema: obj({ method: { enum: ["GET", "POST", "PUT", "DELETE"] }, url: str, body: str }, ["method", "url"]),
    result_schema: obj({ status_code: int, body: str }, ["status_code"]),
  },
  {
    name: "db",
    title: "Database query",
    description: "A query against the agent's own store",
    template: "{{ statement | truncate: 50 }}{% if rows %} ({{ rows }} rows){% endif %}",
    params_schema: obj({ statement: str, params: { type: "array" } }, ["statement"]),
    result_schema: obj({ rows: int, sample: str }, ["rows"]),
  },
  {
    name: "retrieval",
    title: "Retrieval",
    description: "Vector search over the knowledge base",
    template: "search \"{{ query | truncate: 40 }}\" top {{ top_k }}{% if documents %}: {{ documents | size }} docs{% endif %}",
    params_schema: obj({ query: str, top_k: int }, ["query", "top_k"]),
    result_schema: obj({ documents: { type: "array", items: obj({ id: str, score: { type: "number" }, text: str }, ["id", "score"]) } }, ["documents"]),
  },
  {
    name: "custom",
    title: "Custom step",
    description: "Anything else",
    template: "{{ step }}: {{ note | truncate: 50 }}",
    params_schema: obj({ step: str, note: str }, ["step"]),
    result_schema: obj({ ok: { type: "boolean" }, note: str }, []),
  },
];

interface Payloads {
  input: Record<string, unknown>;
  output: Record<string, unknown>;
}

function payloads(rng: Rng, span: Pick<GenSpan, "type" | "name" | "model" | "inputTokens" | "outputTokens">, bytes: number): Payloads {
  // ~55% of the bytes in the input, the rest in the output; fixed fields take ~80–150 bytes.
  const inText = Math.max(16, Math.round(bytes * 0.55) - 90);
  const outText = Math.max(8, Math.round(bytes * 0.45) - 70);
  switch (span.type) {
    case "agent":
      return { input: { goal: text(rng, inText), step: rng.int(0, 20) }, output: { answer: text(rng, outText) } };
    case "llm":
      return {
        input: {
          model: span.model,
          temperature: rng.pick([0, 0.2, 0.7]),
          messages: [
            { role: "system", content: text(rng, Math.min(120, inText >> 2)) },
            { role: "user", content: text(rng, inText - Math.min(120, inText >> 2)) },
          ],
        },
        output: {
          response: text(rng, outText),
          finish_reason: "stop",
          usage: { input_tokens: span.inputTokens, output_tokens: span.outputTokens },
        },
      };
    case "tool":
      return {
        input: { tool: span.name, arguments: { query: text(rng, inText), limit: rng.int(1, 50) } },
        output: { output: text(rng, outText), items: rng.int(0, 40) },
      };
    case "http":
      return {
        input: { method: rng.pick(["GET", "POST"]), url: `https://${rng.pick(HOSTS)}/v2/${text(rng, 12).replace(/ /g, "/")}`, body: text(rng, inText - 40) },
        output: { status_code: rng.weighted([[200, 90], [201, 4], [404, 3], [500, 3]]), body: text(rng, outText) },
      };
    case "db":
      return {
        input: { statement: `SELECT * FROM ${rng.pick(TABLES)} WHERE ${text(rng, inText)}`, params: [rng.int(1, 9999)] },
        output: { rows: rng.int(0, 500), sample: text(rng, outText) },
      };
    case "retrieval": {
      const docs = rng.int(1, 5);
      const per = Math.max(8, Math.floor(outText / docs) - 40);
      return {
        input: { query: text(rng, inText), top_k: docs },
        output: { documents: Array.from({ length: docs }, (_, i) => ({ id: `doc-${rng.int(1, 99999)}`, score: Math.round((0.95 - i * 0.07) * 1000) / 1000, text: text(rng, per) })) },
      };
    }
    case "custom":
      return { input: { step: span.name, note: text(rng, inText) }, output: { ok: true, note: text(rng, outText) } };
  }
}

const LEAF_TYPES: readonly (readonly [SpanType, number])[] = [
  ["llm", 34], ["tool", 28], ["retrieval", 10], ["http", 10], ["db", 8], ["custom", 10],
];

// Median duration (ms) of a leaf span by type.
const LEAF_MEDIAN_MS: Record<SpanType, number> = { agent: 0, llm: 900, tool: 180, http: 140, db: 12, retrieval: 90, custom: 4 };

export interface TraceOptions {
  agent: AgentDef;
  startedAt: number;
  spanCount: number;
  /** Payload size range (bytes of input + output JSON). */
  minBytes?: number;
  maxBytes?: number;
  status?: GenTraceStatus;
  /** Ids: AgentVista-style UUIDs (default). */
  idOf?: (rng: Rng) => string;
}

/** Picks a run's final status: mostly completed, some failed. */
export function pickTraceStatus(rng: Rng, recent: boolean): GenTraceStatus {
  if (recent && rng.chance(0.3)) return "running";
  return rng.weighted<GenTraceStatus>([["completed", 91], ["failed", 8], ["timed_out", 1]]);
}

/** Spans per run: 5–200, median 13, mean ~19 (so 1M spans make > 50k runs), a few at the cap. */
export function pickSpanCount(rng: Rng): number {
  return Math.max(5, Math.min(200, Math.round(rng.logNormal(13, 0.85))));
}

export function generateTrace(rng: Rng, opts: TraceOptions): GenTrace {
  const idOf = opts.idOf ?? ((r: Rng) => r.uuid());
  const minBytes = opts.minBytes ?? 200;
  const maxBytes = opts.maxBytes ?? 4000;
  const status = opts.status ?? pickTraceStatus(rng, false);
  const n = Math.max(1, opts.spanCount);
  const traceId = idOf(rng);

  // Structure in pre-order: each new span hangs under some span on the current path from the
  // root, so the list is already parents-before-children.
  const mk = (type: SpanType, parent: GenSpan | null, name: string): GenSpan => ({
    id: idOf(rng), parentId: parent?.id ?? null, type, name, status: "completed",
    startedAt: 0, endedAt: null, durationMs: null, model: null, inputTokens: null, outputTokens: null,
    totalTokens: null, costMicros: null, input: {}, output: null, errorMessage: null, invalid: false, children: [],
  });
  const root = mk("agent", null, opts.agent.name);
  const spans: GenSpan[] = [root];
  const path: GenSpan[] = [root];
  for (let i = 1; i < n; i++) {
    while (path.length > 1 && rng.chance(0.25)) path.pop();
    const parent = path[path.length - 1]!;
    const isContainer = n - i > 3 && path.length < 6 && rng.chance(0.1);
    const type: SpanType = isContainer ? "agent" : rng.weighted(LEAF_TYPES);
    let name: string;
    const span = mk(type, parent, "");
    switch (type) {
      case "agent":
        name = `step ${rng.pick(LLM_VERBS)}`;
        break;
      case "llm": {
        const [model, pin, pout] = rng.weighted(MODELS.map((m) => [m, m[3]] as const));
        span.model = model;
        span.inputTokens = Math.round(rng.logNormal(700, 0.9)) + 20;
        span.outputTokens = Math.round(rng.logNormal(150, 0.8)) + 5;
        span.totalTokens = span.inputTokens + span.outputTokens;
        span.costMicros = Math.round(span.inputTokens * pin + span.outputTokens * pout);
        name = `${model} ${rng.pick(LLM_VERBS)}`;
        break;
      }
      case "tool":
        name = rng.pick(TOOLS);
        break;
      case "http":
        name = `call ${rng.pick(HOSTS)}`;
        break;
      case "db":
        name = `query ${rng.pick(TABLES)}`;
        break;
      case "retrieval":
        name = "vector search";
        break;
      default:
        name = rng.pick(["postprocess", "guardrail", "format", "dedupe"]);
    }
    span.name = name;
    parent.children.push(span);
    spans.push(span);
    if (isContainer) path.push(span);
  }

  // Timing: leaves run one after another; a container spans its children.
  let cursor = opts.startedAt;
  const time = (span: GenSpan) => {
    cursor += rng.int(0, 3);
    span.startedAt = cursor;
    if (span.children.length === 0) {
      const median = LEAF_MEDIAN_MS[span.type] || 5;
      cursor += Math.max(1, Math.round(rng.logNormal(median, 0.7)));
    } else {
      for (const child of span.children) time(child);
      cursor += rng.int(0, 5);
    }
    span.endedAt = cursor;
    span.durationMs = cursor - span.startedAt;
  };
  time(root);

  // Outcome: a failed run has a failed leaf (its error bubbles to the root); a running run has its
  // last spans still open; a timed-out run's open spans were closed as failed by the sweeper.
  let errorMessage: string | null = null;
  if (status === "failed") {
    const leaf = spans[spans.length - 1 - rng.int(0, Math.min(3, spans.length - 1))]!;
    errorMessage = rng.pick(["tool timed out after 30s", "rate limited by provider (429)", "invalid JSON from model", "upstream 500"]);
    for (let s: GenSpan | undefined = leaf; s; s = s.parentId ? spans.find((p) => p.id === s!.parentId) : undefined) {
      s.status = "failed";
      s.errorMessage = errorMessage;
    }
  } else if (status === "running" || status === "timed_out") {
    // The last leaf and its ancestors are still open.
    const leaf = spans[spans.length - 1]!;
    for (let s: GenSpan | undefined = leaf; s; s = s.parentId ? spans.find((p) => p.id === s!.parentId) : undefined) {
      s.status = status === "running" ? "running" : "failed";
      if (status === "running") {
        s.endedAt = null;
        s.durationMs = null;
      } else s.errorMessage = "timed_out";
    }
  }

  for (const span of spans) {
    const bytes = rng.logUniform(minBytes, maxBytes);
    const p = payloads(rng, span, bytes);
    span.input = p.input;
    span.output = span.status === "running" ? null : p.output;
    // 2% of payloads break their schema (a required field missing), to exercise the flagging path.
    if (rng.chance(0.02)) {
      span.invalid = true;
      const required = (SPAN_TYPE_SCHEMAS.find((s) => s.name === span.type)!.params_schema.required as string[])[0]!;
      delete span.input[required];
    }
  }

  let totalTokens = 0;
  let totalCostMicros = 0;
  for (const s of spans) {
    if (s.type !== "llm") continue;
    totalTokens += s.totalTokens ?? 0;
    totalCostMicros += s.costMicros ?? 0;
  }

  const finished = status !== "running";
  let success: boolean | null = null;
  let outcome: string | null = null;
  if (status === "completed") {
    const r = rng.next();
    if (r < 0.72) [success, outcome] = [true, rng.pick(opts.agent.good)];
    else if (r < 0.9) [success, outcome] = [false, rng.pick(opts.agent.bad)];
  } else if (status === "failed" && rng.chance(0.5)) [success, outcome] = [false, "error"];

  return {
    id: traceId,
    agent: opts.agent,
    status,
    startedAt: root.startedAt,
    endedAt: finished ? (root.endedAt ?? cursor) : null,
    durationMs: finished ? (root.endedAt ?? cursor) - root.startedAt : null,
    success,
    outcome,
    errorMessage,
    totalTokens,
    totalCostMicros,
    totalsExplicit: rng.chance(0.5),
    metadata: { env: rng.weighted([["production", 8], ["staging", 2]]), version: `v1.${opts.agent.index % 4}.${rng.int(0, 3)}`, tier: rng.pick(["free", "pro", "enterprise"]) },
    spans,
  };
}

/** Micro-dollars as the 6-decimal string both dialects use for money. */
export function usd(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, "0");
  return `${whole}.${frac}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
