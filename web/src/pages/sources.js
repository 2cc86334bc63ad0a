// Data sources: what the warehouse holds per source and domain, and the quarantine by reason
// (counts only), from GET /api/stats.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from '../api.js';
import { tr, num } from '../i18n.js';
import { Chart } from '../chart.js';

const html = htm.bind(h);

function pairs(obj) { return Object.entries(obj || {}).sort((a, b) => (b[1] > a[1] ? 1 : -1)); }

export function SourcesPage() {
  const [stats, setStats] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get('/api/stats').then((r) => {
      if (r.status === 200) setStats(r.body);
      else setError(r.status === 403 ? tr('Accès refusé.', 'Access denied.')
        : tr('Statistiques indisponibles : ', 'Statistics unavailable: ') + ((r.body && r.body.error) || r.status));
    });
  }, []);
  if (error) return html`<h1>${tr('Sources de données', 'Data sources')}</h1><p class="error" role="alert">${error}</p>`;
  if (!stats) return html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`;
  const bySource = pairs(stats.events_by_source);
  const byDomain = pairs(stats.events_by_domain);
  const quarantine = pairs(stats.quarantined_by_reason);
  const bar = (rows) => ({
    grid: { left: 8, right: 64, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', show: false },
    yAxis: { type: 'category', data: rows.map((r) => r[0]), inverse: true },
    series: [{ type: 'bar', data: rows.map((r) => (typeof r[1] === 'number' ? r[1] : 0)),
               itemStyle: { color: '#2171b5' }, label: { show: true, position: 'right' } }],
  });
  return html`
    <h1>${tr('Sources de données', 'Data sources')}</h1>
    <section class="card kpis">
      ${[['patients', tr('patients', 'patients')], ['resources', tr('ressources', 'resources')],
         ['events', tr('événements', 'events')], ['segments', tr('segments', 'segments')]].map(([k, label]) => html`
        <div class="kpi" data-kpi=${k}><span class="kpi-value">${num(stats[k])}</span><span>${label}</span></div>`)}
    </section>
    <div class="grid-2">
      <section class="card">
        <${Chart} id="events-by-source" title=${tr('Événements par source', 'Events by source')} option=${bar(bySource)}
          height=${Math.max(140, 40 + 30 * bySource.length)}
          table=${{ columns: ['source', 'events'], rows: bySource }}
          summary=${bySource.map(([s, n]) => `${s}: ${n}`).join(', ')} />
      </section>
      <section class="card">
        <${Chart} id="events-by-domain" title=${tr('Événements par domaine', 'Events by domain')} option=${bar(byDomain)}
          height=${Math.max(140, 40 + 30 * byDomain.length)}
          table=${{ columns: ['domain', 'events'], rows: byDomain }}
          summary=${byDomain.map(([s, n]) => `${s}: ${n}`).join(', ')} />
      </section>
    </div>
    <section class="card" aria-labelledby="quarantine-title">
      <h2 id="quarantine-title">${tr('Quarantaine par motif', 'Quarantine by reason')}</h2>
      ${quarantine.length === 0 ? html`<p>${tr('Aucun enregistrement en quarantaine.', 'No quarantined record.')}</p>` : html`
        <table><thead><tr><th scope="col">${tr('Motif', 'Reason')}</th><th scope="col">${tr('Enregistrements', 'Records')}</th></tr></thead>
          <tbody>${quarantine.map(([reason, n]) => html`<tr><td>${reason}</td><td>${num(n)}</td></tr>`)}</tbody></table>`}
    </section>`;
}
