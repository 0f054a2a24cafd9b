#!/usr/bin/env python3
"""The conformance matrix page as a user sees it, in a real browser.

usage: tests/matrix_browser.py REPORT_DIR/matrix.html

Drives Debian's headless Chromium through chromedriver's W3C WebDriver HTTP
API (standard library only), loads the page from file://, and checks it
against REPORT_DIR/matrix.json: one table row per scenario and method, one
column per implementation, every cell with its verdict, nothing fetched
from anywhere, and a click on a FAIL cell opens a panel with that cell's
diff.  Writes REPORT_DIR/matrix.png, the page with the panel open.

Exit status: 0 all checks pass, 1 a check failed, 77 Chromium or
chromedriver is missing (after printing "SKIP: ..."), 2 usage.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMEDRIVER = os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver')
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'   # the W3C element key
SKIP = 77

passed = failed = 0


def check(name, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print('ok - %s' % name)
    else:
        failed += 1
        print('not ok - %s%s' % (name, ': ' + detail if detail else ''))
    sys.stdout.flush()


class WebDriver:
    """Just the WebDriver commands this test needs."""

    def __init__(self, port):
        self.base = 'http://127.0.0.1:%d' % port
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        url = self.base + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode()).get('value')
        except urllib.error.HTTPError as e:
            raise RuntimeError('%s %s: %s' % (method, path, e.read().decode()[:500]))

    def s(self, method, path, body=None):
        return self.call(method, '/session/%s%s' % (self.session, path), body)

    def start(self, profile):
        caps = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome',
            'goog:chromeOptions': {
                'binary': CHROMIUM,
                'args': ['--headless=new', '--no-sandbox', '--disable-gpu',
                         '--disable-dev-shm-usage', '--window-size=1500,1100',
                         '--user-data-dir=' + profile, '--no-first-run',
                         '--disable-crash-reporter', '--disable-breakpad'],
            }}}}
        self.session = self.call('POST', '/session', caps, timeout=120)['sessionId']

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s('POST', '/elements',
                                           {'using': 'css selector', 'value': css})]

    def find(self, css):
        found = self.find_all(css)
        return found[0] if found else None

    def script(self, js, *args):
        return self.s('POST', '/execute/sync', {'script': js, 'args': list(args)})


def become_subreaper():
    """Whatever Chromium starts comes back to this process when its parent
    dies, even from another session, so cleanup can find it."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def _children(me):
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/stat' % pid) as f:
                    if f.read().rsplit(')', 1)[1].split()[1] == me:
                        yield int(pid)
            except (OSError, IndexError):
                continue


