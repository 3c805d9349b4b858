""".dockerignore is matched with Docker's own rules (Moby fileutils via docker-py), not by hand: `*.R` ignores x.R at
the top only, `**/*.R` at any depth, a folder pattern takes its files, the last line wins (issue 15 item 11)."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from rdeploy_tui.azure.acr import make_context_archive

FILES = [
    "x.R",
    "sub/x.R",
    "sub/deep/y.R",
    "notes.log",
    "sub/notes.log",
    "keep.log",
    "data/big.csv",
    "data/small.csv",
    "README.md",
]


def _sent(dockerignore: str) -> set[str]:
    files = {name: b"" for name in FILES}
    files["Dockerfile"] = b"FROM scratch\n"
    files[".dockerignore"] = dockerignore.encode()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(make_context_archive(files)))) as tar:
        return set(tar.getnames()) - {"Dockerfile", ".dockerignore"}


@pytest.mark.parametrize(
    "rules, ignored",
    [
        ("*.R", {"x.R"}),  # the hand-written matcher also ignored sub/x.R
        ("**/*.R", {"x.R", "sub/x.R", "sub/deep/y.R"}),
        ("sub/*.R", {"sub/x.R"}),
        ("*/*.log", {"sub/notes.log"}),
        ("*.log\n!keep.log", {"notes.log"}),
        ("data\n!data/small.csv", {"data/big.csv"}),
        ("# a comment\n\n/README.md", {"README.md"}),
        ("sub", {"sub/x.R", "sub/deep/y.R", "sub/notes.log"}),
        ("sub/../x.R", {"x.R"}),
    ],
)
def test_dockerignore_follows_dockers_rules(rules, ignored):
    assert set(FILES) - _sent(rules) == ignored


def test_dockerfile_and_dockerignore_are_always_sent():
    files = {"Dockerfile": b"FROM scratch\n", ".dockerignore": b"*\n", "a": b""}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(make_context_archive(files)))) as tar:
        assert set(tar.getnames()) == {"Dockerfile", ".dockerignore"}
