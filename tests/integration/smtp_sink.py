"""A real SMTP server for the notification tests (Debian's python3-aiosmtpd), recording every
message it accepts as one JSON line: {"at", "mail_from", "rcpt_tos", "data"}.

    python3 smtp_sink.py PORT OUTPUT_FILE

It prints "ready" once it listens. Run it with the interpreter that has aiosmtpd (the
system's /usr/bin/python3 on Debian); notify_tools.SmtpSink finds that interpreter.
"""

import json
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        record = {
            "at": time.time(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    controller = Controller(Recorder(sys.argv[2]), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
