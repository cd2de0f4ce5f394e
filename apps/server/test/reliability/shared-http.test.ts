/** The shared HTTP layer's defences that no single route shows: query parsing, error mapping. */
import type { Request } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toAppError } from "../../src/http/errors.js";
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

describe("database errors caused by a request's values", () => {
  const req = { id: "req-1" } as unknown as Request;

  it("map to 400 invalid_value (here: a NUL byte reaching a text column)", async () => {
    const err = await ctx.db.prisma.apiToken.findFirst({ where: { name: "a\u0000b" } }).then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );
    const mapped = toAppError(err, req);
    expect(mapped.code).toBe("invalid_value");
    expect(mapped.message).not.toMatch(/0x00|UTF8|SQL|prisma/i);
  });

  it("while other database errors stay 500 unexpected, quoting the request id", async () => {
    const err = await ctx.db.prisma.$queryRawUnsafe("SELECT * FROM no_such_table").then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );
    const mapped = toAppError(err, req);
    expect(mapped.code).toBe("unexpected");
    expect(mapped.message).toBe("unexpected server error; quote request id req-1 when reporting it");
  });
});
