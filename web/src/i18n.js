// French first, English on request: every text of the page is written as tr('français',
// 'English') where it is used, so that the two never drift apart. The choice is kept in
// localStorage and set on <html lang>.

const kLangKey = 'p4dp.lang';
let lang = localStorage.getItem(kLangKey) === 'en' ? 'en' : 'fr';
document.documentElement.lang = lang;

export function currentLang() { return lang; }

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'fr';
  localStorage.setItem(kLangKey, lang);
  document.documentElement.lang = lang;
}

export function tr(fr, en) { return lang === 'en' ? en : fr; }

// Numbers in the page's language; suppressed counts ("<10") pass unchanged.
export function num(value, digits = 0) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'string') return value;
  return value.toLocaleString(lang === 'en' ? 'en-GB' : 'fr-FR', {
    maximumFractionDigits: digits, minimumFractionDigits: 0,
  });
}
