// Bilingual text: Vietnamese by default, English on request. Elements carry
// data-i18n="key" (text) or data-i18n-attr="attr:key,attr:key" (attributes); a page
// registers its own dictionary with addTexts() and calls applyTexts() after changing the DOM.
const texts = { vi: {}, en: {} };
let lang = sessionStorage.getItem("ekyc.lang") || "vi";

export function addTexts(dict) {
  for (const code of Object.keys(texts)) Object.assign(texts[code], dict[code] || {});
}

export function currentLang() {
  return lang;
}

// The text for key, with {name} placeholders filled from vars; the key itself when unknown,
// so a missing translation is visible instead of blank.
export function t(key, vars = {}) {
  const template = texts[lang][key] ?? texts.vi[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// The text for key in one given language, whatever the page's current one (a message shown
// in Vietnamese with English beneath needs both).
export function textIn(code, key, vars = {}) {
  const template = (texts[code] || {})[key] ?? texts.vi[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function applyTexts(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  document.documentElement.lang = lang;
}

export function setLang(code) {
  if (!(code in texts)) return;
  lang = code;
  sessionStorage.setItem("ekyc.lang", code);
  applyTexts();
  document.dispatchEvent(new CustomEvent("ekyc:lang", { detail: code }));
}

// A button that switches between the two languages (its label names the other one).
export function languageSwitch(button) {
  const label = () => {
    button.textContent = lang === "vi" ? "English" : "Tiếng Việt";
    button.setAttribute("lang", lang === "vi" ? "en" : "vi");
  };
  button.addEventListener("click", () => {
    setLang(lang === "vi" ? "en" : "vi");
    label();
  });
  label();
}
