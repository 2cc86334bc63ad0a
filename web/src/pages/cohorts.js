// The cohort builder: code sets (with code search), the entry event and the tree of inclusion
// rules of the cohort language (docs/cohorts.md), edited by clicking; an approximate count
// and attrition funnel update as the definition changes (POST /api/cohorts/count?draft=1),
// the exact ones on the "Compter" button (POST /api/cohorts/count); definitions
// are saved in the browser, loaded, exported and imported as JSON. The patient list appears
// only when the project's disclosure level allows it.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api, currentProject, session } from '../api.js';
import { tr, num } from '../i18n.js';
import { Chart } from '../chart.js';

const html = htm.bind(h);
const kDomains = ['condition', 'drug', 'measurement', 'observation', 'procedure', 'visit',
  'immunization', 'dispensing', 'hospital_stay', 'death'];
const kSystems = [['icd10', 'CIM-10'], ['icpc2', 'CISP-2'], ['atc', 'ATC'], ['loinc', 'LOINC'],
  ['ccam', 'CCAM'], ['cip13', 'CIP13'], ['ucd', 'UCD'], ['nabm', 'NABM'], ['snomed', 'SNOMED CT'],
  ['rxnorm', 'RxNorm'], ['cvx', 'CVX']];
const kSavedKey = 'p4dp.cohorts';
const kDebounceMs = 350;

const emptyDefinition = () => ({
  title: '', codesets: {}, entry: { domain: 'condition', codeset: '', occurrence: 'first' },
  inclusion: [],
});

function domainLabel(d) {
  const fr = { condition: 'diagnostic', drug: 'prescription', measurement: 'mesure',
    observation: 'observation', procedure: 'acte', visit: 'consultation', immunization: 'vaccination',
    dispensing: 'délivrance', hospital_stay: 'séjour hospitalier', death: 'décès' };
  return tr(fr[d] || d, d.replace('_', ' '));
}

