import { Writable } from "node:stream";
import type { Express } from "express";
import { createApp } from "../../src/app.js";
import { createLogger } from "../../src/http/logging.js";
import type { TestContext } from "./context.js";

/** The context's app with the production logger at info level writing into `lines` instead of stdout. */
export function appLoggingTo(ctx: TestContext, lines: string[]): Express {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return createApp({ db: ctx.db, config: ctx.config, logger: createLogger("info", sink), services: ctx.services });
}
