import { addTexts, applyTexts, languageSwitch } from "/static/common/i18n.js";

addTexts({ vi: { title: "kiosk" }, en: { title: "kiosk" } });
languageSwitch(document.getElementById("lang"));
applyTexts();