// An integer or a decimal from an input, or undefined when empty.
function numberOrUndefined(s) {
  if (s === '' || s === null || s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function withoutUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function download(name, text) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export function CohortPage() {
  const [definition, setDefinition] = useState(emptyDefinition);
  const [result, setResult] = useState(null);
  const [countError, setCountError] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(() => JSON.parse(localStorage.getItem(kSavedKey) || '{}'));
  const [message, setMessage] = useState('');
  const fileInput = useRef(null);
  const project = currentProject();
  const patientsAllowed = !!project && project.disclosure === 'patient_list';
  const [showPatients, setShowPatients] = useState(false);

  // While the definition is edited the page asks for drafts (?draft=1: approximate counts
  // that the differencing guard does not see, docs/access-disclosure.md); the exact count,
  // and the patient list, only on the explicit "Compter" button.
  const text = JSON.stringify(definition);
  const showError = (r) => {
    setResult(null);
    setCountError(r.status === 400
      ? tr('Définition incomplète ou invalide : ', 'Incomplete or invalid definition: ') + r.body.error
      : r.status === 403 ? tr('Accès refusé pour ce projet.', 'Access denied for this project.')
        : r.status === 429 ? tr('Trop de requêtes : ', 'Too many queries: ') + r.body.error
          : tr('Erreur du serveur : ', 'Server error: ') + ((r.body && r.body.error) || r.status));
  };
  const ready = definition.entry && definition.entry.codeset;
  useEffect(() => {
    if (!ready) {
      setResult(null);
      setCountError('');
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      setBusy(true);
      const r = await api.post('/api/cohorts/count', definition, { draft: 1 }, controller.signal);
      if (r.aborted) return;
      setBusy(false);
      if (r.status === 200) { setResult(r.body); setCountError(''); } else showError(r);
    }, kDebounceMs);
    return () => { clearTimeout(timer); controller.abort(); };
  }, [text]);
  const countExact = async () => {
    setBusy(true);
    const params = showPatients && patientsAllowed ? { patients: 1 } : {};
    const r = await api.post('/api/cohorts/count', definition, params);
    setBusy(false);
    if (r.status === 200) { setResult({ ...r.body, approximate: false }); setCountError(''); } else {
      showError(r);
    }
  };

  const update = (f) => setDefinition((d) => f(structuredClone(d)));
  const save = () => {
    const name = definition.title || tr('sans titre', 'untitled');
    const next = { ...saved, [name]: definition };
    localStorage.setItem(kSavedKey, JSON.stringify(next));
    setSaved(next);
    setMessage(tr(`« ${name} » enregistrée.`, `“${name}” saved.`));
  };
  const load = (name) => { if (saved[name]) setDefinition(structuredClone(saved[name])); };
  const importFile = async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try { setDefinition({ ...emptyDefinition(), ...JSON.parse(await file.text()) }); setMessage(''); } catch {
      setMessage(tr('Ce fichier n’est pas du JSON.', 'This file is not JSON.'));
    }
    e.target.value = '';
  };

  return html`
    <h1>${tr('Constructeur de cohorte', 'Cohort builder')}</h1>
    <div class="cohort-layout">
      <div class="cohort-editor">
        <section class="card">
          <label class="wide">${tr('Titre', 'Title')}
            <input name="title" value=${definition.title}
                   onInput=${(e) => update((d) => { d.title = e.target.value; return d; })} /></label>
          <div class="row-actions">
            <button type="button" onClick=${save}>${tr('Enregistrer', 'Save')}</button>
            <label>${tr('Ouvrir', 'Open')}
              <select name="load" value="" onChange=${(e) => load(e.target.value)}>
                <option value="">${tr('— définitions enregistrées —', '— saved definitions —')}</option>
                ${Object.keys(saved).map((n) => html`<option value=${n}>${n}</option>`)}
              </select></label>
            <button type="button" onClick=${() => download(
              `${definition.title || 'cohort'}.json`, JSON.stringify(definition, null, 2) + '\n')}>
              ${tr('Exporter en JSON', 'Export as JSON')}</button>
            <button type="button" onClick=${() => fileInput.current.click()}>
              ${tr('Importer un JSON', 'Import JSON')}</button>
            <input type="file" accept="application/json,.json" ref=${fileInput} hidden
                   onChange=${importFile} aria-hidden="true" tabindex="-1" />
            <button type="button" onClick=${() => setDefinition(emptyDefinition())}>
              ${tr('Nouvelle', 'New')}</button>
          </div>
          ${message && html`<p role="status">${message}</p>`}
        </section>
        <${CodeSets} definition=${definition} update=${update} />
        <${Entry} definition=${definition} update=${update} />
        <${Rules} definition=${definition} update=${update} />
        <details class="card json-view">
          <summary>${tr('Définition en JSON', 'Definition as JSON')}</summary>
          <pre data-definition>${JSON.stringify(definition, null, 2)}</pre>
        </details>
      </div>
      <aside class="cohort-result card" aria-live="polite" aria-busy=${busy}>
        <h2>${tr('Effectif', 'Count')}</h2>
        ${countError && html`<p class="error">${countError}</p>`}
        ${!result && !countError && html`<p>${tr('Choisissez un jeu de codes d’entrée pour compter.',
                                                  'Choose an entry code set to count.')}</p>`}
        <button type="button" class="count-exact" disabled=${!ready || busy} onClick=${countExact}>
          ${tr('Compter', 'Count')}</button>
        ${result && html`
          <p class="big-count" data-approximate=${String(!!result.approximate)}>
            ${result.approximate && html`<abbr title=${tr('environ', 'about')}>≈ </abbr>`}<output
              data-count=${String(result.count)}>${num(result.count)}</output>
            <span> ${tr('patients', 'patients')}</span></p>
          ${result.approximate
            ? html`<p class="muted">${tr('Effectif approximatif (à ±2 près) pendant la saisie : « Compter » donne l’effectif exact.',
                                         'Approximate count (within ±2) while editing: “Count” gives the exact one.')}</p>`
            : html`<p class="muted">${tr('Effectif exact.', 'Exact count.')}</p>`}
          <p class="muted">${tr('Petits effectifs masqués sous ', 'Small counts hidden below ')}${result.min_cell}
            · ${num(result.milliseconds, 1)} ms</p>
          <${Funnel} attrition=${result.attrition} />
          ${patientsAllowed && html`
            <label><input type="checkbox" checked=${showPatients}
                          onChange=${(e) => setShowPatients(e.target.checked)} />
              ${tr('Liste des patients', 'Patient list')}</label>
            ${showPatients && result.patients && html`
              <div class="table-scroll"><table><thead><tr>
                <th scope="col">${tr('Pseudonyme', 'Pseudonym')}</th>
                <th scope="col">${tr('Date index', 'Index date')}</th></tr></thead>
                <tbody>${result.patients.slice(0, 500).map((p) => html`
                  <tr><td><code>${p.key}</code></td><td>${p.index_date}</td></tr>`)}</tbody>
              </table></div>`}`}`}
      </aside>
    </div>`;
}

