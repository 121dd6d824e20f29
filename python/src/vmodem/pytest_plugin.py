"""The pytest plugin (entry point ``pytest11``, loaded when the package is installed).

Fixtures:
    ``vmodem_module``: a started :class:`vmodem.Module` for one test, stopped after it.
    ``vmodem_factory``: a function making more modules (all stopped after the test).
    ``vmodem_fleet``: a started :class:`vmodem.Fleet` (``@pytest.mark.vmodem_fleet(count=...)``).

Choosing the module, most specific first:
    ``@pytest.mark.vmodem(model="bg96", timing="realistic", network="catm1", tcp=True, ...)``
    (any :class:`vmodem.Module` argument; on a test, class or module), then the command line
    ``--vmodem-model``, ``--vmodem-timing``, ``--vmodem-network``, ``--vmodem-bin``, then the
    defaults (ec25, fast).

``@pytest.mark.vmodem_requires("--control", reason="...")`` skips a test whose vmodem binary
lacks a flag (``command="fleet"`` for ``vmodem fleet``): a feature still pending, visible as a
skip with its reason, never as a pass.

When a test that used a module fails, its report carries the module's last serial lines
(``--vmodem-trace-lines N``, default 40) in a section ``vmodem trace``, and vmodem's log when
it had exited.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple, Union

import pytest

from . import _binary
from .errors import VmodemError
from .fleet import Fleet
from .module import Module

_MODULES = pytest.StashKey[List[Tuple[str, Union[Module, Fleet]]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds the ``--vmodem-*`` options."""
    group = parser.getgroup("vmodem", "virtual Quectel modules (vmodem)")
    group.addoption("--vmodem-bin", metavar="PATH", help="the vmodem binary (default: $VMODEM_BIN, the installed one, PATH, a checkout's target/)")
    group.addoption("--vmodem-model", metavar="MODEL", help="default model: ec25, eg95, em05, bg96 (a test's @pytest.mark.vmodem(model=...) wins)")
    group.addoption("--vmodem-timing", metavar="SPEED", help="default timing: fast or realistic")
    group.addoption("--vmodem-network", metavar="PROFILE", help="default radio-network profile: none, lte, catm1, nbiot")
    group.addoption("--vmodem-trace-lines", metavar="N", type=int, default=40, help="serial lines shown in a failed test's report (default 40; 0: none)")


def pytest_configure(config: pytest.Config) -> None:
    """Registers the markers; makes a relative ``VMODEM_BIN`` absolute (tests may chdir)."""
    env = os.environ.get("VMODEM_BIN")
    if env and not os.path.isabs(env):
        path = Path(config.invocation_params.dir) / env
        if path.exists():
            os.environ["VMODEM_BIN"] = str(path.resolve())
    config.addinivalue_line(
        "markers",
        "vmodem(**kwargs): arguments of the vmodem_module fixture's Module (model=, timing=, "
        "network=, tcp=, broker=, broker_users=, args=, ...)",
    )
    config.addinivalue_line(
        "markers", "vmodem_fleet(count, **kwargs): arguments of the vmodem_fleet fixture's Fleet"
    )
    config.addinivalue_line(
        "markers",
        "vmodem_requires(*flags, command='run', reason=''): skip unless the vmodem binary has "
        "these flags (a pending feature)",
    )


def _binary_opt(config: pytest.Config) -> Optional[str]:
    value = config.getoption("--vmodem-bin")
    if not value:
        return None
    path = Path(config.invocation_params.dir) / str(value)
    return str(path) if path.exists() else str(value)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Marks tests ``vmodem_requires`` whose binary lacks the flags as skipped (pending)."""
    binary: Optional[str] = None
    for item in items:
        for marker in item.iter_markers("vmodem_requires"):
            if binary is None:
                try:
                    binary = _binary.find_binary(_binary_opt(config))
                except VmodemError:
                    return  # the fixture reports the missing binary as an error, not a skip
            command = str(marker.kwargs.get("command", "run"))
            reason = str(marker.kwargs.get("reason", ""))
            have = _binary.flags(binary, command)
            missing = [f for f in marker.args if have is None or f not in have]
            if missing:
                what = f"`vmodem {command}`" if have is None else f"`vmodem {command} {' '.join(missing)}`"
                text = f"pending: {binary} has no {what}" + (f" ({reason})" if reason else "")
                item.add_marker(pytest.mark.skip(reason=text))
                break


def _merged(item: pytest.Item, name: str) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
    """The marker's args (closest wins) and its kwargs merged, the closest marker winning."""
    kwargs: Dict[str, Any] = {}
    args: Tuple[Any, ...] = ()
    markers = list(item.iter_markers(name))  # closest first
    for marker in reversed(markers):
        kwargs.update(marker.kwargs)
        if marker.args:
            args = tuple(marker.args)
    return args, kwargs


