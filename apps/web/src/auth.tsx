import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, makeClient, messageOf, onUnauthorized, storedToken, storeToken, type SpyglassClient } from "./api";

interface Auth {
  client: SpyglassClient | null;
  /** Why the user is looking at the sign-in form, if not by choice. */
  notice: string | null;
  signIn(token: string): Promise<void>;
  signOut(notice?: string): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState(storedToken);
  const [notice, setNotice] = useState<string | null>(null);
  const client = useMemo(() => (token ? makeClient(token) : null), [token]);

  const signOut = useCallback(
    (why?: string) => {
      storeToken(null);
      setToken(null);
      setNotice(why ?? null);
      queryClient.clear();
    },
    [queryClient],
  );

  useEffect(() => {
    onUnauthorized(() => signOut("The server no longer accepts this token (401). Sign in again."));
  }, [signOut]);

  const signIn = useCallback(async (candidate: string) => {
    const probe = makeClient(candidate, false);
    const { response, error } = await probe.GET("/api/v1/ping").catch(() => ({ response: null, error: null }));
    if (!response) throw new ApiError(0, messageOf(null, 0));
    if (!response.ok) {
      throw new ApiError(response.status, response.status === 401 ? "This token is not valid." : messageOf(error, response.status));
    }
    storeToken(candidate);
    setNotice(null);
    setToken(candidate);
  }, []);

  const value = useMemo(() => ({ client, notice, signIn, signOut }), [client, notice, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** The signed-in client (pages render only when signed in). */
export function useClient(): SpyglassClient {
  const { client } = useAuth();
  if (!client) throw new Error("not signed in");
  return client;
}
