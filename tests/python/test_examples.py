"""The worked examples (`examples/`): each one's `run.sh` runs against the built binary and exits
0, each one's policy tests pass under `portcullis test`, and every example has the parts the
others have (README.md, portcullis.json, tests/, run.sh), so a new one cannot skip them.

The scripts start their own upstreams (php -S, small Python servers, HAProxy) on free loopback
ports and stop them on exit; the binary comes from PORTCULLIS_BIN, as in conftest.
"""

import os
import subprocess
import sys

import pytest

from conftest import BIN, ROOT

EXAMPLES = ROOT / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
REQUIRED = ("README.md", "portcullis.json", "tests", "run.sh")


def test_the_examples_are_there():
    assert {"linea21", "seatable", "contractfit", "fleet"} <= set(NAMES), NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_example_has_its_parts(name):
    d = EXAMPLES / name
    missing = [part for part in REQUIRED if not (d / part).exists()]
    assert not missing, "examples/%s lacks %s" % (name, ", ".join(missing))
    assert (d / "tests").is_dir() and any((d / "tests").glob("*.json")), "no test file in examples/%s/tests" % name
    assert os.access(d / "run.sh", os.X_OK), "examples/%s/run.sh is not executable" % name
    script = (d / "run.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
    assert "trap" in script or "lib.sh" in script, "run.sh must clean up after itself"


@pytest.mark.parametrize("name", NAMES)
def test_policy_tests_pass(name):
    if not BIN.exists():
        pytest.fail("no portcullis binary at %s (run `cargo build`)" % BIN)
    d = EXAMPLES / name
    run = subprocess.run(
        [str(BIN), "test", "--config", str(d / "portcullis.json"), str(d / "tests")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert " passed, 0 failed" in out, out


@pytest.mark.parametrize("name", NAMES)
def test_run_script(name):
    if not BIN.exists():
        pytest.fail("no portcullis binary at %s (run `cargo build`)" % BIN)
    env = dict(os.environ, PORTCULLIS_BIN=str(BIN), PYTHON=sys.executable)
    env.pop("RUST_LOG", None)
    run = subprocess.run(
        [str(EXAMPLES / name / "run.sh")],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT,
    )
    assert run.returncode == 0, "examples/%s/run.sh exited %s\n%s\n%s" % (
        name, run.returncode, run.stdout, run.stderr)
    assert "all checks passed" in run.stdout, run.stdout
    assert "FAIL" not in run.stdout, run.stdout