function Funnel({ attrition }) {
  const names = attrition.map((a, i) => (i === 0 ? tr('entrée', 'entry') : a.name));
  const values = attrition.map((a) => (typeof a.patients === 'number' ? a.patients : 0));
  const option = {
    grid: { left: 8, right: 56, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', show: false },
    yAxis: { type: 'category', data: names, inverse: true,
             axisLabel: { width: 160, overflow: 'truncate' } },
    tooltip: { trigger: 'axis' },
    series: [{ type: 'bar', data: values, itemStyle: { color: '#2171b5' },
               label: { show: true, position: 'right',
                        formatter: (p) => String(num(attrition[p.dataIndex].patients)) } }],
  };
  const table = { columns: ['step', 'patients'],
                  rows: attrition.map((a, i) => [names[i], a.patients]) };
  return html`
    <${Chart} id="attrition" title=${tr('Attrition', 'Attrition')} option=${option} table=${table}
      height=${Math.max(120, 40 + 34 * attrition.length)}
      summary=${tr('Attrition : ', 'Attrition: ') +
        attrition.map((a, i) => `${names[i]} ${num(a.patients)}`).join(', ')} />
    <ol class="attrition-list">${attrition.map((a, i) => html`
      <li data-step=${i}>${names[i]} : <strong>${num(a.patients)}</strong></li>`)}</ol>`;
}

function CodeSets({ definition, update }) {
  const [newName, setNewName] = useState('');
  const names = Object.keys(definition.codesets);
  const add = (e) => {
    e.preventDefault();
    const name = newName.trim();
    if (!name || definition.codesets[name]) return;
    update((d) => { d.codesets[name] = []; return d; });
    setNewName('');
  };
  return html`
    <section class="card" aria-labelledby="codesets-title">
      <h2 id="codesets-title">${tr('Jeux de codes', 'Code sets')}</h2>
      ${names.map((name) => html`<${CodeSet} key=${name} name=${name}
                                   codes=${definition.codesets[name]} update=${update} />`)}
      <form class="inline" onSubmit=${add}>
        <label>${tr('Nouveau jeu de codes', 'New code set')}
          <input name="codeset-name" value=${newName} placeholder="t2d"
                 onInput=${(e) => setNewName(e.target.value)} /></label>
        <button type="submit">${tr('Ajouter le jeu', 'Add set')}</button>
      </form>
    </section>`;
}

function CodeSet({ name, codes, update }) {
  const set = (f) => update((d) => { f(d.codesets[name]); return d; });
  return html`
    <fieldset class="codeset" data-codeset=${name}>
      <legend>${name}
        <button type="button" class="link" aria-label=${tr(`Supprimer le jeu ${name}`, `Remove set ${name}`)}
                onClick=${() => update((d) => { delete d.codesets[name]; return d; })}>✕</button>
      </legend>
      ${codes.length > 0 && html`<ul class="codes">${codes.map((c, i) => html`
        <li data-code=${c.code}>
          <span class="system">${(kSystems.find(([a]) => a === c.system) || [c.system, c.system])[1]}</span>
          <code>${c.code}</code>
          <label class="check"><input type="checkbox" name="descendants" checked=${!!c.descendants}
              onChange=${(e) => set((s) => { if (e.target.checked) s[i].descendants = true; else delete s[i].descendants; })} />
            ${tr('et descendants', 'and descendants')}</label>
          <label class="check"><input type="checkbox" name="exclude" checked=${!!c.exclude}
              onChange=${(e) => set((s) => { if (e.target.checked) s[i].exclude = true; else delete s[i].exclude; })} />
            ${tr('exclure', 'exclude')}</label>
          <button type="button" class="link" aria-label=${tr(`Retirer ${c.code}`, `Remove ${c.code}`)}
                  onClick=${() => set((s) => s.splice(i, 1))}>✕</button>
        </li>`)}</ul>`}
      <${CodeSearch} onAdd=${(c) => set((s) => { if (!s.some((x) => x.system === c.system && x.code === c.code)) s.push(c); })} />
    </fieldset>`;
}

// Search by code or label (GET /api/codes); a code typed in full can be added as it is.
function CodeSearch({ onAdd }) {
  const [system, setSystem] = useState('icd10');
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState(null);
  const [unavailable, setUnavailable] = useState(false);
  useEffect(() => {
    if (query.trim().length < 2) { setHits(null); return; }
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      const r = await api.get('/api/codes', { q: query.trim(), system, limit: 12 }, controller.signal);
      if (r.aborted) return;
      if (r.status === 404) { setUnavailable(true); setHits(null); return; }
      setHits(r.status === 200 ? r.body.codes : []);
    }, 250);
    return () => { clearTimeout(timer); controller.abort(); };
  }, [query, system]);
  const addTyped = (e) => {
    e.preventDefault();
    const code = query.trim();
    if (code) { onAdd({ system, code }); setQuery(''); }
  };
  return html`
    <form class="code-search inline" onSubmit=${addTyped}>
      <label>${tr('Système', 'System')}
        <select name="system" value=${system} onChange=${(e) => setSystem(e.target.value)}>
          ${kSystems.map(([alias, label]) => html`<option value=${alias}>${label}</option>`)}
        </select></label>
      <label>${tr('Code ou libellé', 'Code or label')}
        <input name="code" value=${query} autocomplete="off"
               onInput=${(e) => setQuery(e.target.value)} /></label>
      <button type="submit">${tr('Ajouter ce code', 'Add this code')}</button>
      ${unavailable && html`<span class="muted">${tr('recherche indisponible', 'search unavailable')}</span>`}
      ${hits && html`<ul class="hits" aria-label=${tr('Codes trouvés', 'Codes found')}>
        ${hits.length === 0 && html`<li class="muted">${tr('aucun code', 'no code')}</li>`}
        ${hits.map((c) => html`<li>
          <button type="button" class="hit" onClick=${() => { onAdd({ system: c.system, code: c.code }); setQuery(''); }}>
            <code>${c.code}</code> ${c.label || ''}
            ${c.patients !== undefined && html`<span class="muted"> · ${num(c.patients)} ${tr('patients', 'patients')}</span>`}
          </button></li>`)}
      </ul>`}
    </form>`;
}

