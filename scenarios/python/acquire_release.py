"""The notes' lock.acquire() / lock.release() example, as the alternative to `with lock:`
in the notes' locked program (print_locked.py): the same program with func as written there.

acquire_release_small.py is the same program with 3 threads and 2 prints.
"""
import threading

lock = threading.Lock()

def func(_num: int) -> None:
    lock.acquire()  # <<<
    for _ in range(100):
        print(f"Thread {_num}")
    lock.release()  # <<<

for _i in range(9):
    threading.Thread(target=lambda:func(_i)).start()
