"""make bench: what CPython itself pays for the simplest scenario, with no
driver around it, so that the Python driver's figures have a floor of
their own.

The shape is scenarios/lifecycle/returns.scn under fork, played the way
tools/pydriver.py plays it warm: a long-lived process (the zygote: modules
imported, gc.collect() and gc.freeze() done) forks one scenario process per
scenario, which runs Process(target=returns).start(), join(), reads
exitcode and repr(p), and _exit()s; the zygote reaps it.  With CHILDREN 0,
the same without start() and join(): a scenario that starts no process.
What is left out is everything the driver adds: the protocol, the
transcript, the harness.

usage: pybare.py ITERATIONS [CHILDREN]   (CHILDREN: 1, the default, or 0)
Prints "pybare MEDIAN MEAN P10", ns per scenario; exit 0, 2 on a usage error.
"""
import gc
import multiprocessing
import os
import sys
import time

clock = getattr(time, "perf_counter", time.time)


def returns():
    return None


def scenario(ctx, children):
    p = ctx.Process(target=returns)
    if children:
        p.start()
        p.join()
    p.exitcode
    repr(p)


def main(argv):
    try:
        n = int(argv[1])
        children = int(argv[2]) if len(argv) > 2 else 1
    except (IndexError, ValueError):
        n = 0
    if n < 1 or children not in (0, 1) or len(argv) > 3:
        sys.stderr.write('usage: pybare.py ITERATIONS [CHILDREN]\n')
        return 2
    ctx = multiprocessing
    if hasattr(multiprocessing, 'get_context'):     # 3.4+; fork before
        ctx = multiprocessing.get_context('fork')
    if hasattr(gc, 'freeze'):
        gc.collect()
        gc.freeze()
    times = []
    for _ in range(n + max(1, n // 10)):        # the first tenth warms up
        t = clock()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                scenario(ctx, children)
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.stderr.write('pybare: the scenario process failed\n')
            return 1
        times.append(clock() - t)
    times = sorted(times[-n:])
    print('pybare %d %d %d' % (times[len(times) // 2] * 1e9,
                               sum(times) / len(times) * 1e9,
                               times[len(times) // 10] * 1e9))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
