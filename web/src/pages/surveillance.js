// Surveillance: indicator, algorithm and season pickers; the map of France by département
// (incidence or alarms) for the week of the slider, which replays the season; the series of
// the nation or of a chosen département with the expected line, the threshold band and the
// alarms; and the alert list of the season. Routes: /api/surveillance/{indicators,series,alerts}.
import { h } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api, minCell, shownCount } from '../api.js';
import { tr, num } from '../i18n.js';
import { Chart } from '../chart.js';
import { FranceMap } from './francemap.js';
import { departementNames, placeName } from '../geo.js';

const html = htm.bind(h);
const kClasses = ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'];
const kAlarm = '#d62728';
const kNoData = '#e6e6e6';
const kSmall = '#b8b8b8';
// French titles of the default indicators (config/indicators.json has English ones).
const kIndicatorsFr = { ili: 'Syndrome grippal', gastro: 'Gastro-entérite aiguë',
  bronchiolitis: 'Bronchiolite', covid: 'COVID-19', varicella: 'Varicelle', measles: 'Rougeole' };
const indicatorTitle = (i) => (i ? tr(kIndicatorsFr[i.name] || i.title || i.name, i.title || i.name) : '');

// The controls of a detector as the series routes take them (EARS needs a least sigma of one
// case on small weekly counts, docs/surveillance.md).
function detectorParams(algorithm) {
  const p = { algorithm };
  if (algorithm.startsWith('ears')) p['min-sigma'] = 1;
  return p;
}

function seasonsOf(info) {
  const first = Number(info.first_week.slice(0, 4));
  const last = Number(info.last_week.slice(0, 4));
  const years = [];
  for (let y = last; y >= first; --y) years.push(y);
  return years;
}

function value(v) { return typeof v === 'number' ? v : null; }
// Whether a row's count is under the small-cell threshold (then neither it nor its incidence
// is shown: the incidence would give it away).
function small(r) { return typeof shownCount(r.count) === 'string'; }

