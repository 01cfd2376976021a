import { type FormEvent, useState } from 'react';
import * as api from '../api.ts';

export function LoginPage({
  onLogin,
  expired,
}: {
  onLogin: (s: api.SessionInfo) => void;
  /** The session that a refused call showed to be over, if that is why we are here. */
  expired?: api.SessionInfo | undefined;
}) {
  const [mode, setMode] = useState<'accessKey' | 'user'>(expired?.kind ?? 'accessKey');
  const [id, setId] = useState(expired?.user ?? '');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = mode === 'accessKey' ? { accessKeyId: id, accessKeySecret: secret } : { user: id, password: secret };
      onLogin(await api.login(body));
    } catch (err) {
      setError(err instanceof api.ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form onSubmit={submit} className="card login-card">
        <h1>Sluice console</h1>
        <div className="segmented">
          <button type="button" className={mode === 'accessKey' ? 'on' : ''} onClick={() => setMode('accessKey')}>
            Access key
          </button>
          <button type="button" className={mode === 'user' ? 'on' : ''} onClick={() => setMode('user')}>
            User
          </button>
        </div>
        <label>
          {mode === 'accessKey' ? 'Access key id' : 'User name'}
          <input name="id" value={id} onChange={(e) => setId(e.target.value)} autoComplete="username" />
        </label>
        <label>
          {mode === 'accessKey' ? 'Access key secret' : 'Password'}
          <input
            name="secret"
            type="password"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            autoComplete="current-password"
          />
        </label>
        {error && <div className="error-text">{error}</div>}
        {!error && expired && (
          <div className="error-text" data-testid="session-expired">
            Your session has ended (it expired or was revoked): log in again.
          </div>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p className="hint">
          The access key is printed by <code>sluice serve</code> at start; users are set under{' '}
          <code>console.users</code> in the server config.
        </p>
      </form>
    </div>
  );
}
