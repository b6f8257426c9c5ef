// The kiosk screen: staff sign in with a kiosk key and start a session for a procedure; the
// citizen's card is read through the local reader bridge (ekyc reader-bridge), the face
// challenge is filmed by the kiosk camera, the original and copy pages are photographed, and
// the outcome is shown with the signed result's QR code. The page only carries data: the
// server verifies the chip, the liveness and the documents and decides the session.
import { ApiError, apiKey, call, setApiKey } from "/static/common/api.js";
import { addTexts, applyTexts, currentLang, languageSwitch, t, textIn } from "/static/common/i18n.js";
import { TEXTS } from "/static/kiosk/texts.js";

addTexts(TEXTS);

// ---- constants ------------------------------------------------------------------------------

const DEFAULT_BRIDGE = "http://127.0.0.1:8765"; // `ekyc reader-bridge` listens here by default
const BRIDGE_KEY = "ekyc.kiosk.bridge";
const READ_TIMEOUT_MS = 120000; // the bridge waits for the card itself (EKYC_CARD_WAIT_SECONDS)
const FINAL = new Set(["approved", "declined", "review", "expired"]);
const SCREENS = ["signin", "start", "chip", "liveness", "documents", "outcome"];

// The liveness capture plan (ms since the challenge was received). The citizen first looks
// straight at the camera for LEAD_MS, then has SLOT_MS per action; frames are taken from
// FIRST_MS on, evenly, at most MAX_FRAMES of them and never closer than MIN_INTERVAL_MS
// (the server accepts 5-30 frames, at least 50 ms apart, no gap over 1 s, all inside the
// challenge window). tests/browser/test_kiosk.py films its video to this plan.
export const LIVENESS_PLAN = { LEAD_MS: 1500, SLOT_MS: 2000, FIRST_MS: 1000, MAX_FRAMES: 28, MIN_INTERVAL_MS: 200 };
const JPEG_QUALITY = 0.92;

// ---- page state -----------------------------------------------------------------------------

const S = {
  session: null, // the session JSON as the server last answered it
  procedure: null,
  busy: false,
  streams: new Set(), // open camera streams (stopped whenever a screen changes)
  pages: { original: [], copy: [] }, // {blob, url, name}
  docsKey: null, // idempotency key of the page set as it is now
  pollTimer: null,
};

const $ = (id) => document.getElementById(id);

class KioskError extends Error {
  // code: a key of the "err.*" texts; vars fill its placeholders; detail is for staff
  constructor(code, detail = "", vars = {}) {
    super(detail || code);
    this.code = code;
    this.detail = detail;
    this.vars = vars;
  }
}

function newKey(step) {
  const id = crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `kiosk-${step}-${id}`;
}

// ---- text on screen -------------------------------------------------------------------------

// Elements whose text depends on variables: re-rendered when the language changes.
const live = new Map();

function say(el, key, vars = {}) {
  if (!key) {
    live.delete(el);
    el.textContent = "";
    return;
  }
  live.set(el, { key, vars });
  el.textContent = t(key, vars);
}

document.addEventListener("ekyc:lang", () => {
  for (const [el, { key, vars }] of live) el.textContent = t(key, vars);
  if (document.body.dataset.screen === "outcome") renderReasons();
  if (document.body.dataset.screen === "documents") renderPages();
});

function status(key, vars) {
  say($("status"), key, vars);
}

// A message in Vietnamese with English beneath, whatever the page language.
function bilingual(box, key, vars = {}) {
  box.querySelector(".vi").textContent = textIn("vi", key, vars);
  box.querySelector(".en").textContent = textIn("en", key, vars);
}

// ---- errors and retry -----------------------------------------------------------------------

// What the staff or citizen can do after each error: retry the same step (default), start
// a new session (the server closed this one), or sign in again.
const RECOVERY = {
  session_expired: "restart",
  session_closed: "restart",
  session_not_found: "restart",
  challenge_failed: "restart",
  unauthorized: "signin",
  forbidden: "signin",
};

