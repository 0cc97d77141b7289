"""The notes' multi-threading example: nine threads print their number 100 times each.

The notes' code as written, with the `import threading` it needs added.

Too big for explore (900 prints of 9 threads); `schedsim sample` runs it.
Each lambda reads _i when its thread runs, not when it is made, so a thread
can print a number that another thread prints too (late binding).
print_unlocked_small.py is the same program with 3 threads and 2 prints.
"""
import threading


def func(_num: int) -> None:
        for _ in range(100):
            print(f"Thread {_num}")

for _i in range(9):
    threading.Thread(target=lambda:func(_i)).start()
