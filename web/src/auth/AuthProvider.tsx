// The signed-in user. On start the app asks GET /api/v1/auth/session, which
// answers the user and the session's CSRF token when the browser holds a
// session cookie (so a new tab or a reload can write too); any 401
// `unauthenticated` afterwards ends the session here too (the router then
// shows the login page with a notice).
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, api, csrf, setUnauthenticatedHandler } from '../api/client';
import type { User } from '../api/types';

export type EndReason = 'expired' | 'logged_out' | 'logged_out_everywhere';

type State =
  | { status: 'loading' }
  | { status: 'anonymous'; reason: EndReason | null }
  | { status: 'authenticated'; me: User };

type Auth = {
  state: State;
  /** After a successful POST /api/v1/auth/login. */
  signedIn: (me: User, csrfToken: string) => void;
  logout: (everywhere: boolean) => Promise<void>;
};

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<State>({ status: 'loading' });

  const end = useCallback(
    (reason: EndReason | null) => {
      csrf.clear();
      queryClient.clear();
      setState({ status: 'anonymous', reason });
    },
    [queryClient],
  );

  useEffect(() => {
    setUnauthenticatedHandler(() => end('expired'));
    return () => setUnauthenticatedHandler(null);
  }, [end]);

  useEffect(() => {
    const ctl = new AbortController();
    const hadSession = csrf.get() !== null;
    api
      .get('/api/v1/auth/session', { signal: ctl.signal })
      .then((s) => {
        if (s.csrf_token) csrf.set(s.csrf_token);
        setState({ status: 'authenticated', me: s.user });
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        // Not signed in: the login page; "ended" only when this tab was.
        const anonymous = e instanceof ApiError && e.code === 'unauthenticated';
        end(anonymous && !hadSession ? null : 'expired');
      });
    return () => ctl.abort();
  }, [end]);

  const signedIn = useCallback(
    (me: User, token: string) => {
      queryClient.clear();
      csrf.set(token);
      setState({ status: 'authenticated', me });
    },
    [queryClient],
  );

  const logout = useCallback(
    async (everywhere: boolean) => {
      try {
        if (everywhere) await api.post('/api/v1/auth/logout-all');
        else await api.post('/api/v1/auth/logout');
      } catch (e) {
        // Already ended (401) is what we wanted; other failures are shown.
        if (!(e instanceof ApiError && e.code === 'unauthenticated')) throw e;
      }
      end(everywhere ? 'logged_out_everywhere' : 'logged_out');
    },
    [end],
  );

  const value = useMemo(() => ({ state, signedIn, logout }), [state, signedIn, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside AuthProvider');
  return a;
}

/** The signed-in user; only inside the authenticated layout. */
export function useMe(): User {
  const { state } = useAuth();
  if (state.status !== 'authenticated') throw new Error('useMe without a session');
  return state.me;
}
