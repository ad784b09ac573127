"""The web player's page as a jinja2 template (:data:`PAGE`): its markup, style and
script, one self-contained file (see :mod:`~voiceguide.pack.player`, which fills it)."""

from __future__ import annotations

from typing import Final

HEAD: Final = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="voiceguide">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>{{ title }}</title>
<link rel="icon" href="{{ cover or 'data:,' }}">
"""
"""The start of the player's page and the overview's (language, viewport, policy, title,
icon)."""

PAGE: Final = HEAD + """<style>
:root { --bg:#1f3640; --ink:#f4f1ea; --dim:#b9c3c7; --accent:#e8b86b; --now:#3b5f6e;
  color-scheme: dark; }  /* the audio control's own icons light on the dark page */
@media (forced-colors: active) { :root { color-scheme: light dark; } }
* { box-sizing: border-box; }
body { margin:0; font:100%/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       background:linear-gradient(#26465a,#4b4366) fixed; color:var(--ink); }
header { padding:.8rem 1rem .2rem; display:flex; gap:.8rem; align-items:center; }
header img { width:56px; height:56px; border-radius:10px; }
h1 { font-size:1.25rem; margin:0; } header p { margin:.1rem 0 0; color:var(--dim); }
main { display:grid; gap:.8rem; padding:.8rem; grid-template-columns: minmax(0,1fr); }
/* the columns keep the document's order, which keyboard focus follows: no CSS order */
@media (min-width: 900px) { main { grid-template-columns: minmax(0,1fr) 300px 340px; } }
section { background:rgba(0,0,0,.18); border-radius:12px; padding:.8rem; }
h2, summary { font-size:1rem; margin:.2rem 0 .5rem; color:var(--accent); font-weight:600; }
summary { cursor:pointer; } summary h2 { display:inline; margin:0; }
ol { list-style:none; margin:0; padding:0; }
button.row { display:flex; justify-content:space-between; gap:.6rem; width:100%;
  text-align:left; background:none; border:0; color:var(--ink); padding:.4rem .6rem;
  border-radius:8px; font:inherit; cursor:pointer; }
button.row:hover { background:rgba(255,255,255,.08); }
/* focus and what plays now show by more than a background, which forced colours drop */
button.row:focus-visible, summary:focus-visible {
  outline:3px solid var(--accent); outline-offset:-3px; }
/* the button is the accent's colour: its ring is the ink's, outside it */
#resume:focus-visible { outline:3px solid var(--ink); outline-offset:2px; }
button.row.current, li.now button.row { background:var(--now); font-weight:700;
  box-shadow: inset 4px 0 0 var(--accent); }
.vh { position:absolute; width:1px; height:1px; overflow:hidden; clip-path:inset(50%);
  white-space:nowrap; }
.current .time, li.now .time { color:var(--ink); }
@media (forced-colors: active) {
  button.row.current, li.now button.row { outline:2px solid Highlight; outline-offset:-2px; }
  button.row:focus-visible { outline:3px solid CanvasText; } }
.time { color:var(--dim); font-variant-numeric:tabular-nums; white-space:nowrap; }
#now-title { font-size:1.1rem; margin:0 0 .4rem; color:var(--ink); font-weight:400; }
#resume { font:inherit; padding:.4rem 1rem; border-radius:999px; border:0; margin:.4rem 0;
  background:var(--accent); color:#222; cursor:pointer; }
audio { width:100%; } #cannot { margin:.3rem 0; color:var(--accent); } #cannot a { color:inherit; }
#transcript { max-height:50vh; overflow:auto; position:relative; }
#transcript button.row { justify-content:flex-start; padding:.3rem .6rem; overflow-wrap:anywhere; }
#transcript .time { min-width:3.5rem; }
footer { color:var(--dim); font-size:.85rem; padding:0 1rem 1rem; } footer a { color:inherit; }
</style>
</head>
<body>
<header>{% if cover %}<img src="{{ cover }}" alt="">{% endif %}
<div><h1>{{ title }}</h1>{% if subtitle %}<p>{{ subtitle }}</p>{% endif %}</div></header>
<main>
<section id="player-box" aria-labelledby="now-title">
  <h2 id="now-title" tabindex="-1"></h2>
  <audio id="audio" controls preload="metadata" aria-labelledby="now-title"></audio>
  <p id="cannot" role="alert" lang="{{ said }}" hidden></p>
  <p id="status" role="status" class="vh" lang="{{ said }}"></p>
  <button id="resume" type="button" lang="{{ said }}" hidden></button>
  <h2 id="h-chapters" lang="{{ said }}">{{ words.chapters }}</h2><ol id="chapters"></ol>
</section>
<section id="tracks-box" aria-labelledby="h-tracks">
  <h2 id="h-tracks" lang="{{ said }}">{{ words.tracks }}</h2><ol id="tracks"></ol></section>
<section id="transcript-box" aria-labelledby="h-transcript"><details id="transcript-fold">
  <summary><h2 id="h-transcript" lang="{{ said }}">{{ words.transcript }}</h2></summary>
  <ol id="transcript" aria-live="off"></ol></details></section>
</main>
<footer lang="{{ said }}">{% for label, href in links %}<a href="{{ href }}"
{%- if href.endswith(".zip") %} data-online{% endif %}>{{ label }}</a>
· {% endfor %}{{ words.footer }}</footer>
<script type="application/json" id="pack-data">{{ data }}</script>
<script>
"use strict";
const pack = JSON.parse(document.getElementById("pack-data").textContent);
const audio = document.getElementById("audio");
const resumeBtn = document.getElementById("resume");
let track = null, cueEls = [], chapterEls = [], nowCue = -1, nowChapter = -1, saved = 0;
// a track that began by itself after the one before ended, what was skipped on the way,
// and whether the status has said that this track plays
let advanced = false, skipped = [], announced = false;
// a phone has no hover: the transcript leaves a listener's own scrolling for 10 s
let scrolledAt = 0;
const scrolling = ["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"];
for (const type of ["wheel", "touchmove", "keydown"])
  document.getElementById("transcript").addEventListener(type, (e) => {
    if (type !== "keydown" || scrolling.includes(e.key)) scrolledAt = Date.now(); },
    { passive: true });
if (matchMedia("(min-width: 900px)").matches)
  document.getElementById("transcript-fold").open = true;
// in a folder unzipped from the zip, the zip's link leads nowhere
if (location.protocol === "file:")
  for (const a of document.querySelectorAll("footer a[data-online]")) {
    const after = a.nextSibling;  // its separator, and the footer's words if it was last
    after.textContent = after.textContent.replace(/^\\s*·\\s*/, "");
    a.remove();
  }

// whole seconds as players show them (cut, not rounded): a row says what the audio
// control says when it is there (7:03 for 423.6 s, where rounding said 7:04)
function fmt(s) { s = Math.max(0, Math.floor(s)); const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60, r = String(s % 60).padStart(2, "0");
  return h ? h + ":" + String(m).padStart(2, "0") + ":" + r : m + ":" + r; }
function el(tag, cls, text) { const e = document.createElement(tag);
  if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
// what plays now is told to screen readers too, not only shown by colour
function mark(e, on) { if (on) e.setAttribute("aria-current", "true");
  else e.removeAttribute("aria-current"); }
// "1:30" is read out as a clock time: where the browser can say a duration in the
// page's language, a row's name says "1 minute, 30 seconds" instead
function spoken(s, lang) {
  if (typeof Intl.DurationFormat !== "function") return null;
  s = Math.max(0, Math.floor(s));
  try { return new Intl.DurationFormat(lang || undefined, { style: "long",
      secondsDisplay: s ? "auto" : "always" }).format({ hours: Math.floor(s / 3600),
      minutes: Math.floor(s / 60) % 60, seconds: s % 60 }); }
  catch (e) { return null; }
}
// the shown time stays in the name where the browser cannot say it as a duration; the
// name starts with the control's words (WCAG 2.5.3, label in name) and is given whole
// (made from spans, a visually hidden one, Chromium put a space before the comma)
function named(b, words, seconds, lang, sep) { const said = spoken(seconds, lang);
  if (said) b.setAttribute("aria-label", words + sep + said); else b.removeAttribute("aria-label");
  return b; }
function row(label, seconds, lang) { const b = el("button", "row"); b.type = "button";
  b.append(el("span", "", label), el("span", "time", fmt(seconds)));
  if (lang) b.lang = lang;  // a German track's title is read by a German voice
  return named(b, label, seconds, lang, ", "); }
function status(...parts) { document.getElementById("status").replaceChildren(...parts); }
// a control that hides itself hands focus on (to <body> it would be lost)
function hideResume() { if (document.activeElement === resumeBtn) audio.focus();
  resumeBtn.hidden = true; }
function seek(t) { audio.currentTime = Math.max(0, t); update(); audio.play().catch(() => {}); }
function indexAt(list, t) { let lo = 0, hi = list.length - 1, ans = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1;
    if (list[mid].start <= t + 1e-3) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
  return ans; }
// one place to resume, whether the page was opened as "maya/" or "maya/index.html"
function key() {
  return "voiceguide:" + location.pathname.replace(/index\\.html$/, "") + ":" + track.file;
}
function remember(force) {
  if (!track) return;
  const t = audio.currentTime;
  try {
    if (audio.ended || t > track.duration - 5) localStorage.removeItem(key());
    else if (t > 5 && (force || Math.abs(t - saved) >= 2)) {
      localStorage.setItem(key(), String(Math.floor(t))); saved = t; }
  } catch (e) { /* storage off: nothing to remember */ }
}
function chapterStep(d) {
  const t = audio.currentTime, k = indexAt(track.chapters, t);
  let to = d > 0 ? k + 1 : (k >= 0 && t - track.chapters[k].start > 3 ? k : k - 1);
  if (to >= track.chapters.length) return;
  seek(to >= 0 ? track.chapters[to].start : 0);
}
function session() {
  if (!("mediaSession" in navigator)) return;
  // lock-screen artwork only over http(s): from the file system the browser refuses it
  const web = location.protocol === "http:" || location.protocol === "https:";
  const art = pack.cover && web ? [{ src: new URL(pack.cover, location.href).href,
                                     sizes: "1400x1400", type: "image/png" }] : [];
  navigator.mediaSession.metadata = new MediaMetadata({ title: track.title,
    artist: pack.author, album: pack.title, artwork: art });
  const handlers = { play: () => audio.play(), pause: () => audio.pause(),
    seekbackward: (d) => seek(audio.currentTime - (d.seekOffset || 10)),
    seekforward: (d) => seek(audio.currentTime + (d.seekOffset || 10)),
    seekto: (d) => { audio.currentTime = d.seekTime; update(); },
    previoustrack: () => chapterStep(-1), nexttrack: () => chapterStep(1) };
  for (const [name, f] of Object.entries(handlers)) {
    try { navigator.mediaSession.setActionHandler(name, f); } catch (e) { /* unsupported */ } }
}

// a browser that cannot play the format (Ogg Opus in Safari before 18.4) shows a silent
// player: say so where the play button is, and what to do instead; a format it plays
// (an MP3 plays in every browser) that fails did not arrive (a 404 is the error of a
// format it cannot decode in Chromium)
function cannot(on, unplayable) { const p = document.getElementById("cannot"); p.hidden = !on;
  if (!on) return; const kind = track.file.split(".").pop().toUpperCase();
  const link = el("a", "", pack.words.download); link.href = track.file; link.download = "";
  const said = (kind === "MP3" || !unplayable ? pack.words.not_loaded : pack.words.cannot)
    .replace("{kind}", kind).split("{link}");
  // the track is named: one that failed after the last ended is not the one on screen
  const name = el("span", "", track.title + ": "); if (track.lang) name.lang = track.lang;
  p.replaceChildren(name, said[0], link, said[1] || ""); }
function load(i, autoplay, next = false) {
  if (track) remember(true);
  advanced = next; if (!next) skipped = [];
  announced = false;  // a track loaded is said as it plays, even the one said before
  // focus in the lists this replaces would fall to <body>: it goes to the new title
  const refocus = ["chapters", "transcript"].some((id) =>
    document.getElementById(id).contains(document.activeElement));
  track = pack.tracks[i];
  document.querySelectorAll("#tracks button").forEach((b, j) => {
    b.classList.toggle("current", j === i); mark(b, j === i); });
  document.getElementById("now-title").textContent = track.title;
  // each track's words in their own language (a pack may mix them)
  for (const id of ["now-title", "chapters", "transcript"])
    document.getElementById(id).lang = track.lang || document.documentElement.lang;
  audio.src = track.file; cannot(!audio.canPlayType(track.type || ""), true);
  const chapters = document.getElementById("chapters"); chapters.replaceChildren();
  chapterEls = track.chapters.map((c) => { const b = row(c.title, c.start, track.lang);
    b.dataset.start = c.start; b.addEventListener("click", () => seek(c.start));
    const li = el("li"); li.append(b); chapters.append(li); return b; });
  document.getElementById("h-chapters").hidden = !track.chapters.length;
  const list = document.getElementById("transcript"); list.replaceChildren();
  cueEls = track.cues.map((c) => { const li = el("li");
    // a line plays from where it is said: a button in a list item, so the list stays a list
    const b = el("button", "row"); b.type = "button";
    b.append(el("span", "time", fmt(c.start)), el("span", "", c.text));
    named(b, c.text, c.start, track.lang, ", ");
    li.dataset.start = c.start; b.addEventListener("click", () => seek(c.start));
    li.append(b); list.append(li); return li; });
  document.getElementById("transcript-box").hidden = !track.cues.length;
  nowCue = nowChapter = -1; saved = 0;
  let at = 0;
  try { at = parseInt(localStorage.getItem(key()) || "0", 10) || 0; } catch (e) { at = 0; }
  resumeBtn.hidden = !(at > 5 && at < track.duration - 5);
  // "Resume at 1:23" shown, "Resume at 1 minute, 23 seconds" said (not a clock time)
  resumeBtn.dataset.at = at;
  resumeBtn.replaceChildren(pack.words.resume + " ", el("span", "time", fmt(at)));
  named(resumeBtn, pack.words.resume, at, document.documentElement.lang, " ");
  session(); update();
  if (refocus) document.getElementById("now-title").focus();
  if (location.hash !== "#" + (i + 1)) history.replaceState(null, "", "#" + (i + 1));
  if (autoplay) audio.play().catch(() => {});
}

// keep the lit line in sight by scrolling the transcript box alone (never the page), and
// not while the listener is in the transcript, reading or choosing a line (the pointer
// over it, or keyboard focus in it; a line clicked keeps focus but not focus-visible)
function follow(li) {
  const list = document.getElementById("transcript");
  if (!document.getElementById("transcript-fold").open || list.matches(":hover")
      || list.querySelector(":focus-visible") || Date.now() - scrolledAt < 10000) return;
  const top = li.offsetTop, bottom = top + li.offsetHeight;
  if (top >= list.scrollTop && bottom <= list.scrollTop + list.clientHeight) return;
  list.scrollTop = Math.max(0, top - list.clientHeight / 3);
}

function update() {
  if (!track) return;
  const t = audio.currentTime;
  const c = indexAt(track.cues, t);  // the last cue stays lit through the pause after it
  if (c !== nowCue) { if (nowCue >= 0) { cueEls[nowCue].classList.remove("now");
      mark(cueEls[nowCue], false); }
    nowCue = c; if (c >= 0) { cueEls[c].classList.add("now"); mark(cueEls[c], true);
      follow(cueEls[c]); } }
  const k = indexAt(track.chapters, t);
  if (k !== nowChapter) { if (nowChapter >= 0) { chapterEls[nowChapter].classList.remove("current");
      mark(chapterEls[nowChapter], false); }
    nowChapter = k; if (k >= 0) { chapterEls[k].classList.add("current");
      mark(chapterEls[k], true); } }
  if ("mediaSession" in navigator && navigator.mediaSession.setPositionState
      && isFinite(audio.duration) && audio.duration > 0) {
    try { navigator.mediaSession.setPositionState({ duration: audio.duration,
      playbackRate: audio.playbackRate, position: Math.min(t, audio.duration) });
    } catch (e) { /* a browser that wants other numbers */ } }
}

const tracks = document.getElementById("tracks");
pack.tracks.forEach((t, i) => { const b = row(t.title, t.duration, t.lang);
  // the track playing: play or pause it, not start it over (Space on a focused button)
  b.dataset.index = i; b.addEventListener("click", () => {
    if (track === pack.tracks[i] && audio.currentSrc && !audio.error) {
      if (audio.paused) audio.play().catch(() => {}); else audio.pause(); }
    else load(i, true); });
  const li = el("li"); li.append(b); tracks.append(li); });
resumeBtn.addEventListener("click", () => { hideResume();
  seek(parseFloat(resumeBtn.dataset.at)); });
// what plays is said to a screen reader as it starts or stops (a track that follows the
// last one changed the title in silence): once it plays ("play" comes before a track
// that cannot load fails, "pause" after it), with what was skipped on the way, each
// title in its own language
function titled(t) { const s = el("span", "", t.title); if (t.lang) s.lang = t.lang; return s; }
function skippedNote() { return skipped.flatMap((t) => {
  const [a, b] = pack.words.skipped.split("{title}"); return [a, titled(t), (b || "") + " "]; }); }
audio.addEventListener("play", hideResume);
audio.addEventListener("playing", () => { if (announced) return;  // again after a seek
  announced = true; status(...skippedNote(), pack.words.playing + ": ", titled(track));
  skipped = []; });
audio.addEventListener("pause", () => { if (audio.ended || audio.error) return;
  announced = false; status(pack.words.paused); });
audio.addEventListener("timeupdate", () => { update(); remember(false); });
audio.addEventListener("pause", () => remember(true));
audio.addEventListener("seeked", update);
// 3 and 4: not decoded (4 is also Chromium's answer to a 404): the format's fault only
// where the browser says it cannot play it
// a listener whose eyes are closed hears nothing of the note: a track that fails after
// the one before ended by itself is skipped (said in the status) where the server says
// it is not there; one chosen is not, nor any where the connection is lost (Chromium's
// code 4 for both: every track left was skipped in a moment, and a reload began at the
// last), nor one from a page opened as a file (no server to ask)
function failed() { if (skipped.length) status(...skippedNote()); skipped = [];
  cannot(true, !audio.canPlayType(track.type || "")); }
audio.addEventListener("error", () => { if (!audio.error || audio.error.code < 3) return;
  const i = pack.tracks.indexOf(track), gone = track;
  if (!advanced || i + 1 >= pack.tracks.length || !/^https?:$/.test(location.protocol)) {
    failed(); return; }
  fetch(gone.file, { method: "HEAD", cache: "no-store" }).then((r) => {
    if (track !== gone) return;
    if (r.status === 404 || r.status === 410) { skipped.push(gone); load(i + 1, true, true); }
    else failed(); }, () => { if (track === gone) failed(); }); });
audio.addEventListener("loadedmetadata", () => cannot(false));
audio.addEventListener("ended", () => { remember(true); const i = pack.tracks.indexOf(track);
  if (i + 1 < pack.tracks.length) load(i + 1, true, true); });
addEventListener("pagehide", () => remember(true));
document.addEventListener("keydown", (e) => {
  if (e.code === "Space" && e.target === document.body) { e.preventDefault();
    if (audio.paused) audio.play().catch(() => {}); else audio.pause(); }
});
(function tick() { if (!audio.paused) update(); requestAnimationFrame(tick); })();
const start = parseInt(location.hash.slice(1), 10);
if (pack.tracks.length)
  load(start >= 1 && start <= pack.tracks.length ? start - 1 : 0, false);
</script>
</body>
</html>
"""
