// The audit viewer (auditor role: GET /api/audit with the filters of `p4dp audit show`, GET
// /api/audit/verify, GET /api/incidents) and the administration (admin role: users and
// projects through GET/POST /api/admin/users and /api/admin/projects, incidents to
// acknowledge). The server makes every password and shows it here once; the page keeps none.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from '../api.js';
import { tr, num } from '../i18n.js';

const html = htm.bind(h);
const kRoles = ['admin', 'data_manager', 'researcher', 'investigator', 'epidemiologist', 'auditor'];
const kRoleNames = {
  admin: ['administrateur', 'admin'], data_manager: ['gestionnaire de données', 'data manager'],
  researcher: ['chercheur', 'researcher'], investigator: ['investigateur', 'investigator'],
  epidemiologist: ['épidémiologiste', 'epidemiologist'], auditor: ['auditeur', 'auditor'],
};
const roleName = (r) => (kRoleNames[r] ? tr(kRoleNames[r][0], kRoleNames[r][1]) : r);
const kStates = { open: ['ouvert', 'open'], closed: ['clos', 'closed'], ended: ['terminé', 'ended'] };
const stateName = (s) => (kStates[s] ? tr(kStates[s][0], kStates[s][1]) : s);

function errorText(r) {
  if (r.status === 404 && !(r.body && r.body.error && r.body.error !== 'not found')) {
    return tr('Ce serveur ne propose pas cette page.', 'This server does not offer this page.');
  }
  return tr('Erreur : ', 'Error: ') + ((r.body && r.body.error) || r.status);
}

// A GET that the page reloads after each change (and when `version` changes): [state, reload].
function useList(route, params, version = 0) {
  const [state, setState] = useState({ loading: true });
  const key = route + JSON.stringify(params || {}) + ':' + version;
  const load = () => api.get(route, params).then((r) => setState({ status: r.status, body: r.body }));
  useEffect(() => { load(); }, [key]);
  return [state, load];
}

