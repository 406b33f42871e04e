"""Installs tests/support/netguard.py's guard in a subprocess started by a test (see there);
with ``PEAK_RSS_FILE`` set, writes the process's peak memory (bytes) there at exit."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

if os.environ.get("NETGUARD_HOSTS") is not None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tests.support.netguard import NetGuard

    NetGuard(
        json.loads(os.environ["NETGUARD_HOSTS"]),
        json.loads(os.environ.get("NETGUARD_REDIRECT", "[]")),
        os.environ.get("NETGUARD_RECORD") or None,
    ).install_for_good()
    del sys.path[0]

if os.environ.get("PEAK_RSS_FILE"):
    import atexit
    import resource

    def _peak_kib() -> int:
        """This program's own peak: VmHWM (of its memory since exec). ru_maxrss would also
        hold the peak of the process that started it (Linux keeps it across exec, and
        subprocess forks with vfork), i.e. of the test runner."""
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def _write_peak_rss() -> None:
        Path(os.environ["PEAK_RSS_FILE"]).write_text(str(_peak_kib() * 1024))

    atexit.register(_write_peak_rss)
