import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";

type Item = Record<string, unknown> & { _type: string; idempotency_key: string };

/** What the next request meets, in order; a request with no command left is served normally. */
export type Command =
  | { status: 401 | 500 | 502 | 503 }
  | { status: 429; retryAfter: string }
  /** The connection is cut before anything is processed. */
  | { drop: "before" }
  /** The items are processed, then the connection is cut: the client never sees the answer. */
  | { drop: "after" }
  /** Item `at` of the request fails with Prefactor code `unexpected` (processing stops there). */
  | { itemFails: number }
  /** The answer comes after `ms` (beyond the SDK's request timeout, it is abandoned). */
  | { delayMs: number };

/**
 * A stand-in for Spyglass's `POST /api/v1/bulk` and outcome endpoint that fails on command. It
 * keeps the server's rules that matter to a client: items run in order and stop at the first
 * error; an idempotency key replays its first answer and refuses a different body; a span needs
 * its run registered and its parent created; a finish needs what it finishes. It counts how often
 * each thing really happened, so a test can tell a replay from a duplicate.
 */
export class FakeSpyglass {
  readonly commands: Command[] = [];
  /** Idempotency key → the item as first executed. */
  readonly executed = new Map<string, Item>();
  /** Every execution in order (a duplicate would appear twice). */
  readonly log: Item[] = [];
  readonly outcomes = new Map<string, unknown>();
  /** Items answered with an error (other than commanded failures). */
  readonly refused: { item: Item; code: string; message: string }[] = [];
  requests = 0;
  /** When each request arrived and the command it met. */
  readonly served: { at: number; command: Command | undefined }[] = [];
  authorization: string | undefined;
  readonly batchSizes: number[] = [];
  readonly arrivals: number[] = [];
  /** Prefactor error to answer for items whose schema_name is this (as a strict server would). */
  rejectType: string | null = null;

  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly runs = new Map<string, "pending" | "active" | "finished">();
  private readonly spans = new Map<string, "active" | "finished">();
  port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts open connections: clients get connection refused until start(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  /** How many times the item with this key was executed (a replay does not count). */
  times(key: string): number {
    return this.log.filter((i) => i.idempotency_key === key).length;
  }

  spanCreates(): Item[] {
    return this.log.filter((i) => i._type === "agent_spans/create");
  }

  details(item: Item): Record<string, unknown> {
    return item.details as Record<string, unknown>;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests++;
    this.authorization = req.headers.authorization;
    const command = this.commands.shift();
    this.served.push({ at: Date.now(), command });
    if (command && "drop" in command && command.drop === "before") {
      req.socket.destroy();
      return;
    }
    if (command && "status" in command) {
      res.writeHead(command.status, {
        "content-type": "application/json",
        ...(command.status === 429 ? { "retry-after": command.retryAfter } : {}),
      });
      const code = command.status === 401 ? "bad_authtoken" : "unexpected";
      res.end(JSON.stringify({ status: "error", code, message: "commanded failure" }));
      return;
    }
    if (command && "delayMs" in command) await new Promise((r) => setTimeout(r, command.delayMs));
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;

    const outcome = /^\/api\/v1\/dashboard\/traces\/([^/]+)\/outcome$/.exec(req.url ?? "");
    if (req.method === "PATCH" && outcome) {
      const id = outcome[1]!;
      if (!this.runs.has(id)) return this.json(res, 404, { detail: "Trace not found." });
      this.outcomes.set(id, body);
      return this.json(res, 200, { trace_id: id, ...body });
    }
    if (req.method !== "POST" || req.url !== "/api/v1/bulk") return this.json(res, 404, { status: "error", code: "not_found", message: "no route" });

    const items = body.items as Item[];
    this.batchSizes.push(items.length);
    const outputs: Record<string, unknown> = {};
    for (const [index, item] of items.entries()) {
      if (command && "itemFails" in command && command.itemFails === index) {
        outputs[item.idempotency_key] = { status: "error", code: "unexpected", message: "commanded item failure" };
        break;
      }
      const out = this.execute(item);
      outputs[item.idempotency_key] = out;
      if (out.status === "error") break;
    }
    if (command && "drop" in command) {
      req.socket.destroy();
      return;
    }
    this.json(res, 200, { status: "success", outputs });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private error(item: Item, code: string, message: string) {
    this.refused.push({ item, code, message });
    return { status: "error", code, message };
  }

  private execute(item: Item): { status: string; code?: string; message?: string; details?: unknown } {
    const seen = this.executed.get(item.idempotency_key);
    if (seen) {
      return JSON.stringify(seen) === JSON.stringify(item)
        ? { status: "success", details: { replayed: true } }
        : this.error(item, "idempotency_key_already_used", "same key, different body");
    }
    const failure = this.check(item);
    if (failure) return this.error(item, failure[0], failure[1]);
    this.executed.set(item.idempotency_key, item);
    this.log.push(item);
    this.arrivals.push(Date.now());
    return { status: "success", details: {} };
  }

  /** The server's rules a client can break by sending things in the wrong order or twice. */
  private check(item: Item): [string, string] | null {
    switch (item._type) {
      case "agent_instances/register":
        this.runs.set(item.id as string, "pending");
        return null;
      case "agent_instances/start":
        if (this.runs.get(item.agent_instance_id as string) !== "pending") return ["invalid_action", "start: run not pending"];
        this.runs.set(item.agent_instance_id as string, "active");
        return null;
      case "agent_instances/finish":
        if (this.runs.get(item.agent_instance_id as string) !== "active") return ["invalid_action", "finish: run not active"];
        this.runs.set(item.agent_instance_id as string, "finished");
        return null;
      case "agent_spans/create": {
        const d = item.details as Record<string, unknown>;
        if (this.runs.get(d.agent_instance_id as string) !== "active") return ["invalid_action", "span of a run that is not active"];
        if (d.parent_span_id && !this.spans.has(d.parent_span_id as string)) return ["invalid_value", "details.parent_span_id: unknown"];
        if (this.spans.has(d.id as string)) return ["invalid_action", "an agent span with this id already exists"];
        if (this.rejectType && d.schema_name === this.rejectType) return ["invalid_value", "details.payload: does not match"];
        this.spans.set(d.id as string, d.status === "active" ? "active" : "finished");
        return null;
      }
      case "agent_spans/finish":
        if (this.spans.get(item.agent_span_id as string) !== "active") return ["invalid_action", "finish: span not active"];
        this.spans.set(item.agent_span_id as string, "finished");
        return null;
      default:
        return ["invalid_value", `unknown _type ${item._type}`];
    }
  }
}
