import { type FormEvent, useCallback, useEffect, useState } from 'react';
import * as api from './api.ts';
import { CollectionPage } from './pages/Collection.tsx';
import { LoginPage } from './pages/Login.tsx';
import { LogstoresPage } from './pages/Logstores.tsx';
import { QuotasPage } from './pages/Quotas.tsx';
import { SearchPage } from './pages/Search.tsx';

const PAGES = [
  { id: 'search', title: 'Search' },
  { id: 'logstores', title: 'Logstores' },
  { id: 'collection', title: 'Collection' },
  { id: 'quotas', title: 'Quotas & usage' },
] as const;
type PageId = (typeof PAGES)[number]['id'];

function pageFromPath(): PageId {
  const seg = window.location.pathname.replace(/^\/console\/?/, '').split('/')[0];
  return PAGES.find((p) => p.id === seg)?.id ?? 'search';
}

export function App() {
  const [session, setSession] = useState<api.SessionInfo | undefined | null>(null);
  const [page, setPage] = useState<PageId>(pageFromPath);
  const [projects, setProjects] = useState<api.ProjectInfo[]>([]);
  const [project, setProject] = useState<string>(() => localStorage.getItem('sluice.project') ?? '');
  const [error, setError] = useState('');
  const [newProject, setNewProject] = useState<string | null>(null);

  const [expired, setExpired] = useState<api.SessionInfo | undefined>(undefined);
  const loggedOut = useCallback(() => {
    api.setSession(undefined);
    setSession(undefined);
  }, []);
  // A call refused with 401 while logged in: the session expired (or was revoked). Say so on the login page, with the
  // same kind of login and name filled in, instead of dropping the user on a blank form.
  const sessionLost = useCallback(() => {
    setSession((s) => {
      if (s) setExpired(s);
      return undefined;
    });
    api.setSession(undefined);
  }, []);

  useEffect(() => {
    api
      .currentSession()
      .then((s) => {
        api.setSession(s, sessionLost);
        setSession(s);
      })
      .catch(() => setSession(undefined));
  }, [sessionLost]);

  useEffect(() => {
    const onPop = () => setPage(pageFromPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const loadProjects = useCallback(async () => {
    try {
      const r = await api.get<{ projects: api.ProjectInfo[] }>('/', { query: { size: 500 } });
      setProjects(r.projects);
      setProject((p) => (p && r.projects.some((x) => x.projectName === p) ? p : (r.projects[0]?.projectName ?? '')));
    } catch (e) {
      setError(api.errorText(e));
    }
  }, []);

  useEffect(() => {
    if (session) void loadProjects();
  }, [session, loadProjects]);

  useEffect(() => {
    if (project) localStorage.setItem('sluice.project', project);
  }, [project]);

  if (session === null) return <div className="boot">Loading…</div>;
  if (session === undefined) {
    return (
      <LoginPage
        expired={expired}
        onLogin={(s) => {
          api.setSession(s, sessionLost);
          setExpired(undefined);
          setSession(s);
        }}
      />
    );
  }

  const go = (id: PageId) => {
    window.history.pushState(null, '', `/console/${id}`);
    setPage(id);
  };

  const createProject = async (e: FormEvent) => {
    e.preventDefault();
    const name = (newProject ?? '').trim();
    if (!name) return;
    try {
      await api.call('/', { method: 'POST', body: { projectName: name, description: '' } });
      setNewProject(null);
      setError('');
      await loadProjects();
      setProject(name);
    } catch (err) {
      setError(api.errorText(err));
    }
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Sluice</span>
        <nav>
          {PAGES.map((p) => (
            <button
              type="button"
              key={p.id}
              className={p.id === page ? 'tab active' : 'tab'}
              onClick={() => go(p.id)}
              data-page={p.id}
            >
              {p.title}
            </button>
          ))}
        </nav>
        <span className="spacer" />
        <label className="project-picker">
          Project{' '}
          <select value={project} onChange={(e) => setProject(e.target.value)} aria-label="project">
            {projects.length === 0 && <option value="">(none)</option>}
            {projects.map((p) => (
              <option key={p.projectName} value={p.projectName}>
                {p.projectName}
              </option>
            ))}
          </select>
        </label>
        {newProject === null ? (
          <button type="button" className="ghost" onClick={() => setNewProject('')}>
            + Project
          </button>
        ) : (
          <form className="new-project" onSubmit={createProject}>
            <input
              value={newProject}
              onChange={(e) => setNewProject(e.target.value)}
              placeholder="new project (a-z, 0-9, -)"
              aria-label="new project name"
            />
            <button type="submit" className="primary small">
              Create
            </button>
            <button type="button" className="ghost small" onClick={() => setNewProject(null)}>
              ✕
            </button>
          </form>
        )}
        <span className="user" title={session.kind === 'accessKey' ? 'access key' : 'user'}>
          {session.user}
        </span>
        <button
          type="button"
          className="ghost"
          onClick={async () => {
            await api.logout();
            loggedOut();
          }}
        >
          Log out
        </button>
      </header>
      {error && (
        <div className="banner error">
          {error}
          <button type="button" className="ghost small right" onClick={() => setError('')}>
            ✕
          </button>
        </div>
      )}
      <main>
        {!project ? (
          <div className="empty">No project yet. Create one with “+ Project”.</div>
        ) : page === 'search' ? (
          <SearchPage project={project} key={`s-${project}`} />
        ) : page === 'logstores' ? (
          <LogstoresPage project={project} key={`l-${project}`} />
        ) : page === 'collection' ? (
          <CollectionPage project={project} key={`c-${project}`} />
        ) : (
          <QuotasPage project={project} key={`q-${project}`} onDeleted={() => void loadProjects()} />
        )}
      </main>
    </div>
  );
}
