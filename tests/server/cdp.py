#!/usr/bin/python3
"""cdp.py: drives headless Chromium through the DevTools protocol for the
demo page's tests (tests/server/phone.sh), with Python's standard library
only: Chromium's --remote-debugging-pipe speaks the protocol on its file
descriptors 3 (commands in) and 4 (answers and events out), one JSON
message per NUL-terminated chunk, so no WebSocket client is needed.

    cdp.py [--device WIDTH,HEIGHT,SCALE[,desktop]]
           [--geo LAT,LON,ACCURACY_M | --geo-unavailable]
           [--permission granted|denied]
           [--click SELECTOR | --eval JS | --wait JS_EXPRESSION]...
           [--screenshot FILE.png] [--pdf FILE.pdf] URL -- CHROMIUM [ARGS...]

It starts CHROMIUM ARGS with the pipe, emulates a mobile device (or a
desktop) of WIDTH x HEIGHT CSS pixels at SCALE device pixels per CSS
pixel (Emulation.setDeviceMetricsOverride: with headless Chromium's own
--window-size the page's script runs in a smaller viewport, at least 500
px wide and about 143 px less high than the window), sets the geolocation
override (Emulation.setGeolocationOverride: a position, or with
--geo-unavailable "position unavailable") and the page origin's
geolocation permission
(Browser.setPermission), opens URL, waits for the page's
body[data-ready="1"], then takes the steps in their order: --click
clicks the element SELECTOR with real mouse events at its centre
(Input.dispatchMouseEvent), --eval runs JS in the page, --wait waits
until JS_EXPRESSION is true. Then it takes the screenshot, prints the page
to FILE.pdf as a printer would (Page.printToPDF: print media, no header
or footer; after the waits, unlike Chromium's --print-to-pdf, which
prints when its virtual time runs out, before slow tiles have come), and
prints the page's DOM (document.documentElement.outerHTML). Every wait is bounded
(30 s); on a timeout it stops taking steps, still takes the screenshot
and prints the DOM, and exits 2; other failures exit 1 with a one-line
error.
"""
import base64
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

WAIT_S = 30.0


class Browser:
    def __init__(self, argv):
        # Chromium reads commands on its fd 3 and writes on its fd 4.
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            # Out of the way first (either may be 3 or 4 already), then in
            # place, inheritable.
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.close(r)
            os.close(w)

        # close_fds=False: the 3 and 4 that child_fds makes must stay open
        # (this side's ends of the pipes are not inheritable, PEP 446).
        self.proc = subprocess.Popen(argv + ["--remote-debugging-pipe"], preexec_fn=child_fds,
                                     close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (exit status %s)"
                                   % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + WAIT_S
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError("%s: %s" % (method, answer["error"].get("message")))
                return answer.get("result", {})
            self.events.append(answer)

    def evaluate(self, session, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, session)
        if "exceptionDetails" in r:
            raise RuntimeError("page script: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")

    def wait_for(self, session, expression):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                if self.evaluate(session, "Boolean(%s)" % expression):
                    return True
            except RuntimeError:
                pass  # the page is still loading: its document is not there yet
            time.sleep(0.1)
        return False


def click(b, session, selector):
    """A real click (mouse pressed and released) at the element's centre."""
    box = b.evaluate(session, """(function () {
        var e = document.querySelector(%s);
        if (!e) return null;
        var r = e.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    })()""" % json.dumps(selector))
    if box is None:
        raise RuntimeError("no element %s in the page" % selector)
    for kind in ("mousePressed", "mouseReleased"):
        b.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                            "button": "left", "clickCount": 1}, session)


def main(args):
    opts = {"device": None, "geo": None, "geo_unavailable": False, "permission": None,
            "screenshot": None, "pdf": None}
    steps = []
    url = None
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--geo-unavailable":
            opts["geo_unavailable"] = True
        elif a in ("--device", "--geo", "--permission", "--screenshot", "--pdf", "--click",
                   "--eval", "--wait"):
            if not args:
                raise SystemExit("cdp.py: %s needs a value" % a)
            if a in ("--click", "--eval", "--wait"):
                steps.append((a[2:], args.pop(0)))
            else:
                opts[a[2:]] = args.pop(0)
        elif a.startswith("--"):
            raise SystemExit("cdp.py: unknown option %s" % a)
        elif url is None:
            url = a
        else:
            raise SystemExit("cdp.py: one URL only (%s)" % a)
    if not args or url is None:
        raise SystemExit("usage: cdp.py [options] URL -- CHROMIUM [ARGS...]")
    if opts["device"]:
        dev = opts["device"].split(",")
        try:
            if len(dev) not in (3, 4) or dev[3:] not in ([], ["desktop"]):
                raise ValueError
            dev[:3] = [int(dev[0]), int(dev[1]), float(dev[2])]
        except ValueError:
            raise SystemExit("cdp.py: --device WIDTH,HEIGHT,SCALE[,desktop], not %s" % opts["device"])
        opts["device"] = dev
    argv = args[1:]
    if not argv:
        raise SystemExit("cdp.py: no Chromium command after --")

    b = Browser(argv + ["about:blank"])
    try:
        target = None
        deadline = time.monotonic() + WAIT_S
        while target is None and time.monotonic() < deadline:
            pages = [t for t in b.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            target = pages[0]["targetId"] if pages else None
            if target is None:
                time.sleep(0.1)
        if target is None:
            raise RuntimeError("Chromium opened no page")
        session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        u = urllib.parse.urlsplit(url)
        origin = "%s://%s" % (u.scheme, u.netloc)
        if opts["device"]:
            dev = opts["device"]
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": dev[0], "height": dev[1], "deviceScaleFactor": dev[2],
                    "mobile": len(dev) == 3}, session)
        if opts["permission"]:
            b.send("Browser.setPermission", {"permission": {"name": "geolocation"},
                                             "setting": opts["permission"], "origin": origin})
        if opts["geo"]:
            lat, lon, acc = (float(v) for v in opts["geo"].split(","))
            b.send("Emulation.setGeolocationOverride",
                   {"latitude": lat, "longitude": lon, "accuracy": acc}, session)
        elif opts["geo_unavailable"]:
            # Without a position the override emulates "position unavailable".
            b.send("Emulation.setGeolocationOverride", {}, session)

        b.send("Page.enable", {}, session)
        b.send("Page.navigate", {"url": url}, session)
        code = 0
        if not b.wait_for(session, "document.body && document.body.dataset.ready === '1'"):
            print("cdp.py: the page did not get ready", file=sys.stderr)
            code = 2
        for kind, arg in steps if code == 0 else []:
            if kind == "click":
                click(b, session, arg)
            elif kind == "eval":
                b.evaluate(session, arg)
            elif not b.wait_for(session, arg):
                print("cdp.py: still not true after %d s: %s" % (WAIT_S, arg), file=sys.stderr)
                code = 2
                break
        if opts["screenshot"]:
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session)
            with open(opts["screenshot"], "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        if opts["pdf"]:
            pdf = b.send("Page.printToPDF", {"displayHeaderFooter": False}, session)
            with open(opts["pdf"], "wb") as f:
                f.write(base64.b64decode(pdf["data"]))
        print(b.evaluate(session, "document.documentElement.outerHTML"))
        return code
    finally:
        b.close()


if __name__ == "__main__":
    # A timeout's SIGTERM unwinds through main's finally: Chromium is
    # closed, not left behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        sys.exit(main(sys.argv[1:]))
    except (RuntimeError, TimeoutError, OSError, ValueError) as e:
        print("cdp.py: %s" % e, file=sys.stderr)
        sys.exit(1)
