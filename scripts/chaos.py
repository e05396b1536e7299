"""Run the chaos test for longer: python scripts/chaos.py [STEPS] [SEED]."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = dict(os.environ)
    env["CHAT_TUI_CHAOS_STEPS"] = sys.argv[1] if len(sys.argv) > 1 else "300"
    env["CHAT_TUI_CHAOS_SEED"] = sys.argv[2] if len(sys.argv) > 2 else "7"
    test = ["-m", "pytest", "-q", "tests/tui/test_chaos.py"]
    raise SystemExit(subprocess.call([sys.executable, *test], cwd=ROOT, env=env))
