"""Per-listener packs (issue 16, ``group_by: name``): a coach's pack for two clients gives
each client a folder with only their own tracks, feed, player, playlist and zip, and the
coach an overview at the root. Real engine end to end (tiny routines at one minute);
the pack engine's paths (keep-going, shards, a listener dropped) with the test engine."""

from __future__ import annotations

import json
import re
import shutil
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import mutagen
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voiceguide as vg
from tests.conftest import ASSETS, decode, run_cli
from tests.test_serve import as_if_from_the_network
from voiceguide import build_pack, listener_folders, load_pack, make_server, urls
from voiceguide.errors import ExitCode
from voiceguide.io.paths import folder_slug
from voiceguide.pack.manifest import plain_folder
from voiceguide.pack.published import PUBLISHED

PACK = ASSETS / "pack"
BASE = "https://example.org/coach"
SR = 22050


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_pack(folder: Path, names: list[str], extra: str = "", minutes: str = "[1]",
               routines: str = "[reach, sway]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("reach.yaml", "sway.yaml", "breathe.yaml"):
        shutil.copy(PACK / name, folder / name)
    path = folder / "pack.yaml"
    path.write_text("title: Coach pack\nauthor: Coach\ngroup_by: name\n"
                    "output: \"{n:02d}-{routine}-{name}\"\n" + extra
                    + f"matrix:\n  routines: {routines}\n  names: {json.dumps(names)}\n"
                    f"  minutes: {minutes}\n")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def player_tracks(page: Path) -> list[dict[str, Any]]:
    m = re.search(r'<script type="application/json" id="pack-data">(.*?)</script>',
                  page.read_text(), re.S)
    assert m
    tracks: list[dict[str, Any]] = json.loads(m.group(1))["tracks"]
    return tracks


@pytest.fixture(scope="module")
def coach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two clients (Ana and Zoë) x two routines, built once with the real engine."""
    root = tmp_path_factory.mktemp("coach")
    mp = pytest.MonkeyPatch()
    mp.setenv("VOICEGUIDE_CACHE_DIR", str(root / "cache"))
    pack = write_pack(root / "src", ["Ana", "Zoë"])
    out = root / "out"
    result = build_pack(load_pack(pack, out), jobs=2, make_zip=True, base_url=BASE)
    assert len(result.built) == 4 and len(result.zips) == 2
    yield {"root": root, "pack": pack, "out": out}
    mp.undo()


LISTENERS = {"ana": "Ana", "zoe": "Zoë"}


def test_each_listener_gets_only_their_own_tracks(coach: dict[str, Any]) -> None:
    out: Path = coach["out"]
    manifest = json.loads((out / "pack.json").read_text())
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ana", "zoe"]
    assert not list(out.glob("*.mp3")) and not (out / "feed.xml").exists()
    for slug, name in LISTENERS.items():
        folder = out / slug
        other = next(n for s, n in LISTENERS.items() if s != slug)
        mine = [t for t in manifest["tracks"] if t["group"] == slug]
        files = sorted(t["file"] for t in mine)
        assert files == sorted(p.name for p in folder.glob("*.mp3"))
        assert files == [f"01-reach-{name.replace('ë', 'e')}.mp3",
                         f"02-sway-{name.replace('ë', 'e')}.mp3"]  # numbered per listener

        # the feed: well-formed, titled for them, only their tracks, absolute enclosures
        parsed = feedparser.parse((folder / "feed.xml").read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        assert name in parsed.feed.title
        assert [e.title for e in parsed.entries] == [f"Reach for {name}", f"Sway for {name}"]
        assert [int(e.itunes_episode) for e in parsed.entries] == [1, 2]
        for entry in parsed.entries:
            (enc,) = entry.enclosures
            assert enc.href.startswith(f"{BASE}/{slug}/")
            file = folder / enc.href.rsplit("/", 1)[1]
            assert int(enc.length) == file.stat().st_size and enc.type == "audio/mpeg"
        assert parsed.feed.image.href == f"{BASE}/{slug}/cover.png"

        # playlist and player: their files, which are in their folder
        playlist = (folder / "playlist.m3u8").read_text().splitlines()
        assert [line for line in playlist if not line.startswith("#")] == files
        assert [t["file"] for t in player_tracks(folder / "index.html")] == files
        # a listener sent their player can subscribe: it links their own feed and playlist
        links = re.findall(r'<a href="([^"]+)"[^>]*>', (folder / "index.html").read_text())
        assert {"feed.xml", "playlist.m3u8"} <= set(links)
        assert all((folder / link).is_file() for link in links)

        # the zip: exactly the files of their folder, bytes as in the folder
        (zip_path,) = folder.glob("*.zip")
        assert zip_path.name in links  # their page links their zip
        with zipfile.ZipFile(zip_path) as z:
            inside = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
        assert set(inside) == {p.name for p in folder.iterdir() if p.suffix != ".zip"}
        assert all(inside[n] == (folder / n).read_bytes() for n in inside)
        assert sorted(n for n in inside if n.endswith(".mp3")) == files

        # nothing of the other listener anywhere in their folder: names, texts, tags
        for p in folder.iterdir():
            assert other.replace("ë", "e") not in p.name
            if p.suffix in (".mp3", ".png", ".zip"):
                continue  # binary: checked by their names, tags and entries
            text = p.read_text()
            assert not {other, other.replace("ë", "e"), json.dumps(other)[1:-1]} & set(
                re.findall(r"[\w\\]+", text)), p

        # the audio: decoded, as long as the manifest says; tags agree with the feed
        for t in mine:
            y = decode(folder / t["file"])
            assert abs(y.size / SR - t["duration"]) < 0.06, t
            assert abs(t["duration"] - 60) <= 2.0
            tags = mutagen.File(folder / t["file"], easy=True)
            assert tags["album"] == [parsed.feed.title]
            assert tags["tracknumber"][0].split("/")[0] in ("1", "2")


def test_the_overview_links_every_listener(coach: dict[str, Any]) -> None:
    out: Path = coach["out"]
    page = (out / "index.html").read_text()
    links = Links()
    links.feed(page)
    for slug, name in LISTENERS.items():
        section = re.search(rf'<section class="listener" id="{slug}">(.*?)</section>',
                            page, re.S)
        assert section and f"<h2>{name}</h2>" in section.group(1)
        assert "2 tracks" in section.group(1) and "0:02:00" in section.group(1)
        wanted = {f"{slug}/index.html", f"{slug}/playlist.m3u8", f"{BASE}/{slug}/feed.xml"}
        assert wanted <= set(links.hrefs)
        (zip_link,) = [h for h in links.hrefs if h.startswith(f"{slug}/") and h.endswith(".zip")]
        assert (out / zip_link).is_file()
    for href in links.hrefs:  # every relative link resolves inside the pack
        if not href.startswith("http"):
            target = (out / href).resolve()
            assert target.exists() and out.resolve() in [target, *target.parents], href


def test_a_rerun_is_a_no_op_and_a_clean_rebuild_is_byte_identical(
        coach: dict[str, Any], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(coach["root"] / "cache"))
    out: Path = coach["out"]
    before = snapshot(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    argv = ["pack", str(coach["pack"]), "--jobs", "2", "--zip", "--base-url", BASE]
    code, stdout, err = run([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    assert "0 built, 4 unchanged" in stdout and "zips: 2" in stdout
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes
    again = coach["root"] / "again"
    code, stdout, err = run([*argv, "--out", str(again)], capsys)
    assert code == 0, err
    assert "4 built" in stdout
    assert snapshot(again) == before  # the same bytes, zips and overview included


def test_serve_plays_the_overview_and_each_listener(coach: dict[str, Any]) -> None:
    server = make_server(coach["out"], port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/") as r:
            assert 'href="zoe/index.html"' in r.read().decode()
        with urllib.request.urlopen(base + "/zoe/") as r:
            tracks = [t["file"] for t in json.loads(re.search(
                r'id="pack-data">(.*?)</script>', r.read().decode(), re.S).group(1))["tracks"]]
        assert tracks == ["01-reach-Zoe.mp3", "02-sway-Zoe.mp3"]
        req = urllib.request.Request(f"{base}/zoe/{tracks[0]}", headers={"Range": "bytes=0-99"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and r.headers["Content-Type"] == "audio/mpeg"
            assert r.read() == (coach["out"] / "zoe" / tracks[0]).read_bytes()[:100]
    finally:
        server.shutdown()
        server.server_close()


HOSTILE = ["../x", "a/b", "L" * 60, "李雷", "..", "/etc/passwd"]


def test_hostile_names_stay_inside_the_pack(tmp_path: Path) -> None:
    # the paths are what is tested here, not the sound: the test engine
    pack = write_pack(tmp_path / "src", HOSTILE, routines="[reach]", minutes="[0.75]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "deep" / "out"
    plan = load_pack(pack, out)
    folders = [g.slug for g in plan.groups]
    assert folders[:3] == ["x", "a-b", "l" * 48]
    assert folders[3].startswith("listener-") and folders[4].startswith("listener-")
    assert folders[5] == "etc-passwd" and len(set(folders)) == 6
    build_pack(plan, jobs=2, make_zip=True)
    written = [p for p in tmp_path.rglob("*") if p.is_file()
               and p.relative_to(tmp_path).parts[0] not in ("cache", "src", "home")]
    assert written and all(out in p.parents for p in written)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(folders)
    for slug, name in zip(folders, HOSTILE, strict=True):
        parsed = feedparser.parse((out / slug / "feed.xml").read_bytes())
        assert not parsed.bozo and len(parsed.entries) == 1
        assert parsed.entries[0].title == f"Reach for {name}"
        assert re.fullmatch(r"[a-z0-9_-]{1,48}", slug)


def test_two_names_that_share_a_folder_are_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path, ["Ana", "Zoë", "zoe"])
    for argv in (["pack", str(pack), "--out", str(tmp_path / "out")], ["validate", str(pack)]):
        code, _, err = run(argv, capsys)
        assert code == ExitCode.INVALID_INPUT
        assert err.strip() == (
            f"Error: {pack}:7:30: group_by: name: 'Zoë' and 'zoe' would share the folder "
            "'zoe' (folder names keep only ASCII letters and digits); tell them apart in "
            "the name, which the voice says as written: 'zoe B.' for a second zoe")
    assert not (tmp_path / "out").exists()


def test_validate_accepts_group_by_and_rejects_bad_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_pack(tmp_path / "good", ["Ana", "Ben"])
    code, _, err = run(["validate", str(good)], capsys)
    assert code == 0, err
    bad = write_pack(tmp_path / "bad", ["Ana"])
    bad.write_text(bad.read_text().replace("group_by: name", "group_by: nme"))
    code, _, err = run(["validate", str(bad)], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert err.strip() == (f"Error: {bad}:3:11: group_by: must be one of 'name' or "
                           "'routine' (got 'nme') (did you mean 'name'?)")
    nameless = tmp_path / "nameless" / "pack.yaml"
    nameless.parent.mkdir()
    shutil.copy(PACK / "reach.yaml", nameless.parent)
    nameless.write_text("title: T\ngroup_by: name\ntracks:\n  - {routine: reach, name: Ana}\n"
                        "  - {routine: reach}\n")
    code, _, err = run(["validate", str(nameless)], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert err.strip() == (f"Error: {nameless}:5:5: group_by: name: track 2 has no listener's "
                           "name; give every track a name (matrix names, the track's name or "
                           "the profile's), or remove group_by")


def test_group_by_routine_gives_a_folder_per_routine(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, ["Ana", "Ben"])
    pack.write_text(pack.read_text().replace("group_by: name", "group_by: routine"))
    plan = load_pack(pack, tmp_path / "out")
    assert [(g.slug, g.title) for g in plan.groups] == [
        ("reach", "Coach pack · Reach"), ("sway", "Coach pack · Sway")]
    assert [(j.group, j.stem) for j in plan.jobs] == [
        ("reach", "01-reach-Ana"), ("reach", "02-reach-Ben"),
        ("sway", "01-sway-Ana"), ("sway", "02-sway-Ben")]


def test_without_group_by_nothing_changes(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, ["Ana", "Ben"])
    pack.write_text(pack.read_text().replace("group_by: name\n", ""))
    plan = load_pack(pack, tmp_path / "out")
    assert plan.groups == [] and {j.dest.local for j in plan.jobs} == {tmp_path / "out"}
    assert [(j.n, j.track_number, j.stem) for j in plan.jobs] == [
        (1, 1, "01-reach-Ana"), (2, 2, "02-reach-Ben"), (3, 3, "03-sway-Ana"),
        (4, 4, "04-sway-Ben")]


def test_keep_going_shards_and_a_dropped_listener(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pack engine with subfolders (test engine): a listener whose track cannot be
    built, shards published by one last run, then a listener taken out of the pack."""
    pack = write_pack(tmp_path / "src", ["Ana", "Ben", "Zed"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    text = pack.read_text()
    pack.write_text(text + "tracks:\n  - {routine: reach, name: Zed, minutes: 60}\n"
                    "  - {routine: reach, name: Eve, minutes: 60}\n")
    out = tmp_path / "out"
    code, _, err = run(["pack", str(pack), "--out", str(out), "--keep-going"], capsys)
    assert code == ExitCode.SCHEDULE and "2 of 5 tracks failed" in err
    # Eve, whose only track failed, gets no folder (an empty one was left)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ana", "ben", "zed"]
    assert "eve/" not in (out / "index.html").read_text()
    zed = feedparser.parse((out / "zed" / "feed.xml").read_bytes()).entries
    # the one that could be built, titled apart from the 60-minute one as the pack is
    # written (a title does not depend on which other track failed)
    assert [e.title for e in zed] == ["Reach for Zed · 1 min"]

    pack.write_text(text)  # the impossible track gone; build in two shards
    shards = tmp_path / "shards"
    for shard in ("1/2", "2/2"):
        code, _, err = run(["pack", str(pack), "--out", str(shards), "--shard", shard], capsys)
        assert code == 0, err
    assert not (shards / "index.html").exists()
    code, stdout, err = run(["pack", str(pack), "--out", str(shards)], capsys)
    assert code == 0, err
    assert "0 built, 3 unchanged" in stdout
    # the shards' manifests are folded into pack.json, not left beside it
    assert sorted(p.name for p in shards.glob("pack*.json")) == ["pack.json"]
    assert len(json.loads((shards / "pack.json").read_text())["tracks"]) == 3
    for slug in ("ana", "ben", "zed"):
        parsed = feedparser.parse((shards / slug / "feed.xml").read_bytes())
        assert [e.title for e in parsed.entries] == [f"Reach for {slug.title()}"]

    pack.write_text(text.replace('"Ben", ', ""))  # Ben leaves: his folder goes
    code, stdout, err = run(["pack", str(pack), "--out", str(shards), "--zip"], capsys)
    assert code == 0, err
    assert "1 removed" in stdout
    assert sorted(p.name for p in shards.iterdir() if p.is_dir()) == ["ana", "zed"]
    assert "ben/" not in (shards / "index.html").read_text()
    assert [t["group"] for t in json.loads((shards / "pack.json").read_text())["tracks"]] \
        == ["ana", "zed"]
    published = json.loads((shards / PUBLISHED).read_text())
    assert not any(f.startswith("ben/") for f in published["files"])


def test_untrusted_folders_delete_nothing_outside(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A manifest or publish record naming a folder out of the pack is ignored; a
    listener's folder that is a symbolic link out is refused (exit 9), nothing followed."""
    pack = write_pack(tmp_path / "src", ["Ana"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out)]
    assert run(argv, capsys)[0] == 0
    good = json.loads((out / "pack.json").read_text())
    track = good["tracks"][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / track["file"]
    shutil.copy(out / "ana" / track["file"], precious)  # same bytes: same SHA-256
    for folder in ("../outside", "..", "/tmp", "Ana", ".hidden"):
        stale = {**track, "n": 9, "group": folder, "input_hash": "old"}
        (out / "pack.json").write_text(json.dumps({**good, "tracks": [*good["tracks"], stale]}))
        code, _, err = run(argv, capsys)
        assert code == 0, err
        assert "Warning: pack.json: folder" in err and "the manifest is ignored" in err
        assert precious.is_file()
    published = json.loads((out / PUBLISHED).read_text())
    feed = outside / "feed.xml"
    shutil.copy(out / "ana" / "feed.xml", feed)
    published["files"].append("../outside/feed.xml")
    published["sha256"]["../outside/feed.xml"] = published["sha256"]["ana/feed.xml"]
    (out / PUBLISHED).write_text(json.dumps(published))
    pack.write_text(pack.read_text().replace("title: Coach pack", "title: Renamed"))
    assert run(argv, capsys)[0] == 0
    assert feed.is_file() and precious.is_file()

    shutil.rmtree(out / "ana")  # a folder that is a link out of the pack
    (out / "ana").symlink_to(outside, target_is_directory=True)
    code, _, err = run(argv, capsys)
    assert code == ExitCode.OUTPUT
    assert err.strip() == (f"Error: {out / 'ana'}: is a symbolic link; a listener's folder "
                           "must be a real folder inside the pack: remove the link and run "
                           "again")
    assert sorted(p.name for p in outside.iterdir()) == sorted([precious.name, "feed.xml"])


def test_switching_an_old_pack_to_group_by(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The tracks move into the listeners' folders; the old root feed and playlist
    (every listener's tracks) are named in a warning, and the old root zip, recorded as
    made here, is removed (a run no longer asks for it)."""
    pack = write_pack(tmp_path / "src", ["Ana", "Ben"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    grouped = pack.read_text()
    pack.write_text(grouped.replace("group_by: name\n", ""))
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--zip"], capsys)[0] == 0
    assert len(list(out.glob("*.mp3"))) == 2
    pack.write_text(grouped)
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--zip"], capsys)
    assert code == 0, err
    assert "2 built" in stdout and "2 removed" in stdout
    assert not list(out.glob("*.mp3"))
    assert "Warning: playlist.m3u8, feed.xml: published at the pack's root " \
           "before group_by" in err
    assert not (out / "Coach-pack.zip").exists()
    assert [len(list((out / s).glob("*.mp3"))) for s in ("ana", "ben")] == [1, 1]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_every_name_gives_a_folder_the_manifest_trusts(name: str) -> None:
    """Whatever the name, its folder is one plain name inside the pack, of at most 48
    characters, that a manifest read back accepts (else a re-run would rebuild all)."""
    slug = folder_slug(name)
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,47}", slug), slug
    assert plain_folder(slug) and slug == folder_slug(name)  # and always the same


def test_serving_a_pack_built_for_a_site_says_where_its_episodes_play_from(
        tmp_path: Path, serve_port: Callable[[], int]) -> None:
    """A coach's review: `serve --lan` of a pack built with --base-url handed out feeds
    whose episodes pointed at a site not yet uploaded, without a word."""
    import subprocess
    import sys

    pack = write_pack(tmp_path / "src", ["Ana"], routines="[reach]", minutes="[0.75]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    build_pack(load_pack(pack, out), jobs=1, base_url="https://coach.example/hips")
    server = make_server(out, port=0)
    server.server_close()
    assert server.elsewhere == "https://coach.example/hips/ana/"
    proc = subprocess.Popen([sys.executable, "-m", "voiceguide", "serve", str(out), "--port",
                             str(serve_port())], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # said before it serves
    finally:
        proc.terminate()
        proc.wait(10)
    assert line == ("Warning: the feed was built with --base-url: its episodes play from "
                    "https://coach.example/hips/ana/, not from this machine; pack again "
                    "without --base-url to serve them from here\n"), line


def test_a_run_without_zip_says_it_removed_the_zips_an_earlier_run_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stale zip would hand out old audio, so a run that does not make zips removes
    the ones made before; it did so without a word, though a link to one may have been
    sent to a client (found by a new-user review)."""
    pack = write_pack(tmp_path / "src", ["Ana", "Ben"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--zip"], capsys)[0] == 0
    zips = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.zip"))
    assert len(zips) == 2
    code, _, err = run(["pack", str(pack), "--out", str(out)], capsys)
    assert code == 0, err
    assert not list(out.rglob("*.zip"))
    assert f"Removed {', '.join(zips)}: made by an earlier run with --zip" in err


def test_tracks_renamed_by_one_added_before_them_are_said_to_be_new_episodes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: a track added first renumbered a client's two ({n:02d}), their
    episodes got new IDs and her podcast app showed them again, without a word."""
    pack = write_pack(tmp_path / "src", ["Ana"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out)], capsys)[0] == 0
    text = pack.read_text()
    pack.write_text(text.replace("matrix:", "tracks:\n  - {routine: sway.yaml, name: Ana, "
                                            "minutes: 1}\nmatrix:"))
    code, _, err = run(["pack", str(pack), "--out", str(out)], capsys)
    assert code == 0, err
    assert ("Warning: 1 track(s) published before have another file name (ana/01-reach-Ana.mp3 "
            "is now ana/02-reach-Ana.mp3): a podcast app takes each for a new episode") in err, err
    code, _, err = run(["pack", str(pack), "--out", str(out)], capsys)  # said once
    assert code == 0 and "another file name" not in err, err


def test_a_pack_renamed_keeps_its_episodes_with_feed_id_and_is_warned_without(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: a typo put right in the pack's title gave every episode a new ID
    (the GUID is made from the title), and each client's app showed every track again,
    without a word. feed_id keeps the IDs; a run that changes them says so."""
    pack = write_pack(tmp_path / "src", ["Ana"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"

    def guids() -> list[str]:
        return [e.id for e in feedparser.parse((out / "ana" / "feed.xml").read_bytes()).entries]

    assert run(["pack", str(pack), "--out", str(out)], capsys)[0] == 0
    first = guids()
    text = pack.read_text()
    pack.write_text(text.replace("title: Coach pack", "title: Coach Jo's pack\n"
                                 "feed_id: Coach pack"))
    code, _, err = run(["pack", str(pack), "--out", str(out)], capsys)
    assert code == 0 and "IDs" not in err, err
    assert guids() == first and "Coach Jo" in (out / "ana" / "feed.xml").read_text()
    pack.write_text(text.replace("title: Coach pack", "title: Coach Jo's pack"))
    code, _, err = run(["pack", str(pack), "--out", str(out)], capsys)
    assert code == 0, err
    assert ("Warning: the episodes' IDs in feed.xml were made from 'Coach pack' and are now "
            "made from \"Coach Jo's pack\": a podcast app takes every track for a new "
            "episode and shows it again; to keep their IDs, add feed_id: \"Coach pack\" "
            "to the pack") in err, err
    assert len(first) == 1 and not set(guids()) & set(first)


def test_a_listener_taken_out_and_a_zip_renamed_are_said_with_what_stops_working(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: taking Tom out of the pack said "1 removed (tom/01-...mp3)",
    and tom/ was gone with his feed, player and zip; a new title renamed the zips and
    removed the old ones without a word."""
    pack = write_pack(tmp_path / "src", ["Ana", "Ben"], routines="[reach]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--zip"], capsys)[0] == 0
    old = sorted(p.relative_to(out).as_posix() for p in (out / "ana").glob("*.zip"))
    pack.write_text(pack.read_text().replace('["Ana", "Ben"]', '["Ana"]')
                    .replace("title: Coach pack", "title: Coach Jo's pack"))
    code, _, err = run(["pack", str(pack), "--out", str(out), "--zip"], capsys)
    assert code == 0, err
    assert not (out / "ben").exists() and len(old) == 1
    assert f"Removed {old[0]}: the pack's zip is named after its title now" in err, err
    assert "Removed ben/: no track of the pack is there now; the feed and player links " \
           "given out there stop working" in err, err


def test_serve_gives_each_listener_their_own_link_and_a_feed_a_podcast_app_follows(
        tmp_path: Path, serve_port: Callable[[], int], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A coach's review: `serve --lan` printed one address and QR code, the overview with
    every client's tracks, and a pack built without --base-url had a feed whose
    relative links no podcast app follows. serve names each listener's page,
    `--listener` puts it in the QR code, and a feed is handed out with its links
    resolved against the address the phone asked at (the file is left as it is)."""
    import http.client

    from voiceguide.pack import serve as serve_module

    pack = write_pack(tmp_path / "src", ["Ana", "Zoë"], routines="[reach]", minutes="[0.75]",
                      extra="defaults: {engine: test}\n")
    out = tmp_path / "out"
    build_pack(load_pack(pack, out), jobs=1)
    as_if_from_the_network(monkeypatch)  # a phone's requests, with its name for this machine
    written = (out / "zoe" / "feed.xml").read_bytes()
    assert b'url="01-reach-Zoe.mp3"' in written
    server = make_server(out, port=0)
    assert server.elsewhere == ""  # its feeds' episodes play from here
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def feed(host: str, status: int = 200, **asked: str) -> tuple[bytes, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.putrequest("GET", "/zoe/feed.xml", skip_host=True)
        conn.putheader("Host", host)
        for k, v in asked.items():
            conn.putheader(k.replace("_", "-"), v)
        conn.endheaders()
        r = conn.getresponse()
        body, headers = r.read(), dict(r.getheaders())
        conn.close()
        assert r.status == status and int(headers.get("Content-Length", 0)) == len(body)
        return body, headers

    try:
        body, headers = feed("192.168.1.20:8765")
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.bozo_exception
        assert [e.enclosures[0].href for e in parsed.entries] == [
            "http://192.168.1.20:8765/zoe/01-reach-Zoe.mp3"]
        assert parsed.feed.link == "http://192.168.1.20:8765/zoe/index.html"
        assert parsed.feed.image.href == "http://192.168.1.20:8765/zoe/cover.png"
        assert headers["Content-Type"].startswith("application/rss+xml")
        # a copy per address: a phone's copy from one address is not current at another
        # (a review: two hosts of one length shared a tag, and a date check said 304)
        assert headers["Vary"] == "Host" and "Last-Modified" not in headers
        assert feed("192.168.1.20:8765", 304, If_None_Match=headers["ETag"])[0] == b""
        other, moved = feed("192.168.1.21:8765", If_None_Match=headers["ETag"],
                            If_Modified_Since="Fri, 01 Jan 2100 00:00:00 GMT")
        assert moved["ETag"] != headers["ETag"] and b"http://192.168.1.21:8765/zoe/" in other
        whole, _ = feed("192.168.1.21:8765", 200, Range="bytes=100-", If_Range=headers["ETag"])
        assert whole == other  # a resumed download of the other copy: all of this one
        assert feed("[fe80::1]:8000")[0].count(b"http://[fe80::1]:8000/zoe/") >= 4
        for hostile in ('x"><script>', "a b", "evil.example/path", ""):
            feed(hostile, 400)  # not this machine's address or name: refused
    finally:
        server.shutdown()
        server.server_close()
    assert (out / "zoe" / "feed.xml").read_bytes() == written
    # what `serve --listener zoe` serves (below): her folder, and nothing above it, at the
    # path the whole pack serves it (a coach's review: her page moved from /zoe/ to /, and
    # a bookmark or a podcast subscription made one way broke the other)
    zoe = make_server(out, port=0, listener="zoe")
    threading.Thread(target=zoe.serve_forever, daemon=True).start()
    try:
        for path, status in (("/", 302), ("/zoe/", 200), ("/zoe/01-reach-Zoe.mp3", 200),
                             ("/ana/", 404), ("/ana/01-reach-Ana.mp3", 404), ("/index.html", 404),
                             ("/pack.json", 404), ("/zoe/../ana/", 404),
                             ("/zoe/%2e%2e/ana/index.html", 404)):
            conn = http.client.HTTPConnection("127.0.0.1", zoe.server_address[1], timeout=10)
            conn.request("GET", path)
            answer = conn.getresponse()
            assert answer.status == status, path
            if status == 302:  # not 301, which a browser keeps: serving the whole pack
                # at this address later, / was the overview no more (the attack on it)
                assert answer.getheader("Location") == "/zoe/"
                assert answer.getheader("Cache-Control") == "no-store"
            conn.close()
        assert urls(zoe) == [f"http://127.0.0.1:{zoe.server_address[1]}/zoe/"]
        for name in ("zoe\x00", ".", "..", "", "zoe/../ana/..", "pack.json"):
            with pytest.raises(vg.UsageError, match="no listener's folder"):
                make_server(out, port=0, listener=name)
    finally:
        zoe.shutdown()
        zoe.server_close()

    port = serve_port()
    capsys.readouterr()
    assert run_cli(["serve", str(out), "--lan", "--port", str(port)]) == 0
    said = capsys.readouterr().out
    lan = f"http://{serve_module.lan_address()}:{port}/"
    assert re.search(rf"^  ana +{re.escape(lan)}ana/$", said, re.M), said
    assert re.search(rf"^  zoe +{re.escape(lan)}zoe/$", said, re.M), said
    assert "Anyone on this network can open every listener's page; --listener ana" in said
    assert f"QR code of {lan}\n" in said and ("█" in said or "▀" in said)
    # --listener serves that listener's folder alone: the QR code sent to Zoë opened her
    # page, but the overview (every client's name and zip) was one step up (a review)
    served: list[Path] = []
    real = serve_module.make_server

    def spy(folder: Path, *args: Any, **kwargs: Any) -> Any:
        served.append((folder, kwargs.get("listener")))
        return real(folder, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vg, "make_server", spy)
        assert run_cli(["serve", str(out), "--lan", "--port", str(port),
                        "--listener", "zoe"]) == 0
    said = capsys.readouterr().out
    assert served == [(out, "zoe")] and "Only zoe's page and tracks are served." in said
    assert "ana" not in said and f"QR code of {lan}zoe/\n" in said
    code, _, err = run(["serve", str(out), "--listener", "bob"], capsys)
    assert code == ExitCode.USAGE and "use one of: ana, zoe" in err
    # a coach types the client's name, not the folder it was made into (a new user's
    # review: "--listener 'Zoë': no listener's folder of that name")
    served.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vg, "make_server", spy)
        assert run_cli(["serve", str(out), "--port", str(port), "--listener", "Zoë"]) == 0
    said = capsys.readouterr().out
    assert "Only Zoë's page and tracks are served." in said and "/zoe/" in said
    by_name = make_server(out, port=0, listener="ZOE")
    assert urls(by_name)[0].endswith("/zoe/")
    by_name.server_close()
    # a folder of packs (this one, an ungrouped one, single builds) has no listeners: its
    # packs were listed as "each listener's own page" (a new user's review)
    shutil.copytree(out, tmp_path / "all" / "clients")
    assert listener_folders(tmp_path / "all") == []
    assert listener_folders(tmp_path / "all" / "clients") == ["ana", "zoe"]


def test_a_damaged_manifests_title_gives_no_feed_id_advice() -> None:
    """A review: the manifest's title is read back untrusted; a title no pack could have
    (5,000 characters, an escape) was quoted whole in the warning and as a feed_id the
    pack would refuse. Only a title a pack may have is named."""
    from voiceguide.pack.manifest import _reseeded

    track = [{"file": "01-a.mp3"}]
    assert _reseeded({"title": "x" * 5000, "tracks": track}, "New") == []
    assert _reseeded({"title": "Old\x1b[2J", "tracks": track}, "New") == []
    assert _reseeded({"title": "Old", "tracks": []}, "New") == []  # nothing published
    said = _reseeded({"title": "Old", "tracks": track}, "New")
    assert len(said) == 1 and 'add feed_id: "Old" to the pack' in said[0]
