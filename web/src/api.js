// The dashboard's only way to the server: every call carries the session's bearer token and
// the chosen project (the access contract, docs/web.md), and answers {status, body}. Errors
// come back as values, never thrown, so that each page can say what went wrong.

const kTokenKey = 'p4dp.token';
const kProjectKey = 'p4dp.project';

export const session = {
  token: sessionStorage.getItem(kTokenKey) || '',
  project: localStorage.getItem(kProjectKey) || '',
  // 'auth': signed in; 'open': the server has no access routes (mode sans authentification).
  mode: 'unknown',
  user: '',
  roles: [],
  projects: [],
};

export function setToken(token) {
  session.token = token || '';
  if (token) sessionStorage.setItem(kTokenKey, token);
  else sessionStorage.removeItem(kTokenKey);
}

export function setProject(id) {
  session.project = id || '';
  if (id) localStorage.setItem(kProjectKey, id);
  else localStorage.removeItem(kProjectKey);
}

export function currentProject() {
  return session.projects.find((p) => p.id === session.project) || null;
}

// The query string of `params` plus the project (always, once one is chosen).
function withProject(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  // A page may name the project itself (the audit viewer's filter); else the chosen one.
  if (session.project && !Object.hasOwn(params, 'project')) q.set('project', session.project);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function call(method, path, { params, body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(withProject(path, params), {
      method, headers, signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') return { status: 0, aborted: true, body: null };
    return { status: 0, body: { error: String(e.message || e) } };
  }
  let parsed = null;
  let text;
  try {
    text = await response.text();
  } catch (e) {
    // Cancelled while the body arrived (the page asked for something newer).
    if (e.name === 'AbortError') return { status: 0, aborted: true, body: null };
    return { status: 0, body: { error: String(e.message || e) } };
  }
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { error: text }; }
  if (response.status === 401 && session.mode === 'auth') onUnauthorised();
  return { status: response.status, body: parsed };
}

let unauthorisedListener = () => {};
export function onSessionLost(listener) { unauthorisedListener = listener; }
function onUnauthorised() { unauthorisedListener(); }

export const api = {
  get: (path, params, signal) => call('GET', path, { params, signal }),
  post: (path, body, params, signal) => call('POST', path, { body, params, signal }),
};

// Where the session stands: GET /api/me answers 200 (signed in), 401 (sign-in needed) or
// 404 (a server without access control: the page then enters without signing in).
export async function loadSession() {
  const me = await call('GET', '/api/me');
  if (me.status === 404) {
    session.mode = 'open';
    session.user = '';
    session.roles = ['researcher', 'epidemiologist'];
    session.projects = [];
    setProject('');
    return 'open';
  }
  if (me.status === 200 && me.body) {
    session.mode = 'auth';
    session.user = me.body.user || '';
    session.roles = me.body.roles || [];
    // GET /api/me names each project by "project" (docs/api.md); the page uses "id".
    session.projects = (me.body.projects || []).map((p) => ({ ...p, id: p.id || p.project }));
    if (!session.projects.some((p) => p.id === session.project)) {
      setProject(session.projects.length === 1 ? session.projects[0].id : '');
    }
    return 'auth';
  }
  session.mode = 'signin';
  setToken('');
  return 'signin';
}

export async function login(user, password, totp) {
  const body = { user, password };
  if (totp) body.totp = totp;
  const r = await call('POST', '/api/login', { body });
  if (r.status === 404) return { status: 404 };
  if (r.status === 200 && r.body && r.body.token) setToken(r.body.token);
  return r;
}

export async function logout() {
  if (session.mode === 'auth') await call('POST', '/api/logout');
  setToken('');
  session.mode = 'signin';
}

// A count as the server sends it: a number, or a suppressed small count such as "<10".
export function isSuppressed(count) {
  return typeof count === 'string';
}

// The project's small-cell threshold (10 when no project is known).
export function minCell() {
  const p = currentProject();
  return (p && Number(p.min_cell)) || 10;
}

// The small-cell rule applied by the page to counts the server sends unmasked (the
// surveillance series today): 1 to minCell()-1 become "<minCell()"; strings pass as sent.
export function shownCount(count) {
  if (typeof count !== 'number') return count;
  const m = minCell();
  return count > 0 && count < m ? `<${m}` : count;
}
