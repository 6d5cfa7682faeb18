"""The harness's side of the driver protocol (spec/16-conformance.md section 3).

Starts the implementation under test as a subprocess and speaks JSON lines to it.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import threading
from typing import Any

import attrs

DEFAULT_TIMEOUT_S = 60.0


@attrs.frozen
class Response:
    """One answer: `ok` with a `result`, or an `error` object with `code` and `message`."""

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def code(self) -> str | None:
        return None if self.error is None else str(self.error.get("code"))


class DriverError(Exception):
    """The implementation broke the protocol: it died, timed out or wrote something unparseable."""


class Driver:
    """A running implementation under test."""

    def __init__(self, command: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.command = command
        self.timeout_s = timeout_s
        self._next_id = 0
        self._proc = subprocess.Popen(
            shlex.split(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._exited = False  # it closed its end: no further answers will come
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def call(self, cmd: str, args: dict[str, Any] | None = None) -> Response:
        """Send one request and wait for its response."""
        self._next_id += 1
        request = {"id": self._next_id, "cmd": cmd, "args": args or {}}
        return self.send_line(json.dumps(request, separators=(",", ":")), self._next_id, cmd)

    def send_line(self, line: str, rid: int | None, cmd: str = "a raw line") -> Response:
        """Send one raw request line; the response must carry `rid` (None for unparseable)."""
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self._exited = True
            raise DriverError(f"implementation is not running ({exc})") from exc
        try:
            answer = self._lines.get(timeout=self.timeout_s)
        except queue.Empty as exc:
            raise DriverError(f"no response to {cmd!r} within {self.timeout_s:.0f} s") from exc
        if answer is None:
            self._exited = True
            raise DriverError(f"implementation exited while answering {cmd!r}")
        try:
            message = json.loads(answer)
        except json.JSONDecodeError as exc:
            raise DriverError(f"response to {cmd!r} is not JSON: {answer[:200]!r}") from exc
        if not isinstance(message, dict) or message.get("id") != rid:
            raise DriverError(f"response to {cmd!r} has the wrong id: {answer[:200]!r}")
        if message.get("ok") is True:
            return Response(ok=True, result=message.get("result"))
        error = message.get("error")
        if message.get("ok") is not False or not isinstance(error, dict) or "code" not in error:
            raise DriverError(f"malformed response to {cmd!r}: {answer[:200]!r}")
        return Response(ok=False, error=error)

    def close(self) -> None:
        """Close stdin (the end of the session) and reap the process."""
        try:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()

    @property
    def alive(self) -> bool:
        return not self._exited and self._proc.poll() is None
