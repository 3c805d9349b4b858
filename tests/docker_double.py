"""A test double of the docker CLI (no Docker engine runs on the test machines), put first on PATH as `docker`.

It answers `info`, `login --password-stdin`, `build` and `push` as the docker CLI does, and the registry parts are
real: `login` does the /v2/ Bearer challenge and asks the realm for a token with Basic auth (user name + the ACR
refresh token, as docker does for stored credentials), `push` uploads the image's layer and config blobs (HEAD, then
POST + chunked PATCH + PUT ?digest=) and PUTs a Docker v2 manifest. So a wrong token exchange or a wrong registry
fails the test. `build` does not run RUN lines: its image is one layer with the files the Dockerfile COPYs from the
context, and a config with its ENTRYPOINT and CMD.

Settings (environment): DOCKER_DOUBLE_HOME its state (credentials, built images), DOCKER_DOUBLE_CONNECT the address
every registry host is reached at (the sandbox's https://127.0.0.1:PORT; the host goes in the Host header, as DNS
would have sent it there), DOCKER_DOUBLE_CA the CA bundle, DOCKER_DOUBLE_BUILD_FAIL=1 fails builds,
DOCKER_DOUBLE_NO_ENGINE=1 makes `info` fail as without a daemon, DOCKER_DOUBLE_BUILD_WAIT=PATH makes the first RUN
last until PATH exists (a long build, to cancel).

    bin_dir = install(tmp_path, monkeypatch, sandbox)   # PATH, settings; returns the folder holding `docker`
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import sys
import tarfile
from pathlib import Path

STORE = "application/vnd.docker.distribution.manifest.v2+json"


def install(tmp_path: Path, monkeypatch, sandbox) -> Path:
    """Put this double first on PATH as `docker`, aimed at `sandbox`'s registries."""
    bin_dir = tmp_path / "docker-double-bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "docker"
    script.write_text(
        f"#!{sys.executable}\nimport runpy, sys\nsys.argv[0] = 'docker'\n"
        f"runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("DOCKER_DOUBLE_HOME", str(tmp_path / "docker-double-home"))
    monkeypatch.setenv("DOCKER_DOUBLE_CONNECT", sandbox.base_url)
    monkeypatch.setenv("DOCKER_DOUBLE_CA", str(sandbox.ca_bundle))
    return bin_dir


# ----- the CLI ---------------------------------------------------------------------------------------------------


def _home() -> Path:
    home = Path(os.environ["DOCKER_DOUBLE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home


def _client():
    import ssl

    import httpx

    ca = os.environ.get("DOCKER_DOUBLE_CA")
    return httpx.Client(verify=ssl.create_default_context(cafile=ca) if ca else True, timeout=30, trust_env=False)


def _url(host: str, path: str) -> str:
    return os.environ["DOCKER_DOUBLE_CONNECT"].rstrip("/") + path


def _challenge(client, host: str) -> dict[str, str]:
    answer = client.get(_url(host, "/v2/"), headers={"Host": host})
    header = answer.headers.get("WWW-Authenticate", "")
    if answer.status_code != 401 or not header.lower().startswith("bearer "):
        raise SystemExit(
            _fail(f'Error response from daemon: Get "https://{host}/v2/": unexpected status {answer.status_code}')
        )
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def _token(client, host: str, user: str, password: str, scope: str | None) -> str:
    """Docker's token flow for stored user name + password: GET realm?service=&scope= with Basic auth."""
    params = _challenge(client, host)
    realm = re.match(r"https://([^/]+)(/.*)", params["realm"])
    assert realm is not None, params
    query = {"service": params["service"], **({"scope": scope} if scope else {"account": user})}
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    answer = client.get(
        _url(realm.group(1), realm.group(2)),
        params=query,
        headers={"Host": realm.group(1), "Authorization": f"Basic {basic}"},
    )
    if answer.status_code != 200:
        raise SystemExit(
            _fail(f'Error response from daemon: Get "https://{host}/v2/": unauthorized: {_message(answer)}')
        )
    body = answer.json()
    return body.get("token") or body["access_token"]


def _message(answer) -> str:
    try:
        return answer.json()["errors"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return answer.text[:200]


def _refused(answer) -> int:
    """docker's words for a registry's refusal: `denied: ...`, `unauthorized: ...`."""
    word = {401: "unauthorized", 403: "denied"}.get(answer.status_code, f"unexpected status {answer.status_code}")
    return _fail(f"{word}: {_message(answer)}")


def _fail(message: str) -> int:
    print(message, file=sys.stderr, flush=True)
    return 1


def info(argv: list[str]) -> int:
    if os.environ.get("DOCKER_DOUBLE_NO_ENGINE"):
        return _fail(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        )
    print("27.3.1-double")
    return 0


def login(argv: list[str]) -> int:
    if "--password-stdin" not in argv or "-p" in argv or "--password" in argv:
        return _fail("the test double takes the password on stdin only")
    user = argv[argv.index("--username") + 1]
    server = next(a for i, a in enumerate(argv) if not a.startswith("-") and argv[i - 1] != "--username")
    password = sys.stdin.read().strip()
    with _client() as client:
        token = _token(client, server, user, password, None)
        ping = client.get(_url(server, "/v2/"), headers={"Host": server, "Authorization": f"Bearer {token}"})
        if ping.status_code != 200:
            return _fail(f'Error response from daemon: Get "https://{server}/v2/": unauthorized: {_message(ping)}')
    config = _home() / "config.json"
    auths = json.loads(config.read_text()).get("auths", {}) if config.exists() else {}
    auths[server] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    config.write_text(json.dumps({"auths": auths}))
    config.chmod(0o600)
    print(f"WARNING! Your password will be stored unencrypted in {config}.")
    print("Login Succeeded", flush=True)
    return 0


def _image_dir(image: str) -> Path:
    return _home() / "images" / hashlib.sha256(image.encode()).hexdigest()[:16]


def _json_words(text: str) -> list[str]:
    text = text.strip()
    return json.loads(text) if text.startswith("[") else shlex.split(text)


def build(argv: list[str]) -> int:
    image = argv[argv.index("-t") + 1]
    context = Path(argv[-1])
    dockerfile = context / "Dockerfile"
    print('#0 building with "default" instance using docker driver', flush=True)
    if not dockerfile.is_file():
        return _fail("ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory")
    lines = [
        line.strip()
        for line in dockerfile.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    layer, entrypoint, cmd = io.BytesIO(), None, None
    steps = [line for line in lines if line.split()[0].upper() in ("FROM", "COPY", "RUN")]
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for number, line in enumerate(lines, 1):
            keyword, _, rest = line.partition(" ")
            keyword = keyword.upper()
            if keyword in ("FROM", "COPY", "RUN"):
                print(f"#{number + 3} [{steps.index(line) + 1}/{len(steps)}] {line}", flush=True)
            if keyword == "RUN" and os.environ.get("DOCKER_DOUBLE_BUILD_WAIT"):  # a long RUN: until that file exists
                import time

                deadline = time.monotonic() + 120
                while not Path(os.environ["DOCKER_DOUBLE_BUILD_WAIT"]).exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            if keyword == "RUN" and os.environ.get("DOCKER_DOUBLE_BUILD_FAIL"):
                print(f'#{number + 3} ERROR: process "/bin/sh -c {rest}" did not complete successfully: exit code: 1')
                return _fail(
                    f'ERROR: failed to solve: process "/bin/sh -c {rest}" did not complete successfully: exit code: 1'
                )
            if keyword == "COPY":
                source, target = shlex.split(rest)[-2:]
                data = (context / source).read_bytes()
                info_ = tarfile.TarInfo(target.lstrip("/"))
                info_.size, info_.mode = len(data), 0o644
                tar.addfile(info_, io.BytesIO(data))
            elif keyword == "ENTRYPOINT":
                entrypoint = _json_words(rest)
            elif keyword == "CMD":
                cmd = _json_words(rest)
    layer_gz = gzip.compress(layer.getvalue(), mtime=0)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint or None, "Cmd": cmd},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer.getvalue()).hexdigest()]},
    }
    folder = _image_dir(image)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "layer.tar.gz").write_bytes(layer_gz)
    (folder / "config.json").write_text(json.dumps(config))
    print(f"#{len(lines) + 4} naming to {image} done", flush=True)
    return 0


