// Installs @spyglass/client and @spyglass/sdk the way a user does, and runs their READMEs.
// Packs both packages with `pnpm pack` (workspace:* becomes a real version), installs the tarballs
// with plain npm into an empty project outside the workspace, starts the built server
// (apps/server/dist) on the embedded database, runs the first TypeScript block of each README with
// only SPYGLASS_BASE_URL and SPYGLASS_TOKEN set, and checks through the API that each run arrived
// complete, with nested spans. Needs `pnpm build` (or the server's and these packages' builds) first.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), "spyglass-pack-"));
const project = path.join(work, "project");
const token = "pack-check-admin-token-0123456789";
const port = 20_000 + Math.floor(Math.random() * 12_000);
const baseUrl = `http://127.0.0.1:${port}`;
let server;

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", ...options });

function firstTypeScriptBlock(readme) {
  const match = /```ts\n([\s\S]*?)```/.exec(readFileSync(readme, "utf8"));
  if (!match) throw new Error(`${readme} has no TypeScript block`);
  return match[1];
}

async function api(pathname) {
  const res = await fetch(`${baseUrl}${pathname}`, { headers: { Authorization: `Bearer ${token}`, Connection: "close" } });
  if (!res.ok) throw new Error(`GET ${pathname}: ${res.status} ${await res.text()}`);
  return res.json();
}

try {
  for (const pkg of ["client", "sdk"]) run("pnpm", ["pack", "--pack-destination", work], { cwd: path.join(root, "packages", pkg) });
  const tarballs = readdirSync(work).filter((f) => f.endsWith(".tgz")).map((f) => path.join(work, f));
  console.log(`packed ${tarballs.map((t) => path.basename(t)).join(", ")}`);

  execFileSync("mkdir", [project]);
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "pack-check", private: true, type: "module" }));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs, "tsx@4.23.15"], { cwd: project });
  const manifest = (dir) => JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const client = manifest(path.join(root, "packages/client"));
  const sdk = manifest(path.join(project, "node_modules/@spyglass/sdk"));
  if (sdk.dependencies["@spyglass/client"] !== client.version) throw new Error(`the packed sdk depends on @spyglass/client ${sdk.dependencies["@spyglass/client"]}`);
  // The client must be the tarball's, not a namesake from the registry.
  if (manifest(path.join(project, "node_modules/@spyglass/client")).description !== client.description) throw new Error("@spyglass/client was not installed from the tarball");

  server = spawn(process.execPath, [path.join(root, "apps/server/dist/index.js")], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", SPYGLASS_DATA_DIR: path.join(work, "data"), SPYGLASS_ADMIN_TOKEN: token },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let waited = 0; ; waited += 200) {
    if (waited > 120_000) throw new Error("the server did not get ready");
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    if (await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  for (const pkg of ["client", "sdk"]) {
    const script = path.join(project, `${pkg}-readme.mts`);
    writeFileSync(script, firstTypeScriptBlock(path.join(root, "packages", pkg, "README.md")));
    const out = run("npx", ["tsx", script], { cwd: project, env: { PATH: process.env.PATH, SPYGLASS_BASE_URL: baseUrl, SPYGLASS_TOKEN: token } });
    const id = /^run (\S+)/m.exec(out)?.[1];
    if (!id) throw new Error(`${pkg} README printed no run id:\n${out}`);
    const instance = (await api(`/api/v1/agent_instance/${id}`)).details;
    const spans = (await api(`/api/v1/agent_spans?agent_instance_id=${id}`)).summaries;
    const nested = spans.filter((s) => s.parent_span_id && spans.some((p) => p.id === s.parent_span_id));
    if (instance.status !== "complete" || nested.length === 0) {
      throw new Error(`${pkg} README run ${id}: status ${instance.status}, ${spans.length} spans, ${nested.length} nested`);
    }
    console.log(`${pkg} README: run ${id} complete, ${spans.length} spans, ${nested.length} with a parent`);
  }
} finally {
  server?.kill("SIGTERM");
  if (server && server.exitCode === null) await new Promise((r) => server.once("exit", r));
  rmSync(work, { recursive: true, force: true });
}
