"""critical_section.py with `global x` in both functions: x ends as 2 or 3, never lost.

thread_1 makes x 2x+1 and thread_2 makes it x+1, so the order matters
(0 -> 1 -> 2, or 0 -> 1 -> 3), but the lock keeps each update whole.
"""
import threading
from threading import Lock

x = 0
my_lock = Lock()

def thread_1():
    global x
    with my_lock:
        a = x
        b = a + 1
        a = a + b
        x = a
        print(x)

def thread_2():
    global x
    with my_lock: # Will wait if thred_1 hasn't released the lock.
        a = x
        a = a + 1
        x = a
        print(x)

t1 = threading.Thread(target=thread_1)
t2 = threading.Thread(target=thread_2)
t1.start()
t2.start()
t1.join()
t2.join()
assert x == 2 or x == 3