function DomainSelect({ value, onChange, name, allowAny }) {
  return html`
    <select name=${name} value=${value || ''} onChange=${(e) => onChange(e.target.value || undefined)}>
      ${allowAny && html`<option value="">${tr('tout domaine', 'any domain')}</option>`}
      ${kDomains.map((d) => html`<option value=${d}>${domainLabel(d)}</option>`)}
    </select>`;
}

function CodesetSelect({ value, onChange, definition, name }) {
  return html`
    <select name=${name} value=${value || ''} onChange=${(e) => onChange(e.target.value)}>
      <option value="">${tr('— jeu de codes —', '— code set —')}</option>
      ${Object.keys(definition.codesets).map((n) => html`<option value=${n}>${n}</option>`)}
    </select>`;
}

function Entry({ definition, update }) {
  const entry = definition.entry;
  const set = (f) => update((d) => { f(d.entry); d.entry = withoutUndefined(d.entry); return d; });
  const between = entry.between || ['', ''];
  const setBetween = (i, v) => set((e) => {
    const b = [...(e.between || ['', ''])];
    b[i] = v;
    e.between = b[0] || b[1] ? b : undefined;
  });
  return html`
    <section class="card entry" aria-labelledby="entry-title">
      <h2 id="entry-title">${tr('Événement d’entrée', 'Entry event')}</h2>
      <div class="fields">
        <label>${tr('Domaine', 'Domain')}
          <${DomainSelect} name="entry-domain" value=${entry.domain} allowAny
                           onChange=${(v) => set((e) => { e.domain = v; })} /></label>
        <label>${tr('Jeu de codes', 'Code set')}
          <${CodesetSelect} name="entry-codeset" value=${entry.codeset} definition=${definition}
                            onChange=${(v) => set((e) => { e.codeset = v; })} /></label>
        <label>${tr('Occurrence', 'Occurrence')}
          <select name="entry-occurrence" value=${entry.occurrence || 'first'}
                  onChange=${(ev) => set((e) => { e.occurrence = ev.target.value; })}>
            <option value="first">${tr('première', 'first')}</option>
            <option value="all">${tr('toutes', 'all')}</option>
          </select></label>
        <label>${tr('Entre le', 'Between')}
          <input type="date" name="entry-from" value=${between[0]} onInput=${(e) => setBetween(0, e.target.value)} /></label>
        <label>${tr('et le', 'and')}
          <input type="date" name="entry-to" value=${between[1]} onInput=${(e) => setBetween(1, e.target.value)} /></label>
        <label>${tr('Observation préalable (jours)', 'Prior observation (days)')}
          <input type="number" name="entry-prior" min="0" value=${entry.prior_observation_days ?? ''}
                 onInput=${(e) => set((x) => { x.prior_observation_days = numberOrUndefined(e.target.value); })} /></label>
      </div>
    </section>`;
}

