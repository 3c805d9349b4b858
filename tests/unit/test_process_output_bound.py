"""What a served process prints is kept up to a cap, newest last: a deployment that logs a line per request for hours
does not grow its host."""

from __future__ import annotations

import os
import sys
import time

from rdeploy_tui.local import plumber


def test_the_output_kept_is_the_last_lines_up_to_the_cap():
    lines = 100_000  # ~3.6 MB of short lines, as R prints one per request
    script = f"import sys\nfor i in range({lines}): sys.stdout.write(f'[score] request {{i:06d}} answered 200\\n')\n"
    script += "sys.stdout.write('LAST LINE\\n'); sys.stdout.flush()\nimport time; time.sleep(60)\n"
    proc = plumber.PlumberProcess([sys.executable, "-c", script], dict(os.environ), "http://127.0.0.1:9")
    try:
        deadline = time.monotonic() + 60
        while "LAST LINE" not in proc.output()[-20:] and time.monotonic() < deadline:
            time.sleep(0.05)
        out = proc.output()
        assert out.endswith("LAST LINE\n")
        assert len(out.encode()) <= plumber._OUTPUT_CAP + plumber._OUTPUT_CAP // 4
        assert f"request {lines - 1:06d} answered" in out and "request 000000 answered" not in out
    finally:
        proc.stop()
