"""The notes' daemon example: main ends at once, and the daemon threads are cut off with it.

daemon_small.py is the same program with 3 threads and 2 prints.
"""
import threading

def func(_num: int) -> None:
        for _ in range(100):
            print(f"Thread {_num}")

for _i in range(9):
    threading.Thread(target=lambda:func(_i), daemon=True).start()
