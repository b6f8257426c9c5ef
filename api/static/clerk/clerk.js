// The clerk desk: sign in with a clerk key, the review queue, one session's review file
// (chip with every PA/AA check, liveness frames and signals, face score against threshold,
// the cross-source field table, the copy's differences on a heatmap), approve or decline
// with a reason, and a panel that checks a result token, a verify link, a certified-copy
// PDF or a result QR seen by the camera. Everything shown comes from the server: the page
// decides nothing, and never puts server text into HTML (textContent only).
import { addTexts, applyTexts, currentLang, languageSwitch, t } from "/static/common/i18n.js";
import { ApiError, apiKey, call, setApiKey } from "/static/common/api.js";
import { TEXTS } from "/static/clerk/texts.js";

addTexts(TEXTS);

const PAGE_SIZE = 20;
const QR_EVERY_MS = 400;
const QR_GIVE_UP_MS = 30000;
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const LINK_PATH = /\/v\/result\/([A-Za-z0-9_-]{1,64})\/?$/;
const HOLDER_FIELDS = [
  "id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity", "religion",
  "place_of_origin", "place_of_residence", "identifying_features", "date_of_issue",
  "date_of_expiry", "old_id_number", "father_name", "mother_name", "spouse_name",
];
const MRZ_FIELDS = [
  "format", "document_number", "id_number", "surname", "given_names", "date_of_birth", "sex",
  "date_of_expiry", "nationality", "issuing_state",
];
const SOURCES = ["dg13", "qr", "mrz", "printed"];

const $ = (id) => document.getElementById(id);
const state = {
  view: "signin",
  canDecide: false,
  offset: 0,
  queue: null,
  file: null, // the review file shown
  copyUrl: null, // the certified copy of the session shown, once the server has one
  verify: null, // the last check shown in the verify panel: {kind, body}
  images: new Map(), // "session/name" -> Promise<object URL | null>
};

// --- small helpers ---------------------------------------------------------------------

// An element with attributes and children (strings become text nodes, never HTML).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// The translation of key when there is one, else fallback (e.g. the server's own words).
function tr(key, fallback) {
  const s = t(key);
  return s === key ? (fallback ?? key) : s;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(currentLang() === "vi" ? "vi-VN" : "en-GB", { dateStyle: "short", timeStyle: "medium" });
}

function num(x, digits = 3) {
  return typeof x === "number" ? x.toFixed(digits) : "–";
}

const GOOD = new Set(["ok", "pass", "valid", "agree", "live", "MATCH", "approved", "found_by_name"]);
const SOSO = new Set(["review", "issuer_unknown", "expired", "not_performed", "unavailable", "UNREADABLE"]);
const PLAIN = new Set(["single", "absent", "skipped", "in_progress", "created"]);

// A status in words and colour: "ok"/"pass" green, review-ish amber, neutral grey, the rest red.
function badge(value, key = `status.${value}`) {
  const cls = GOOD.has(value) ? "ok" : SOSO.has(value) ? "warn" : PLAIN.has(value) ? "plain" : "bad";
  const mark = { ok: "✓ ", warn: "! ", plain: "", bad: "✗ " }[cls];
  return el("span", { class: `badge ${cls}`, "data-status": value }, mark + tr(key, String(value)));
}

function yesNo(v) {
  return badge(v ? "ok" : "failed", v ? "yes" : "no");
}

function dl(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows));
}

function compact(value) {
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return value.map(compact).join(", ");
  if (typeof value === "object") {
    return Object.entries(value).map(([k, v]) => `${k}: ${compact(v)}`).join("; ");
  }
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return String(value);
}

function errorText(e) {
  if (!(e instanceof ApiError)) return t("error.generic", { code: "error", message: String(e) });
  return tr(`error.${e.code}`, t("error.generic", { code: e.code, message: e.message || e.status }));
}

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind === "error" ? "error" : kind === "ok" ? "success" : ""}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.dataset.kind = kind;
}

function quiet() {
  $("message").className = "message hidden";
  $("message").textContent = "";
}

