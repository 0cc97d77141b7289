"""print_unlocked.py sized down for explore: 3 threads print their number twice each."""
import threading


def func(_num: int) -> None:
        for _ in range(2):
            print(f"Thread {_num}")

for _i in range(3):
    threading.Thread(target=lambda:func(_i)).start()
