"""A real browser terminal for tests: xterm.js (npm @xterm/xterm + @xterm/addon-attach) in headless
Chromium (Debian's, driven by Playwright), attached by a websocket (the `websockets` library) to a
program on a pseudo-terminal. The same path a compute instance's JupyterLab terminal takes: keys are
browser keyboard events that xterm.js turns into escape sequences; the screen is what xterm.js drew.

Why xterm.js behind our own bridge rather than JupyterLab's terminal: JupyterLab pulls ~100 packages
and a server start of several seconds into every CI run, and its UI would have to be driven to open a
terminal; the terminal inside it is the same xterm.js, so what reaches the app is the same.

dev.sh installs the parts: `apt-get install chromium` (when missing), `npm install` of xterm.js into
BROWSER_TERMINAL_DIR, and playwright from the [test] extra (never `playwright install`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_terminal_dir() -> Path:
    """Where dev.sh put node_modules/@xterm (RDEPLOY_BROWSER_TERMINAL_DIR overrides)."""
    if override := os.environ.get("RDEPLOY_BROWSER_TERMINAL_DIR"):
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "rdeploy-tui" / "browser-terminal"


def missing_parts() -> list[str]:
    """What this machine lacks to run a browser terminal (empty: all there)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    modules = browser_terminal_dir() / "node_modules" / "@xterm"
    for lib in ("xterm/lib/xterm.js", "xterm/css/xterm.css", "addon-attach/lib/addon-attach.js"):
        if not (modules / lib).exists():
            missing.append(f"{modules / lib} (npm install @xterm/xterm @xterm/addon-attach)")
    try:
        import playwright  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        missing.append(f"python package {exc.name} (pip install -e '.[test]')")
    return missing


class PtyBridge:
    """A websocket server (in its own thread) that runs `argv` on a pseudo-terminal of cols x rows
    for the first client and passes bytes both ways. `process` is the program, once started."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, cols: int = 80, rows: int = 24) -> None:
        self.argv, self.env, self.cwd, self.cols, self.rows = argv, env, cwd, cols, rows
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self._thread = threading.Thread(target=self._run, name="pty-bridge", daemon=True)

    def __enter__(self) -> PtyBridge:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the pty bridge did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.stop_program()
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(30)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/pty"

    def stop_program(self) -> None:
        """End the program we started (its whole process group), if it still runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(15)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0, max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def _spawn(self) -> int:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))

        def controlling_terminal() -> None:  # in the child, after setsid: the pty is its terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        return master

    async def _session(self, websocket) -> None:
        if self.process is not None:
            await websocket.close(1008, "one session per bridge")
            return
        master = self._spawn()
        output: asyncio.Queue[bytes | None] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the program ended and closed the terminal
                data = b""
            if not data:
                self._loop.remove_reader(master)
                output.put_nowait(None)
            else:
                output.put_nowait(data)

        self._loop.add_reader(master, readable)

        async def to_browser() -> None:
            while (data := await output.get()) is not None:
                await websocket.send(data)

        async def to_program() -> None:
            async for message in websocket:
                os.write(master, message.encode() if isinstance(message, str) else message)

        sending = asyncio.ensure_future(to_browser())
        receiving = asyncio.ensure_future(to_program())
        await asyncio.wait([sending, receiving], return_when=asyncio.FIRST_COMPLETED)
        receiving.cancel()
        self._loop.remove_reader(master)
        os.close(master)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>rdeploy-tui in xterm.js</title>
