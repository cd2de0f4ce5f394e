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
 * @prisma/adapter-pg runs a migration script by splitting it at every ";", which cuts a function
 * body ($$ ... $$) apart. PostgreSQL itself runs a script sent as one simple query (as one
 * transaction), so for that adapter the script is sent whole.
 */
function wholeScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  const patch = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const client = (adapter as unknown as { client?: { query?: (text: string) => Promise<unknown> } }).client;
    if (adapter.adapterName === "@prisma/adapter-pg" && typeof client?.query === "function") {
      adapter.executeScript = async (script: string) => {
        await client.query!(script);
      };
    }
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => patch(await factory.connect()),
    connectToShadowDb: async () => patch(await factory.connectToShadowDb()),
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
