"""``index.html``: a self-contained web player for a pack (no CDN, no fetch: the track
data is embedded, so it works from the file system and from a server alike)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Final

from voiceguide.export.sidecars import cue_label
from voiceguide.io.atomic import write_text
from voiceguide.pack.model import Pack

PAGE: Final = """<!doctype html>
<html lang="__LANG__">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="voiceguide">
<title>__TITLE__</title>
<link rel="icon" href="cover.png">
<style>
:root { --bg:#1f3640; --panel:#27434f; --ink:#f4f1ea; --dim:#b9c3c7; --accent:#e8b86b;
        --now:#3b5f6e; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       background:linear-gradient(#26465a,#4b4366) fixed; color:var(--ink); }
header { padding:1.2rem 1.2rem .4rem; display:flex; gap:1rem; align-items:center; }
header img { width:72px; height:72px; border-radius:10px; }
h1 { font-size:1.4rem; margin:0; } header p { margin:.2rem 0 0; color:var(--dim); }
main { display:grid; gap:1rem; padding:1rem; grid-template-columns: minmax(0,1fr); }
@media (min-width: 900px) { main { grid-template-columns: 320px minmax(0,1fr) 320px; } }
section { background:rgba(0,0,0,.18); border-radius:12px; padding:.8rem; }
h2 { font-size:1rem; margin:.2rem 0 .6rem; color:var(--accent); font-weight:600; }
ol, ul { list-style:none; margin:0; padding:0; }
button.row { display:flex; justify-content:space-between; gap:.6rem; width:100%;
  text-align:left; background:none; border:0; color:var(--ink); padding:.45rem .6rem;
  border-radius:8px; font:inherit; cursor:pointer; }
button.row:hover, button.row:focus-visible { background:rgba(255,255,255,.08); outline:none; }
button.row.current, li.now { background:var(--now); }
.time { color:var(--dim); font-variant-numeric:tabular-nums; white-space:nowrap; }
#now-title { font-size:1.15rem; margin:0 0 .6rem; }
#controls { display:flex; gap:.8rem; align-items:center; margin-bottom:.6rem; }
#play { font:inherit; font-size:1.1rem; padding:.5rem 1.4rem; border-radius:999px; border:0;
  background:var(--accent); color:#222; cursor:pointer; min-width:7rem; }
audio { width:100%; }
#transcript { max-height:50vh; overflow:auto; }
#transcript li { padding:.3rem .6rem; border-radius:8px; cursor:pointer; display:flex; gap:.6rem; }
#transcript li .time { min-width:3.5rem; }
footer { color:var(--dim); font-size:.85rem; padding:0 1.2rem 1.2rem; }
</style>
</head>
<body>
<header><img src="cover.png" alt=""><div><h1>__TITLE__</h1><p>__SUBTITLE__</p></div></header>
<main>
<section aria-labelledby="h-tracks"><h2 id="h-tracks">Tracks</h2><ol id="tracks"></ol></section>
<section aria-labelledby="now-title">
  <p id="now-title"></p>
  <div id="controls"><button id="play" type="button">Play</button>
    <span id="clock" class="time">0:00</span></div>
  <audio id="audio" controls preload="metadata"></audio>
  <h2>Transcript</h2><ol id="transcript" aria-live="off"></ol>
</section>
<section aria-labelledby="h-chapters"><h2 id="h-chapters">Chapters</h2>
  <ol id="chapters"></ol></section>
</main>
<footer>Made with voiceguide. Close your eyes and follow the voice; stop if anything hurts.</footer>
<script type="application/json" id="pack-data">__DATA__</script>
<script>
"use strict";
const pack = JSON.parse(document.getElementById("pack-data").textContent);
const audio = document.getElementById("audio");
const playBtn = document.getElementById("play");
const clock = document.getElementById("clock");
let track = null, cueEls = [], chapterEls = [], nowCue = -1, nowChapter = -1;

function fmt(s) { s = Math.max(0, Math.floor(s)); const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60, r = String(s % 60).padStart(2, "0");
  return h ? h + ":" + String(m).padStart(2, "0") + ":" + r : m + ":" + r; }
function el(tag, cls, text) { const e = document.createElement(tag);
  if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function row(label, time) { const b = el("button", "row"); b.type = "button";
  b.append(el("span", "", label), el("span", "time", time)); return b; }
function seek(t) { audio.currentTime = t; update(); audio.play().catch(() => {}); }
function indexAt(list, t) { let lo = 0, hi = list.length - 1, ans = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1;
    if (list[mid].start <= t + 1e-3) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
  return ans; }

function load(i, autoplay) {
  track = pack.tracks[i];
  document.querySelectorAll("#tracks button").forEach((b, j) =>
    b.classList.toggle("current", j === i));
  document.getElementById("now-title").textContent = track.title;
  audio.src = track.file;
  const chapters = document.getElementById("chapters"); chapters.replaceChildren();
  chapterEls = track.chapters.map((c) => { const b = row(c.title, fmt(c.start));
    b.dataset.start = c.start; b.addEventListener("click", () => seek(c.start));
    const li = el("li"); li.append(b); chapters.append(li); return b; });
  const list = document.getElementById("transcript"); list.replaceChildren();
  cueEls = track.cues.map((c) => { const li = el("li");
    li.dataset.start = c.start; li.append(el("span", "time", fmt(c.start)), el("span", "", c.text));
    li.addEventListener("click", () => seek(c.start)); list.append(li); return li; });
  nowCue = nowChapter = -1; update();
  if (location.hash !== "#" + (i + 1)) history.replaceState(null, "", "#" + (i + 1));
  if (autoplay) audio.play().catch(() => {});
}

function update() {
  if (!track) return;
  const t = audio.currentTime;
  clock.textContent = fmt(t) + " / " + fmt(track.duration);
  const c = indexAt(track.cues, t);  // the last cue stays lit through the pause after it
  if (c !== nowCue) { if (nowCue >= 0) cueEls[nowCue].classList.remove("now");
    nowCue = c; if (c >= 0) { cueEls[c].classList.add("now");
      cueEls[c].scrollIntoView({ block: "nearest" }); } }
  const k = indexAt(track.chapters, t);
  if (k !== nowChapter) { if (nowChapter >= 0) chapterEls[nowChapter].classList.remove("current");
    nowChapter = k; if (k >= 0) chapterEls[k].classList.add("current"); }
}

const tracks = document.getElementById("tracks");
pack.tracks.forEach((t, i) => { const b = row(t.title, fmt(Math.round(t.duration)));
  b.dataset.index = i; b.addEventListener("click", () => load(i, true));
  const li = el("li"); li.append(b); tracks.append(li); });
playBtn.addEventListener("click", () => audio.paused ? audio.play() : audio.pause());
audio.addEventListener("play", () => playBtn.textContent = "Pause");
audio.addEventListener("pause", () => playBtn.textContent = "Play");
audio.addEventListener("timeupdate", update);
audio.addEventListener("seeked", update);
audio.addEventListener("ended", () => { const i = pack.tracks.indexOf(track);
  if (i + 1 < pack.tracks.length) load(i + 1, true); });
document.addEventListener("keydown", (e) => {
  if (e.code === "Space" && e.target === document.body) { e.preventDefault(); playBtn.click(); }
});
(function tick() { if (!audio.paused) update(); requestAnimationFrame(tick); })();
const start = parseInt(location.hash.slice(1), 10);
load(start >= 1 && start <= pack.tracks.length ? start - 1 : 0, false);
</script>
</body>
</html>
"""


def transcript(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """Cue lines for the player: start, end, text."""
    return [
        {"start": c["start"], "end": c["end"], "text": cue_label(c["kind"], c["text"])}
        for c in sheet["cues"]
        if c["end"] > c["start"]
    ]


def page_data(pack: Pack, entries: list[dict[str, Any]], sheets: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """The JSON the player embeds."""
    return {
        "title": pack.title,
        "tracks": [
            {
                "file": e["file"],
                "title": e["title"],
                "duration": e["duration"],
                "chapters": [{"start": c["start"], "title": c["title"]}
                             for c in sheet["chapters"]],
                "cues": transcript(sheet),
            }
            for e, sheet in zip(entries, sheets, strict=True)
        ],
    }


def write_player(pack: Pack, out: Path, entries: list[dict[str, Any]],
                 sheets: list[dict[str, Any]]) -> Path:
    """Write ``index.html`` into the pack folder ``out``."""
    m = pack
    data = json.dumps(page_data(pack, entries, sheets), ensure_ascii=False,
                      separators=(",", ":"))
    data = data.replace("</", "<\\/").replace("<!--", "<\\!--")
    subtitle = m.author + (" · " + m.description.strip() if m.description.strip() else "")
    text = (PAGE.replace("__LANG__", html.escape(m.language))
            .replace("__TITLE__", html.escape(m.title))
            .replace("__SUBTITLE__", html.escape(subtitle))
            .replace("__DATA__", data))
    path = out / "index.html"
    write_text(path, text)
    return path