<style>body { margin: 0; background: #000; } #terminal { display: inline-block; padding: 4px; }</style>
</head><body><div id="terminal"></div></body></html>"""

# Runs in the page: an 80x24 xterm.js attached to the bridge. window.screenText() is what it shows.
START = """([url, cols, rows]) => new Promise((resolve, reject) => {
  const term = new Terminal({cols, rows, fontFamily: "DejaVu Sans Mono, monospace", fontSize: 15});
  term.open(document.getElementById("terminal"));
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { term.loadAddon(new AttachAddon.AttachAddon(socket)); term.focus(); resolve(); };
  socket.onerror = () => reject(new Error("websocket to the pty bridge failed"));
  window.term = term;
  window.socketClosed = false;
  socket.addEventListener("close", () => { window.socketClosed = true; });
  window.screenText = () => {
    const buffer = term.buffer.active, lines = [];
    for (let y = 0; y < term.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y).translateToString(true));
    return lines.join("\\n");
  };
})"""


# Runs in the page: an xterm.js with nothing attached that records what it would send for each key.
RECORD = """([cols, rows]) => {
  const term = new Terminal({cols, rows});
  term.open(document.getElementById("terminal"));
  window.sent = [];
  term.onData(data => window.sent.push(data));
  term.focus();
  window.term = term;
}"""

# Textual key names -> Playwright key names (https://playwright.dev/python/docs/api/class-keyboard).
_PLAYWRIGHT_KEYS = {
    "escape": "Escape",
    "enter": "Enter",
    "tab": "Tab",
    "delete": "Delete",
    "space": "Space",
    "question_mark": "?",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
}
_PLAYWRIGHT_MODIFIERS = {"ctrl": "Control", "alt": "Alt", "shift": "Shift"}


def playwright_key(key: str) -> str:
    """'ctrl+s' -> 'Control+s', 'f2' -> 'F2', 'question_mark' -> '?'."""
    *modifiers, name = key.split("+")
    if name in _PLAYWRIGHT_KEYS:
        name = _PLAYWRIGHT_KEYS[name]
    elif name[:1] == "f" and name[1:].isdigit():
        name = name.upper()
    elif len(name) != 1:
        raise ValueError(f"no Playwright name for key {key!r}: add it to _PLAYWRIGHT_KEYS")
    return "+".join([_PLAYWRIGHT_MODIFIERS[m] for m in modifiers] + [name])


class BrowserTerminal:
    """The page: keys, clicks at a cell, waiting for text on the screen, screenshots."""

    def __init__(self, page, artifacts: Path) -> None:
        self.page = page
        self.artifacts = artifacts
        self.shots: list[Path] = []

    def start(self, url: str, cols: int = 80, rows: int = 24) -> None:
        modules = browser_terminal_dir() / "node_modules" / "@xterm"
        self.page.set_content(PAGE)
        self.page.add_style_tag(path=str(modules / "xterm/css/xterm.css"))
        self.page.add_script_tag(path=str(modules / "xterm/lib/xterm.js"))
        self.page.add_script_tag(path=str(modules / "addon-attach/lib/addon-attach.js"))
        self.page.evaluate(START, [url, cols, rows])

    def start_recording(self, cols: int = 80, rows: int = 24) -> None:
        """An xterm.js attached to nothing: sent_for(key) is what it would send to the program."""
        modules = browser_terminal_dir() / "node_modules" / "@xterm"
        self.page.set_content(PAGE)
        self.page.add_script_tag(path=str(modules / "xterm/lib/xterm.js"))
        self.page.evaluate(RECORD, [cols, rows])

    def sent_for(self, key: str) -> str:
        """The characters xterm.js sends for one key press (a real keyboard event in the page)."""
        self.page.evaluate("() => { window.sent = []; }")
        self.page.keyboard.press(key)
        return "".join(self.page.evaluate("() => window.sent"))

    def text(self) -> str:
        return self.page.evaluate("() => window.screenText()")

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until the terminal shows `needle`; fail with the screen as it is otherwise."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "needle => window.screenText().includes(needle)", arg=needle, polling=100, timeout=timeout * 1000
            )
        except PlaywrightTimeout:
            raise AssertionError(f"{needle!r} did not appear; the browser terminal shows:\n{self.text()}") from None
        return self.text()

    def wait_for_line(self, pattern: str, timeout: float = 60.0) -> str:
        """Wait until a line of the screen matches the (JavaScript) regular expression `pattern`."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "pattern => window.screenText().split('\\n').some(line => new RegExp(pattern).test(line))",
                arg=pattern,
                polling=100,
                timeout=timeout * 1000,
            )
        except PlaywrightTimeout:
            raise AssertionError(f"no line matches {pattern!r}; the browser terminal shows:\n{self.text()}") from None
        return self.text()

    def wait_gone(self, needle: str, timeout: float = 60.0) -> str:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "needle => !window.screenText().includes(needle)", arg=needle, polling=100, timeout=timeout * 1000
            )
        except PlaywrightTimeout:
            raise AssertionError(f"{needle!r} is still there; the browser terminal shows:\n{self.text()}") from None
        return self.text()

    def press(self, *keys: str) -> None:
        """Real keyboard events (Playwright names: F2, Alt+n, Escape, Control+s) into xterm.js."""
        for key in keys:
            self.page.keyboard.press(key)

    def click_text(self, needle: str) -> None:
        """A mouse click on the middle of the first place the screen shows `needle`."""
        lines = self.text().split("\n")
        found = next(((row, line.find(needle)) for row, line in enumerate(lines) if needle in line), None)
        if found is None:
            raise AssertionError(f"{needle!r} is not on the screen:\n{self.text()}")
        row, col = found
        box = self.page.locator("#terminal .xterm-screen").bounding_box()
        cell_w, cell_h = box["width"] / 80, box["height"] / len(lines)
        self.page.mouse.click(box["x"] + (col + len(needle) / 2) * cell_w, box["y"] + (row + 0.5) * cell_h)

    def screenshot(self, name: str) -> Path:
        path = self.artifacts / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.locator("#terminal").screenshot(path=str(path))
        self.shots.append(path)
        return path
