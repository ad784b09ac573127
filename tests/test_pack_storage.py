"""Packs written to object storage (issue 19): ``--out s3://bucket/prefix`` against an
S3-compatible server on loopback (moto's standalone server, a separate process speaking
the S3 protocol over HTTP); the tracks are read back through fsspec and their hashes
checked against the manifest and a local build of the same pack."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS, run_cli
from voiceguide.pack.published import PUBLISHED

pytest.importorskip("s3fs")
pytest.importorskip("moto")
PACK = ASSETS / "pack" / "pack.yaml"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                             "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test"
                     ).create_bucket(Bucket="packs")
        yield {"endpoint": endpoint}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def s3_env(s3: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "FSSPEC_S3_ENDPOINT_URL": s3["endpoint"]}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def fs() -> Any:
    import fsspec

    fsspec.config.set_conf_env(fsspec.config.conf)
    return fsspec.filesystem("s3", endpoint_url=os.environ["FSSPEC_S3_ENDPOINT_URL"],
                             skip_instance_cache=True)


def test_a_pack_goes_to_object_storage_and_reads_back_intact(
        s3_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["pack", str(PACK), "--out", "s3://packs/week", "--engine", "test",
                    "--jobs", "2", "--base-url", "https://example.org/week"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "12 built" in out
    s3fs = fs()
    manifest = json.loads(s3fs.cat_file("packs/week/pack.json"))
    assert len(manifest["tracks"]) == 12
    names = {p.rsplit("/", 1)[1] for p in s3fs.ls("packs/week", detail=False)}
    assert {"index.html", "feed.xml", "playlist.m3u8", "pack.json", "cover.png"} <= names
    assert PUBLISHED in names  # the stamp a re-run compares, written last
    assert not [n for n in names if n.startswith(".") and n != PUBLISHED]  # no temporary key
    for t in manifest["tracks"]:
        data = s3fs.cat_file(f"packs/week/{t['file']}")
        assert len(data) == t["bytes"]
        assert hashlib.sha256(data).hexdigest() == t["sha256"]
        for side, digest in zip(t["sidecars"], t["sidecar_sha256"], strict=True):
            assert hashlib.sha256(s3fs.cat_file(f"packs/week/{side}")).hexdigest() == digest
    # the same pack built into a local folder has the same bytes
    local = tmp_path / "local"
    assert run_cli(["pack", str(PACK), "--out", str(local), "--engine", "test",
                    "--base-url", "https://example.org/week"]) == 0
    capsys.readouterr()
    for t in manifest["tracks"]:
        assert (local / t["file"]).read_bytes() == s3fs.cat_file(f"packs/week/{t['file']}")
    assert (local / "feed.xml").read_bytes() == s3fs.cat_file("packs/week/feed.xml")
    # a re-run finds every track intact in the bucket and builds nothing
    code = run_cli(["pack", str(PACK), "--out", "s3://packs/week", "--engine", "test",
                    "--base-url", "https://example.org/week"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "0 built, 12 unchanged" in out
    # a track deleted from the bucket is rebuilt, identical
    victim = manifest["tracks"][4]["file"]
    s3fs.rm(f"packs/week/{victim}")
    code = run_cli(["pack", str(PACK), "--out", "s3://packs/week", "--engine", "test",
                    "--base-url", "https://example.org/week"])
    out, _ = capsys.readouterr()
    assert f"1 built ({victim.rsplit('.', 1)[0]}), 11 unchanged" in out  # named
    assert fs().cat_file(f"packs/week/{victim}") == (local / victim).read_bytes()


def test_zip_needs_a_local_folder(s3_env: dict[str, str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["pack", str(PACK), "--out", "s3://packs/z", "--engine", "test", "--zip"])
    assert code == 2
    assert "--zip needs a local --out folder" in capsys.readouterr().err


def test_a_grouped_pack_goes_to_object_storage_per_listener(
        s3_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "clients.yaml"
    src = PACK.parent
    for name in ("reach.yaml", "sway.yaml"):
        shutil.copy(src / name, tmp_path)  # beside the pack
    pack.write_text("title: Clients\ngroup_by: name\nmatrix:\n  routines: [reach, sway]\n"
                    "  names: [Ana, Ben]\n  minutes: [1]\n")
    argv = ["pack", str(pack), "--engine", "test", "--base-url", "https://example.org/c"]
    assert run_cli([*argv, "--out", "s3://packs/clients"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    local = tmp_path / "local"
    assert run_cli([*argv, "--out", str(local)]) == 0
    capsys.readouterr()
    s3fs = fs()
    manifest = json.loads(s3fs.cat_file("packs/clients/pack.json"))
    assert [t["group"] for t in manifest["tracks"]] == ["ana", "ben", "ana", "ben"]
    for slug in ("ana", "ben"):
        names = {p.rsplit("/", 1)[1] for p in s3fs.ls(f"packs/clients/{slug}", detail=False)}
        mine = {t["file"] for t in manifest["tracks"] if t["group"] == slug}
        assert {n for n in names if n.endswith(".mp3")} == mine
        for name in (*mine, "feed.xml", "index.html", "playlist.m3u8"):
            assert s3fs.cat_file(f"packs/clients/{slug}/{name}") \
                == (local / slug / name).read_bytes(), name
    assert s3fs.cat_file("packs/clients/index.html") == (local / "index.html").read_bytes()
    assert run_cli([*argv, "--out", "s3://packs/clients"]) == 0
    assert "0 built, 4 unchanged" in capsys.readouterr().out


def test_a_remote_object_is_read_back_only_within_the_bound_and_hashed_in_blocks() -> None:
    """A pack's remote folder read back a manifest or cue sheet of any size whole, and
    hashed each track by reading it into memory whole (a code review)."""
    import fsspec

    from voiceguide.limits import MAX_MANIFEST_BYTES
    from voiceguide.pack.dest import RemoteDest

    fsspec.filesystem("memory").pipe_file("/vg-bound/pk/big.json",
                                          b"x" * (MAX_MANIFEST_BYTES + 1))
    fsspec.filesystem("memory").pipe_file("/vg-bound/pk/small.json", b"{}")
    dest = RemoteDest("memory://vg-bound/pk")
    assert dest.read_bytes("big.json") is None and dest.read_bytes("small.json") == b"{}"
    assert dest.read_bytes("gone.json") is None and dest.digest("gone.json") is None
    assert dest.digest("big.json") == hashlib.sha256(
        b"x" * (MAX_MANIFEST_BYTES + 1)).hexdigest()