// Server and bridge codes that share one message.
const ALIAS = {
  nonce_replayed: "challenge_expired",
  nonce_unknown: "challenge_expired",
  session_mismatch: "challenge_expired",
  challenge_used: "challenge_expired",
  unknown_card: "ocr_failed",
  card_timeout: "chip_read_failed",
  card_error: "chip_read_failed",
  file_not_found: "chip_read_failed",
  security_status_not_satisfied: "chip_read_failed",
  secure_messaging_error: "chip_read_failed",
  protocol_error: "chip_read_failed",
  chip_authentication_failed: "chip_read_failed",
  reader_error: "chip_read_failed",
  malformed_tlv: "chip_read_failed",
  invalid_request: "bad_upload",
  unsupported_media_type: "bad_upload",
  invalid_input: "bad_upload",
  too_many_pixels: "payload_too_large",
  image_too_large: "payload_too_large",
  database_unavailable: "server_error",
  not_ready: "server_error",
};

function messageKey(code) {
  const c = ALIAS[code] || code;
  return TEXTS.vi[`err.${c}`] ? `err.${c}` : "err.unexpected";
}

function showError(e, retry) {
  const code = e.code || "unexpected";
  const recovery = RECOVERY[code] || "retry";
  const box = $("error");
  const vars = { code, url: bridgeBase(), origin: location.origin, ...(e.vars || {}) };
  bilingual(box, messageKey(code), vars);
  const detail = e instanceof ApiError ? `${code} (HTTP ${e.status}): ${e.message}` : e.detail ? `${code}: ${e.detail}` : code;
  box.querySelector(".detail").textContent = detail;
  box.dataset.code = code;
  const retryBtn = $("retry");
  const restartBtn = $("restart");
  retryBtn.classList.toggle("hidden", recovery !== "retry");
  restartBtn.classList.toggle("hidden", recovery === "retry");
  say(restartBtn, recovery === "signin" ? "signin.again" : "restart");
  S.recover = recovery === "retry" ? retry : recovery === "signin" ? signOut : restartSession;
  if (document.body.dataset.screen === "signin") {
    // signing in: the way on is typing another key
    retryBtn.classList.add("hidden");
    restartBtn.classList.add("hidden");
  }
  box.classList.remove("hidden");
  status(null);
  if (document.body.dataset.screen === "signin") $("key").focus();
  else (recovery === "retry" ? retryBtn : restartBtn).focus();
}

function hideError() {
  $("error").classList.add("hidden");
  $("error").dataset.code = "";
  S.recover = null;
}

// Run one user action: one at a time, errors shown with the way to recover.
async function attempt(fn) {
  if (S.busy) return;
  hideError();
  setBusy(true);
  try {
    await fn();
  } catch (e) {
    console.warn("kiosk:", e);
    showError(e, e.retry || fn);
  } finally {
    setBusy(false);
  }
}

function setBusy(on) {
  S.busy = on;
  document.body.classList.toggle("busy", on);
  for (const b of document.querySelectorAll("main button, main input, main select")) {
    if (b.closest("#error") || b.closest("#settings")) continue;
    if (on) {
      if (!b.disabled) {
        b.disabled = true;
        b.dataset.busyDisabled = "1";
      }
    } else if (b.dataset.busyDisabled) {
      b.disabled = false;
      delete b.dataset.busyDisabled;
    }
  }
  $("error").querySelectorAll("button").forEach((b) => (b.disabled = on));
  $("signout").disabled = on;
}

// ---- screens --------------------------------------------------------------------------------

