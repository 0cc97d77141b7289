"""print_locked.py sized down for explore: 3 threads, 2 prints each, under one lock."""
import threading

lock = threading.Lock()

def func(_num: int) -> None:
    with lock:
        for _ in range(2):
            print(f"Thread {_num}")

for _i in range(3):
    threading.Thread(target=lambda:func(_i)).start()