function Status({ state, children }) {
  if (state.loading) return html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`;
  if (state.status !== 200) return html`<p class="error" role="alert">${errorText(state)}</p>`;
  return children;
}

function Table({ caption, columns, rows, empty }) {
  if (!rows.length) return html`<p class="muted">${empty}</p>`;
  return html`
    <div class="table-scroll"><table>
      <caption class="sr">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${c.cell(r)}</td>`)}</tr>`)}
      </tbody>
    </table></div>`;
}

function Incidents({ canAck }) {
  const [state, reload] = useList('/api/incidents', { all: 1 });
  const [message, setMessage] = useState('');
  const ack = async (id) => {
    const r = await api.post(`/api/incidents/${id}/ack`);
    setMessage(r.status === 200 ? tr(`Incident ${id} acquitté.`, `Incident ${id} acknowledged.`)
      : errorText(r));
    reload();
  };
  const columns = [
    { label: 'N°', cell: (i) => i.id },
    { label: tr('Date', 'Time'), cell: (i) => i.time },
    { label: tr('Nature', 'Kind'), cell: (i) => i.kind },
    { label: tr('Utilisateur', 'User'), cell: (i) => i.user },
    { label: tr('Projet', 'Project'), cell: (i) => i.project },
    { label: tr('Détail', 'Detail'), cell: (i) => i.detail },
    { label: tr('Acquitté par', 'Acknowledged by'), cell: (i) => (i.acknowledged_by
      ? i.acknowledged_by
      : canAck ? html`<button type="button" onClick=${() => ack(i.id)}
                   aria-label=${tr(`Acquitter l’incident ${i.id}`, `Acknowledge incident ${i.id}`)}>
                   ${tr('Acquitter', 'Acknowledge')}</button>` : '—') },
  ];
  return html`
    <section class="card" aria-labelledby="incidents-title">
      <h2 id="incidents-title">${tr('Incidents', 'Incidents')}</h2>
      ${message && html`<p role="status">${message}</p>`}
      <${Status} state=${state}>
        <${Table} caption=${tr('Incidents', 'Incidents')} columns=${columns}
                  rows=${(state.body && state.body.incidents) || []}
                  empty=${tr('Aucun incident.', 'No incident.')} />
      <//>
    </section>`;
}

export function AuditPage() {
  const [form, setForm] = useState({ user: '', project: '', from: '', to: '', limit: '200' });
  const [filters, setFilters] = useState(form);
  const [state] = useList('/api/audit', filters);
  const [verdict, setVerdict] = useState(null);
  const field = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const verify = async () => {
    setVerdict({ checking: true });
    const r = await api.get('/api/audit/verify');
    setVerdict(r.status === 200 ? r.body : { error: errorText(r) });
  };
  const columns = [
    { label: 'N°', cell: (e) => e.seq },
    { label: tr('Date', 'Time'), cell: (e) => e.time },
    { label: tr('Utilisateur', 'User'), cell: (e) => e.user },
    { label: tr('Rôles', 'Roles'), cell: (e) => e.roles },
    { label: tr('Projet', 'Project'), cell: (e) => e.project },
    { label: tr('Action', 'Action'), cell: (e) => e.action },
    { label: tr('Patients', 'Patients'), cell: (e) => num(e.patients) },
    { label: tr('Origine', 'Origin'), cell: (e) => e.origin },
    { label: tr('Statut', 'Status'), cell: (e) => e.status },
  ];
  return html`
    <h1>${tr('Journal d’audit', 'Audit trail')}</h1>
    <section class="card" aria-labelledby="verify-title">
      <h2 id="verify-title">${tr('Intégrité de la chaîne', 'Chain integrity')}</h2>
      <button type="button" onClick=${verify}>${tr('Vérifier la chaîne', 'Verify the chain')}</button>
      <p role="status" class=${verdict && verdict.ok === false ? 'error' : ''} data-verdict=${
        verdict && verdict.ok !== undefined ? String(verdict.ok) : undefined}>${
        !verdict ? '' : verdict.checking ? tr('Vérification…', 'Checking…')
          : verdict.error ? verdict.error
            : verdict.ok ? tr(`Chaîne intacte (${verdict.entries} entrées).`,
                              `Chain intact (${verdict.entries} entries).`)
              : tr(`Chaîne rompue à l’entrée ${verdict.bad_seq} (${verdict.problem}).`,
                   `Chain broken at entry ${verdict.bad_seq} (${verdict.problem}).`)}</p>
    </section>
    <section class="card" aria-labelledby="entries-title">
      <h2 id="entries-title">${tr('Entrées', 'Entries')}</h2>
      <form class="filters" onSubmit=${(e) => { e.preventDefault(); setFilters({ ...form }); }}>
        <label>${tr('Utilisateur', 'User')}<input name="user" value=${form.user}
          onInput=${field('user')} /></label>
        <label>${tr('Projet', 'Project')}<input name="project" value=${form.project}
          onInput=${field('project')} /></label>
        <label>${tr('Du', 'From')}<input name="from" type="date" value=${form.from}
          onInput=${field('from')} /></label>
        <label>${tr('Au (inclus)', 'To (inclusive)')}<input name="to" type="date" value=${form.to}
          onInput=${field('to')} /></label>
        <label>${tr('Nombre maximum', 'At most')}<input name="limit" type="number" min="1"
          max="100000" value=${form.limit} onInput=${field('limit')} /></label>
        <button type="submit">${tr('Filtrer', 'Filter')}</button>
      </form>
      <${Status} state=${state}>
        <${Table} caption=${tr('Entrées du journal', 'Audit entries')} columns=${columns}
                  rows=${(state.body && state.body.entries) || []}
                  empty=${tr('Aucune entrée pour ces filtres.', 'No entry for these filters.')} />
      <//>
    </section>
    <${Incidents} canAck=${false} />`;
}

// The one-time secrets of a user just added or reset, shown until dismissed.
function Secret({ secret, onClose }) {
  if (!secret) return null;
  return html`
    <div class="notice secret" role="status">
      <p>${tr(`Mot de passe de ${secret.user}, à transmettre une seule fois : `,
              `Password of ${secret.user}, to pass on once: `)}<code data-password>${secret.password}</code></p>
      ${secret.totp_uri && html`<p>${tr('Second facteur (à charger dans l’application d’authentification) : ',
                                         'Second factor (load it into the authenticator app): ')}
        <code data-totp-uri>${secret.totp_uri}</code></p>`}
      <button type="button" onClick=${onClose}>${tr('J’ai noté', 'Noted')}</button>
    </div>`;
}

function Users({ onChange }) {
  const [state, reload] = useList('/api/admin/users');
  const [name, setName] = useState('');
  const [roles, setRoles] = useState([]);
  const [secret, setSecret] = useState(null);
  const [message, setMessage] = useState('');
  const act = async (path, body, done) => {
    const r = await api.post(path, body);
    if (r.status === 200) { done(r.body); setMessage(''); } else setMessage(errorText(r));
    reload();
    onChange();
  };
  const add = (e) => {
    e.preventDefault();
    act('/api/admin/users', { user: name, roles }, (b) => { setSecret(b); setName(''); setRoles([]); });
  };
  const columns = [
    { label: tr('Utilisateur', 'User'), cell: (u) => u.user },
    { label: tr('Rôles', 'Roles'), cell: (u) => u.roles.map(roleName).join(', ') },
    { label: tr('Actif', 'Enabled'), cell: (u) => (u.enabled ? tr('oui', 'yes') : tr('non', 'no')) },
    { label: tr('Second facteur', 'Second factor'), cell: (u) => (u.totp ? tr('oui', 'yes') : '—') },
    { label: tr('Verrouillé', 'Locked'), cell: (u) => (u.locked ? tr('oui', 'yes') : '—') },
    { label: tr('Actions', 'Actions'), cell: (u) => html`
      <button type="button" disabled=${!u.enabled}
        aria-label=${tr(`Désactiver ${u.user}`, `Disable ${u.user}`)}
        onClick=${() => act(`/api/admin/users/${encodeURIComponent(u.user)}/disable`, undefined,
                            () => setMessage(''))}>${tr('Désactiver', 'Disable')}</button>
      <button type="button"
        aria-label=${tr(`Nouveau mot de passe pour ${u.user}`, `New password for ${u.user}`)}
        onClick=${() => act(`/api/admin/users/${encodeURIComponent(u.user)}/reset-password`,
                            undefined, setSecret)}>${tr('Nouveau mot de passe', 'New password')}</button>` },
  ];
  return html`
    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">${tr('Utilisateurs', 'Users')}</h2>
      <${Secret} secret=${secret} onClose=${() => setSecret(null)} />
      ${message && html`<p class="error" role="alert">${message}</p>`}
      <${Status} state=${state}>
        <${Table} caption=${tr('Utilisateurs', 'Users')} columns=${columns}
                  rows=${(state.body && state.body.users) || []} empty=${tr('Aucun.', 'None.')} />
      <//>
      <form class="inline-form" onSubmit=${add} aria-labelledby="add-user-title">
        <h3 id="add-user-title">${tr('Ajouter un utilisateur', 'Add a user')}</h3>
        <label>${tr('Identifiant', 'User name')}<input name="new-user" required pattern="[a-z0-9][a-z0-9._\\-]*"
          value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        <fieldset><legend>${tr('Rôles', 'Roles')}</legend>
          ${kRoles.map((r) => html`<label class="check"><input type="checkbox" name=${'role-' + r}
            checked=${roles.includes(r)}
            onChange=${(e) => setRoles(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))} />
            ${roleName(r)}</label>`)}
        </fieldset>
        <button type="submit" disabled=${!name || !roles.length}>${tr('Ajouter', 'Add')}</button>
      </form>
    </section>`;
}

const emptyProject = () => ({ project: '', title: '', purpose: '', legal_ref: '', end: '',
  disclosure: 'aggregate', min_cell: '10', domains: '', from: '', to: '' });

function Projects({ usersVersion }) {
  const [state, reload] = useList('/api/admin/projects');
  const [users] = useList('/api/admin/users', undefined, usersVersion);
  const [form, setForm] = useState(emptyProject);
  const [member, setMember] = useState({ project: '', user: '' });
  const [message, setMessage] = useState('');
  const projects = (state.body && state.body.projects) || [];
  const userNames = ((users.body && users.body.users) || []).map((u) => u.user);
  const field = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const act = async (path, body, ok) => {
    const r = await api.post(path, body);
    setMessage(r.status === 200 ? ok : errorText(r));
    reload();
    return r.status === 200;
  };
  const create = async (e) => {
    e.preventDefault();
    const body = { ...form, min_cell: Number(form.min_cell),
      domains: form.domains.split(',').map((d) => d.trim()).filter(Boolean) };
    for (const k of ['end', 'from', 'to', 'purpose', 'legal_ref']) if (!body[k]) delete body[k];
    if (await act('/api/admin/projects', body, tr(`Projet ${form.project} créé.`,
                                                   `Project ${form.project} created.`))) {
      setForm(emptyProject());
    }
  };
  const addMember = (e) => {
    e.preventDefault();
    act(`/api/admin/projects/${encodeURIComponent(member.project)}/members`, { user: member.user },
        tr(`${member.user} ajouté à ${member.project}.`, `${member.user} added to ${member.project}.`));
  };
  const columns = [
    { label: tr('Projet', 'Project'), cell: (p) => p.project },
    { label: tr('Titre', 'Title'), cell: (p) => p.title },
    { label: tr('État', 'State'), cell: (p) => stateName(p.state) },
    { label: tr('Diffusion', 'Disclosure'), cell: (p) => (p.disclosure === 'patient_list'
      ? tr('liste de patients', 'patient list') : tr('agrégats', 'aggregate')) },
    { label: tr('Seuil', 'Threshold'), cell: (p) => p.min_cell },
    { label: tr('Fin', 'End'), cell: (p) => p.end || '—' },
    { label: tr('Périmètre', 'Perimeter'), cell: (p) => [
      p.domains.length ? p.domains.join(', ') : tr('tous domaines', 'every domain'),
      p.from || p.to ? `${p.from || '…'} → ${p.to || '…'}` : '',
      p.population ? tr('population restreinte', 'restricted population') : ''].filter(Boolean).join(' ; ') },
    { label: tr('Membres', 'Members'), cell: (p) => p.members.join(', ') || '—' },
    { label: tr('Actions', 'Actions'), cell: (p) => html`<button type="button"
        disabled=${p.state === 'closed'} aria-label=${tr(`Clore ${p.project}`, `Close ${p.project}`)}
        onClick=${() => act(`/api/admin/projects/${encodeURIComponent(p.project)}/close`, undefined,
                            tr(`Projet ${p.project} clos.`, `Project ${p.project} closed.`))}>
        ${tr('Clore', 'Close')}</button>` },
  ];
  return html`
    <section class="card" aria-labelledby="projects-title">
      <h2 id="projects-title">${tr('Projets', 'Projects')}</h2>
      ${message && html`<p role="status">${message}</p>`}
      <${Status} state=${state}>
        <${Table} caption=${tr('Projets', 'Projects')} columns=${columns} rows=${projects}
                  empty=${tr('Aucun projet.', 'No project.')} />
      <//>
      <form class="inline-form" onSubmit=${addMember} aria-labelledby="member-title">
        <h3 id="member-title">${tr('Ajouter un membre', 'Add a member')}</h3>
        <label>${tr('Projet', 'Project')}<select name="member-project" required value=${member.project}
          onChange=${(e) => setMember({ ...member, project: e.target.value })}>
          <option value="">${tr('— choisir —', '— choose —')}</option>
          ${projects.filter((p) => p.state !== 'closed').map((p) => html`<option value=${p.project}>${p.project}</option>`)}
        </select></label>
        <label>${tr('Utilisateur', 'User')}<select name="member-user" required value=${member.user}
          onChange=${(e) => setMember({ ...member, user: e.target.value })}>
          <option value="">${tr('— choisir —', '— choose —')}</option>
          ${userNames.map((u) => html`<option value=${u}>${u}</option>`)}
        </select></label>
        <button type="submit" disabled=${!member.project || !member.user}>${tr('Ajouter', 'Add')}</button>
      </form>
      <form class="inline-form" onSubmit=${create} aria-labelledby="create-title">
        <h3 id="create-title">${tr('Créer un projet', 'Create a project')}</h3>
        <label>${tr('Identifiant', 'Id')}<input name="project-id" required pattern="[a-z0-9][a-z0-9._\\-]*"
          value=${form.project} onInput=${field('project')} /></label>
        <label>${tr('Titre', 'Title')}<input name="title" required value=${form.title}
          onInput=${field('title')} /></label>
        <label>${tr('Finalité', 'Purpose')}<input name="purpose" value=${form.purpose}
          onInput=${field('purpose')} /></label>
        <label>${tr('Référence réglementaire', 'Legal reference')}<input name="legal_ref"
          value=${form.legal_ref} onInput=${field('legal_ref')} /></label>
        <label>${tr('Fin d’accès', 'End of access')}<input name="end" type="date" value=${form.end}
          onInput=${field('end')} /></label>
        <label>${tr('Diffusion', 'Disclosure')}<select name="disclosure" value=${form.disclosure}
          onChange=${field('disclosure')}>
          <option value="aggregate">${tr('agrégats', 'aggregate')}</option>
          <option value="patient_list">${tr('liste de patients', 'patient list')}</option>
        </select></label>
        <label>${tr('Seuil des petits effectifs', 'Small-cell threshold')}<input name="min_cell"
          type="number" min="1" required value=${form.min_cell} onInput=${field('min_cell')} /></label>
        <label>${tr('Domaines (séparés par des virgules ; vide : tous)',
                    'Domains (comma-separated; empty: all)')}<input name="domains"
          value=${form.domains} onInput=${field('domains')} /></label>
        <label>${tr('Période : du', 'Period: from')}<input name="from" type="date" value=${form.from}
          onInput=${field('from')} /></label>
        <label>${tr('au', 'to')}<input name="to" type="date" value=${form.to}
          onInput=${field('to')} /></label>
        <button type="submit">${tr('Créer', 'Create')}</button>
      </form>
    </section>`;
}

export function AdminPage() {
  const [usersVersion, setUsersVersion] = useState(0);
  return html`<h1>${tr('Administration', 'Administration')}</h1>
    <${Users} onChange=${() => setUsersVersion((v) => v + 1)} />
    <${Projects} usersVersion=${usersVersion} />
    <${Incidents} canAck=${true} />`;
}
