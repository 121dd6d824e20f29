"""A small client of vmodem's control API (issue 10): status, faults, the event timeline.

The API is ``vmodem run --control`` (``docs/control.md``): JSON over
HTTP on loopback, errors as ``{"error": "..."}``, the timeline as Server-Sent Events. It uses only
the standard library (urllib), so the package has no dependencies.

:class:`vmodem.Module` and :class:`vmodem.Fleet` make one of these for you; use it directly to
reach a vmodem started elsewhere (``vmodem run --control 7878``)::

    control = Control("http://127.0.0.1:7878")
    print(control.status(0)["mqtt"])
"""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, cast

from .errors import ApiError, ControlUnavailable, UnknownFaultKind
from .types import Event, FaultInfo, ModuleSelection, ModuleStatus

_KINDS = re.compile(r"(?:kinds?|allowed):\s*(.+)$", re.IGNORECASE | re.DOTALL)


def kinds_from_error(message: str) -> List[str]:
    """The fault kinds listed in a 400 answer.

    The answer's text is ``Fault::parse``'s: ``unknown fault kind "x"; allowed: a, b, c``.
    """
    found = _KINDS.search(message)
    if not found:
        return []
    names = re.split(r"[,\s]+(?:or\s+)?", found.group(1).strip().rstrip("."))
    return [n.strip("\"'`") for n in names if n.strip("\"'`")]