function show(view) {
  state.view = view;
  const signedIn = view !== "signin";
  $("screen-signin").classList.toggle("hidden", signedIn);
  $("tabs").classList.toggle("hidden", !signedIn);
  $("signout").classList.toggle("hidden", !signedIn);
  $("readonly").classList.toggle("hidden", !signedIn || state.canDecide);
  for (const name of ["queue", "file", "verify"]) $(`screen-${name}`).classList.toggle("hidden", view !== name);
  const onVerify = view === "verify";
  $("tab-queue").setAttribute("aria-pressed", String(!onVerify));
  $("tab-verify").setAttribute("aria-pressed", String(onVerify));
  $("tab-queue").classList.toggle("secondary", onVerify);
  $("tab-verify").classList.toggle("secondary", !onVerify);
  if (!onVerify) stopScanner();
}

function focus(id) {
  const node = $(id);
  if (node) node.focus();
}

// --- sign in and the queue -------------------------------------------------------------

async function signIn(key) {
  setApiKey(key);
  try {
    await loadQueue(0);
  } catch (e) {
    setApiKey(null);
    show("signin");
    say(errorText(e), "error");
    focus("key");
    return;
  }
  quiet();
  show("queue");
  focus("h-queue");
}

function signOut() {
  setApiKey(null);
  stopScanner();
  forgetImages();
  state.queue = state.file = state.verify = null;
  $("key").value = "";
  quiet();
  show("signin");
  focus("key");
}

async function loadQueue(offset) {
  const q = await call("GET", `/v1/reviews?limit=${PAGE_SIZE}&offset=${offset}`);
  state.queue = q;
  state.offset = offset;
  state.canDecide = Boolean(q.can_decide);
  renderQueue();
}

function reasonText(r) {
  return tr(`rr.${r.code}`, r.message || r.code);
}

function renderQueue() {
  const q = state.queue;
  if (!q) return;
  const rows = q.items.map((item) => el("tr", { "data-session": item.id },
    el("td", { text: when(item.in_review_since) }),
    el("td", {}, el("span", { text: item.procedure_title || item.procedure }), el("br"), el("span", { class: "muted mono", text: item.procedure })),
    el("td", {}, el("ul", {}, item.reasons.map((r) => el("li", { "data-code": r.code, text: reasonText(r) })))),
    el("td", { class: "mono", text: item.id }),
    el("td", {}, el("button", {
      type: "button", class: "open", "data-session": item.id,
      "aria-label": t("queue.openLabel", { id: item.id }), onclick: () => openFile(item.id),
    }, t("queue.open"))),
  ));
  $("queue-rows").replaceChildren(...rows);
  $("queue-table").classList.toggle("hidden", q.items.length === 0);
  $("queue-empty").classList.toggle("hidden", q.items.length > 0);
  $("queue-count").textContent = q.total
    ? t("queue.count", { from: q.offset + 1, to: q.offset + q.items.length, total: q.total })
    : "";
  $("queue-prev").disabled = q.offset === 0;
  $("queue-next").disabled = q.next_offset === null || q.next_offset === undefined;
}

// --- evidence images -------------------------------------------------------------------

// The decrypted evidence as an object URL (each read is audit-logged by the server, so a
// piece is fetched once per page view); null when it is gone.
function evidenceUrl(sid, name) {
  const key = `${sid}/${name}`;
  if (!state.images.has(key)) {
    const query = name === "chip_portrait" ? "?format=jpeg" : ""; // a JPEG 2000 portrait
    state.images.set(key, call("GET", `/v1/sessions/${sid}/evidence/${name}${query}`, undefined, { raw: true })
      .then((r) => r.blob())
      .then((b) => URL.createObjectURL(b))
      .catch((e) => (e instanceof ApiError && (e.status === 410 || e.status === 404) ? null : Promise.reject(e))));
  }
  return state.images.get(key);
}

function forgetImages() {
  for (const p of state.images.values()) p.then((u) => u && URL.revokeObjectURL(u)).catch(() => {});
  state.images.clear();
  if (state.copyUrl) URL.revokeObjectURL(state.copyUrl);
  state.copyUrl = null;
}

function evidenceImage(sid, name, alt) {
  const img = el("img", { alt, "data-evidence": name, class: "evidence" });
  evidenceUrl(sid, name).then((url) => {
    if (url) img.src = url;
    else img.replaceWith(el("p", { class: "muted", "data-evidence": name, text: t("live.gone") }));
  }).catch((e) => img.replaceWith(el("p", { class: "bad", text: errorText(e) })));
  return img;
}

