// Population dashboards: age pyramid, prevalence of chronic conditions by département,
// prescriptions by ATC group and consultations per week (GET /api/dashboards/*, docs/web.md).
// Each chart offers its image and its data (CSV); counts arrive already through the
// project's disclosure rules: a count is a number, "<t" (1 to t - 1) or "suppressed" (hidden
// so that no small count can be recovered from the totals); strings are drawn as 0 and
// shown as sent. The pyramid and the prevalence come with their totals (docs/api.md).
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from '../api.js';
import { tr, num } from '../i18n.js';
import { Chart } from '../chart.js';
import { departementNames } from '../geo.js';

const html = htm.bind(h);
const n = (v) => (typeof v === 'number' ? v : 0);

function useRoute(route, params) {
  const [state, setState] = useState({ loading: true });
  const key = JSON.stringify(params || {});
  useEffect(() => {
    const c = new AbortController();
    api.get(route, params, c.signal).then((r) => !r.aborted && setState({ status: r.status, body: r.body }));
    return () => c.abort();
  }, [route, key]);
  return state;
}

function Unavailable({ state }) {
  if (state.loading) return html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`;
  if (state.status === 404) return html`<p class="notice">${tr('Pas encore disponible sur ce serveur.', 'Not available on this server yet.')}</p>`;
  return html`<p class="error" role="alert">${tr('Erreur : ', 'Error: ')}${(state.body && state.body.error) || state.status}</p>`;
}

// What "<t" and "suppressed" mean, under a chart that may show them (a project whose
// threshold is 1 hides nothing).
function DisclosureNote({ minCell }) {
  if (!(minCell > 1)) return null;
  return html`<p class="muted">${tr(
    `Effectifs de 1 à ${minCell - 1} affichés « <${minCell} » ; « suppressed » : masqué pour qu'aucun petit effectif ne se déduise des totaux.`,
    `Counts from 1 to ${minCell - 1} are shown as "<${minCell}"; "suppressed": hidden so that no small count can be derived from the totals.`)}</p>`;
}

function Pyramid() {
  const s = useRoute('/api/dashboards/pyramid');
  if (s.status !== 200) return html`<section class="card"><h2>${tr('Pyramide des âges', 'Age pyramid')}</h2><${Unavailable} state=${s} /></section>`;
  const bands = s.body.bands;
  const option = {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: (v) => num(Math.abs(v)) } },
    yAxis: { type: 'category', data: bands.map((b) => b.band) },
    series: [
      { name: tr('hommes', 'men'), type: 'bar', stack: 'p', data: bands.map((b) => -n(b.male)), itemStyle: { color: '#2171b5' } },
      { name: tr('femmes', 'women'), type: 'bar', stack: 'p', data: bands.map((b) => n(b.female)), itemStyle: { color: '#d6604d' } },
    ],
  };
  const total = s.body.total;
  return html`<section class="card"><${Chart} id="pyramid" title=${tr('Pyramide des âges', 'Age pyramid')}
    option=${option} height=${380}
    table=${{ columns: ['band', 'male', 'female', 'total'],
              rows: [...bands.map((b) => [b.band, b.male, b.female, b.total]), ['total', total.male, total.female, total.total]] }}
    summary=${tr('Pyramide des âges des patients par tranche de 10 ans', 'Age pyramid of the patients by 10-year band')} />
    <p data-total="pyramid">${tr('Total', 'Total')} : ${num(total.total)} (${tr('hommes', 'men')} ${num(total.male)}, ${tr('femmes', 'women')} ${num(total.female)})</p>
    <${DisclosureNote} minCell=${s.body.min_cell} /></section>`;
}

function Prevalence() {
  const [condition, setCondition] = useState('');
  const s = useRoute('/api/dashboards/prevalence', condition ? { condition } : {});
  const heading = tr('Prévalence des maladies chroniques', 'Chronic condition prevalence');
  if (s.status !== 200) return html`<section class="card"><h2>${heading}</h2><${Unavailable} state=${s} /></section>`;
  const rows = s.body.rows;
  const title = (c) => tr(c.title_fr, c.title_en);
  const current = s.body.conditions.find((c) => c.name === s.body.condition);
  const nation = s.body.nation;
  const percent = (r) => (typeof r.percent === 'number' ? Number(r.percent.toFixed(2)) : null);
  const option = {
    tooltip: { trigger: 'axis' },
    grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: rows.map((r) => r.departement), axisLabel: { interval: 4, rotate: 90 } },
    yAxis: { type: 'value', name: '%' },
    series: [{ type: 'bar', data: rows.map((r) => (typeof r.percent === 'number' ? Number(r.percent.toFixed(2)) : null)),
               itemStyle: { color: '#41ab5d' } }],
  };
  return html`<section class="card">
    <label>${tr('Maladie chronique', 'Chronic condition')}
      <select name="condition" value=${s.body.condition} onChange=${(e) => setCondition(e.target.value)}>
        ${s.body.conditions.map((c) => html`<option value=${c.name}>${title(c)}</option>`)}</select></label>
    <${Chart} id="prevalence" title=${`${heading} — ${title(current)}`} option=${option} height=${330}
      table=${{ columns: ['departement', 'name', 'patients', 'without', 'population', 'percent'],
                rows: [...rows.map((r) => [r.departement, departementNames[r.departement] || '',
                                           r.patients, r.without, r.population, percent(r)]),
                       ['total', 'France', nation.patients, nation.without, nation.population, percent(nation)]] }}
      summary=${tr(`Prévalence de ${title(current)} en pourcentage des patients, par département`,
                   `Prevalence of ${title(current)} as a percentage of patients, by département`)} />
    <p data-total="prevalence">France : ${num(nation.patients)} / ${num(nation.population)}
      ${typeof nation.percent === 'number' ? ` (${num(nation.percent, 2)} %)` : ''}</p>
    <${DisclosureNote} minCell=${s.body.min_cell} /></section>`;
}

function Weekly({ route, id, title, seriesKey, label }) {
  const s = useRoute(route);
  if (s.status !== 200) return html`<section class="card"><h2>${title}</h2><${Unavailable} state=${s} /></section>`;
  const { weeks, series } = s.body;
  const option = {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 8, right: 8, top: 34, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: weeks, axisLabel: { interval: 25 } },
    yAxis: { type: 'value' },
    series: series.map((x) => ({ name: label(x[seriesKey]), type: 'line', showSymbol: false, data: x.values.map(n) })),
  };
  const columns = ['week', ...series.map((x) => x[seriesKey])];
  return html`<section class="card"><${Chart} id=${id} title=${title} option=${option} height=${320}
    table=${{ columns, rows: weeks.map((w, i) => [w, ...series.map((x) => x.values[i])]) }}
    summary=${tr(`${title} : ${series.length} séries sur ${weeks.length} semaines`,
                 `${title}: ${series.length} series over ${weeks.length} weeks`)} /></section>`;
}

const kAtcGroups = {
  A: ['Appareil digestif et métabolisme', 'Alimentary tract and metabolism'],
  B: ['Sang', 'Blood'], C: ['Système cardiovasculaire', 'Cardiovascular system'],
  D: ['Dermatologie', 'Dermatologicals'], G: ['Génito-urinaire, hormones sexuelles', 'Genito-urinary, sex hormones'],
  H: ['Hormones systémiques', 'Systemic hormones'], J: ['Anti-infectieux', 'Anti-infectives'],
  L: ['Antinéoplasiques, immunomodulateurs', 'Antineoplastic, immunomodulating'],
  M: ['Muscle et squelette', 'Musculo-skeletal system'], N: ['Système nerveux', 'Nervous system'],
  P: ['Antiparasitaires', 'Antiparasitic'], R: ['Système respiratoire', 'Respiratory system'],
  S: ['Organes sensoriels', 'Sensory organs'], V: ['Divers', 'Various'],
};

export function DashboardsPage() {
  return html`
    <h1>${tr('Tableaux de bord de la population', 'Population dashboards')}</h1>
    <div class="grid-2">
      <${Pyramid} />
      <${Prevalence} />
    </div>
    <${Weekly} route="/api/dashboards/prescriptions" id="prescriptions" seriesKey="atc"
      label=${(g) => `${g} ${kAtcGroups[g] ? tr(...kAtcGroups[g]) : ''}`}
      title=${tr('Prescriptions par classe ATC et par semaine', 'Prescriptions by ATC class per week')} />
    <${Weekly} route="/api/dashboards/consultations" id="consultations" seriesKey="name"
      label=${() => tr('consultations', 'consultations')}
      title=${tr('Consultations par semaine', 'Consultations per week')} />`;
}
