// Prisma's own schema engine, in its WASM build, so that migrations are created and applied with
// the same engine `prisma migrate` uses but without downloading a native binary (offline and
// air-gapped machines cannot). The package targets bundlers, so we instantiate the module here.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";

let loaded: Promise<void> | undefined;

function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const jsPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = readFileSync(path.join(path.dirname(jsPath), "schema_engine_bg.wasm"));
    // @types/node 20 does not declare the WebAssembly global, which Node has always had.
    const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Buffer, i: object): Promise<{ instance: { exports: object } }> } }).WebAssembly;
    const { instance } = await wasm.instantiate(bytes, { "./schema_engine_bg.js": bg });
    (bg as unknown as { __wbg_set_wasm(exports: unknown): void }).__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  })();
  return loaded;
}

/**
 * Sent in the same script as each migration, so that the migration's DDL and its `finished_at`
 * commit together: PostgreSQL runs a script sent as one simple query as one transaction. The
 * engine records `finished_at` itself only after the script, in a statement of its own: a process
 * killed in between left a row claiming an unfinished migration whose changes had committed, and
 * a row that says "unfinished" could not be told apart from one whose script rolled back. Now an
 * unfinished row always means a script that rolled back whole (see RECOVER_INTERRUPTED).
 */
const FINISH_WITH_SCRIPT = `
;
DO $spyglass$ BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    UPDATE "_prisma_migrations" SET "finished_at" = now()
    WHERE "id" = (SELECT "id" FROM "_prisma_migrations" WHERE "finished_at" IS NULL AND "rolled_back_at" IS NULL ORDER BY "started_at" DESC LIMIT 1);
  END IF;
END $spyglass$;
`;

/**
 * Each migration's script is sent whole, with FINISH_WITH_SCRIPT, as one simple query (one
 * transaction). @prisma/adapter-pg would split it at every ";", which also cuts a function body
 * ($$ ... $$) apart; the PGlite adapter did not wait for it (nor see it fail). Not on the shadow
 * database, which has no migrations table to keep.
 */
function wholeScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  const patch = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const client = (adapter as unknown as { client?: { query?: (text: string) => Promise<unknown>; exec?: (text: string) => Promise<unknown> } }).client;
    if (adapter.adapterName === "@prisma/adapter-pg" && typeof client?.query === "function") {
      adapter.executeScript = async (script: string) => {
        await client.query!(script + FINISH_WITH_SCRIPT);
      };
    } else if (typeof client?.exec === "function") {
      adapter.executeScript = async (script: string) => {
        await client.exec!(script + FINISH_WITH_SCRIPT);
      };
    }
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => patch(await factory.connect()),
    connectToShadowDb: () => factory.connectToShadowDb(),
  };
}

export async function openSchemaEngine(
  schemaPath: string,
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
): Promise<SchemaEngine> {
  await loadWasm();
  const engine = (bg as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine;
  return engine.new(
    { datamodels: [[schemaPath, readFileSync(schemaPath, "utf8")]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(wholeScripts(adapterFactory)),
  );
}
