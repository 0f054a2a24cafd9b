#!/usr/bin/env python3
"""A scripted driver that declares "pipelined", for tests/pipelined.sh.

One process, no implementation behind it: it answers each scenario as its id
says, so that every way a pipelined scenario can stop early is met on
purpose.  The harness has sent the whole scenario by then, so every request
after the stop still needs its one reply, and the next scenario must find
the stream in step.

  ...begin-error   begin gets an error; each step and end, an error too
  ...step-error    step 2 gets a result with "error"; the rest as usual
  ...dies          exited (code 9) in place of step 2's result; each later
                   step and end gets an error reply
  ...dies-unasked  exited comes unasked after step 1's result and stands
                   for step 2's reply; each later step and end, an error
  anything else    null results, ended, exited

Every line it reads goes to $PIPELINED_LOG, with "start PID" when it starts,
so that the test sees what was sent and that the driver was never replaced.
"""
import json
import os
import sys

LOG = os.environ.get('PIPELINED_LOG')


def log(text):
    if LOG:
        with open(LOG, 'a') as f:
            f.write(text + '\n')


def send(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def error_reply(req):
    if req.get('op') == 'step':
        send({'op': 'result', 'id': req.get('id'),
              'error': 'the scenario process is gone', 'pids': {}})
    else:
        send({'op': 'error', 'message': 'no scenario in progress'})


def main():
    log('start %d' % os.getpid())
    send({'op': 'hello', 'protocol': 1, 'driver': 'pipelined-test',
          'implementation': 'scripted 0 (Python 3.11)', 'executable': '',
          'module': 'none', 'methods': ['fork'], 'pipelined': True})
    mode, state, nstep = None, 'idle', 0
    for line in sys.stdin:
        log(line.rstrip('\n'))
        req = json.loads(line)
        op = req.get('op')
        if op == 'begin':
            name = req.get('scenario', '')
            mode = next((m for m in ('begin-error', 'step-error', 'dies-unasked',
                                     'dies') if name.endswith(m)), None)
            nstep = 0
            if mode == 'begin-error':
                send({'op': 'error', 'message': 'cannot begin, on purpose'})
                state = 'gone'
            else:
                send({'op': 'begun', 'main_pid': os.getpid(), 'authkey': "b'k'"})
                state = 'in'
        elif state == 'swallow':
            state = 'gone'          # the unasked exited was this reply
        elif state != 'in':
            error_reply(req)
        elif op == 'step':
            nstep += 1
            if nstep == 2 and mode == 'step-error':
                send({'op': 'result', 'id': req['id'], 'error': 'cannot, on purpose',
                      'pids': {}})
            elif nstep == 2 and mode == 'dies':
                send({'op': 'exited', 'code': 9})
                state = 'gone'
            else:
                send({'op': 'result', 'id': req['id'], 'value': None, 'pids': {}})
                if nstep == 1 and mode == 'dies-unasked':
                    send({'op': 'exited', 'code': 9})
                    state = 'swallow'
        elif op == 'end':
            send({'op': 'ended', 'fds_leaked': 0, 'children_left': 0})
            send({'op': 'exited', 'code': 0})
            state = 'idle'
    return 0


if __name__ == '__main__':
    sys.exit(main())
