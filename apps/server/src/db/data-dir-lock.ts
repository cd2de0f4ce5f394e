import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import path from "node:path";

/**
 * The embedded database belongs to one process: two PGlite instances on one directory lose data
 * and corrupt indexes. The lock is a Unix socket in the data directory that the holder listens on.
 * Liveness comes from the kernel, not from a pid or a timestamp: connecting succeeds while the
 * holder lives (even with its event loop busy: the kernel queues the connection) and is refused
 * the moment it dies, kill -9 included, so a crashed holder never leaves the directory locked and
 * a reused pid never fakes a holder. The socket file it leaves behind is simply replaced.
 */
const LOCK_FILE = "spyglass.lock";
/** Unix socket paths are limited to 104-108 bytes depending on the system. */
const MAX_SOCKET_PATH = 100;
const PROBE_TIMEOUT_MS = 2_000;

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  release(): Promise<void>;
}

interface Holder {
  nonce: string;
  pid: number;
}

function socketPathFor(dataDir: string): string {
  const absolute = path.join(dataDir, LOCK_FILE);
  if (absolute.length <= MAX_SOCKET_PATH) return absolute;
  const relative = path.relative(process.cwd(), absolute);
  if (relative.length <= MAX_SOCKET_PATH) return relative;
  throw new Error(`the data directory's path is too long for its lock socket (${absolute.length} characters; at most ${MAX_SOCKET_PATH - LOCK_FILE.length - 1})`);
}

/** Who answers on the socket: its holder, null when nobody listens there. */
function probe(socketPath: string): Promise<Holder | null> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(socketPath);
    const done = (holder: Holder | null) => {
      socket.destroy();
      resolve(holder);
    };
    // A holder whose event loop is busy has the connection queued but not yet answered: alive.
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done({ nonce: "", pid: 0 }));
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    socket.on("end", () => {
      try {
        done(JSON.parse(text) as Holder);
      } catch {
        done({ nonce: "", pid: 0 });
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" || error.code === "ENOENT" ? null : { nonce: "", pid: 0 }));
  });
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function inUse(dataDir: string, holder: Holder): DataDirInUseError {
  const who = holder.pid ? `another Spyglass process (pid ${holder.pid})` : "another Spyglass process";
  return new DataDirInUseError(`the data directory ${dataDir} is in use by ${who}; stop it first, or set SPYGLASS_DATA_DIR to another directory`);
}

/** Takes the data directory for this process, or throws DataDirInUseError naming the holder. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const socketPath = socketPathFor(dataDir);
  const me: Holder = { nonce: randomBytes(16).toString("hex"), pid: process.pid };
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.end(JSON.stringify(me));
  });
  // The lock never keeps the process alive on its own.
  server.unref();
  for (let attempt = 0; ; attempt++) {
    try {
      await listen(server, socketPath);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 3) throw error;
      const holder = await probe(socketPath);
      if (holder) throw inUse(dataDir, holder);
      // Left by a holder that died: nobody listens there any more.
      rmSync(socketPath, { force: true });
    }
  }
  // Two processes replacing the same dead holder's socket at once: only the one whose socket the
  // path now leads to holds the lock. The other leaves its server open (unreferenced, on a file
  // that is gone): closing it would unlink the path, which is now the winner's socket.
  const holder = await probe(socketPath);
  if (holder?.nonce !== me.nonce) throw inUse(dataDir, holder ?? { nonce: "", pid: 0 });
  return {
    // Closing a Unix socket server unlinks its file.
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
