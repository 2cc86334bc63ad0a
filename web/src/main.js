// The dashboard's shell: session (sign-in, or a server without access control), project
// selector, role-aware navigation between pages (hash routes), and the language switch.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import './style.css';
import { session, loadSession, login, logout, setProject, onSessionLost } from './api.js';
import { tr, setLang, currentLang } from './i18n.js';
import { SurveillancePage } from './pages/surveillance.js';
import { CohortPage } from './pages/cohorts.js';
import { DashboardsPage } from './pages/dashboards.js';
import { SourcesPage } from './pages/sources.js';
import { AuditPage, AdminPage } from './pages/admin.js';

const html = htm.bind(h);

// Each page, the roles that see it (any of them), and its component.
const kPages = [
  { id: 'cohorts', fr: 'Cohortes', en: 'Cohorts', roles: ['researcher', 'investigator'],
    component: CohortPage },
  { id: 'surveillance', fr: 'Surveillance', en: 'Surveillance', roles: ['epidemiologist'],
    component: SurveillancePage },
  { id: 'dashboards', fr: 'Population', en: 'Population', roles: ['researcher', 'epidemiologist'],
    component: DashboardsPage },
  { id: 'sources', fr: 'Sources de données', en: 'Data sources',
    roles: ['data_manager', 'researcher', 'epidemiologist'], component: SourcesPage },
  // The audit viewer and the administration work on no project's data.
  { id: 'audit', fr: 'Audit', en: 'Audit', roles: ['auditor'], component: AuditPage,
    noProject: true },
  { id: 'admin', fr: 'Administration', en: 'Administration', roles: ['admin'],
    component: AdminPage, noProject: true },
];

function visiblePages() {
  return kPages.filter((p) => p.roles.some((r) => session.roles.includes(r)));
}

function routeFromHash() {
  return (location.hash.replace(/^#\/?/, '').split('?')[0]) || '';
}

function SignIn({ onDone }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    const r = await login(user, password, totp);
    setBusy(false);
    if (r.status === 404) return onDone();  // no access routes: enter without signing in
    if (r.status === 200) return onDone();
    // The server does not say which of the three was wrong (nor whether a code was needed).
    const message = (r.body && r.body.error) || '';
    setError(r.status === 401 || r.status === 403
      ? tr('Identifiant, mot de passe ou code incorrect.', 'Wrong user, password or code.')
      : tr('La connexion a échoué : ', 'Sign-in failed: ') + message);
  };
  return html`
    <main id="main" class="signin">
      <h1>p4dp</h1>
      <p class="subtitle">${tr('Entrepôt de données de santé de médecine de ville',
                               'Primary care health data warehouse')}</p>
      <form onSubmit=${submit} aria-labelledby="signin-title">
        <h2 id="signin-title">${tr('Connexion', 'Sign in')}</h2>
        <label>${tr('Identifiant', 'User')}
          <input name="user" autocomplete="username" required value=${user}
                 onInput=${(e) => setUser(e.target.value)} /></label>
        <label>${tr('Mot de passe', 'Password')}
          <input name="password" type="password" autocomplete="current-password" required
                 value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
        <label>${tr('Code à usage unique (si demandé)', 'One-time code (if asked)')}
          <input name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}"
                 value=${totp}
                 onInput=${(e) => setTotp(e.target.value)} /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${tr('Se connecter', 'Sign in')}</button>
      </form>
    </main>`;
}

function ProjectPicker({ onChange }) {
  // Admins and auditors usually belong to no project: nothing to choose.
  if (session.mode !== 'auth' || !session.projects.length) return null;
  return html`
    <label class="project-picker">${tr('Projet', 'Project')}
      <select name="project" value=${session.project}
              onChange=${(e) => { setProject(e.target.value); onChange(); }}>
        <option value="">${tr('— choisir —', '— choose —')}</option>
        ${session.projects.map((p) => html`<option value=${p.id}>${p.title || p.id}</option>`)}
      </select>
    </label>`;
}

function App() {
  const [phase, setPhase] = useState('loading');
  const [route, setRoute] = useState(routeFromHash());
  const [, setLangState] = useState(currentLang());
  const [projectVersion, setProjectVersion] = useState(0);
  const start = async () => setPhase(await loadSession());
  useEffect(() => {
    start();
    onSessionLost(() => setPhase('signin'));
    const onHash = () => setRoute(routeFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const switchLang = () => { setLang(currentLang() === 'fr' ? 'en' : 'fr'); setLangState(currentLang()); };
  const langButton = html`
    <button type="button" class="lang" onClick=${switchLang}
            lang=${currentLang() === 'fr' ? 'en' : 'fr'}>
      ${currentLang() === 'fr' ? 'English' : 'Français'}</button>`;
  if (phase === 'loading') return html`<p class="boot" role="status">p4dp…</p>`;
  if (phase === 'signin') {
    return html`<div class="signin-wrap">${langButton}<${SignIn} onDone=${start} /></div>`;
  }
  const pages = visiblePages();
  const page = pages.find((p) => p.id === route) || pages[0];
  const needProject = session.mode === 'auth' && !session.project && !(page && page.noProject);
  const Page = page && page.component;
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault();
      document.getElementById('main').focus(); }}>${tr('Aller au contenu', 'Skip to content')}</a>
    <header class="top">
      <span class="brand">p4dp</span>
      <nav aria-label=${tr('Navigation principale', 'Main navigation')}>
        <ul>${pages.map((p) => html`
          <li><a href=${'#/' + p.id} aria-current=${p === page ? 'page' : undefined}>
            ${tr(p.fr, p.en)}</a></li>`)}</ul>
      </nav>
      <span class="spacer"></span>
      <${ProjectPicker} onChange=${() => setProjectVersion((v) => v + 1)} />
      ${session.mode === 'open'
        ? html`<span class="badge" title=${tr('Le serveur n’a pas de contrôle d’accès',
                                              'The server has no access control')}>
                 ${tr('mode sans authentification', 'no-authentication mode')}</span>`
        : html`<span class="user">${session.user}</span>
               <button type="button" onClick=${async () => { await logout(); setPhase('signin'); }}>
                 ${tr('Déconnexion', 'Sign out')}</button>`}
      ${langButton}
    </header>
    <main id="main" tabindex="-1">
      ${needProject
        ? html`<p class="notice">${tr('Choisissez un projet pour voir ses données.',
                                      'Choose a project to see its data.')}</p>`
        : Page ? html`<${Page} key=${page.id + ':' + session.project + ':' + projectVersion} />`
          : html`<p class="notice">${tr('Aucune page pour vos rôles.', 'No page for your roles.')}</p>`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