// --- the review file -------------------------------------------------------------------

async function openFile(sid) {
  quiet();
  if (!state.file || state.file.session.id !== sid) forgetImages();
  $("h-file").textContent = t("file.loading");
  $("file-body").replaceChildren(el("p", { class: "muted", text: t("file.loading") }));
  show("file");
  focus("h-file");
  try {
    state.file = await call("GET", `/v1/sessions/${encodeURIComponent(sid)}/review-file`);
  } catch (e) {
    state.file = null;
    $("h-file").textContent = sid;
    $("file-body").replaceChildren();
    say(errorText(e), "error");
    return;
  }
  renderFile();
  focus("h-file");
  probeCertifiedCopy();
}

function renderFile() {
  const f = state.file;
  if (!f) return;
  const s = f.session;
  const typed = $("decide-note") ? $("decide-note").value : ""; // kept across a language switch
  $("h-file").textContent = `${f.procedure_title || s.procedure} · ${s.id}`;
  const head = el("div", { class: "panel", id: "file-summary" },
    dl([
      [t("file.state"), badge(s.state, `state.${s.state}`)],
      [t("queue.procedure"), s.procedure],
      [t("file.created"), when(s.created_at)],
      [t("file.expires"), when(s.expires_at)],
    ]),
    el("h3", { text: t("file.reasons") }),
    f.review_reasons.length
      ? el("ul", { id: "review-reasons" }, f.review_reasons.map((r) => el("li", { "data-code": r.code }, reasonText(r), " ", el("span", { class: "muted mono", text: `(${r.code})` }))))
      : el("p", { text: t("file.noReasons") }),
  );
  $("file-body").replaceChildren(
    head,
    decisionPanel(f),
    chipSection(f),
    livenessSection(f),
    faceSection(f),
    fieldsSection(f),
    documentsSection(f),
  );
  if (typed && $("decide-note")) $("decide-note").value = typed;
}

function section(id, title, ...body) {
  return el("section", { id, class: "panel", "aria-labelledby": `${id}-h` }, el("h3", { id: `${id}-h`, text: title }), ...body);
}

function chipSection(f) {
  const c = f.chip;
  if (!c) return section("chip", t("chip.title"), el("p", { text: t("chip.none") }));
  const v = c.verification;
  const step = c.step;
  if (!v) {
    return section("chip", t("chip.title"),
      el("p", { class: "warn", text: c.available ? compact(c.error) : t("chip.purged") }),
      dl([
        [t("chip.verdict"), badge(step.detail.verdict, `verdict.${step.detail.verdict}`)],
        [t("chip.pa"), badge(step.detail.passive_authentication, `verdict.${step.detail.passive_authentication}`)],
        [t("chip.aa"), step.detail.active_authentication ? badge(step.detail.active_authentication) : "–"],
      ]));
  }
  const pa = v.passive_authentication;
  const aa = v.active_authentication;
  const holder = v.dg13 || {};
  const mrz = v.mrz || {};
  const paRows = Object.entries(pa.checks).map(([name, chk]) => el("tr", { "data-check": name },
    el("th", { scope: "row", text: tr(`pa.${name}`, name) }), el("td", {}, badge(chk.status)),
    el("td", { class: "note" }, el("span", { class: "mono", text: chk.code }), " ", chk.message)));
  const dgRows = Object.entries(v.data_groups).map(([dg, d]) => el("tr", { "data-dg": dg },
    el("th", { scope: "row", text: dg }), el("td", {}, badge(d.hash)), el("td", {}, d.parsed ? t("yes") : t("no")),
    el("td", { class: "note", text: d.note || "" })));
  const consistency = Object.entries(v.consistency || {}).map(([k, ok]) => el("li", {}, tr(`field.${k}`, k), ": ", yesNo(ok)));
  return section("chip", t("chip.title"),
    dl([
      [t("chip.verdict"), badge(v.verdict, `verdict.${v.verdict}`)],
      [t("chip.verifiedAt"), when(c.verified_at)],
      [t("chip.signer"), pa.document_signer],
    ]),
    v.reasons.length ? el("ul", {}, v.reasons.map((r) => el("li", { "data-code": r.code }, el("span", { class: "mono", text: r.code }), " ", r.message))) : null,
    el("div", { class: "cols" },
      el("div", {}, el("h4", { text: t("chip.holder") }),
        dl(HOLDER_FIELDS.filter((k) => holder[k]).map((k) => [tr(`field.${k}`, k), holder[k]]))),
      el("div", {}, el("h4", { text: t("chip.mrz") }),
        dl(MRZ_FIELDS.filter((k) => mrz[k]).map((k) => [tr(`field.${k}`, k), mrz[k]])),
        mrz.text ? el("pre", { class: "mono", text: mrz.text }) : null,
        consistency.length ? el("div", {}, el("h4", { text: t("chip.consistency") }), el("ul", {}, consistency)) : null),
      el("figure", { class: "portrait" }, evidenceImage(f.session.id, "chip_portrait", t("chip.portrait")),
        el("figcaption", { text: t("chip.portrait") })),
    ),
    el("h4", { text: t("chip.pa") }),
    table([t("chip.check"), t("chip.result"), t("chip.detail")], paRows, { id: "pa-checks" }),
    el("h4", { text: t("chip.dgs") }),
    table([t("chip.dg"), t("chip.hash"), t("chip.parsed"), t("chip.detail")], dgRows, { id: "data-groups" }),
    el("h4", { text: t("chip.aa") }),
    el("div", { id: "aa-check" }, aa
      ? dl([
        [t("chip.result"), badge(aa.status)],
        [t("chip.detail"), `${aa.message}${aa.algorithm ? ` (${aa.algorithm})` : ""}`],
        [t("chip.aaSealed"), c.aa_signature_sealed ? t("yes") : t("no")],
      ])
      : el("p", { text: "–" })),
  );
}

