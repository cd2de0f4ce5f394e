#!/usr/bin/env node
// Operator CLI: runs on the server host and talks to the database directly (there is no
// unauthenticated sign-up endpoint).
//   spyglass accounts create <name>
//   spyglass tokens create --account <id> --scopes read,write [--name <name>]
import { parseArgs } from "node:util";
import { loadConfigOrExit } from "./config.js";
import { DatabaseStartupError, openDatabase } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { ALL_SCOPES, type Scope } from "./domain/accounts/tokens.js";

const usage = "usage: spyglass accounts create <name>\n       spyglass tokens create --account <id> --scopes read,write[,admin] [--name <name>]";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { account: { type: "string" }, scopes: { type: "string" }, name: { type: "string" } },
});
const [resource, action, arg] = positionals;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const config = loadConfigOrExit(process.env);
const db = await openDatabase(config).catch((error: unknown) => {
  if (error instanceof DatabaseStartupError) fail(`spyglass: ${error.message}`);
  throw error;
});
const accounts = new AccountsService(db.prisma, db.sql);
try {
  if (resource === "accounts" && action === "create") {
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
