"""Every bench script `make bench` runs gets past its imports in a fresh interpreter.

The benches run outside pytest (no Django set up for them), so a module-level import that needs the
app registry, or a helper module that moved, breaks `make bench` without any other test noticing: this
loads each script as `make bench` does (its own process, its folder as the script's), short of running
its main block.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench").glob("*/run.py"))

LOAD = """
import runpy, sys
path = sys.argv[1]
sys.path.insert(0, str(__import__("pathlib").Path(path).resolve().parent))
runpy.run_path(path, run_name="bench_import_check")
print("loaded")
"""


def test_the_benches_are_all_found():
    assert {"backfill", "detection", "enrich", "pipelines", "scale", "warehouse"} <= {
        Path(s).parent.name for s in SCRIPTS
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_bench_script_loads_in_a_fresh_interpreter(script):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD, script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("loaded")
