import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe("query strings", () => {
  const parse = (query: string) => (ctx.app.get("query parser fn") as (q: string) => Record<string, unknown>)(query);

  it("keep Prefactor's bracketed parameters", () => {
    expect(parse("pagination[offset]=5&pagination[page_size]=10&sorting[field]=name&agent_id=a")).toEqual({
      pagination: { offset: "5", page_size: "10" },
      sorting: { field: "name" },
      agent_id: "a",
    });
    expect(parse("status[]=active&status[]=pending")).toEqual({ status: ["active", "pending"] });
  });

  it("drop keys that would shadow Object.prototype, at any depth", () => {
    const q = parse("toString=x&hasOwnProperty=y&valueOf=z&constructor[prototype][polluted]=1&__proto__[polluted]=1&a[toString]=1&a[b]=2&ok=1");
    expect(q).toEqual({ a: { b: "2" }, ok: "1" });
    expect(String(q)).toBe("[object Object]");
    expect(Object.prototype.hasOwnProperty.call(q, "ok")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
