"""`ltxflow review` as a user starts it: one line with the URL, the app answering there, Ctrl-C stopping it."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_review_prints_one_line_with_its_url_and_serves_it(finished):
    command = [str(Path(sys.executable).with_name("ltxflow")), "review", str(finished.folder), "--ledger", str(finished.ledger_path),
               "--out", str(finished.out), "--port", "0", "--reviewer", "ana"]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("review: http://127.0.0.1:") and line.endswith(" (spring; Ctrl-C stops)\n"), line
        url = line.split()[1]
        with urllib.request.urlopen(url + "c/spring", timeout=30) as response:
            html = response.read().decode()
        assert response.status == 200 and 'data-variant-id="alpha"' in html and 'data-reviewer="ana"' in html
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out == "" and "Traceback" not in err  # nothing after the URL line
