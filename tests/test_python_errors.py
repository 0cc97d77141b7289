"""Outside the Python subset: one line naming the file, the line and the construct, what to write instead, exit 2."""
from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from schedsim.cli import main

CASES = [
    ("class", "import threading\nclass Counter:\n    pass\n", 2, "classes are not supported: use module-level"),
    ("try", "import threading\ndef f():\n    try:\n        pass\n    except Exception:\n        pass\n"
            "threading.Thread(target=f).start()\n", 3, "try is not supported"),
    ("comprehension", "import threading\nxs = [i for i in range(3)]\n", 2, "write a for loop over range"),
    ("other module", "import threading\nimport os\n", 2, "import os: calls into other modules are not supported"),
    ("Timer", "import threading\nt = threading.Timer(1.0, print)\nt.start()\n", 2,
     "threading.Timer is not supported: start a threading.Thread"),
    ("concurrent.futures", "from concurrent.futures import ThreadPoolExecutor\n", 1,
     "concurrent.futures is not supported: start threading.Thread"),
    ("recursion", "import threading\ndef f(n):\n    f(n)\nthreading.Thread(target=f, args=(1,)).start()\n", 3,
     "f() calls itself (recursion)"),
    ("join timeout", "import threading\ndef f():\n    pass\nt = threading.Thread(target=f)\nt.start()\nt.join(1.0)\n", 6,
     "a join with a timeout cannot be modelled"),
    ("current_thread", "import threading\ndef f():\n    print(threading.current_thread().name)\n"
                       "threading.Thread(target=f).start()\n", 3, "threading.current_thread() is not supported"),
    ("thread in a function", "import threading\ndef g():\n    pass\ndef f():\n    threading.Thread(target=g).start()\n"
                             "threading.Thread(target=f).start()\n", 5, "threads are made at the module's top level"),
    ("join before start", "import threading\ndef f():\n    pass\nt = threading.Thread(target=f)\nt.join()\n", 5,
     "cannot join thread before it is started"),
    ("start twice", "import threading\ndef f():\n    pass\nt = threading.Thread(target=f)\nt.start()\nt.start()\n", 6,
     "threads can only be started once"),
    ("return in a loop", "import threading\ndef f():\n    for i in range(2):\n        return\n"
                         "threading.Thread(target=f).start()\n", 3, "return inside a loop"),
    ("loose lambda", "import threading\nf = lambda: 1\n", 2, "lambda is supported as a thread's target"),
    ("notes' // comment", "x = 0\nwith my_lock: // Will wait\n    x = 1\n", 2, "// starts no comment in Python: write #"),
    ("unknown name", "import threading\ndef f():\n    y = undefined + 1\nthreading.Thread(target=f).start()\n", 3,
     "unknown name 'undefined': assign it at the module's top level"),
    ("call inside an expression", "import threading\nx = 0\ndef g():\n    return 1\ndef f():\n    global x\n"
                                  "    x = g() + 1\nthreading.Thread(target=f).start()\n", 7, "as r = g(...)"),
    ("unknown target", "import threading\nthreading.Thread(target=print).start()\n", 2,
     "target= must be a function of this module or a lambda"),
]


@pytest.mark.parametrize("source, line, words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_unsupported_construct_is_one_line_and_exit_2(tmp_path, source, line, words):
    path = tmp_path / "prog.py"
    path.write_text(source)
    result = CliRunner().invoke(main, ["explore", str(path)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert message.startswith(f"schedsim: {path}:{line}: ")
    assert words in message


def test_every_command_reads_python_files(tmp_path):
    """explore, show, replay, run, sample and graph take a .py file, chosen by its suffix."""
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent("""
        import threading
        def hello():
            print("hello")
        threading.Thread(target=hello).start()
    """))
    runner = CliRunner()
    for args in (["explore", "--json"], ["show"], ["replay", "--schedule", "MainThread,Thread1"], ["run"],
                 ["sample", "--runs", "3"]):
        result = runner.invoke(main, [args[0], str(path), *args[1:]])
        assert result.exit_code == 0, (args, result.output)
    result = runner.invoke(main, ["graph", str(path), "-o", str(tmp_path / "g.json")])
    assert result.exit_code == 0 and (tmp_path / "g.json").exists()
    replayed = runner.invoke(main, ["replay", str(path), "--schedule", "MainThread,Thread1"]).output
    assert "hello" in replayed
