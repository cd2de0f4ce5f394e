#!/usr/bin/env node
// Operator CLI: runs on the server host and talks to the database directly (there is no
// unauthenticated sign-up endpoint).
//   spyglass accounts create <name>
//   spyglass tokens create --account <id> --scopes read,write [--name <name>]
//   spyglass copy-to <postgresql://...> [--force]
import { parseArgs } from "node:util";
import { loadConfigOrExit } from "./config.js";
import { CopyError, copyDatabase } from "./db/copy.js";
import { DatabaseStartupError, openDatabase } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { ALL_SCOPES, type Scope } from "./domain/accounts/tokens.js";

const usage =
  "usage: spyglass accounts create <name>\n       spyglass tokens create --account <id> --scopes read,write[,admin] [--name <name>]\n       spyglass copy-to <postgresql://...> [--force]";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { account: { type: "string" }, scopes: { type: "string" }, name: { type: "string" }, force: { type: "boolean" } },
});
const [resource, action, arg] = positionals;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const config = loadConfigOrExit(process.env);
if (resource === "copy-to") {
  if (!action || !/^postgres(ql)?:\/\//.test(action)) fail(usage);
  if (config.DATABASE_URL) fail("spyglass: copy-to copies the embedded database (SPYGLASS_DATA_DIR): unset DATABASE_URL");
}
const db = await openDatabase(config).catch((error: unknown) => {
  if (error instanceof DatabaseStartupError) fail(`spyglass: ${error.message}`);
  throw error;
});
const accounts = new AccountsService(db.prisma, db.sql);
try {
  if (resource === "copy-to") {
    try {
      const copied = await copyDatabase(db, action!, values.force === true);
      for (const { table, rows } of copied) console.log(`${table}: ${rows} rows`);
      console.log("copied and verified: start the server with DATABASE_URL set to the target");
    } catch (error) {
      if (error instanceof CopyError) fail(`spyglass: copy-to: ${error.message}`);
      throw error;
    }
  } else if (resource === "accounts" && action === "create") {
    if (!arg) fail(usage);
    const created = await accounts.createAccount(arg);
    console.log(`account_id=${created.accountId}\nadmin_token=${created.adminToken}`);
  } else if (resource === "tokens" && action === "create") {
    if (!values.account || !values.scopes) fail(usage);
    const scopes = values.scopes.split(",").map((s) => s.trim());
    const unknown = scopes.filter((s) => !(ALL_SCOPES as readonly string[]).includes(s));
    if (unknown.length || scopes.length === 0) fail(`unknown scope(s): ${unknown.join(", ")}; use ${ALL_SCOPES.join(", ")}`);
    await accounts.getAccount(values.account).catch(() => fail(`no account ${values.account}`));
    const { token, secret } = await accounts.issueToken({
      accountId: values.account,
      scopes: scopes as Scope[],
      name: values.name ?? null,
      secretPrefix: "sg_",
    });
    console.log(`token_id=${token.id}\ntoken=${secret}`);
  } else {
    fail(usage);
  }
} finally {
  await db.close();
}
