import { addTexts, applyTexts, languageSwitch } from "/static/common/i18n.js";

addTexts({ vi: { title: "clerk" }, en: { title: "clerk" } });
languageSwitch(document.getElementById("lang"));
applyTexts();
