// `pnpm db:migrate` applies the committed migrations to the configured database;
// `pnpm db:migration <name>` writes the next migration from the schema diff.
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { loadConfigOrExit } from "../config.js";
import { openDatabase } from "./database.js";
import { applyMigrations, createMigration } from "./migrations.js";

const [command, name] = process.argv.slice(2);

if (command === "deploy") {
  const db = await openDatabase(loadConfigOrExit(process.env), { migrate: false });
  try {
    const applied = await db.migrate();
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
  } finally {
    await db.close();
  }
} else if (command === "create") {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error("usage: pnpm db:migration <name>   (lowercase letters, digits and _)");
    process.exit(2);
  }
  const scratch = new PGlite();
  const factory = new PrismaPGlite(scratch);
  await applyMigrations(factory, (text) => scratch.exec(text));
  const created = await createMigration(name, factory);
  console.log(created ? `created prisma/migrations/${created}/migration.sql` : "schema.prisma matches the migrations: nothing to create");
  await scratch.close();
} else {
  console.error("usage: cli-migrate.ts deploy | create <name>");
  process.exit(2);
}