def sweep_children():
    """SIGKILL every process whose parent is this one, and reap them all."""
    me = str(os.getpid())
    for _ in range(100):
        kids = list(_children(me))
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not kids:
            return
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main(argv):
    if len(argv) != 2 or not argv[1].endswith('.html'):
        print('usage: %s REPORT_DIR/matrix.html' % argv[0], file=sys.stderr)
        return 2
    page = os.path.abspath(argv[1])
    with open(os.path.join(os.path.dirname(page), 'matrix.json'), encoding='utf-8') as f:
        data = json.load(f)
    for prog in (CHROMEDRIVER, CHROMIUM):
        if not os.access(prog, os.X_OK):
            print('SKIP: %s not found (Debian packages chromium and chromium-driver)' % prog)
            return SKIP

    become_subreaper()
    profile = tempfile.mkdtemp(prefix='procspec-chromium.')
    port = free_port()
    driver = subprocess.Popen([CHROMEDRIVER, '--port=%d' % port],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    wd = WebDriver(port)

    def cleanup(*_):
        # chromedriver leads its own process group, Chromium and its helpers
        # with it: end the whole group, whatever state the session is in.
        if wd.session:
            try:
                wd.call('DELETE', '/session/' + wd.session, timeout=10)
            except Exception:
                pass
            wd.session = None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(driver.pid, sig)
            except ProcessLookupError:
                break
            try:
                driver.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(driver.pid, signal.SIGKILL)   # helpers that outlived chromedriver
        except ProcessLookupError:
            pass
        sweep_children()    # and those that left its group (crashpad, zygotes)
        shutil.rmtree(profile, ignore_errors=True)

    def on_signal(sig, _frame):
        cleanup()
        sys.exit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if wd.call('GET', '/status', timeout=2).get('ready'):
                    break
            except Exception:
                pass
            if driver.poll() is not None or time.monotonic() > deadline:
                print('not ok - chromedriver did not start (exit %s)' % driver.poll())
                return 1
            time.sleep(0.1)
        wd.start(profile)
        wd.s('POST', '/url', {'url': 'file://' + page})
        deadline = time.monotonic() + 30
        while wd.script('return document.body && document.body.dataset.ready') != '1':
            if time.monotonic() > deadline:
                check('the page builds its table', False, 'no data-ready after 30 s')
                return 1
            time.sleep(0.1)
        check('the page builds its table', True)

        rows, impls = data['rows'], data['implementations']
        n_rows = len(wd.find_all('#matrix tbody tr'))
        n_cols = len(wd.find_all('#matrix thead th.impl'))
        check('one row per scenario and method (%d)' % len(rows), n_rows == len(rows),
              'the page shows %d' % n_rows)
        check('one column per implementation (%d)' % len(impls), n_cols == len(impls),
              'the page shows %d' % n_cols)
        heads = wd.script("return Array.from(document.querySelectorAll('#matrix th.impl b'))"
                          ".map(function (b) { return b.textContent; })")
        check('column heads name the implementations in order',
              heads == [im['id'] for im in impls], repr(heads))
        shown = wd.script("return Array.from(document.querySelectorAll('#matrix tbody tr'))"
                          ".map(function (tr) { return Array.from(tr.querySelectorAll('td.cell'))"
                          ".map(function (td) { return td.textContent; }); })")
        want = [[c['verdict'] for c in row['cells']] for row in rows]
        check('every cell shows its verdict', shown == want)
        check('the page fetched nothing (no external assets)',
              wd.script("return performance.getEntriesByType('resource').length") == 0)
        n_sig = len(wd.find_all('#signatures li'))
        check('one line per divergence signature (%d)' % len(data['signatures']),
              n_sig == max(len(data['signatures']), 1), 'the page shows %d' % n_sig)

        fail = wd.find('#matrix td.cell[data-verdict="FAIL"]')
        check('there is a FAIL cell to click', fail is not None)
        if fail is not None:
            panel = wd.find('#panel')
            check('the diff panel starts hidden',
                  not wd.s('GET', '/element/%s/displayed' % panel))
            r = int(wd.s('GET', '/element/%s/attribute/data-row' % fail))
            c = int(wd.s('GET', '/element/%s/attribute/data-col' % fail))
            wd.s('POST', '/element/%s/click' % fail, {})
            wd.script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})",
                      {ELEMENT: fail})
            check('a click on a FAIL cell opens the panel',
                  wd.s('GET', '/element/%s/displayed' % panel))
            cell = rows[r]['cells'][c]
            pre = wd.find('#panel pre.diff')
            text = wd.s('GET', '/element/%s/text' % pre) if pre else ''
            changed = [l for l in cell['diff'].splitlines()
                       if l[:1] in '-+' and l[:3] not in ('---', '+++')]
            check('the panel shows that cell\'s diff',
                  pre is not None and changed and all(l.strip() in text for l in changed),
                  'panel text %r, diff lines %r' % (text[:300], changed[:4]))
            title = wd.s('GET', '/element/%s/text' % wd.find('#panel h3'))
            check('the panel names the implementation and scenario',
                  impls[c]['id'] in title and rows[r]['scenario'] in title, repr(title))
        shot = base64.b64decode(wd.s('GET', '/screenshot'))
        png = os.path.join(os.path.dirname(page), 'matrix.png')
        tmp = png + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(shot)
        os.rename(tmp, png)
        check('a screenshot is written next to the page (%s)' % png,
              shot[:8] == b'\x89PNG\r\n\x1a\n' and len(shot) > 1000)
    except Exception as e:
        check('the browser session', False, '%s: %s' % (type(e).__name__, e))
    finally:
        cleanup()
    print('matrix_browser: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
