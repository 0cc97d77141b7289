"""acquire_release.py sized down for explore: 3 threads, 2 prints each."""
import threading

lock = threading.Lock()

def func(_num: int) -> None:
    lock.acquire()  # <<<
    for _ in range(2):
        print(f"Thread {_num}")
    lock.release()  # <<<

for _i in range(3):
    threading.Thread(target=lambda:func(_i)).start()