def push(argv: list[str]) -> int:
    image = argv[-1]
    folder = _image_dir(image)
    if not folder.is_dir():
        return _fail(f"An image does not exist locally with the tag: {image.rsplit(':', 1)[0]}")
    server, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    config_path = _home() / "config.json"
    auths = json.loads(config_path.read_text()).get("auths", {}) if config_path.exists() else {}
    if server not in auths:
        return _fail("no basic auth credentials")
    user, _, password = base64.b64decode(auths[server]["auth"]).decode().partition(":")
    print(f"The push refers to repository [{server}/{repository}]", flush=True)
    layer, config = (folder / "layer.tar.gz").read_bytes(), (folder / "config.json").read_bytes()
    with _client() as client:
        token = _token(client, server, user, password, f"repository:{repository}:pull,push")
        headers = {"Host": server, "Authorization": f"Bearer {token}"}
        for blob in (layer, config):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            if client.head(_url(server, f"/v2/{repository}/blobs/{digest}"), headers=headers).status_code == 200:
                print(f"{digest[7:19]}: Layer already exists", flush=True)
                continue
            started = client.post(_url(server, f"/v2/{repository}/blobs/uploads/"), headers=headers)
            if started.status_code != 202:
                return _refused(started)
            location = started.headers["Location"]
            half = max(1, len(blob) // 2)
            for start, chunk in ((0, blob[:half]), (half, blob[half:])):
                if not chunk:
                    continue
                patched = client.patch(
                    _url(server, location),
                    content=chunk,
                    headers={
                        **headers,
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{start}-{start + len(chunk) - 1}",
                    },
                )
                if patched.status_code != 202:
                    return _refused(patched)
                location = patched.headers["Location"]
            done = client.put(_url(server, location), params={"digest": digest}, headers=headers)
            if done.status_code != 201:
                return _refused(done)
            print(f"{digest[7:19]}: Pushed", flush=True)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": STORE,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(config),
                    "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(layer),
                        "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                    }
                ],
            }
        ).encode()
        put = client.put(
            _url(server, f"/v2/{repository}/manifests/{tag}"),
            content=manifest,
            headers={**headers, "Content-Type": STORE},
        )
        if put.status_code != 201:
            return _refused(put)
    print(f"{tag}: digest: {put.headers['Docker-Content-Digest']} size: {len(manifest)}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    commands = {"info": info, "login": login, "build": build, "push": push}
    if not argv or argv[0] not in commands:
        return _fail(f"the docker test double does not do {argv[:1]}")
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