function show(name) {
  stopCameras();
  for (const s of SCREENS) $(`screen-${s}`).classList.toggle("hidden", s !== name);
  $("signout").classList.toggle("hidden", name === "signin");
  const steps = $("steps");
  const inSession = !["signin", "start"].includes(name) && S.session;
  steps.classList.toggle("hidden", !inSession);
  if (inSession) {
    const required = new Set(S.session.required_steps);
    const order = ["chip", "liveness", "documents", "outcome"];
    const here = order.indexOf(name);
    for (const li of steps.children) {
      const step = li.dataset.step;
      li.classList.toggle("hidden", step !== "outcome" && !required.has(step));
      li.classList.toggle("done", order.indexOf(step) < here);
      if (step === name) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    }
  }
  if (name !== "outcome") clearTimeout(S.pollTimer);
  const heading = $(`screen-${name}`).querySelector("h2");
  if (heading) heading.focus();
  document.body.dataset.screen = name;
}

// The next screen for a session as the server describes it.
function route(session) {
  S.session = session;
  document.body.dataset.session = session.id;
  document.body.dataset.state = session.state;
  if (FINAL.has(session.state)) return showOutcome();
  const done = session.steps || {};
  const next = session.required_steps.find((s) => !(s in done));
  if (next === "chip") return showChip();
  if (next === "liveness" || next === "face_match") return showLiveness();
  if (next === "documents") return showDocuments();
  return showOutcome();
}

async function refresh() {
  return call("GET", `/v1/sessions/${encodeURIComponent(S.session.id)}`);
}

// A session step: the idempotency key travels with the payload, so a retry after a lost
// answer is replayed by the server instead of being counted twice.
async function step(path, body, key) {
  const sid = encodeURIComponent(S.session.id);
  return call("POST", `/v1/sessions/${sid}/${path}`, body, { headers: { "Idempotency-Key": key }, timeoutMs: 120000 });
}

// Recover from "already done" / "out of order" by asking the server where the session is.
async function stepOrResume(path, body, key) {
  try {
    return await step(path, body, key);
  } catch (e) {
    if (e.code === "step_already_done" || e.code === "step_out_of_order") {
      const session = await refresh();
      return { session, resumed: true };
    }
    throw e;
  }
}

// ---- sign in and session --------------------------------------------------------------------

async function signIn(key) {
  setApiKey(key);
  try {
    // a read that creates nothing: a kiosk key gets 404 for a session that does not
    // exist; a wrong or revoked key 401, a key of another role may get 403
    await call("GET", "/v1/sessions/kiosk-sign-in-check");
  } catch (e) {
    if (e.code !== "session_not_found") {
      if (e.code === "unauthorized" || e.code === "forbidden") setApiKey(null);
      throw e;
    }
  }
  $("key").value = "";
  show("start");
  status("signin.ok");
}

function signOut() {
  hideError();
  resetCitizen();
  S.session = null;
  setApiKey(null);
  show("signin");
  status(null);
}

async function startSession(procedure) {
  S.procedure = procedure;
  status("start.creating");
  const session = await call("POST", "/v1/sessions", { procedure });
  S.session = session;
  S.chipKey = null;
  route(session);
}

// After a failure that closed the session: a new one for the same procedure and citizen (the
// typed CAN and the pages are kept, the card is read again for the new nonce).
async function restartSession() {
  hideError();
  await attempt(() => startSession(S.procedure || $("procedure").value));
}

// The next citizen: forget everything of the previous one.
function resetCitizen() {
  stopCameras();
  $("can").value = "";
  $("progress").replaceChildren();
  for (const kind of ["original", "copy"]) {
    for (const p of S.pages[kind]) URL.revokeObjectURL(p.url);
    S.pages[kind] = [];
  }
  renderPages();
  const img = $("qr-img");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.removeAttribute("src");
}

// ---- reader bridge --------------------------------------------------------------------------

function bridgeBase() {
  return localStorage.getItem(BRIDGE_KEY) || DEFAULT_BRIDGE;
}

function bridgeWsUrl() {
  const u = new URL(bridgeBase());
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/ws";
  return u.toString();
}

