// The map of France by département: metropolitan shapes, the five overseas départements as
// labelled inset tiles, a colour per département (incidence class or alarm), a tooltip that
// follows the pointer, <title> and aria-label in every shape, keyboard selection, and a
// legend.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';
import { metropolitanShapes, mapViewBox, overseas, departementNames } from '../geo.js';
import { tr } from '../i18n.js';

const html = htm.bind(h);
const kOrder = [...metropolitanShapes.map((l) => l.id), ...overseas].sort();

// props: colour(code) -> fill, label(code) -> one line for the tooltip, legend [{fill, text}],
// selected (code), onSelect(code), title.
export function FranceMap({ colour, label, legend, selected, onSelect, title }) {
  const [tip, setTip] = useState(null);
  // One tab stop for the whole map (roving tabindex): the arrow keys move between
  // départements in code order, Enter or Space selects one.
  const [focusCode, setFocusCode] = useState(kOrder[0]);
  const onKey = (code) => (e) => {
    const i = kOrder.indexOf(code);
    let next = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = kOrder[(i + 1) % kOrder.length];
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = kOrder[(i - 1 + kOrder.length) % kOrder.length];
    if (e.key === 'Home') next = kOrder[0];
    if (e.key === 'End') next = kOrder[kOrder.length - 1];
    if (next) {
      e.preventDefault();
      setFocusCode(next);
      const el = e.currentTarget.ownerSVGElement.querySelector(`[data-dep="${next}"]`);
      if (el) el.focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (onSelect) onSelect(code);
    }
  };
  const interactive = (code) => ({
    role: 'button', tabindex: code === focusCode ? 0 : -1,
    'aria-label': `${departementNames[code] || code} (${code}) : ${label(code)}`,
    'aria-pressed': code === selected ? 'true' : 'false',
    onKeyDown: onKey(code), onFocus: () => setFocusCode(code),
  });
  const [, , width, height] = mapViewBox.split(' ').map(Number);
  const move = (code) => (e) => {
    const box = e.currentTarget.ownerSVGElement.parentNode.getBoundingClientRect();
    setTip({ code, x: e.clientX - box.left + 12, y: e.clientY - box.top + 12 });
  };
  const shape = (code, d) => html`
    <path d=${d} data-dep=${code} fill=${colour(code)} ...${interactive(code)}
          class=${code === selected ? 'dep selected' : 'dep'}
          onMouseMove=${move(code)} onMouseLeave=${() => setTip(null)}
          onClick=${() => onSelect && onSelect(code)}>
      <title>${departementNames[code] || code} (${code}) : ${label(code)}</title>
    </path>`;
  const tile = (code, i) => {
    const x = 8, y = 250 + i * 64;
    return html`
      <g class="inset" transform=${`translate(${x},${y})`}>
        <rect width="54" height="44" rx="4" data-dep=${code} fill=${colour(code)} ...${interactive(code)}
              class=${code === selected ? 'dep selected' : 'dep'}
              onMouseMove=${move(code)} onMouseLeave=${() => setTip(null)}
              onClick=${() => onSelect && onSelect(code)}>
          <title>${departementNames[code] || code} (${code}) : ${label(code)}</title>
        </rect>
        <text x="27" y="27" text-anchor="middle" class="inset-label">${code}</text>
        <text x="27" y="58" text-anchor="middle" class="inset-name">
          ${(departementNames[code] || code).slice(0, 12)}</text>
      </g>`;
  };
  return html`
    <div class="map-wrap">
      <svg viewBox=${`-70 0 ${width + 70} ${height}`} class="map" role="group"
           aria-label=${title}>
        <g>${metropolitanShapes.map((l) => shape(l.id, l.path))}</g>
        <text x="-62" y="238" class="inset-title">${tr('Outre-mer', 'Overseas')}</text>
        ${overseas.map(tile)}
      </svg>
      ${tip && html`
        <div class="map-tip" style=${`left:${tip.x}px;top:${tip.y}px`} role="tooltip">
          <strong>${departementNames[tip.code] || tip.code} (${tip.code})</strong><br />
          ${label(tip.code)}
        </div>`}
      <ul class="legend" aria-label=${tr('Légende', 'Legend')}>
        ${legend.map((item) => html`
          <li><span class="swatch" style=${`background:${item.fill}`}></span>${item.text}</li>`)}
      </ul>
    </div>`;
}