function livenessSection(f) {
  const l = f.liveness;
  if (!l) return section("liveness", t("live.title"), el("p", { text: t("live.none") }));
  const step = l.step;
  const signals = Object.entries(l.signals || {}).map(([name, sig]) => el("tr", { "data-signal": name },
    el("th", { scope: "row", text: tr(`signal.${name}`, name) }), el("td", {}, badge(sig.status)),
    el("td", { class: "note", text: compact(sig.value) }), el("td", { class: "note", text: compact(sig.threshold) })));
  const frames = l.frames.map((fr) => el("figure", { class: fr.best ? "best" : "", "data-frame": fr.index },
    fr.available ? evidenceImage(f.session.id, fr.evidence, t("live.frame", { i: fr.index })) : el("p", { class: "muted", text: t("live.gone") }),
    el("figcaption", {},
      el("strong", { text: t("live.frame", { i: fr.index }) }), fr.best ? el("span", { class: "badge ok", text: `★ ${t("live.best")}` }) : null, el("br"),
      fr.timestamp_ms !== null ? t("live.time", { ms: fr.timestamp_ms }) : null, el("br"),
      fr.yaw !== null ? t("live.pose", { yaw: num(fr.yaw, 1), pitch: num(fr.pitch, 1) }) : null, el("br"),
      fr.pad_live !== null && fr.pad_live !== undefined ? el("span", { class: "pad", text: t("live.pad", { score: num(fr.pad_live) }) }) : null,
      fr.face_problem ? el("span", { class: "bad", text: ` ${fr.face_problem}` }) : null)));
  return section("liveness", t("live.title"),
    dl([
      [t("live.decision"), badge(step.detail.decision || step.outcome, `decision.${step.detail.decision}`)],
      [t("signal.passive_pad"), step.score !== null ? `${num(step.score)} / ${num(step.threshold)}` : "–"],
      [t("live.actions"), (l.actions || []).map((a) => tr(`action.${a}`, a)).join(", ") || "–"],
    ]),
    step.reasons.length ? el("ul", {}, step.reasons.map((r) => el("li", { text: reasonText(r) }))) : null,
    el("h4", { text: t("live.signals") }),
    table([t("live.signal"), t("chip.result"), t("live.value"), t("live.threshold")], signals, { id: "signals" }),
    el("h4", { text: t("live.frames") }),
    el("div", { class: "frames", id: "frames" }, frames),
  );
}