// Read the chip over the bridge's WebSocket (not subject to CORS): progress events per file,
// then the raw files and the AA signature over the session nonce.
function bridgeRead(can, nonce, onProgress) {
  return new Promise((resolve, reject) => {
    let ws;
    try {
      ws = new WebSocket(bridgeWsUrl());
    } catch (e) {
      reject(new KioskError("bridge_unreachable", String(e.message || e)));
      return;
    }
    let opened = false;
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        ws.close();
      } catch (_) {
        /* already closed */
      }
      fn(value);
    };
    const timer = setTimeout(() => finish(reject, new KioskError("no_card", "no answer from the bridge")), READ_TIMEOUT_MS);
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ can, nonce }));
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (m.event === "progress") onProgress(m.file, m.read, m.total);
      else if (m.event === "result") finish(resolve, m);
      else if (m.event === "error") finish(reject, new KioskError(m.code || "reader_error", m.message || ""));
    };
    ws.onclose = (ev) => {
      if (ev.code === 1008) finish(reject, new KioskError("origin_not_allowed", "the bridge refused this origin"));
      else finish(reject, new KioskError(opened ? "bridge_closed" : "bridge_unreachable", `WebSocket closed (${ev.code})`));
    };
  });
}

function progressRow(name) {
  const list = $("progress");
  let row = list.querySelector(`li[data-file="${CSS.escape(name)}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.file = name;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", name);
    const bytes = document.createElement("span");
    bytes.className = "bytes";
    row.append(label, bar, bytes);
    list.append(row);
  }
  return row;
}

function showProgress(name, read, total) {
  const row = progressRow(name);
  const bar = row.querySelector("progress");
  bar.max = Math.max(total, 1);
  bar.value = Math.min(read, bar.max);
  row.querySelector(".bytes").textContent = `${read} / ${total} B`;
  row.classList.toggle("done", read >= total);
  say($("status"), "chip.reading-file", { file: name });
}

// ---- chip step ------------------------------------------------------------------------------

function showChip() {
  show("chip");
  $("progress").replaceChildren();
  status("chip.ready");
  if (!$("can").value) $("can").focus();
}

async function readCard() {
  const can = $("can").value.trim();
  if (!/^\d{6}$/.test(can)) {
    $("can").focus();
    throw new KioskError("can_invalid");
  }
  $("progress").replaceChildren();
  status("chip.place");
  const result = await bridgeRead(can, S.session.nonce, showProgress);
  const files = {};
  for (const [name, data] of Object.entries(result.files || {})) {
    if (!data) continue;
    files[name] = data;
    const row = $("progress").querySelector(`li[data-file="${CSS.escape(name)}"]`);
    if (!row || !row.classList.contains("done")) {
      const size = Math.floor((data.length * 3) / 4) - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0);
      showProgress(name, size, size);
    }
  }
  const payload = { files, aa_signature: result.aa_signature || null };
  await sendChip(payload, newKey("chip"));
}

async function sendChip(payload, key) {
  status("chip.sending");
  let res;
  try {
    res = await stepOrResume("chip", payload, key);
  } catch (e) {
    e.retry = () => sendChip(payload, key); // the card was read: send the same files again
    throw e;
  }
  status(res.resumed ? null : res.step.outcome === "fail" ? "chip.failed" : "chip.done");
  route(res.session);
}

// The CAN from the card's printed number: the front side's ID number (or its QR), else the
// back side's MRZ document number; on a CCCD the CAN is the last 6 digits of the 12-digit ID.
function canFromReading(r) {
  const id = (r.fields && r.fields.id_number) || (r.qr && r.qr.parsed && r.qr.parsed.id_number) || "";
  if (/^\d{12}$/.test(id)) return id.slice(-6);
  if (r.mrz && r.mrz.valid && r.mrz.text) {
    const doc = r.mrz.text.split("\n")[0].slice(5, 14);
    if (/^\d{9}$/.test(doc)) return doc.slice(-6);
  }
  return null;
}

async function openCanCamera() {
  $("can-cam").classList.remove("hidden");
  await openCamera($("can-video"), "document");
  status("chip.cam-ready");
  $("can-capture").focus();
}

async function captureCan() {
  const video = $("can-video");
  if (!video.srcObject) await openCanCamera();
  const blob = await grab(video);
  status("chip.ocr");
  const form = new FormData();
  form.append("image", blob, "card.jpg");
  const reading = await call("POST", "/v1/ocr/card", form);
  const can = canFromReading(reading);
  if (!can) throw new KioskError("ocr_failed", "no ID number on the card photo");
  $("can").value = can;
  stopCameras();
  $("can-cam").classList.add("hidden");
  status("chip.can-read", { can });
  $("read-card").focus();
}

// ---- camera ---------------------------------------------------------------------------------

function cameraError(e) {
  const name = e && e.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return new KioskError("camera_denied", name);
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return new KioskError("camera_missing", name);
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") return new KioskError("camera_busy", name);
  return new KioskError("camera_missing", String((e && e.message) || e));
}

// kind "face": a VGA stream is enough and quick to send; "document": the camera's largest.
async function openCamera(video, kind) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new KioskError("camera_unsupported");
  const size = kind === "face" ? { width: { ideal: 640 }, height: { ideal: 480 } } : { width: { ideal: 4096 }, height: { ideal: 4096 } };
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: size, audio: false });
  } catch (e) {
    throw cameraError(e);
  }
  S.streams.add(stream);
  video.srcObject = stream;
  video.classList.remove("hidden");
  await new Promise((resolve) => {
    if (video.readyState >= 2 && video.videoWidth) resolve();
    else video.addEventListener("loadeddata", resolve, { once: true });
  });
  try {
    await video.play();
  } catch (_) {
    /* autoplay of a muted stream is allowed; a refusal still shows frames */
  }
  return stream;
}

function stopCameras() {
  for (const s of S.streams) s.getTracks().forEach((tr) => tr.stop());
  S.streams.clear();
  for (const v of document.querySelectorAll("video")) v.srcObject = null;
}

function drawFrame(video) {
  const c = document.createElement("canvas");
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext("2d").drawImage(video, 0, 0);
  return c;
}

function toJpeg(canvas) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new KioskError("camera_missing", "no frame"))), "image/jpeg", JPEG_QUALITY),
  );
}

async function grab(video) {
  if (!video.videoWidth) throw new KioskError("camera_missing", "the camera gives no picture");
  return toJpeg(drawFrame(video));
}

// ---- liveness and face match ----------------------------------------------------------------

function showLiveness() {
  show("liveness");
  $("prompt").classList.add("hidden");
  $("start-liveness").classList.remove("hidden");
  status("live.ready");
  $("start-liveness").focus();
}

const sleepUntil = (t0, ms) => new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - performance.now())));

// The frame times (ms since the challenge) and each action's slot for n actions.
function livenessPlan(n, windowMs) {
  const P = LIVENESS_PLAN;
  let slot = P.SLOT_MS;
  if (P.LEAD_MS + n * slot > windowMs - 500) slot = Math.max(800, Math.floor((windowMs - 500 - P.LEAD_MS) / n));
  const span = P.LEAD_MS + n * slot;
  const interval = Math.max(P.MIN_INTERVAL_MS, Math.ceil((span - P.FIRST_MS) / P.MAX_FRAMES));
  const times = [];
  for (let ms = P.FIRST_MS; ms < span && times.length < P.MAX_FRAMES; ms += interval) times.push(ms);
  return { slot, span, times };
}

function showPrompt(challenge, plan, elapsed) {
  const P = LIVENESS_PLAN;
  const n = challenge.actions.length;
  let key;
  let left;
  let stepText = "";
  if (elapsed < P.LEAD_MS) {
    key = "action.neutral";
    left = P.LEAD_MS - elapsed;
  } else {
    const i = Math.min(n - 1, Math.floor((elapsed - P.LEAD_MS) / plan.slot));
    key = `action.${challenge.actions[i]}`;
    left = P.LEAD_MS + (i + 1) * plan.slot - elapsed;
    stepText = t("live.step", { i: i + 1, n });
  }
  const text = $("prompt-text");
  if (text.dataset.key !== key) {
    text.dataset.key = key;
    say(text, key);
  }
  $("prompt-count").textContent = String(Math.max(1, Math.ceil(left / 1000)));
  $("prompt-step").textContent = stepText;
}

async function runLiveness() {
  const video = $("face-video");
  status("live.camera");
  await openCamera(video, "face");
  const sid = encodeURIComponent(S.session.id);
  let challenge;
  try {
    challenge = await call("POST", `/v1/sessions/${sid}/liveness/challenge`);
  } catch (e) {
    stopCameras();
    throw e;
  }
  const t0 = performance.now(); // frame times are ms since the challenge was received
  const plan = livenessPlan(challenge.actions.length, challenge.window_ms);
  $("start-liveness").classList.add("hidden");
  $("prompt").classList.remove("hidden");
  document.body.dataset.challenge = challenge.actions.join(",");
  status("live.follow");
  const ticker = setInterval(() => showPrompt(challenge, plan, performance.now() - t0), 100);
  showPrompt(challenge, plan, 0);
  const shots = [];
  let last = -Infinity;
  try {
    for (const at of plan.times) {
      await sleepUntil(t0, at);
      const now = performance.now() - t0;
      if (now - last < LIVENESS_PLAN.MIN_INTERVAL_MS * 0.6) continue; // a late timer: keep gaps honest
      if (!video.videoWidth) throw new KioskError("camera_missing", "the camera stopped");
      const canvas = drawFrame(video);
      last = now;
      shots.push({ t: Math.round(now), blob: toJpeg(canvas) });
    }
  } finally {
    clearInterval(ticker);
    stopCameras();
    $("prompt").classList.add("hidden");
  }
  const elapsed = performance.now() - t0;
  if (elapsed > challenge.window_ms || shots.length < 5) {
    // nothing was sent: the challenge is simply dropped and a new one asked for on retry
    throw new KioskError("challenge_expired", `capture took ${Math.round(elapsed)} ms`);
  }
  const blobs = await Promise.all(shots.map((s) => s.blob));
  const payload = { nonce: challenge.nonce, times: shots.map((s) => s.t), blobs, t0, windowMs: challenge.window_ms };
  await sendFrames(payload, newKey("liveness"));
}

function framesForm(p) {
  const form = new FormData();
  form.append("nonce", p.nonce);
  form.append("timestamps_ms", p.times.join(","));
  p.blobs.forEach((b, i) => form.append("frames", b, `frame-${String(i).padStart(2, "0")}.jpg`));
  return form;
}

async function sendFrames(payload, key, again = false) {
  status("live.checking");
  let res;
  try {
    if (again) {
      // a retry after a lost answer: did the server record it? If not and the challenge is
      // over, a resend would fail its deadline: ask for a new challenge instead
      const session = await refresh();
      if (session.steps && session.steps.liveness) return afterLiveness({ session, step: session.steps.liveness });
      if (performance.now() - payload.t0 > payload.windowMs + 2000) return runLiveness();
    }
    res = await stepOrResume("liveness/frames", framesForm(payload), key);
  } catch (e) {
    if (!e.retry) e.retry = () => sendFrames(payload, key, true);
    throw e;
  }
  return afterLiveness(res);
}

async function afterLiveness(res) {
  const session = res.session;
  const outcome = res.step ? res.step.outcome : session.steps && session.steps.liveness && session.steps.liveness.outcome;
  if (outcome === "fail") {
    S.session = session;
    const reasons = ((res.step && res.step.reasons) || []).map((r) => reasonText(r, "vi")).join("; ");
    const reasonsEn = ((res.step && res.step.reasons) || []).map((r) => reasonText(r, "en")).join("; ");
    const err = new KioskError("challenge_failed", (res.step && res.step.reasons || []).map((r) => r.code).join(", "));
    err.vars = { reasons, reasons_en: reasonsEn };
    throw err;
  }
  if (session.required_steps.includes("face_match") && !(session.steps && session.steps.face_match)) {
    return faceMatch(newKey("face-match"));
  }
  route(session);
}

async function faceMatch(key) {
  status("live.matching");
  let res;
  try {
    res = await stepOrResume("face-match", {}, key);
  } catch (e) {
    e.retry = () => faceMatch(key);
    throw e;
  }
  status(null);
  route(res.session);
}

// ---- documents ------------------------------------------------------------------------------

function showDocuments() {
  show("documents");
  $("capture-original").disabled = true;
  $("capture-copy").disabled = true;
  $("doc-video").classList.add("hidden");
  renderPages();
  status("docs.ready");
}

async function openDocCamera() {
  await openCamera($("doc-video"), "document");
  $("capture-original").disabled = false;
  $("capture-copy").disabled = false;
  status("docs.cam-ready");
  $("capture-original").focus();
}

function addPage(kind, blob, name) {
  S.pages[kind].push({ blob, name, url: URL.createObjectURL(blob) });
  S.docsKey = null; // another set of pages: another request
  renderPages();
}

async function capturePage(kind) {
  const video = $("doc-video");
  if (!video.srcObject) await openDocCamera();
  const blob = await grab(video);
  addPage(kind, blob, `${kind}-${S.pages[kind].length + 1}.jpg`);
  status(kind === "original" ? "docs.captured-original" : "docs.captured-copy", { n: S.pages[kind].length });
}

function renderPages() {
  for (const kind of ["original", "copy"]) {
    const list = $(`pages-${kind}`);
    list.replaceChildren(
      ...S.pages[kind].map((p, i) => {
        const li = document.createElement("li");
        const img = document.createElement("img");
        img.src = p.url;
        img.alt = t(kind === "original" ? "docs.page-original" : "docs.page-copy", { n: i + 1 });
        const rm = document.createElement("button");
        rm.type = "button";
        rm.className = "secondary";
        rm.textContent = t("docs.remove", { n: i + 1 });
        rm.addEventListener("click", () => {
          URL.revokeObjectURL(p.url);
          S.pages[kind].splice(i, 1);
          S.docsKey = null;
          renderPages();
        });
        li.append(img, rm);
        return li;
      }),
    );
  }
  $("submit-documents").disabled = !(S.pages.original.length && S.pages.copy.length);
}

async function submitDocuments() {
  if (!S.pages.original.length || !S.pages.copy.length) throw new KioskError("docs_missing");
  stopCameras();
  $("capture-original").disabled = true;
  $("capture-copy").disabled = true;
  const form = new FormData();
  for (const kind of ["original", "copy"]) for (const p of S.pages[kind]) form.append(kind, p.blob, p.name);
  S.docsKey = S.docsKey || newKey("documents");
  status("docs.comparing");
  const res = await stepOrResume("documents", form, S.docsKey);
  status(null);
  route(res.session);
}

// ---- outcome --------------------------------------------------------------------------------

function reasonText(r, lang) {
  const key = `reason.${r.code}`;
  return TEXTS[lang][key] ? textIn(lang, key) : r.message || r.code;
}

function renderReasons() {
  const reasons = (S.session && S.session.decision && S.session.decision.reasons) || [];
  $("outcome-reasons").replaceChildren(
    ...reasons.map((r) => {
      const li = document.createElement("li");
      li.dataset.code = r.code;
      li.textContent = reasonText(r, currentLang());
      return li;
    }),
  );
}

async function showOutcome() {
  const s = S.session;
  show("outcome");
  const box = $("outcome");
  box.className = `message ${s.state === "approved" ? "success" : s.state === "review" ? "review" : "error"}`;
  box.dataset.state = s.state;
  bilingual(box, `outcome.${s.state}`);
  renderReasons();
  $("outcome-sid").textContent = s.id;
  const link = $("status-link");
  $("status-link-wrap").classList.toggle("hidden", !s.status_url);
  if (s.status_url) {
    link.href = s.status_url;
    link.textContent = s.status_url;
  }
  status(null);
  $("qr").classList.add("hidden");
  if (s.state === "approved" || s.state === "declined") {
    try {
      const r = await call("GET", `/v1/sessions/${encodeURIComponent(s.id)}/result.png`, undefined, { raw: true });
      const img = $("qr-img");
      if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(await r.blob());
      $("qr").classList.remove("hidden");
    } catch (e) {
      showError(e, () => showOutcome());
    }
  } else if (s.state === "review") {
    pollReview(s.id); // a clerk decides; the screen follows while it stays open
  }
  $("new-session").focus();
}

function pollReview(sid) {
  clearTimeout(S.pollTimer);
  S.pollTimer = setTimeout(async () => {
    if (document.body.dataset.screen !== "outcome" || !S.session || S.session.id !== sid) return;
    try {
      const fresh = await refresh();
      if (fresh.state !== "review") return route(fresh);
    } catch (_) {
      /* keep showing what we know and ask again */
    }
    pollReview(sid);
  }, 10000);
}

// ---- wiring ---------------------------------------------------------------------------------

function wire() {
  languageSwitch($("lang"));
  $("bridge-url").value = bridgeBase();
  $("settings-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("bridge-url").value.trim();
    try {
      const u = new URL(v);
      if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol)) throw new Error(u.protocol);
      localStorage.setItem(BRIDGE_KEY, v);
      status("settings.saved", { url: v });
    } catch (_) {
      status("settings.invalid");
    }
  });
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("key").value.trim();
    if (key) attempt(() => signIn(key));
  });
  $("signout").addEventListener("click", signOut);
  $("start-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    resetCitizen();
    attempt(() => startSession($("procedure").value));
  });
  $("chip-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    attempt(readCard);
  });
  $("can").addEventListener("input", () => {
    $("can").value = $("can").value.replace(/\D/g, "").slice(0, 6);
  });
  $("can-camera").addEventListener("click", () => attempt(openCanCamera));
  $("can-capture").addEventListener("click", () => attempt(captureCan));
  $("can-cam-close").addEventListener("click", () => {
    stopCameras();
    $("can-cam").classList.add("hidden");
  });
  $("start-liveness").addEventListener("click", () => attempt(runLiveness));
  $("doc-camera").addEventListener("click", () => attempt(openDocCamera));
  $("capture-original").addEventListener("click", () => attempt(() => capturePage("original")));
  $("capture-copy").addEventListener("click", () => attempt(() => capturePage("copy")));
  for (const kind of ["original", "copy"]) {
    $(`file-${kind}`).addEventListener("change", (ev) => {
      for (const f of ev.target.files) addPage(kind, f, f.name);
      ev.target.value = "";
      status("docs.added", { n: S.pages[kind].length });
    });
  }
  $("submit-documents").addEventListener("click", () => attempt(submitDocuments));
  $("new-session").addEventListener("click", () => {
    resetCitizen();
    S.session = null;
    show("start");
    status(null);
  });
  $("retry").addEventListener("click", () => {
    const fn = S.recover;
    if (fn) attempt(fn);
  });
  $("restart").addEventListener("click", () => {
    const fn = S.recover;
    hideError();
    if (fn) fn();
  });
  applyTexts();
  if (apiKey()) attempt(() => signIn(apiKey()));
  else show("signin");
}

wire();