export function SurveillancePage() {
  const [info, setInfo] = useState(null);
  const [error, setError] = useState('');
  const [indicator, setIndicator] = useState('');
  const [algorithm, setAlgorithm] = useState('ears-c2');
  const [season, setSeason] = useState(0);
  const [mapMode, setMapMode] = useState('incidence');
  const [place, setPlace] = useState('FR');
  const [chosenWeek, setChosenWeek] = useState('');  // '' : the season's last week
  const [depRows, setDepRows] = useState(null);
  const [seriesRows, setSeriesRows] = useState(null);
  const [alerts, setAlerts] = useState(null);
  const [playing, setPlaying] = useState(false);
  const timer = useRef(null);

  useEffect(() => {
    api.get('/api/surveillance/indicators').then((r) => {
      if (r.status !== 200) return setError(errorText(r));
      setInfo(r.body);
      setIndicator(r.body.indicators[0] ? r.body.indicators[0].name : '');
      if (!r.body.algorithms.includes('ears-c2')) setAlgorithm(r.body.default_algorithm);
      // The latest season with at least two months of weeks.
      const [year, week] = r.body.last_week.split('-W').map(Number);
      setSeason(week >= 8 || year <= Number(r.body.first_week.slice(0, 4)) ? year : year - 1);
    });
  }, []);

  const range = useMemo(() => {
    if (!info || !season) return null;
    const to = season === Number(info.last_week.slice(0, 4)) ? info.last_week : `${season}-W52`;
    return { from: `${season}-W01`, to };
  }, [info, season]);

  // The département rows of the season (the map) and its alert list.
  useEffect(() => {
    if (!range || !indicator) return;
    const controller = new AbortController();
    setDepRows(null);
    setAlerts(null);
    const params = { indicator, level: 'departement', ...range, ...detectorParams(algorithm) };
    api.get('/api/surveillance/series', params, controller.signal).then((r) => {
      if (r.aborted) return;
      if (r.status !== 200) return setError(errorText(r));
      setDepRows(r.body.rows);
    });
    api.get('/api/surveillance/alerts', params, controller.signal).then((r) => {
      if (r.aborted) return;
      if (r.status !== 200) return setError(errorText(r));
      setAlerts(r.body.alerts);
    });
    return () => controller.abort();
  }, [range, indicator, algorithm]);

  // The series of the chosen place over the season.
  useEffect(() => {
    if (!range || !indicator) return;
    const controller = new AbortController();
    const level = place === 'FR' ? 'nation' : 'departement';
    const params = { indicator, level, ...range, ...detectorParams(algorithm) };
    if (level !== 'nation') params.place = place;
    api.get('/api/surveillance/series', params, controller.signal).then((r) => {
      if (r.aborted) return;
      if (r.status !== 200) return setError(errorText(r));
      setSeriesRows(r.body.rows);
    });
    return () => controller.abort();
  }, [range, indicator, algorithm, place]);

  const weeks = useMemo(() => {
    if (!depRows) return [];
    return [...new Set(depRows.map((r) => r.period))].sort();
  }, [depRows]);
  const weekIndex = weeks.includes(chosenWeek) ? weeks.indexOf(chosenWeek) : weeks.length - 1;
  const week = weeks[weekIndex] || '';
  const setWeekIndex = (f) => {
    const i = typeof f === 'function' ? f(weekIndex) : f;
    setChosenWeek(weeks[i] || '');
  };

  const byPlace = useMemo(() => {
    const m = new Map();
    for (const r of depRows || []) if (r.period === week) m.set(r.place, r);
    return m;
  }, [depRows, week]);
  // Class breaks: the quintiles of the season's shown incidences above 0, so that the five
  // colours spread over the départements whatever the outliers.
  const breaks = useMemo(() => {
    const v = (depRows || []).filter((r) => !small(r) && value(r.incidence) > 0)
      .map((r) => r.incidence).sort((a, b) => a - b);
    if (!v.length) return null;
    const q = (f) => v[Math.min(v.length - 1, Math.floor(f * v.length))];
    const quintiles = [0, q(0.2), q(0.4), q(0.6), q(0.8), v[v.length - 1]];
    // Too few distinct values for quintiles: five equal classes up to the highest.
    if (quintiles.some((x, i) => i > 0 && x <= quintiles[i - 1])) {
      return quintiles.map((_, i) => (v[v.length - 1] * i) / 5);
    }
    return quintiles;
  }, [depRows]);

  useEffect(() => {
    if (!playing) return;
    timer.current = setInterval(() => {
      setChosenWeek((current) => {
        const i = weeks.indexOf(current);
        if (i < 0 || i + 1 >= weeks.length) { setPlaying(false); return current; }
        return weeks[i + 1];
      });
    }, 500);
    return () => clearInterval(timer.current);
  }, [playing, weeks]);

  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!info) return html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`;

  const colour = (code) => {
    const r = byPlace.get(code);
    if (!r) return kNoData;
    if (mapMode === 'alarm') return r.alarm ? kAlarm : (r.alarm === 0 || r.alarm === false ? '#c7e9c0' : kNoData);
    if (small(r)) return kSmall;
    const inc = value(r.incidence);
    if (inc === null) return kNoData;
    if (!breaks) return kClasses[0];
    let c = 0;
    while (c < 4 && inc > breaks[c + 1]) ++c;
    return kClasses[c];
  };
  const label = (code) => {
    const r = byPlace.get(code);
    if (!r) return tr('pas de données', 'no data');
    const parts = [`${num(shownCount(r.count))} ${tr('cas', 'cases')}`];
    if (value(r.incidence) !== null && !small(r)) parts.push(`${num(r.incidence, 1)} /100 000`);
    if (r.alarm) parts.push(tr('ALARME', 'ALARM'));
    return parts.join(' · ');
  };
  const legend = mapMode === 'alarm'
    ? [{ fill: kAlarm, text: tr('alarme', 'alarm') }, { fill: '#c7e9c0', text: tr('pas d’alarme', 'no alarm') },
       { fill: kNoData, text: tr('non évalué', 'not evaluated') }]
    : [...(breaks ? kClasses : []).map((fill, i) => ({
        fill, text: `${num(breaks[i], 1)} – ${num(breaks[i + 1], 1)} /100 000` })),
       { fill: kSmall, text: tr(`effectif masqué (moins de ${minCell()} cas)`, `count hidden (under ${minCell()} cases)`) },
       { fill: kNoData, text: tr('pas de données', 'no data') }];
  const title = indicatorTitle(info.indicators.find((i) => i.name === indicator)) || indicator;
  const alarmedThisWeek = [...byPlace.values()].filter((r) => r.alarm).map((r) => r.place);

  return html`
    <h1>${tr('Surveillance', 'Surveillance')}</h1>
    <form class="controls" onSubmit=${(e) => e.preventDefault()}>
      <label>${tr('Indicateur', 'Indicator')}
        <select name="indicator" value=${indicator} onChange=${(e) => setIndicator(e.target.value)}>
          ${info.indicators.map((i) => html`<option value=${i.name}>${indicatorTitle(i)}</option>`)}
        </select></label>
      <label>${tr('Algorithme', 'Algorithm')}
        <select name="algorithm" value=${algorithm} onChange=${(e) => setAlgorithm(e.target.value)}>
          ${info.algorithms.map((a) => html`<option value=${a}>${a}</option>`)}
        </select></label>
      <label>${tr('Saison', 'Season')}
        <select name="season" value=${season} onChange=${(e) => setSeason(Number(e.target.value))}>
          ${seasonsOf(info).map((y) => html`<option value=${y}>${y}</option>`)}
        </select></label>
      <label>${tr('Niveau de la courbe', 'Series level')}
        <select name="place" value=${place} onChange=${(e) => setPlace(e.target.value)}>
          <option value="FR">${tr('France entière', 'Whole of France')}</option>
          ${Object.entries(departementNames).map(([code, name]) =>
            html`<option value=${code}>${code} ${name}</option>`)}
        </select></label>
      <fieldset class="segmented">
        <legend>${tr('Carte', 'Map')}</legend>
        <label><input type="radio" name="mapmode" value="incidence" checked=${mapMode === 'incidence'}
                      onChange=${() => setMapMode('incidence')} />${tr('Incidence', 'Incidence')}</label>
        <label><input type="radio" name="mapmode" value="alarm" checked=${mapMode === 'alarm'}
                      onChange=${() => setMapMode('alarm')} />${tr('Alarmes', 'Alarms')}</label>
      </fieldset>
    </form>
    <div class="week-bar">
      <button type="button" onClick=${() => {
        if (!playing && weekIndex >= weeks.length - 1) setWeekIndex(0);
        setPlaying(!playing); }}
              aria-pressed=${playing}>${playing ? tr('Pause', 'Pause') : tr('Rejouer la saison', 'Replay season')}</button>
      <label class="week-slider">${tr('Semaine', 'Week')}
        <input type="range" name="week" min="0" max=${Math.max(0, weeks.length - 1)} value=${weekIndex}
               aria-valuetext=${week} disabled=${!weeks.length}
               onInput=${(e) => { setPlaying(false); setWeekIndex(Number(e.target.value)); }} />
      </label>
      <output class="week-label" aria-live="polite" data-week=${week}>${week || '…'}</output>
    </div>
    <div class="grid-2">
      <section aria-labelledby="map-title" class="card">
        <h2 id="map-title">${title} — ${week}</h2>
        ${depRows ? html`<${FranceMap} colour=${colour} label=${label} legend=${legend}
            selected=${place} onSelect=${setPlace}
            title=${tr(`Carte des départements, ${title}, semaine ${week} : ${alarmedThisWeek.length} en alarme`,
                       `Map of départements, ${title}, week ${week}: ${alarmedThisWeek.length} in alarm`)} />`
          : html`<p role="status">${tr('Chargement de la carte…', 'Loading the map…')}</p>`}
        <p class="map-summary" data-alarmed=${alarmedThisWeek.join(' ')}>
          ${alarmedThisWeek.length
            ? tr('En alarme cette semaine : ', 'In alarm this week: ') +
              alarmedThisWeek.map((c) => `${departementNames[c] || c} (${c})`).join(', ')
            : tr('Aucune alarme cette semaine.', 'No alarm this week.')}</p>
      </section>
      <section class="card">
        ${seriesRows ? html`<${SeriesChart} rows=${seriesRows} week=${week}
            title=${`${title} — ${place === 'FR' ? 'France' : placeName('departement', place)}`} />`
          : html`<p role="status">${tr('Chargement de la série…', 'Loading the series…')}</p>`}
      </section>
    </div>
    <section class="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">${tr('Alertes de la saison', 'Alerts of the season')} (${algorithm})</h2>
      ${alerts ? html`<${AlertTable} alerts=${alerts} onShow=${(a) => {
          setPlace(a.place);
          setChosenWeek(a.since);
        }} />` : html`<p role="status">${tr('Chargement…', 'Loading…')}</p>`}
    </section>`;
}

function errorText(r) {
  if (r.status === 403) return tr('Accès refusé pour ce projet.', 'Access denied for this project.');
  return tr('Erreur du serveur : ', 'Server error: ') + ((r.body && r.body.error) || r.status);
}

function SeriesChart({ rows, week, title }) {
  const periods = rows.map((r) => r.period);
  const expected = rows.map((r) => value(r.expected));
  const band = rows.map((r) => (value(r.threshold) !== null && value(r.expected) !== null
    ? value(r.threshold) - value(r.expected) : null));
  // Counts under the small-cell threshold are not drawn; their alarms sit on the threshold.
  const alarms = rows.map((r) => (r.alarm ? (small(r) ? value(r.threshold) : value(r.count)) : null));
  const option = {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 40 },
    xAxis: { type: 'category', data: periods, axisLabel: { interval: 7 } },
    yAxis: { type: 'value', name: tr('cas', 'cases') },
    series: [
      { name: tr('observé', 'observed'), type: 'bar', data: rows.map((r) => (small(r) ? null : value(r.count))),
        itemStyle: { color: '#6baed6' },
        markLine: week ? { symbol: 'none', silent: true, data: [{ xAxis: week }],
                           lineStyle: { color: '#333', type: 'dashed' }, label: { show: false } }
          : undefined },
      { name: tr('attendu', 'expected'), type: 'line', data: expected, stack: 'band',
        showSymbol: false, lineStyle: { color: '#2ca02c' }, itemStyle: { color: '#2ca02c' } },
      { name: tr('seuil', 'threshold'), type: 'line', data: band, stack: 'band', showSymbol: false,
        lineStyle: { color: '#ff7f0e', type: 'dashed' }, itemStyle: { color: '#ff7f0e' },
        areaStyle: { color: 'rgba(255,127,14,0.18)' } },
      { name: tr('alarme', 'alarm'), type: 'scatter', data: alarms, symbolSize: 10,
        itemStyle: { color: kAlarm } },
    ],
  };
  const nAlarms = alarms.filter((a) => a !== null).length;
  const table = {
    columns: ['period', 'count', 'incidence', 'expected', 'threshold', 'alarm'],
    rows: rows.map((r) => [r.period, shownCount(r.count), small(r) ? null : r.incidence, r.expected,
                           r.threshold, r.alarm]),
  };
  const nSmall = rows.filter(small).length;
  return html`<${Chart} id="series" title=${title} option=${option} table=${table} height=${360}
    summary=${tr(`Série hebdomadaire, ${rows.length} semaines, ${nAlarms} semaines en alarme, ${nSmall} effectifs masqués`,
                 `Weekly series, ${rows.length} weeks, ${nAlarms} weeks in alarm, ${nSmall} counts hidden`)} />
    ${nSmall > 0 && html`<p class="muted">${tr(`Les semaines de moins de ${minCell()} cas ne sont pas dessinées (règle des petits effectifs).`,
      `Weeks with fewer than ${minCell()} cases are not drawn (small-cell rule).`)}</p>`}`;
}

function AlertTable({ alerts, onShow }) {
  if (!alerts.length) return html`<p>${tr('Aucune alerte.', 'No alert.')}</p>`;
  const sorted = [...alerts].sort((a, b) => (a.since < b.since ? 1 : -1));
  return html`
    <div class="table-scroll"><table class="alerts">
      <thead><tr>
        <th scope="col">${tr('Département', 'Département')}</th>
        <th scope="col">${tr('Depuis', 'Since')}</th><th scope="col">${tr('Jusqu’à', 'Until')}</th>
        <th scope="col">${tr('Semaines', 'Weeks')}</th><th scope="col">${tr('Observé', 'Observed')}</th>
        <th scope="col">${tr('Attendu', 'Expected')}</th><th scope="col">${tr('Seuil', 'Threshold')}</th>
        <th scope="col">${tr('En cours', 'Current')}</th><th scope="col"><span class="sr">${tr('Action', 'Action')}</span></th>
      </tr></thead>
      <tbody>${sorted.map((a) => html`
        <tr data-place=${a.place} data-since=${a.since}>
          <td>${placeName(a.level, a.place)} (${a.place})</td><td>${a.since}</td><td>${a.period}</td>
          <td>${a.periods}</td><td>${num(shownCount(a.observed))}</td><td>${num(a.expected, 1)}</td>
          <td>${num(a.threshold, 1)}</td><td>${a.current ? tr('oui', 'yes') : ''}</td>
          <td><button type="button" onClick=${() => onShow(a)}>${tr('Voir', 'Show')}</button></td>
        </tr>`)}</tbody>
    </table></div>`;
}