function scoreBar(score, threshold, band) {
  const pct = (x) => `${Math.max(0, Math.min(1, x)) * 100}%`;
  const bar = el("div", { class: "scorebar", role: "img", "aria-label": t("face.scoreLine", { score: num(score), threshold: num(threshold) }) });
  if (band) {
    const b = el("div", { class: "band" });
    b.style.left = pct(band[0]);
    b.style.width = `calc(${pct(band[1])} - ${pct(band[0])})`;
    bar.append(b);
  }
  const fill = el("div", { class: "fill" });
  fill.style.width = pct(score);
  const mark = el("div", { class: "mark" }, el("span", { text: num(threshold) }));
  mark.style.left = pct(threshold);
  bar.append(fill, mark);
  return bar;
}

function faceSection(f) {
  const m = f.face_match;
  if (!m) return section("face", t("face.title"), el("p", { text: t("face.none") }));
  const sid = f.session.id;
  return section("face", t("face.title"),
    dl([
      [t("chip.result"), badge(m.outcome, `outcome.${m.outcome}`)],
      [t("face.score"), el("span", { id: "face-score", text: num(m.score) })],
      [t("face.threshold"), el("span", { id: "face-threshold", text: num(m.threshold) })],
      [t("face.band"), m.review_band ? `${num(m.review_band[0])} – ${num(m.review_band[1])}` : "–"],
      [t("face.point"), `${m.operating_point || "–"}${m.extrapolated ? ` (${t("face.extrapolated")})` : ""}`],
    ]),
    typeof m.score === "number" && typeof m.threshold === "number" ? scoreBar(m.score, m.threshold, m.review_band) : null,
    m.step.reasons.length ? el("ul", {}, m.step.reasons.map((r) => el("li", { text: reasonText(r) }))) : null,
    el("div", { class: "faces" },
      m.live_frame ? el("figure", {}, evidenceImage(sid, m.live_frame, t("face.live")), el("figcaption", { text: t("face.live") })) : null,
      el("figure", {}, evidenceImage(sid, m.chip_portrait, t("face.chip")), el("figcaption", { text: t("face.chip") }))),
  );
}

function fieldsSection(f) {
  const x = f.fields;
  if (!x) return section("fields", t("fields.title"), el("p", { text: t("fields.none") }));
  const sources = SOURCES.filter((s) => x.sources[s]);
  const rows = x.rows.map((r) => el("tr", { "data-field": r.field, "data-status": r.status, class: r.status === "disagree" ? "disagree" : "" },
    el("th", { scope: "row", text: tr(`field.${r.field}`, r.field) }),
    sources.map((s) => el("td", { "data-source": s, text: r.values[s] ?? "–" })),
    el("td", {}, badge(r.status))));
  return section("fields", t("fields.title"),
    el("p", { class: x.consistent ? "ok" : "bad", text: x.consistent ? t("fields.consistent") : t("fields.inconsistent") }),
    (x.cards_read || []).filter((c) => !c.read).map((c) => el("p", { class: "muted", text: t("fields.notRead", { name: c.evidence, why: c.why }) })),
    table([t("fields.field"), ...sources.map((s) => t(`source.${s}`)), t("fields.status")], rows, { id: "field-table" }),
  );
}

// The page's heatmap on a canvas with each difference's number beside its box.
function heatmapCanvas(sid, page, diffs) {
  const canvas = el("canvas", { class: "heatmap", role: "img", "data-page": page.page, "aria-label": t("docs.heatmapAlt", { n: page.page + 1 }) });
  const [w, h] = page.size || [800, 500];
  canvas.width = w;
  canvas.height = h;
  evidenceUrl(sid, page.heatmap).then((url) => {
    if (!url) return;
    const img = new Image();
    img.onload = () => {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const g = canvas.getContext("2d");
      g.drawImage(img, 0, 0);
      const sx = img.naturalWidth / w;
      const sy = img.naturalHeight / h;
      g.lineWidth = 3;
      g.font = "bold 22px 'DejaVu Sans', sans-serif";
      for (const d of diffs) {
        const [x, y, bw, bh] = d.box;
        g.strokeStyle = "#a4161a";
        g.strokeRect(x * sx, y * sy, bw * sx, bh * sy);
        const label = String(d.n);
        const tx = x * sx;
        const ty = Math.max(24, y * sy - 4);
        g.fillStyle = "#a4161a";
        g.fillRect(tx, ty - 22, g.measureText(label).width + 10, 26);
        g.fillStyle = "#ffffff";
        g.fillText(label, tx + 5, ty);
      }
      canvas.dataset.drawn = "true";
    };
    img.src = url;
  });
  return canvas;
}

