import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSpyglassClient } from "@spyglass/client";
import { createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  ctx = await createTestContext();
  server = ctx.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await ctx?.close();
});

describe("@spyglass/client against a listening server", () => {
  it("pings with a valid token", async () => {
    const client = createSpyglassClient({ baseUrl, token: ctx.token });
    const { data, error, response } = await client.GET("/api/v1/ping");
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    expect(data?.details.account_id).toBe(ctx.accountId);
  });

  it("returns the typed error envelope for a bad token", async () => {
    const client = createSpyglassClient({ baseUrl, token: "sg_wrong" });
    const { data, error, response } = await client.GET("/api/v1/ping");
    expect(response.status).toBe(401);
    expect(data).toBeUndefined();
    expect(error?.code).toBe("bad_authtoken");
  });
});
