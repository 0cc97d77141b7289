"""join_in_loop.py sized down for explore: 3 threads of 2 prints, each joined at once."""
import threading

def func(_num: int) -> None:
        for _ in range(2):
            print(f"Thread {_num}")

for _i in range(3):
    thread = threading.Thread(target=lambda:func(_i), daemon=True)
    thread.start()
    thread.join()   #   <-------
