"""bin/run.py, the supervisor behind `make run`: bad numbers stop it before anything starts, and no error of its
own leaves a child running."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bin" / "run.py"


@pytest.fixture
def run_module():
    spec = importlib.util.spec_from_file_location("tickerlake_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_defaults_and_sane_values_pass(run_module):
    assert run_module.environment_problems({}) == []
    assert run_module.environment_problems({"PORT": "9000", "HISTORY_DAYS": "0", "WEB_WORKERS": " 3 "}) == []
    assert run_module.environment_problems({"HISTORY_DAYS": ""}) == []  # empty: no history, as documented


def test_each_bad_number_is_one_line_naming_it(run_module):
    problems = run_module.environment_problems(
        {"PORT": "abc", "HISTORY_DAYS": "1001", "WEB_WORKERS": "0", "WEB_THREADS": "-4", "WORKER_CONCURRENCY": "\uff12"}
    )
    assert problems == [
        "PORT must be a whole number, 1 to 65535; got 'abc'",
        "HISTORY_DAYS must be a whole number, 0 to 1000; got '1001'",
        "WEB_WORKERS must be a whole number, 1 to 64; got '0'",
        "WEB_THREADS must be a whole number, 1 to 256; got '-4'",
        "WORKER_CONCURRENCY must be a whole number, 1 to 256; got '\uff12'",
    ]


def test_a_bad_port_stops_make_run_before_any_child_starts(tmp_path):
    """PORT=abc used to start the worker and beat, then fail with a traceback and leave them running."""
    env = {**os.environ, "PORT": "abc", "TICKERLAKE_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(RUN)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "[run] PORT must be a whole number, 1 to 65535; got 'abc'\n"
    assert "started" not in done.stdout


def test_an_error_in_the_supervisor_still_stops_every_child(run_module, monkeypatch):
    started = []

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    def broken():
        raise RuntimeError("the supervisor's own bug")

    monkeypatch.setattr(run_module.subprocess, "Popen", Recorded)
    monkeypatch.setattr(run_module, "COMMANDS", {"one": ["sleep", "60"], "two": ["sleep", "60"]})
    monkeypatch.setattr(run_module, "web_answers", broken)
    monkeypatch.setattr(run_module.signal, "signal", lambda *args: None)  # (pytest keeps its own handlers)
    with pytest.raises(RuntimeError, match="the supervisor's own bug"):
        run_module.main()
    assert len(started) == 2
    assert [proc.poll() for proc in started] == [-15, -15]  # stopped by SIGTERM, not left to run