const kCriterionKinds = [
  ['events', 'Événements', 'Events'], ['age', 'Âge', 'Age'], ['sex', 'Sexe', 'Sex'],
  ['departement', 'Département', 'Département'], ['any', 'Au moins un de', 'Any of'],
  ['all', 'Tous', 'All of'], ['not', 'Non', 'Not'],
];

function newCriterion(kind) {
  switch (kind) {
    case 'events': return { events: { domain: 'drug', codeset: '' } };
    case 'age': return { age: { min: 18 } };
    case 'sex': return { sex: 'female' };
    case 'departement': return { departement: [] };
    case 'not': return { not: { sex: 'female' } };
    default: return { [kind]: [] };
  }
}

function AddCriterion({ onAdd, label }) {
  return html`
    <div class="add-criterion" role="group" aria-label=${label}>
      <span class="muted">${label}</span>
      ${kCriterionKinds.map(([kind, fr, en]) => html`
        <button type="button" data-kind=${kind} onClick=${() => onAdd(newCriterion(kind))}>+ ${tr(fr, en)}</button>`)}
    </div>`;
}

function Rules({ definition, update }) {
  return html`
    <section class="card" aria-labelledby="rules-title">
      <h2 id="rules-title">${tr('Critères d’inclusion', 'Inclusion rules')}</h2>
      <ol class="rules">${definition.inclusion.map((rule, i) => html`
        <li class="rule" data-rule=${i}>
          <div class="rule-head">
            <label>${tr('Nom du critère', 'Rule name')}
              <input name="rule-name" value=${rule.name || ''}
                     onInput=${(e) => update((d) => { d.inclusion[i].name = e.target.value; return d; })} /></label>
            <button type="button" class="link" aria-label=${tr(`Supprimer le critère ${i + 1}`, `Remove rule ${i + 1}`)}
                    onClick=${() => update((d) => { d.inclusion.splice(i, 1); return d; })}>✕</button>
          </div>
          <${Criterion} value=${withoutName(rule)} definition=${definition}
            onChange=${(c) => update((d) => { d.inclusion[i] = { name: d.inclusion[i].name, ...c }; return d; })} />
        </li>`)}
      </ol>
      <${AddCriterion} label=${tr('Ajouter un critère', 'Add a rule')}
        onAdd=${(c) => update((d) => { d.inclusion.push({ name: '', ...c }); return d; })} />
    </section>`;
}

function withoutName(rule) {
  const { name, ...rest } = rule;
  return rest;
}

