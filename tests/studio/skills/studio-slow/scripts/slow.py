import sys
import time

for i in range(120):
    print("tick", i, flush=True)
    time.sleep(0.5)
