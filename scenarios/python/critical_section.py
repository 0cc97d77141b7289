"""The notes' first example: two critical sections under one lock.

The notes' code, with the lines a program needs around it: the import of
Lock, and the threads that run thread_1 and thread_2 (the notes leave them
out), and `#` for the notes' `//` comment, which Python does not read.
As the notes wrote it, thread_1 and thread_2 assign x without `global x`,
so x is their local and `a = x` raises UnboundLocalError: explore shows it.
critical_section_global.py adds the `global x` lines.
"""
import threading
from threading import Lock

x = 0
my_lock = Lock()

def thread_1():
    with my_lock:
        a = x
        b = a + 1
        a = a + b
        x = a
        print(x)

def thread_2():
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
