import { createSpyglassClient, type Schemas, type SpyglassClient } from "@spyglass/client";

export type { Schemas, SpyglassClient };

const TOKEN_KEY = "spyglass.token";

/** The token lives for the browser session only (sessionStorage), never in a cookie or localStorage. */
export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string | null) =>
  token === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, token);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server's own words: Prefactor errors carry `message`, AgentVista errors `detail`. */
export function messageOf(body: unknown, status: number): string {
  const b = body as { message?: unknown; detail?: unknown; errors?: unknown } | null;
  const text = typeof b?.message === "string" ? b.message : typeof b?.detail === "string" ? b.detail : null;
  if (text) return text;
  if (status === 0) return "The server cannot be reached.";
  return `The server answered ${status}.`;
}

type Listener = () => void;
let unauthorized: Listener = () => {};
/** Any 401 from any request sends the user back to the sign-in form. */
export const onUnauthorized = (listener: Listener) => {
  unauthorized = listener;
};

/** `watch`: whether a 401 signs the user out (not while checking a token at sign-in). */
export function makeClient(token: string, watch = true): SpyglassClient {
  return createSpyglassClient({
    baseUrl: window.location.origin,
    token,
    fetch: async (request) => {
      const response = await fetch(request);
      if (watch && response.status === 401) unauthorized();
      return response;
    },
  });
}

/** openapi-fetch's {data, error, response} as a value or a thrown ApiError with the server's message. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, messageOf(null, 0));
  }
  if (!result.response.ok || result.data === undefined) {
    throw new ApiError(result.response.status, messageOf(result.error, result.response.status));
  }
  return result.data;
}
