#!/usr/bin/env python
"""Run every benchmark in bench/ (each `bench/<area>/run.py`) and print its figures beside its baselines.

Usage: python bench/run.py [area ...] [--quick]
Each area's script prints a table; `--quick` asks it for smaller sizes (a smoke run, not for figures).
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    areas = sorted(p.parent.name for p in BENCH.glob("*/run.py"))
    if wanted:
        areas = [a for a in areas if a in wanted]
    failed = []
    for area in areas:
        print(f"\n=== bench/{area} ===", flush=True)
        started = time.perf_counter()
        cmd = [sys.executable, str(BENCH / area / "run.py")] + (["--quick"] if quick else [])
        code = subprocess.call(cmd, cwd=BENCH.parent)
        print(f"--- bench/{area}: {time.perf_counter() - started:.1f} s, exit {code}", flush=True)
        if code:
            failed.append(area)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
