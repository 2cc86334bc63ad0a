// One chart: ECharts (SVG renderer, tree-shaken) in a <figure> with its title, a text
// alternative (ECharts' aria description plus the data as a table under <details>), and
// buttons to download the image (SVG) and the data (CSV). Animations are off when the user
// (or a test) prefers reduced motion.
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  AriaComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { tr, currentLang } from './i18n.js';

echarts.use([BarChart, LineChart, ScatterChart, AriaComponent, GridComponent, LegendComponent,
  MarkLineComponent, TooltipComponent, SVGRenderer]);
const html = htm.bind(h);

export const reducedMotion = () =>
  window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(table) {
  return [table.columns, ...table.rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

// props: id (file names), title, option (ECharts), table {columns, rows} (CSV and text
// alternative), summary (one sentence for screen readers), height.
export function Chart({ id, title, option, table, summary, height = 320 }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = echarts.init(box.current, null, { renderer: 'svg', locale: 'EN' });
    const resize = () => chart.current && chart.current.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (!chart.current || !option) return;
    chart.current.setOption({
      animation: !reducedMotion(),
      aria: { enabled: true, label: { description: summary || title } },
      textStyle: { fontFamily: 'system-ui, sans-serif' },
      ...option,
    }, true);
  }, [option, summary, title, currentLang()]);
  const saveImage = () => {
    const url = chart.current.getDataURL({ type: 'svg', backgroundColor: '#fff' });
    fetch(url).then((r) => r.blob()).then((b) => download(`${id}.svg`, b));
  };
  const saveCsv = () => download(`${id}.csv`, new Blob([toCsv(table)], { type: 'text/csv' }));
  return html`
    <figure class="chart" data-chart=${id}>
      <figcaption>
        <span class="chart-title">${title}</span>
        <span class="chart-actions">
          <button type="button" onClick=${saveImage}>${tr('Image', 'Image')}</button>
          <button type="button" onClick=${saveCsv} disabled=${!table}>CSV</button>
        </span>
      </figcaption>
      <div ref=${box} class="chart-box" style=${`height:${height}px`}
           role="img" aria-label=${summary || title}></div>
      ${table && html`
        <details class="chart-data">
          <summary>${tr('Données du graphique', 'Chart data')}</summary>
          <div class="table-scroll"><table>
            <thead><tr>${table.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
            <tbody>${table.rows.slice(0, 400).map((r) => html`
              <tr>${r.map((v) => html`<td>${v === null ? '' : String(v)}</td>`)}</tr>`)}
            </tbody>
          </table></div>
        </details>`}
    </figure>`;
}
