"""The notes' example with a lock: each thread prints its 100 lines in one block.

The lambda still reads _i late, so two threads can print the same number.
print_locked_small.py is the same program with 3 threads and 2 prints.
"""
import threading

lock = threading.Lock()

def func(_num: int) -> None:
    with lock:
        for _ in range(100):
            print(f"Thread {_num}")

for _i in range(9):
    threading.Thread(target=lambda:func(_i)).start()