function documentsSection(f) {
  const d = f.documents;
  if (!d) return section("documents", t("docs.title"), el("p", { text: t("docs.none") }));
  const sid = f.session.id;
  const diffs = d.differences.map((x, i) => ({ ...x, n: i + 1 }));
  const pages = d.pages.map((p) => el("div", { class: "page", "data-page": p.page },
    el("h4", { text: t("docs.heatmap", { n: p.page + 1 }) }),
    p.verdict ? el("p", {}, badge(p.verdict, `verdict.${p.verdict}`), p.why ? ` ${p.why}` : "") : null,
    p.heatmap ? heatmapCanvas(sid, p, diffs.filter((x) => x.page === p.page)) : el("p", { class: "muted", text: t("docs.noHeatmap") }),
    el("div", { class: "cols" },
      p.original ? el("figure", {}, evidenceImage(sid, p.original, `${t("docs.original")} ${p.page + 1}`), el("figcaption", { text: t("docs.original") })) : null,
      p.copy ? el("figure", {}, evidenceImage(sid, p.copy, `${t("docs.copy")} ${p.page + 1}`), el("figcaption", { text: t("docs.copy") })) : null)));
  const reading = (text) => (text === null || text === undefined ? el("span", { class: "muted", text: t("docs.notSealed") }) : text);
  const rows = diffs.map((x) => el("tr", { "data-kind": x.kind },
    el("th", { scope: "row", text: String(x.n) }),
    el("td", { text: String(x.page + 1) }),
    el("td", { text: tr(`kind.${x.kind}`, x.kind) }),
    el("td", { class: "mono", text: `${x.box[0]}, ${x.box[1]}, ${x.box[2]} × ${x.box[3]}` }),
    el("td", { class: "reading-original" }, reading(x.original_text)),
    el("td", { class: "reading-copy" }, reading(x.copy_text))));
  return section("documents", t("docs.title"),
    dl([[t("docs.verdict"), badge(d.verdict, `verdict.${d.verdict}`)]]),
    d.why.length ? el("ul", {}, d.why.map((w) => el("li", { text: w }))) : null,
    pages,
    el("h4", { text: t("docs.diffs") }),
    diffs.length
      ? table(["#", t("docs.page", { n: "" }).trim(), t("docs.kind"), t("docs.box"), t("docs.readOriginal"), t("docs.readCopy")], rows, { id: "differences" })
      : el("p", { id: "no-differences", text: t("docs.noDiff") }),
  );
}

// --- the decision and the certified copy ----------------------------------------------

function decisionPanel(f) {
  const s = f.session;
  const box = el("section", { id: "decide", class: "panel decide", "aria-labelledby": "decide-h" }, el("h3", { id: "decide-h", text: t("decide.title") }));
  if (s.state !== "review") {
    const final = s.state === "approved" || s.state === "declined";
    box.append(el("p", { id: "decided" }, badge(s.state, `state.${s.state}`), " ", final ? "" : t("decide.notReview")));
    const copy = el("p", { id: "certified-copy" });
    if (state.copyUrl) copy.append(copyLink(s.id));
    box.append(copy);
    return box;
  }
  if (!state.canDecide) {
    box.append(el("p", { id: "decide-readonly", text: t("decide.readonly") }));
    return box;
  }
  const note = el("textarea", { id: "decide-note", rows: 3, maxlength: 500, required: true, "aria-describedby": "decide-help" });
  const go = (approve) => decide(s.id, approve, note);
  box.append(
    el("label", { for: "decide-note", text: t("decide.reason") }), note,
    el("p", { id: "decide-help", class: "muted", text: t("decide.needReason") }),
    el("div", { class: "row" },
      el("button", { id: "approve", type: "button", onclick: () => go(true) }, `✓ ${t("decide.approve")}`),
      el("button", { id: "decline", type: "button", class: "danger", onclick: () => go(false) }, `✗ ${t("decide.decline")}`)),
  );
  return box;
}