class SseParser:
    """Turns Server-Sent Events lines into ``(event, data)`` pairs (the WHATWG rules we need).

    Feed it lines without their line terminator; it returns a pair when a blank line ends an
    event. Comment lines (``:``, used as keep-alives) and unknown fields are ignored.
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: List[str] = []

    def feed(self, line: str) -> Optional[Tuple[str, str]]:
        """Takes one line; returns ``(event_type, data)`` when an event is complete."""
        if line == "":
            if not self._data:
                self._event = ""
                return None
            done = (self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return done
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        return None


class Control:
    """The control API at ``url`` (``http://127.0.0.1:PORT``), optionally with a bearer token."""

    def __init__(self, url: str, *, token: Optional[str] = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------------------

    def _open(
        self, method: str, path: str, body: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raw = e.read().decode("utf-8", errors="replace")
            try:
                message = str(json.loads(raw).get("error", raw))
            except (ValueError, AttributeError):
                message = raw or str(e.reason)
            if e.code == 401:
                message += " (pass token=... to Module/Fleet/Control: the API was started with --control-token)"
            raise ApiError(e.code, message, method=method, url=self.url + path) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            reason = getattr(e, "reason", e)
            raise ControlUnavailable(
                f"cannot reach the control API at {self.url} ({reason}): is vmodem still "
                "running, and was it started with --control?"
            ) from None

    def request(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        """Sends one request; returns the decoded JSON answer (None for 204)."""
        with self._open(method, path, body) as response:
            raw = response.read()
        if not raw:
            return None
        return json.loads(raw)

    # -- resources ------------------------------------------------------------------------

    def modules(self) -> List[ModuleStatus]:
        """``GET /v1/modules``: every module's status."""
        return cast(List[ModuleStatus], self.request("GET", "/v1/modules"))

    def status(self, module: int = 0) -> ModuleStatus:
        """``GET /v1/modules/{id}``."""
        return cast(ModuleStatus, self.request("GET", f"/v1/modules/{module}"))

    def add_fault(
        self, module: int, kind: str, params: Mapping[str, Any], duration: Optional[float] = None
    ) -> FaultInfo:
        """``POST /v1/modules/{id}/faults``; raises :class:`UnknownFaultKind` for a bad kind."""
        body = _fault_body(kind, params, duration)
        try:
            return cast(FaultInfo, self.request("POST", f"/v1/modules/{module}/faults", body))
        except ApiError as e:
            raise _refine(e, kind) from None

    def faults(self, module: int = 0) -> List[FaultInfo]:
        """``GET /v1/modules/{id}/faults``: the active faults."""
        return cast(List[FaultInfo], self.request("GET", f"/v1/modules/{module}/faults"))

    def end_fault(self, module: int, fault_id: int) -> bool:
        """``DELETE /v1/modules/{id}/faults/{fault_id}``; False if it had already ended."""
        try:
            self.request("DELETE", f"/v1/modules/{module}/faults/{fault_id}")
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def clear_faults(self, module: int = 0) -> None:
        """``DELETE /v1/modules/{id}/faults``: ends every fault of the module."""
        self.request("DELETE", f"/v1/modules/{module}/faults")

    def fleet_fault(
        self,
        modules: ModuleSelection,
        kind: str,
        params: Mapping[str, Any],
        duration: Optional[float] = None,
    ) -> List[Tuple[int, FaultInfo]]:
        """``POST /v1/faults``: one fault on a set of modules; returns ``(module, fault)`` pairs."""
        body = {"modules": modules, **_fault_body(kind, params, duration)}
        try:
            answer = self.request("POST", "/v1/faults", body)
        except ApiError as e:
            raise _refine(e, kind) from None
        return [(int(item["module"]), cast(FaultInfo, item["fault"])) for item in answer["faults"]]

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text."""
        with self._open("GET", "/metrics") as response:
            return str(response.read().decode("utf-8"))

    def events(self, module: Optional[int] = None, *, idle_timeout: float = 10.0) -> Iterator[Event]:
        """``GET /v1/events``: the timeline as it happens, one event dict at a time.

        The iteration ends when no event (nor keep-alive) came for ``idle_timeout`` seconds, or
        when the server closes the stream. Close the iterator (``it.close()``, or leave a ``for``
        loop) to drop the connection.
        """
        query = "" if module is None else "?" + urllib.parse.urlencode({"module": module})
        response = self._open("GET", "/v1/events" + query, timeout=idle_timeout)
        parser = SseParser()
        try:
            while True:
                try:
                    raw = response.readline()
                except (socket.timeout, TimeoutError):
                    return
                if not raw:
                    return
                done = parser.feed(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                if done is None:
                    continue
                event_type, data = done
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    event.setdefault("type", event_type)
                    yield cast(Event, event)
        finally:
            response.close()


def _fault_body(kind: str, params: Mapping[str, Any], duration: Optional[float]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"kind": kind, **params}
    if duration is not None:
        body["duration_ms"] = int(round(duration * 1000))
    return body


def _refine(error: ApiError, kind: str) -> ApiError:
    if error.status == 400 and "unknown fault kind" in error.message.lower():
        return UnknownFaultKind(
            kind,
            kinds_from_error(error.message),
            error.status,
            error.message,
            method=error.method,
            url=error.url,
        )
    return error


class Fault:
    """An active fault on one module; ``end()`` ends it (also as a context manager)::

        with module.fault("network_loss", stat=2):
            ...   # the network is gone in here
        # and back here
    """

    def __init__(self, control: Control, module: int, info: FaultInfo) -> None:
        self.control = control
        self.module = module
        self.info = info

    @property
    def id(self) -> int:
        """The fault's id (unique within the vmodem process)."""
        return int(self.info["id"])

    @property
    def kind(self) -> str:
        """The fault's kind, e.g. ``network_loss``."""
        return str(self.info.get("kind", ""))

    def end(self) -> bool:
        """Ends the fault now; False if it had already ended (its duration ran out)."""
        return self.control.end_fault(self.module, self.id)

    def active(self) -> bool:
        """Whether the module still lists this fault as active."""
        return any(f.get("id") == self.id for f in self.control.faults(self.module))

    def __enter__(self) -> "Fault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def __repr__(self) -> str:
        return f"Fault(module={self.module}, id={self.id}, kind={self.kind!r})"


class FleetFault:
    """One fault request on several modules of a fleet; ``end()`` ends it on all of them."""

    def __init__(self, control: Control, faults: List[Tuple[int, FaultInfo]]) -> None:
        self.faults = [Fault(control, module, info) for module, info in faults]

    @property
    def modules(self) -> List[int]:
        """The ids of the modules that got the fault (a fraction is drawn by the fleet's seed)."""
        return [f.module for f in self.faults]

    def end(self) -> int:
        """Ends the fault on every module; returns how many were still active."""
        return sum(1 for f in self.faults if f.end())

    def __enter__(self) -> "FleetFault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def __repr__(self) -> str:
        return f"FleetFault(modules={self.modules!r})"
