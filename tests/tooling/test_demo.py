"""make demo's driver converges, then changes nothing on the second run."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.tooling, pytest.mark.slow]


def test_demo_converges_then_changes_nothing(toolbox, tmp_path):
    proc = toolbox.run(toolbox.repo / "tools" / "demo.sh", env=toolbox.env(MTLS_APIM_DEMO_STATE=str(tmp_path)),
                       timeout=600)
    toolbox.assert_ok(proc)
    recaps = re.findall(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout)
    assert recaps == ["2", "0"], proc.stdout
    assert "first run changed=2, second run changed=0; the sandbox saw 2 writes in all" in proc.stdout
