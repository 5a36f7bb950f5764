// Log in: email and password, then the 2FA code when the API answers
// `totp_required`. A message says why the user is here (session ended,
// logged out).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { ApiError, api } from '../api/client';
import type { LoginRequest } from '../api/types';
import { useAuth, type EndReason } from '../auth/AuthProvider';
import { Field } from '../components/Field';
import { IconBerth } from '../components/Icons';
import { ThemeToggle } from '../components/ThemeToggle';

const REASON: Record<EndReason, string> = {
  expired: 'Your session ended. Please log in again.',
  logged_out: 'You are logged out.',
  logged_out_everywhere: 'You are logged out on every device.',
};

type From = { from?: string };

export function Login() {
  const { state, signedIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as From | null)?.from ?? '/';

  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [step, setStep] = useState<'password' | 'totp'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (step === 'totp') codeRef.current?.focus();
  }, [step]);

  if (state.status === 'authenticated') return <Navigate to={from} replace />;
  const reason = state.status === 'anonymous' ? state.reason : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: LoginRequest = { email: email.trim(), password };
    if (step === 'totp') body.totp = totp.trim();
    try {
      const res = await api.post('/api/v1/auth/login', { body });
      signedIn(res.user, res.csrf_token);
      navigate(from, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required' && step === 'password') {
        setStep('totp');
      } else {
        setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
      }
      setBusy(false);
    }
  };

  const fieldError = (name: string) => (error?.field === name ? error.message : null);
  const generalError = error && !['email', 'password', 'totp'].includes(error.field ?? '') ? error : null;

  return (
    <div className="flex min-h-screen flex-col">
      <div className="flex justify-end p-3">
        <ThemeToggle />
      </div>
      <main className="flex flex-1 items-start justify-center px-4 pt-8 sm:pt-16">
        <div className="w-full max-w-sm">
          <div className="mb-6 flex items-center justify-center gap-2 text-2xl font-semibold">
            <IconBerth width={32} height={32} className="text-sky-700 dark:text-sky-400" />
            Berth
          </div>
          <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <h1 className="mb-4 text-lg font-semibold">{step === 'password' ? 'Log in' : 'Two-factor code'}</h1>
            {reason && !error && (
              <p role="status" className="mb-4 rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-900 dark:bg-sky-950 dark:text-sky-100">
                {REASON[reason]}
              </p>
            )}
            {generalError && (
              <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950/60 dark:text-red-200">
                {generalError.message}
              </p>
            )}
            <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
              {step === 'password' ? (
                <>
                  <Field
                    label="Email"
                    name="email"
                    type="email"
                    autoComplete="username"
                    required
                    autoFocus
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                    error={fieldError('email')}
                  />
                  <Field
                    label="Password"
                    name="password"
                    type="password"
                    autoComplete="current-password"
                    required
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                    error={fieldError('password')}
                  />
                </>
              ) : (
                <>
                  <p className="text-sm text-slate-600 dark:text-slate-400">
                    Enter the 6-digit code from your authenticator app, or a recovery code.
                  </p>
                  <Field
                    ref={codeRef}
                    label="Code"
                    name="totp"
                    autoComplete="one-time-code"
                    inputMode="text"
                    required
                    value={totp}
                    onChange={(e) => setTotp(e.target.value)}
                    error={fieldError('totp')}
                  />
                </>
              )}
              <button type="submit" className="btn-primary w-full" disabled={busy}>
                {busy ? 'Logging in…' : step === 'password' ? 'Log in' : 'Verify'}
              </button>
              {step === 'totp' && (
                <button
                  type="button"
                  className="btn-secondary w-full"
                  onClick={() => {
                    setStep('password');
                    setTotp('');
                    setError(null);
                  }}
                >
                  Back
                </button>
              )}
            </form>
          </div>
        </div>
      </main>
    </div>
  );
}
