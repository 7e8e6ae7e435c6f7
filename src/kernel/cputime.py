# Runs a command and reports the CPU seconds it used (user and system time of the process and the children it
# waited for, from wait4(2): microsecond resolution) and its wall-clock seconds from fork to exit, as the last line
# of its standard error:
#   KPBCPU <user seconds> <system seconds> <wall seconds>
# Exit status: the command's. kpbench kernel times each load with it (src/kernel/exec.ts): on a shared machine the
# CPU time a tool needs is stable where its wall-clock time follows whatever else the machine runs.
import os
import sys
import time

t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - t0
sys.stderr.write("\nKPBCPU %.6f %.6f %.6f\n" % (usage.ru_utime, usage.ru_stime, wall))
sys.exit(os.waitstatus_to_exitcode(status))