// One criterion of the language, edited in place; `onChange` receives the new criterion.
function Criterion({ value, onChange, definition }) {
  const kind = Object.keys(value)[0];
  const body = value[kind];
  const setBody = (b) => onChange({ [kind]: b });
  if (kind === 'events') {
    const ev = body;
    const set = (f) => { const c = structuredClone(ev); f(c); setBody(withoutUndefined(c)); };
    const win = ev.window || ['', ''];
    const setWindow = (i, v) => set((c) => {
      const w = [...(c.window || ['', ''])];
      w[i] = numberOrUndefined(v) ?? '';
      c.window = w[0] === '' && w[1] === '' ? undefined : w;
    });
    const val = ev.value || {};
    const setValue = (op, v) => set((c) => {
      const vv = { ...(c.value || {}), [op]: numberOrUndefined(v) };
      const clean = withoutUndefined(vv);
      c.value = Object.keys(clean).length ? clean : undefined;
    });
    return html`
      <div class="criterion events" data-kind="events">
        <label>${tr('Domaine', 'Domain')}
          <${DomainSelect} name="events-domain" value=${ev.domain} allowAny onChange=${(v) => set((c) => { c.domain = v; })} /></label>
        <label>${tr('Jeu de codes', 'Code set')}
          <${CodesetSelect} name="events-codeset" value=${ev.codeset} definition=${definition}
                            onChange=${(v) => set((c) => { c.codeset = v || undefined; })} /></label>
        <label>${tr('Fenêtre du (jours)', 'Window from (days)')}
          <input type="number" name="window-from" value=${win[0]} onInput=${(e) => setWindow(0, e.target.value)} /></label>
        <label>${tr('au (jours)', 'to (days)')}
          <input type="number" name="window-to" value=${win[1]} onInput=${(e) => setWindow(1, e.target.value)} /></label>
        <label>${tr('Au moins', 'At least')}
          <input type="number" name="at-least" min="0" value=${ev.at_least ?? ''}
                 onInput=${(e) => set((c) => { c.at_least = numberOrUndefined(e.target.value); })} /></label>
        <label>${tr('Au plus', 'At most')}
          <input type="number" name="at-most" min="0" value=${ev.at_most ?? ''}
                 onInput=${(e) => set((c) => { c.at_most = numberOrUndefined(e.target.value); })} /></label>
        ${[['gt', '>'], ['gte', '≥'], ['lt', '<'], ['lte', '≤']].map(([op, sym]) => html`
          <label>${tr('Valeur', 'Value')} ${sym}
            <input type="number" step="any" name=${'value-' + op} value=${val[op] ?? ''}
                   onInput=${(e) => setValue(op, e.target.value)} /></label>`)}
      </div>`;
  }
  if (kind === 'age') {
    return html`
      <div class="criterion" data-kind="age">
        <label>${tr('Âge minimum', 'Minimum age')}
          <input type="number" name="age-min" min="0" value=${body.min ?? ''}
                 onInput=${(e) => setBody(withoutUndefined({ ...body, min: numberOrUndefined(e.target.value) }))} /></label>
        <label>${tr('Âge maximum', 'Maximum age')}
          <input type="number" name="age-max" min="0" value=${body.max ?? ''}
                 onInput=${(e) => setBody(withoutUndefined({ ...body, max: numberOrUndefined(e.target.value) }))} /></label>
      </div>`;
  }
  if (kind === 'sex') {
    return html`
      <div class="criterion" data-kind="sex">
        <label>${tr('Sexe', 'Sex')}
          <select name="sex" value=${body} onChange=${(e) => setBody(e.target.value)}>
            <option value="female">${tr('femme', 'female')}</option>
            <option value="male">${tr('homme', 'male')}</option>
            <option value="other">${tr('autre', 'other')}</option>
            <option value="unknown">${tr('inconnu', 'unknown')}</option>
          </select></label>
      </div>`;
  }
  if (kind === 'departement') {
    return html`
      <div class="criterion" data-kind="departement">
        <label>${tr('Départements (codes INSEE, séparés par des virgules)', 'Départements (INSEE codes, comma-separated)')}
          <input name="departements" value=${body.join(', ')}
                 onChange=${(e) => setBody(e.target.value.split(/[\s,;]+/).filter(Boolean))} /></label>
      </div>`;
  }
  if (kind === 'not') {
    return html`
      <div class="criterion nested" data-kind="not">
        <span class="op">${tr('NON', 'NOT')}</span>
        <${Criterion} value=${body} definition=${definition} onChange=${(c) => setBody(c)} />
      </div>`;
  }
  // any / all
  return html`
    <div class="criterion nested" data-kind=${kind}>
      <span class="op">${kind === 'any' ? tr('AU MOINS UN DE', 'ANY OF') : tr('TOUS', 'ALL OF')}</span>
      <ul>${body.map((c, i) => html`
        <li data-child=${i}>
          <${Criterion} value=${c} definition=${definition}
            onChange=${(n) => { const b = [...body]; b[i] = n; setBody(b); }} />
          <button type="button" class="link" aria-label=${tr('Retirer', 'Remove')}
                  onClick=${() => setBody(body.filter((_, j) => j !== i))}>✕</button>
        </li>`)}</ul>
      <${AddCriterion} label=${tr('Ajouter dans ce groupe', 'Add to this group')}
                       onAdd=${(c) => setBody([...body, c])} />
    </div>`;
}
