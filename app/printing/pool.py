"""The warm render pool's server: ``python -m app.printing.pool FD``, started by :func:`app.printing.sandbox.warm_up`.

It imports the renderer's libraries once (:mod:`app.printing.preload`), then serves its parent over the control
socket ``FD``: each request carries one end of a socket pair and the render's limits; the server forks a child that
applies the limits, reads the job from that socket, renders, writes the result and exits, and replies with the
child's pid (so the parent can kill it at the wall-clock limit). The server is single-threaded, so forking it is
safe; it stops when its parent closes the control socket.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys

from app.printing import preload  # noqa: F401 - the point of the pool: imported once, before any fork
from app.printing.sandbox import warm_child


def serve(control: socket.socket) -> None:
    """Fork one child per request until the parent goes away."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: no zombies
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, 4096, 1)
        except (ConnectionError, OSError):
            return
        if not message:
            return
        channel = socket.socket(fileno=fds[0])
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            warm_child(channel, request)
        channel.close()
        control.sendall(pid.to_bytes(8, "big"))


def main() -> int:  # pragma: no cover - runs as the pool server
    """Serve the control socket given as the only argument."""
    # What the server imported stays for good: out of the collector's sight, it is neither scanned by each child's
    # collections nor copied into the child's memory when the collector would touch it.
    gc.freeze()
    serve(socket.socket(fileno=int(sys.argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
