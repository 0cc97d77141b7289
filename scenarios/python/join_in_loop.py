"""The notes' join example: each thread is joined before the next starts, so the lines come in order.

join_in_loop_small.py is the same program with 3 threads and 2 prints.
"""
import threading

def func(_num: int) -> None:
        for _ in range(100):
            print(f"Thread {_num}")

for _i in range(9):
    thread = threading.Thread(target=lambda:func(_i), daemon=True)
    thread.start()
    thread.join()   #   <-------
