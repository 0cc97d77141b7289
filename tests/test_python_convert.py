"""The two forms agree: a .py file and its YAML (`convert`) give the same report, and for generated
programs the YAML form and the Python form of the same threads give identical `explore --json` reports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedsim.cli import main
from strategies import SHARED, THREADS, statements

EXAMPLES = Path(__file__).parent.parent / "scenarios" / "python"
ROUND_TRIP = ["critical_section_global.py", "print_unlocked_small.py", "print_locked_small.py",
              "daemon_small.py", "join_in_loop_small.py", "acquire_release_small.py"]


def report(path: Path) -> dict:
    """`explore --json` of a file, without what names the file or its lines."""
    result = CliRunner().invoke(main, ["explore", str(path), "--json"])
    assert result.exit_code in (0, 1), result.output
    return _without_places(json.loads(result.output), str(path))


def _without_places(data, file: str):
    if isinstance(data, dict):
        return {key: _without_places(value, file) for key, value in data.items() if key not in ("line", "replay", "file")}
    if isinstance(data, list):
        return [_without_places(item, file) for item in data]
    if isinstance(data, str):
        return re.sub(r"line \d+", "line ?", data.replace(file, "FILE"))
    return data


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_convert_gives_yaml_with_the_same_report(tmp_path, name):
    target = tmp_path / (Path(name).stem + ".yaml")
    result = CliRunner().invoke(main, ["convert", str(EXAMPLES / name), "-o", str(target)])
    assert result.exit_code == 0, result.output
    converted, original = report(target), report(EXAMPLES / name)
    # Races are reported once per pair of file lines: an unrolled loop's iterations share one line of
    # the .py file, but each has its own line in the YAML. Everything else is the same.
    assert bool(converted.pop("races")) == bool(original.pop("races"))
    assert converted == original


def test_convert_refuses_what_yaml_cannot_say(tmp_path):
    """The notes' first example hides x behind a local: YAML has no form for that, so one line and exit 2."""
    result = CliRunner().invoke(main, ["convert", str(EXAMPLES / "critical_section.py"), "-o", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    assert "add `global x`" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "c.yaml").exists()


def test_convert_writes_yaml_only(tmp_path):
    result = CliRunner().invoke(main, ["convert", str(EXAMPLES / "daemon_small.py"), "-o", str(tmp_path / "d.py")])
    assert result.exit_code == 2 and "name the output .yaml" in result.output


@st.composite
def two_forms(draw) -> tuple[str, str]:
    """The same 2-3 threads as YAML (a MainThread that starts and joins them) and as a Python module."""
    shared = SHARED[:draw(st.integers(1, 2))]
    values = {name: draw(st.integers(0, 2)) for name in shared}
    threads = THREADS[:draw(st.integers(2, 3))]
    bodies = {}
    for thread in threads:
        assigned: set[str] = set()
        bodies[thread] = [line for _ in range(draw(st.integers(1, 3)))
                          for line in draw(statements(shared, assigned, thread))]
    check = f"{shared[0]} != {draw(st.integers(0, 4))}"
    main_lines = [f"{t}.start()" for t in threads] + [f"{t}.join()" for t in threads]
    yaml_lines = ["shared: {" + ", ".join(f"{n}: {v}" for n, v in values.items()) + "}", "locks: [L]", "threads:",
                  "  MainThread: |"] + [f"    {line}" for line in main_lines]
    python = ["import threading", ""] + [f"{n} = {v}" for n, v in values.items()] + ["L = threading.Lock()", ""]
    for thread, body in bodies.items():
        yaml_lines += [f"  {thread}: |"] + [f"    {line}" for line in body]
        python += [f"def {thread.lower()}_body():", f"    global {', '.join(shared)}"] + [f"    {line}" for line in body]
        python.append("")
    yaml_lines += ["checks:", f"  final: [{check!r}]"]
    python += [f"t{t} = threading.Thread(target={t.lower()}_body, name={t!r})" for t in threads]
    python += [f"t{t}.start()" for t in threads] + [f"t{t}.join()" for t in threads] + [f"assert {check}"]
    return "\n".join(yaml_lines) + "\n", "\n".join(python) + "\n"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(two_forms())
def test_yaml_and_python_forms_give_identical_reports(tmp_path, forms):
    yaml_text, python_text = forms
    (tmp_path / "prog.yaml").write_text(yaml_text)
    (tmp_path / "prog.py").write_text(python_text)
    from_yaml, from_python = report(tmp_path / "prog.yaml"), report(tmp_path / "prog.py")
    assert from_yaml == from_python
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "prog.py"), "-o", str(tmp_path / "back.yaml")])
    assert result.exit_code == 0
    converted = report(tmp_path / "back.yaml")
    converted["scenario"] = from_yaml["scenario"]
    assert converted == from_yaml
