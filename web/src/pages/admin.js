// The audit viewer (auditor role) and the administration of users and projects (admin role),
// on the access routes (GET /api/audit, GET /api/admin/users, GET /api/admin/projects). They
// say so when the server does not offer those routes yet.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from '../api.js';
import { tr } from '../i18n.js';

const html = htm.bind(h);

function JsonTable({ route, listKey, title }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    api.get(route).then((r) => setState({ status: r.status, body: r.body }));
  }, [route]);
  if (state.loading) return html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`;
  if (state.status === 404) {
    return html`<p class="notice">${tr('Ce serveur ne propose pas encore cette page.',
                                       'This server does not offer this page yet.')}</p>`;
  }
  if (state.status !== 200) {
    return html`<p class="error" role="alert">${tr('Erreur : ', 'Error: ')}${(state.body && state.body.error) || state.status}</p>`;
  }
  const rows = (state.body && state.body[listKey]) || [];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return html`
    <section class="card"><h2>${title}</h2>
      <div class="table-scroll"><table>
        <thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
        <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`
          <td>${typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? '')}</td>`)}</tr>`)}</tbody>
      </table></div>
    </section>`;
}

export function AuditPage() {
  return html`<h1>${tr('Journal d’audit', 'Audit trail')}</h1>
    <${JsonTable} route="/api/audit" listKey="entries" title=${tr('Entrées', 'Entries')} />`;
}

export function AdminPage() {
  return html`<h1>${tr('Administration', 'Administration')}</h1>
    <${JsonTable} route="/api/admin/users" listKey="users" title=${tr('Utilisateurs', 'Users')} />
    <${JsonTable} route="/api/admin/projects" listKey="projects" title=${tr('Projets', 'Projects')} />`;
}
