"""Runs a command on a pseudo-terminal, waits until it prints WAIT_FOR, then
types Ctrl-C, as a user at a terminal would (the terminal sends SIGINT to
the whole foreground process group). Prints what the command wrote and how
it ended; exits 3 if WAIT_FOR never came.

    python ctrl_c.py WAIT_FOR COMMAND [ARGS...]
"""
import os
import pty
import select
import signal
import sys
import time

# Bounds, so that a command that never prints the line, or never ends, fails
# the test instead of hanging it.
DEADLINE = time.monotonic() + 120

wait_for = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    # A terminal's Ctrl-C must be able to reach the command even when this
    # helper was started with SIGINT ignored (a background job of a shell
    # without job control, some CI runners): exec keeps an ignored signal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(sys.argv[2], sys.argv[2:])


def read_some():
    """Output the command wrote, b"" at its end; kills it past DEADLINE."""
    left = DEADLINE - time.monotonic()
    ready, _, _ = select.select([fd], [], [], max(left, 0))
    if not ready:
        os.killpg(pid, signal.SIGKILL)
        sys.stdout.write(seen.decode(errors="replace") + "\n[timed out]\n")
        sys.exit(4)
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""


seen = b""
while wait_for not in seen:
    chunk = read_some()
    if not chunk:
        sys.stdout.write(seen.decode(errors="replace"))
        sys.exit(3)
    seen += chunk
os.write(fd, b"\x03")
# Drain what follows, until the command is gone.
while True:
    chunk = read_some()
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
if os.WIFSIGNALED(status):
    print(f"\n[ended by signal {signal.Signals(os.WTERMSIG(status)).name}]")
else:
    print(f"\n[exited {os.WEXITSTATUS(status)}]")
