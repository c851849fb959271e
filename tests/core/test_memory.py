"""What ``locker serve`` keeps out of memory until it is needed (docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys

SERVE_MODULES = (
    "kiosk.cli",
    "kiosk.app",
    "kiosk.server",
    "runtime.controller",
    "runtime.preflight",
)
"""What ``locker serve`` imports before it builds the controller and the app."""


def packages_after(*lines: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``lines``."""
    script = "\n".join(("import sys", *lines, "print(*sys.modules)"))
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.split(".")[0] for name in found.stdout.split()}


def test_serve_loads_the_password_word_lists_only_when_a_password_is_checked():
    imports = [f"import {module}" for module in SERVE_MODULES]
    assert "zxcvbn" not in packages_after(*imports)
    checked = "from locker.passwords import check_password; check_password('Tr0ub4dor&3 horse x')"
    assert "zxcvbn" in packages_after(*imports, checked)