def _module_kwargs(request: pytest.FixtureRequest) -> Dict[str, Any]:
    config = request.config
    kwargs: Dict[str, Any] = {}
    for option, key in (
        ("--vmodem-model", "model"),
        ("--vmodem-timing", "timing"),
        ("--vmodem-network", "network"),
    ):
        value = config.getoption(option)
        if value:
            kwargs[key] = value
    binary = _binary_opt(config)
    if binary:
        kwargs["binary"] = binary
    _, marked = _merged(request.node, "vmodem")
    kwargs.update(marked)
    return kwargs


@pytest.fixture
def vmodem_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Generator[Callable[..., Module], None, None]:
    """Makes started modules: ``vmodem_factory(model="bg96")``; stops them after the test.

    Defaults come from the ``vmodem`` marker and the ``--vmodem-*`` options; keyword arguments
    given here win. Each module's files go to the test's ``tmp_path``.
    """
    made: List[Module] = []
    stash = request.node.stash.setdefault(_MODULES, [])

    def make(**kwargs: Any) -> Module:
        merged = _module_kwargs(request)
        merged.update(kwargs)
        merged.setdefault("workdir", tmp_path / f"vmodem-{len(made)}")
        module = Module(**merged)
        made.append(module)
        stash.append((f"module {len(made) - 1}", module))
        module.start()
        return module

    try:
        yield make
    finally:
        errors = []
        for module in reversed(made):
            try:
                module.stop()
            except BaseException as e:  # keep stopping the others
                errors.append(e)
        if errors:
            raise errors[0]


@pytest.fixture
def vmodem_module(vmodem_factory: Callable[..., Module]) -> Module:
    """A started :class:`vmodem.Module` for this test (see the ``vmodem`` marker)."""
    return vmodem_factory()


@pytest.fixture
def vmodem_fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Generator[Fleet, None, None]:
    """A started :class:`vmodem.Fleet`: ``@pytest.mark.vmodem_fleet(count=100, script=...)``.

    A binary without ``vmodem fleet`` errors saying so (:class:`vmodem.UnsupportedOption`).
    """
    args, kwargs = _merged(request.node, "vmodem_fleet")
    for option, key in (("--vmodem-model", "model"), ("--vmodem-timing", "timing"), ("--vmodem-network", "network")):
        value = request.config.getoption(option)
        if value:
            kwargs.setdefault(key, value)
    binary = _binary_opt(request.config)
    if binary:
        kwargs.setdefault("binary", binary)
    kwargs.setdefault("workdir", tmp_path / "vmodem-fleet")
    if not args and "count" not in kwargs:
        kwargs["count"] = 10
    fleet = Fleet(*args, **kwargs)
    request.node.stash.setdefault(_MODULES, []).append(("fleet", fleet))
    fleet.start()
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Adds the serial trace of the test's modules to a failed test's report."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed:
        return
    lines = int(item.config.getoption("--vmodem-trace-lines"))
    for name, thing in item.stash.get(_MODULES, []):
        if isinstance(thing, Module):
            if lines > 0 and thing.trace_path is not None:
                report.sections.append((f"vmodem trace ({name})", thing.trace_excerpt(lines)))
            process = thing._process
            if process is not None and not process.alive() and process.popen is not None:
                report.sections.append(
                    (f"vmodem log ({name}, exited {process.returncode()})", process.output()[-4000:])
                )
        elif thing.workdir is not None and thing._process is not None:
            report.sections.append((f"vmodem log ({name})", thing._process.output()[-4000:]))
