import type { TestContext } from "./context.js";

/** Seed 004's schema: `llm` and `tool` span types, with a template on llm. */
export const seedSchemaVersion = {
  external_identifier: "v0",
  span_type_schemas: [
    {
      name: "llm",
      title: "LLM",
      template: "{{ model }}: {{ prompt }} → {{ response }}",
      params_schema: {
        type: "object",
        properties: { model: { type: "string" }, temperature: { type: "number" }, max_tokens: { type: "integer" }, prompt: { type: "string" } },
      },
      result_schema: { type: "object", properties: { tokens: { type: "integer" }, response: { type: "string" } } },
    },
    {
      name: "tool",
      params_schema: { type: "object", properties: { name: { type: "string" }, input: { type: "object" } } },
      result_schema: { type: "object", additionalProperties: false },
    },
  ],
};

export function api(ctx: TestContext, token = ctx.token) {
  const auth = { Authorization: `Bearer ${token}` };
  return {
    get: (path: string) => ctx.http().get(`/api/v1${path}`).set(auth),
    post: (path: string, body?: unknown) => ctx.http().post(`/api/v1${path}`).set(auth).send(body as object),
    put: (path: string, body?: unknown) => ctx.http().put(`/api/v1${path}`).set(auth).send(body as object),
    delete: (path: string, body?: unknown) => ctx.http().delete(`/api/v1${path}`).set(auth).send(body as object),
  };
}

export async function registerInstance(ctx: TestContext, overrides: Record<string, unknown> = {}, token = ctx.token) {
  const res = await api(ctx, token).post("/agent_instance/register", {
    agent_version: { name: "support-bot", external_identifier: "1.0.0" },
    agent_schema_version: seedSchemaVersion,
    ...overrides,
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.details as { id: string; agent_id: string; agent_schema_version_id: string; status: string };
}

export async function startedInstance(ctx: TestContext, overrides: Record<string, unknown> = {}, token = ctx.token) {
  const instance = await registerInstance(ctx, overrides, token);
  const res = await api(ctx, token).post(`/agent_instance/${instance.id}/start`, {});
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  return instance;
}