async function decide(sid, approve, noteField) {
  const note = noteField.value.trim();
  if (!note) {
    say(t("decide.needReason"), "error");
    noteField.setAttribute("aria-invalid", "true");
    noteField.focus();
    return;
  }
  for (const b of document.querySelectorAll("#approve, #decline")) b.disabled = true;
  try {
    const view = await call("POST", `/v1/sessions/${sid}/review`, { approve, note });
    state.file.session = view;
    say(t(`decide.done.${view.state}`), "ok");
  } catch (e) {
    say(errorText(e), "error");
    for (const b of document.querySelectorAll("#approve, #decline")) b.disabled = false;
    return;
  }
  renderFile();
  focus("decide-h");
  probeCertifiedCopy();
  loadQueue(state.offset).catch(() => {});
}

function copyLink(sid) {
  return el("a", { id: "certified-copy-link", class: "button", href: state.copyUrl, download: `ban-sao-chung-thuc-${sid}.pdf` }, t("copy.download"));
}

// Offer the certified copy only once the server answers 200 for it (approved sessions with
// a documents step; a 404 or 409 leaves no link).
async function probeCertifiedCopy() {
  const f = state.file;
  if (!f || f.session.state !== "approved" || !f.session.required_steps.includes("documents")) return;
  const sid = f.session.id;
  let blob;
  try {
    const r = await call("GET", `/v1/sessions/${sid}/certified-copy.pdf`, undefined, { raw: true, headers: { Accept: "application/pdf" } });
    blob = await r.blob();
  } catch (_) {
    return; // not issued (yet), or not built on this server
  }
  if (!state.file || state.file.session.id !== sid) return;
  if (state.copyUrl) URL.revokeObjectURL(state.copyUrl);
  state.copyUrl = URL.createObjectURL(blob);
  const slot = $("certified-copy");
  if (slot) slot.replaceChildren(copyLink(sid));
}

// --- the verify panel ------------------------------------------------------------------

function showCheck(kind, body) {
  state.verify = { kind, body };
  renderCheck();
  focus("verify-result");
}

function renderCheck() {
  const box = $("verify-result");
  if (!state.verify) {
    box.classList.add("hidden");
    return;
  }
  const { kind, body } = state.verify;
  const claims = body.claims || {};
  const valid = Boolean(body.valid);
  const reason = body.reason ? `${tr(`reason.${body.reason}`, body.reason)} (${body.reason})` : null;
  box.className = `verdict-box ${valid ? "ok" : "bad"}`;
  box.dataset.valid = String(valid);
  box.dataset.reason = body.reason || "";
  box.replaceChildren(
    el("p", { class: "big", text: `${valid ? "✓" : "✗"} ${t(valid ? "verify.valid" : "verify.invalid")}` }),
    dl([
      [t("verify.kind"), tr(`kind.${body.kind || kind}`, kind)],
      [t("verify.reason"), reason],
      [t("verify.session"), body.session_id || claims.sid],
      [t("verify.procedure"), body.procedure || claims.procedure],
      [t("verify.decision"), body.decision || claims.decision ? tr(`state.${body.decision || claims.decision}`, body.decision || claims.decision) : null],
      [t("verify.issued"), when(body.signed_at || body.issued_at || (claims.decided_at ? new Date(claims.decided_at * 1000).toISOString() : null))],
      [t("verify.certifiedBy"), body.certified_by],
      [t("verify.signer"), body.signer ? body.signer.subject : body.kid],
      [t("verify.level"), body.level],
    ]),
    body.message ? el("p", { class: "muted note", text: body.message }) : null,
  );
  box.classList.remove("hidden");
}

async function checkPasted(text) {
  text = text.trim();
  if (!text) {
    say(t("verify.empty"), "error");
    focus("paste");
    return;
  }
  quiet();
  try {
    if (JWS.test(text)) {
      showCheck("token", await call("POST", "/v1/verify", { token: text }));
      return;
    }
    let url = null;
    try {
      url = new URL(text, window.location.origin);
    } catch (_) {
      url = null;
    }
    const path = url && url.pathname.match(LINK_PATH);
    const h = url && url.searchParams.get("h");
    if (!path || !h) {
      showCheck("unknown", { valid: false, reason: "malformed" });
      return;
    }
    // the link's own page answers JSON on request; a wrong h is a 404 like an unknown session
    try {
      const sid = path[1];
      const out = await call("GET", `/v/result/${sid}?h=${encodeURIComponent(h)}&format=json`);
      showCheck("link", { ...out, kind: "link" });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) showCheck("link", { valid: false, reason: "unknown_result", session_id: path[1] });
      else throw e;
    }
  } catch (e) {
    say(errorText(e), "error");
  }
}

