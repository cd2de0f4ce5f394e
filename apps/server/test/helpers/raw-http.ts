import http from "node:http";

export interface RawRequest {
  method: string;
  /** Sent exactly as given (path and query, already encoded). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One HTTP request with the exact bytes given — supertest re-serializes Buffers it is handed as
 * JSON and normalizes some paths, which defeats a fuzzer.
 */
export function rawRequest(port: number, req: RawRequest, agent?: http.Agent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body) headers["Content-Length"] = req.body.length;
    let outgoing: http.ClientRequest;
    try {
      outgoing = http.request({ host: "127.0.0.1", port, method: req.method, path: req.path, headers, agent });
    } catch (error) {
      reject(error);
      return;
    }
    outgoing.setTimeout(60_000, () => outgoing.destroy(new Error("no response in 60 s")));
    outgoing.on("error", reject);
    outgoing.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
    });
    outgoing.end(req.body);
  });
}
