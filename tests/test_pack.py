"""Packs (issue 6): a 12-track pack with two workers and the real engine, each phrase
synthesised once, unchanged tracks skipped, resumable, reproducible; playlist, podcast
feed, zip, profile and init, and ``serve`` with byte ranges."""

from __future__ import annotations

import json
import re
import shutil
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.conftest import ASSETS, decode, run_cli
from voiceguide import PhraseCache, build_pack, load_pack
from voiceguide.pack.published import PUBLISHED

PACK = ASSETS / "pack"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.mp3")}


def counts(out: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) built(?: \([^)]*\))?, (\d+) unchanged.*phrases: (\d+) synthesised",
                  out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@pytest.fixture(scope="module")
def packdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The test pack (copied, so tests may edit a routine) built once with two workers."""
    root = tmp_path_factory.mktemp("pack")
    src = root / "src"
    shutil.copytree(PACK, src)
    cache = root / "cache"
    mp = pytest.MonkeyPatch()
    mp.setenv("VOICEGUIDE_CACHE_DIR", str(cache))
    out = root / "out"
    result = build_pack(load_pack(src / "pack.yaml", out), jobs=2, make_zip=True,
                        base_url="https://example.org/hips")
    assert len(result.built) == 12
    yield {"src": src, "out": out, "cache": cache, "synthesized": result.synthesized}
    mp.undo()
    mp.undo()


def test_twelve_tracks_each_phrase_synthesised_once(
    packdir: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(packdir["cache"]))
    out = packdir["out"]
    manifest = json.loads((out / "pack.json").read_text())
    assert len(manifest["tracks"]) == 12
    assert len(list(out.glob("*.mp3"))) == 12
    # the names follow the template and are safe
    assert sorted(p.name for p in out.glob("*.mp3"))[0] == "01-reach-Ana-1min.mp3"
    for t in manifest["tracks"]:
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.mp3", t["file"])
        target = t["minutes"] * 60
        assert abs(t["duration"] - target) <= 2.0, t
        assert t["bytes"] == (out / t["file"]).stat().st_size
    # every distinct phrase was synthesised exactly once across both workers: the number
    # of entries the pack put in the (empty) cache equals the number synthesised
    entries = PhraseCache(packdir["cache"]).info().entries
    assert packdir["synthesized"] == entries
    spoken = {(c["text"], c.get("speed", 1.0))
              for t in manifest["tracks"]
              for c in json.loads((out / t["sidecars"][0]).read_text())["cues"]
              if c["kind"] == "speech"}
    assert entries >= len(spoken) > 10
    assert "synthesized" not in (out / "pack.json").read_text()  # no run statistics
    again = out.parent / "again"
    code, stdout, _ = run(["pack", str(packdir["src"] / "pack.yaml"), "--out", str(again),
                           "--jobs", "2", "--base-url", "https://example.org/hips", "--zip"],
                          capsys)
    assert code == 0
    built, _, synthesised = counts(stdout)
    assert built == 12 and synthesised == 0  # a second pack on a warm cache speaks nothing
    # two clean builds give identical bytes, the pack files included (not the stamp of
    # what each run published; the zips hold the same files, under each folder's name)
    names = sorted(p.name for p in out.iterdir() if p.suffix != ".zip" and p.name != PUBLISHED)
    assert names == sorted(p.name for p in again.iterdir()
                           if p.suffix != ".zip" and p.name != PUBLISHED)
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    zips = []
    for folder in (out, again):
        with zipfile.ZipFile(next(folder.glob("*.zip"))) as z:
            zips.append({n.split("/", 1)[1]: z.read(n) for n in z.namelist()})
    assert zips[0] == zips[1] and "index.html" in zips[0]


def test_first_run_synthesised_exactly_the_cache(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # a smaller pack on an empty cache: synthesised == new cache entries, with 2 workers
    # building tracks that share most phrases
    pack = tmp_path / "pack.yaml"
    for name in ("reach.yaml", "sway.yaml"):
        shutil.copy(PACK / name, tmp_path)  # beside the pack
    pack.write_text("title: Two\nmatrix:\n  routines: [reach, sway]\n  names: [Ana, Ben]\n")
    code, stdout, err = run(["pack", str(pack), "--out", str(tmp_path / "o"), "--jobs", "2"],
                            capsys)
    assert code == 0, err
    built, _, synthesised = counts(stdout)
    assert built == 4
    assert synthesised == PhraseCache().info().entries > 10


def test_rerun_rebuilds_nothing_then_only_what_changed(
    packdir: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(packdir["cache"]))
    out, src = packdir["out"], packdir["src"]
    before = mtimes(out)
    code, stdout, _ = run(["pack", str(src / "pack.yaml"), "--out", str(out), "--jobs", "2",
                           "--base-url", "https://example.org/hips", "--zip"], capsys)
    assert code == 0
    assert counts(stdout)[:2] == (0, 12)
    assert mtimes(out) == before
    # delete one track: only it is rebuilt, byte-identical to before
    victim = out / "03-reach-Ben-1min.mp3"
    old = victim.read_bytes()
    victim.unlink()
    code, stdout, _ = run(["pack", str(src / "pack.yaml"), "--out", str(out),
                           "--base-url", "https://example.org/hips", "--zip"], capsys)
    assert counts(stdout)[:2] == (1, 11)
    assert "1 built (03-reach-Ben-1min), 11 unchanged" in stdout  # which, by name
    assert victim.read_bytes() == old
    after = mtimes(out)
    assert {k for k in after if after[k] != before[k]} == {victim.name}
    # change one routine: only its four tracks are rebuilt
    routine = src / "sway.yaml"
    routine.write_text(routine.read_text().replace("Rest. That is all.", "Rest now."))
    before = mtimes(out)
    code, stdout, _ = run(["pack", str(src / "pack.yaml"), "--out", str(out), "--jobs", "2",
                           "--base-url", "https://example.org/hips", "--zip"], capsys)
    assert counts(stdout)[:2] == (4, 8)
    after = mtimes(out)
    assert {k for k in after if after[k] != before[k]} == {
        p for p in after if "-sway-" in p}


def test_feed_playlist_and_zip(packdir: dict[str, Any]) -> None:
    out = packdir["out"]
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Test pack"
    # where the feed lives (feed validators warn without it)
    assert {"rel": "self", "type": "application/rss+xml",
            "href": "https://example.org/hips/feed.xml"} in feed.feed.links
    assert len(feed.entries) == 12
    for entry in feed.entries:
        (enc,) = entry.enclosures
        assert enc.href.startswith("https://example.org/hips/")
        local = out / enc.href.rsplit("/", 1)[1]
        assert int(enc.length) == local.stat().st_size
        assert enc.type == "audio/mpeg"
        assert re.fullmatch(r"0:0[01]:\d\d", entry.itunes_duration)
    playlist = (out / "playlist.m3u8").read_text().splitlines()
    assert playlist[0] == "#EXTM3U"
    paths = [line for line in playlist if line and not line.startswith("#")]
    assert len(paths) == 12 and all((out / p).is_file() for p in paths)
    infos = [line for line in playlist if line.startswith("#EXTINF:")]
    assert all(re.fullmatch(r"#EXTINF:\d+,Tests - .+ for (Ana|Ben) · [\d.]+ min", i)
               for i in infos), infos
    # a listener's two lengths of one routine are told apart by their titles
    assert len({i.split(",", 1)[1] for i in infos}) == 12, infos
    chapters = json.loads((out / "01-reach-Ana-1min.chapters.json").read_text())
    sheet = json.loads((out / "01-reach-Ana-1min.cues.json").read_text())
    assert chapters["chapters"] == [{"startTime": c["start"], "title": c["title"]}
                                    for c in sheet["chapters"]]
    with zipfile.ZipFile(out / "Test-pack.zip") as z:
        names = {Path(n).name for n in z.namelist()}
        assert {"index.html", "feed.xml", "playlist.m3u8", "pack.json"} <= names
        assert {p for p in paths} <= names
        assert z.read(f"out/{paths[0]}") == (out / paths[0]).read_bytes()


def test_serve_answers_ranges(packdir: dict[str, Any]) -> None:
    from voiceguide import make_server

    out = packdir["out"]
    server = make_server(out, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        track = sorted(out.glob("*.mp3"))[0]
        data = track.read_bytes()
        url = f"http://127.0.0.1:{port}/{track.name}"
        req = urllib.request.Request(url, headers={"Range": "bytes=1000-1999"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206
            assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
            assert r.headers["Content-Type"] == "audio/mpeg"
            assert r.read() == data[1000:2000]
        req = urllib.request.Request(url, headers={"Range": "bytes=-500"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and r.read() == data[-500:]
        with urllib.request.urlopen(url) as r:
            assert r.status == 200 and r.headers["Accept-Ranges"] == "bytes"
            assert r.read() == data
        req = urllib.request.Request(url, headers={"Range": f"bytes={len(data) + 10}-"})
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 416
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            assert b"<audio" in r.read()
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/../../etc/passwd")
        assert exc.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_profile_from_init_is_used_and_options_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "me.yaml"
    code, _, _ = run(["init", str(profile), "--name", "Zoë"], capsys)
    assert code == 0 and profile.is_file()
    assert run(["init", str(profile)], capsys)[0] == 2  # usage error: never overwrites
    # the new profile sets only the name: its other lines wait, commented out
    text = profile.read_text().replace("# format: mp3", "format: wav").replace(
        "# bed: rain", "bed: none").replace("# rate: 140", "rate: 150")
    profile.write_text(text)
    routine = PACK / "reach.yaml"
    code, _, err = run(["build", str(routine), "--engine", "test", "--profile",
                             str(profile), "--out", str(tmp_path)], capsys)
    assert code == 0, err
    sheet = json.loads((tmp_path / "reach-Zoe.cues.json").read_text())  # name from profile
    assert (tmp_path / "reach-Zoe.wav").is_file()
    assert sheet["title"] == "Reach for Zoë" and sheet["rate"] == 150
    code, _, err = run(["build", str(routine), "--engine", "test", "--profile", str(profile),
                        "--out", str(tmp_path), "--name", "Kim", "--format", "mp3",
                        "--rate", "170"], capsys)
    assert code == 0, err
    sheet = json.loads((tmp_path / "reach-Kim.cues.json").read_text())
    assert sheet["title"] == "Reach for Kim" and sheet["rate"] == 170
    assert decode(tmp_path / "reach-Kim.mp3").size > 0


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_web_player_in_headless_chromium(packdir: dict[str, Any], tmp_path: Path) -> None:
    """index.html served by `voiceguide serve`: it plays, a chapter click seeks there and
    the transcript highlight follows."""
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from voiceguide import make_server

    out = packdir["out"]
    server = make_server(out, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shot = tmp_path / "web-player.png"  # the test's own folder, not the user's output/
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_path,
                args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            assert page.locator("#tracks button").count() == 12
            # the page's policy runs its own script alone: one put in (were a title ever
            # to become markup) does not run, and audio from another origin is not loaded
            blocked = page.evaluate("""() => new Promise(done => {
                const seen = [];
                document.addEventListener('securitypolicyviolation',
                                          e => seen.push(e.violatedDirective));
                const s = document.createElement('script');
                s.textContent = 'window.injected = 1';
                document.body.append(s);
                const a = new Audio('http://127.0.0.2:9/evil.mp3');
                setTimeout(() => done([window.injected === undefined, seen]), 500);
            })""")
            assert blocked[0] and {"script-src-elem", "media-src"} <= set(blocked[1]), blocked
            # on a wide screen the boxes stand left to right in the order Tab visits them
            lefts = page.evaluate("() => [...document.querySelectorAll('main > section')]"
                                  ".map(s => s.getBoundingClientRect().left)")
            assert len(lefts) == 3 and lefts == sorted(lefts), lefts
            page.locator("#tracks button").nth(5).click()  # sway for Ana, 1.5 minutes
            page.wait_for_function("() => document.getElementById('audio').currentTime > 0.5",
                                   timeout=20000)
            sheet = json.loads((out / "06-sway-Ana-1.5min.cues.json").read_text())
            assert page.locator("#now-title").inner_text() == sheet["title"]
            chapters = page.locator("#chapters button")
            assert chapters.count() == len(sheet["chapters"]) >= 3
            target = sheet["chapters"][-1]
            chapters.nth(len(sheet["chapters"]) - 1).click()
            page.wait_for_function(
                f"() => Math.abs(document.getElementById('audio').currentTime - {target['start']})"
                " < 1.0", timeout=10000)
            now = page.evaluate("() => document.getElementById('audio').currentTime")
            assert target["start"] - 0.05 <= now <= target["start"] + 1.0
            page.wait_for_timeout(300)
            now = page.evaluate("() => document.getElementById('audio').currentTime")
            lit = page.locator("#transcript li.now")
            assert lit.count() == 1
            lit_start = float(lit.get_attribute("data-start") or "nan")
            cues = [c for c in sheet["cues"] if c["end"] > c["start"]]
            expected = max(c["start"] for c in cues if c["start"] <= now + 0.3)
            assert abs(lit_start - expected) < 1e-3 or lit_start <= now
            assert lit_start >= target["start"] - 0.05  # the highlight followed the jump
            assert page.locator("#chapters button.current").inner_text().startswith(
                target["title"])
            # what plays now is told to a screen reader, not only shown by colour
            assert page.locator("#chapters [aria-current=true]").inner_text().startswith(
                target["title"])
            assert page.locator("#tracks [aria-current=true]").count() == 1
            # durations are named as durations, not read out as clock times ("1:30")
            if page.evaluate("() => typeof Intl.DurationFormat === 'function'"):
                m, sec = divmod(int(sheet["duration"]), 60)  # whole seconds, as shown
                said = [f"{m} minute{'' if m == 1 else 's'}"] * bool(m) + \
                    [f"{sec} second{'' if sec == 1 else 's'}"] * bool(sec)
                # the name starts with the words shown (WCAG 2.5.3), no space before
                # its comma (made from the row's spans, Chromium put one there)
                name = ", ".join([sheet["title"], *said])
                assert page.locator("#tracks").get_by_role("button", name=re.compile(
                    "^" + re.escape(name) + "$")).count() == 1, name
            # a row's length is what the audio control says (whole seconds, cut), not a
            # second more where the track ends past the half
            shown = page.locator("#tracks [aria-current=true] .time").inner_text()
            length = int(page.evaluate("() => document.getElementById('audio').duration"))
            assert shown == f"{length // 60}:{length % 60:02d}", (shown, length)
            listed = [int(t["duration"]) for t in
                      json.loads((out / "pack.json").read_text())["tracks"]]
            assert page.locator("#tracks .time").all_inner_texts() == [
                f"{s // 60}:{s % 60:02d}" for s in listed]
            assert page.locator("#transcript [aria-current=true]").count() == 1
            assert page.evaluate("() => document.getElementById('audio')"
                                 ".getAttribute('aria-labelledby')") == "now-title"
            # a transcript line plays from where it is said, by keyboard too
            line = page.locator("#transcript li").nth(1)
            said = float(line.get_attribute("data-start") or "nan")
            assert said < target["start"] - 2  # a line well before where it plays now
            line.locator("button").focus()
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => Math.abs(document.getElementById('audio').currentTime - {said})"
                " < 1.0", timeout=10000)
            # Enter or Space on the track that plays pauses it where it is: it does not
            # start over (a listener with eyes closed would lose their place)
            page.wait_for_timeout(500)
            current = page.locator("#tracks [aria-current=true]")
            current.focus()
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.getElementById('audio').paused",
                                   timeout=5000)
            assert page.evaluate("() => document.getElementById('audio').currentTime") > said
            # keyboard focus shows as an outline, which forced colours (Windows High
            # Contrast) keep, where a background alone disappears
            page.emulate_media(forced_colors="active")
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Tab")
            ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                 " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
            assert ring[0] != "none" and ring[1] >= 2, ring
            page.emulate_media(forced_colors="none")
            # on a phone, the lit line is kept in sight inside the transcript box: the
            # page itself does not jump while the listener uses the player
            page.set_viewport_size({"width": 390, "height": 844})
            page.evaluate("() => { document.getElementById('transcript-fold').open = true;"
                          " document.activeElement.blur(); window.scrollTo(0, 0); }")
            page.mouse.move(1, 1)
            in_box = """() => { const l = document.getElementById('transcript'),
                b = l.getBoundingClientRect(), r = l.lastElementChild.getBoundingClientRect();
                return r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }"""
            last = float(page.locator("#transcript li").last.get_attribute("data-start") or 0)

            def play_last_line() -> None:
                page.evaluate(f"() => {{ document.getElementById('audio').currentTime = {last};"
                              " document.getElementById('audio').dispatchEvent("
                              "new Event('seeked')); }")
                page.wait_for_function("() => document.querySelector("
                                       "'#transcript li:last-child').classList.contains('now')",
                                       timeout=5000)

            play_last_line()
            assert page.evaluate("() => window.scrollY") == 0
            assert page.evaluate(in_box)
            # a line clicked with the mouse keeps focus: the box follows all the same
            # (this pack's transcripts are short: a box 3 lines high stands for a long one)
            page.evaluate("() => document.getElementById('transcript').style.maxHeight = '6em'")
            page.locator("#transcript li").first.locator("button").click()
            page.mouse.move(1, 1)
            page.wait_for_function("() => !document.querySelector("
                                   "'#transcript li:last-child').classList.contains('now')",
                                   timeout=5000)
            assert not page.evaluate(in_box)  # the last line is out of sight before
            scrolled = page.evaluate("() => window.scrollY")
            play_last_line()
            assert page.evaluate("() => window.scrollY") == scrolled
            assert page.evaluate(in_box)
            # one place to resume, whether the page is "/" or "/index.html" (a coach's
            # review: the overview's link and serve's address remembered apart)
            page.evaluate("() => { const a = document.getElementById('audio');"
                          " a.currentTime = 40; a.pause(); a.dispatchEvent(new Event('pause')); }")
            page.wait_for_timeout(300)
            hash_ = page.evaluate("() => location.hash")
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html{hash_}")
            resume = page.locator("#resume")
            resume.wait_for(state="visible", timeout=5000)
            assert resume.inner_text().endswith("0:40"), resume.inner_text()
            assert not errors, errors
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert shot.stat().st_size > 10_000