async function checkPdf() {
  const file = $("pdf").files[0];
  if (!file) {
    say(t("verify.pdfMissing"), "error");
    focus("pdf");
    return;
  }
  quiet();
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    showCheck("pdf", { ...(await call("POST", "/v1/verify/pdf", form)), kind: "pdf" });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) say(t("verify.pdfNotAvailable"), "error");
    else say(errorText(e), "error");
  }
}

// The QR scanner: camera frames go to the server, which decodes (zxing-cpp) and checks.
const scanner = { stream: null, timer: null, busy: false, started: 0 };

async function startScanner() {
  quiet();
  stopScanner();
  const video = $("qr-video");
  try {
    scanner.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
  } catch (e) {
    $("qr-status").textContent = t("verify.qrNoCamera", { why: e && e.name ? e.name : String(e) });
    return;
  }
  video.srcObject = scanner.stream;
  video.classList.remove("hidden");
  await video.play().catch(() => {});
  $("qr-start").classList.add("hidden");
  $("qr-stop").classList.remove("hidden");
  $("qr-status").textContent = t("verify.qrLooking");
  scanner.started = Date.now();
  scanner.timer = setInterval(scanFrame, QR_EVERY_MS);
}

function stopScanner() {
  if (scanner.timer) clearInterval(scanner.timer);
  scanner.timer = null;
  if (scanner.stream) for (const track of scanner.stream.getTracks()) track.stop();
  scanner.stream = null;
  const video = $("qr-video");
  if (video) {
    video.srcObject = null;
    video.classList.add("hidden");
  }
  $("qr-start")?.classList.remove("hidden");
  $("qr-stop")?.classList.add("hidden");
}

async function scanFrame() {
  const video = $("qr-video");
  if (scanner.busy || !video.videoWidth) return;
  if (Date.now() - scanner.started > QR_GIVE_UP_MS) {
    stopScanner();
    $("qr-status").textContent = t("verify.qrTimeout");
    return;
  }
  scanner.busy = true;
  try {
    const scale = Math.min(1, 1280 / video.videoWidth);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    if (!blob || !scanner.timer) return;
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    const out = await call("POST", "/v1/verify/qr", form);
    stopScanner();
    $("qr-status").textContent = "";
    showCheck(out.kind || "token", out);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === "qr_not_found")) {
      stopScanner();
      $("qr-status").textContent = errorText(e);
    }
  } finally {
    scanner.busy = false;
  }
}

// --- wiring ----------------------------------------------------------------------------

languageSwitch($("lang"));
$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = $("key").value.trim();
  if (key) signIn(key);
});
$("signout").addEventListener("click", signOut);
$("tab-queue").addEventListener("click", () => {
  quiet();
  show("queue");
  loadQueue(state.offset).catch((e) => say(errorText(e), "error"));
  focus("h-queue");
});
$("tab-verify").addEventListener("click", () => {
  quiet();
  show("verify");
  focus("h-verify");
});
$("queue-refresh").addEventListener("click", () => loadQueue(state.offset).catch((e) => say(errorText(e), "error")));
$("queue-prev").addEventListener("click", () => loadQueue(Math.max(0, state.offset - PAGE_SIZE)).catch((e) => say(errorText(e), "error")));
$("queue-next").addEventListener("click", () => loadQueue(state.queue.next_offset).catch((e) => say(errorText(e), "error")));
$("open-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = $("open-id").value.trim();
  if (id) openFile(id);
});
$("file-back").addEventListener("click", () => {
  quiet();
  show("queue");
  loadQueue(state.offset).catch((e) => say(errorText(e), "error"));
  focus("h-queue");
});
$("paste-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  checkPasted($("paste").value);
});
$("pdf-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  checkPdf();
});
$("qr-start").addEventListener("click", startScanner);
$("qr-stop").addEventListener("click", () => {
  stopScanner();
  $("qr-status").textContent = "";
});
document.addEventListener("ekyc:lang", () => {
  renderQueue();
  if (state.view === "file") renderFile();
  renderCheck();
});
window.addEventListener("pagehide", stopScanner);

applyTexts();
show("signin");
if (apiKey()) signIn(apiKey());
