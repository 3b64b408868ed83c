"""make demo's driver converges the example inventory (dev, test, prod), then changes nothing on the second run."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.tooling, pytest.mark.slow]


def test_demo_converges_then_changes_nothing(toolbox, tmp_path):
    proc = toolbox.run(toolbox.repo / "tools" / "demo.sh", env=toolbox.env(MTLS_APIM_DEMO_STATE=str(tmp_path)),
                       timeout=900)
    toolbox.assert_ok(proc)
    recaps = re.findall(r"^(apim-\w+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout, re.M)
    first, second = dict(recaps[:3]), dict(recaps[3:])
    assert sorted(first) == sorted(second) == ["apim-dev", "apim-prod", "apim-test"], proc.stdout
    assert all(int(changed) > 0 for changed in first.values()), proc.stdout
    assert set(second.values()) == {"0"}, proc.stdout
    summary = re.search(r"first run changed=(\d+) \(.*\), second run changed=0; the sandbox saw (\d+) writes, (\d+) of "
                        r"them in the second run", proc.stdout)
    assert summary, proc.stdout
    # Converged: the second run writes nothing (no import was due, so no vault firewall was opened).
    assert int(summary.group(2)) > 0 and summary.group(3) == "0", proc.stdout
