"""Importing the Vertex AI SDK's persistent-resource client: normally, or fast in the CLI.

Importing the client the normal way runs `google/cloud/aiplatform_v1/__init__.py`, which
imports every service of the API (~0.6 s), while the pre-check needs one client. The fast
path (`_import_fast`) loads only the client's own submodules and leaves the package
`__init__`s to run the first time anyone asks them for a name; it falls back to the normal
import on any failure.

A package whose `__init__` has not run yet is not what a normal import gives: it has no
`__all__` or `__version__`, and a star-import finds almost nothing in it. That is harmless in
prgcloud's own command-line process, which uses nothing else of the SDK, but not in a caller's
program. So the fast path is off unless the process opts in with `allow_fast_import()`: the
console script does; library calls (`prgcloud.check`, ...) import the SDK the normal way.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from prgcloud.errors import PrecheckFailedError

# `normal` turns the fast import path off even in the CLI (for measuring it, or as an
# escape hatch).
SDK_IMPORT_VARIABLE = "PRGCLOUD_SDK_IMPORT"

SDK_PACKAGE = "google.cloud.aiplatform_v1"
CLIENT_MODULE = "google.cloud.aiplatform_v1.services.persistent_resource_service.client"
CLIENT_CLASS = "PersistentResourceServiceClient"
# Package `__init__`s the fast path skips. Each imports far more than the client needs; the
# client imports the submodules it needs by their full names, so it works without them.
BYPASSED_PACKAGES = (
    "google.cloud.aiplatform_v1",
    "google.cloud.aiplatform_v1.types",
    "google.cloud.aiplatform_v1.services.persistent_resource_service",
)

_fast_allowed = False


def allow_fast_import() -> None:
    """Let this process import the client on the fast path (for prgcloud's own CLI process)."""
    global _fast_allowed
    _fast_allowed = True


def fast_import_enabled(environ: Mapping[str, str]) -> bool:
    """Whether the next client import may take the fast path in this process."""
    return _fast_allowed and environ.get(SDK_IMPORT_VARIABLE, "").lower() != "normal"


def import_client_class(*, fast: bool = True) -> tuple[type[Any], str]:
    """`PersistentResourceServiceClient` and how it was imported: "fast", "normal" or "fallback".

    Already-imported SDK packages are reused as they are ("normal": someone paid already).
    """
    if not fast or SDK_PACKAGE in sys.modules:
        return _import_normal(), "normal"
    try:
        return _import_fast(), "fast"
    # Any failure at all (a moved module, a changed package layout, a new import-time check)
    # must only cost time, never the pre-check: undo the bypass and import the normal way.
    except Exception:  # noqa: BLE001 - any failure falls back, as the comment above says
        _remove_bypass()
        # The real package first, as a normal import would: submodules the fast attempt left
        # in sys.modules are reused by its __init__ (and must be, as their protobuf types are
        # registered once per process); then link them to their real parents again.
        importlib.import_module(SDK_PACKAGE)
        _relink(SDK_PACKAGE)
        return _import_normal(), "fallback"


def _import_normal() -> type[Any]:
    module = importlib.import_module(CLIENT_MODULE)
    return getattr(module, CLIENT_CLASS)  # type: ignore[no-any-return]


def _import_fast() -> type[Any]:
    """Import the client with the heavy package `__init__`s bypassed.

    Each bypassed package is registered as a real package module (its own spec, `__path__`,
    `__file__`) whose `__init__` has not run yet, so submodules load from it as usual. The
    first time anyone asks such a package for a name that is not a submodule (say
    `from google.cloud.aiplatform_v1 import CustomJob`), its real `__init__` runs in place:
    the package then is what a normal import would have given.
    """
    for name in BYPASSED_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} is not a package that can be bypassed")
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__getattr__"] = _completer(module)
        module.__dict__["_prgcloud_bypassed"] = True
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)
    module = importlib.import_module(CLIENT_MODULE)
    client: type[Any] = getattr(module, CLIENT_CLASS)
    return client


def _completer(module: ModuleType) -> Callable[[str], Any]:
    lock = threading.RLock()

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        submodule = f"{module.__name__}.{name}"
        if submodule in sys.modules:
            return sys.modules[submodule]
        if importlib.util.find_spec(submodule) is not None:
            return importlib.import_module(submodule)
        with lock:
            if module.__dict__.pop("__getattr__", None) is not None:
                module.__dict__.pop("_prgcloud_bypassed", None)
                spec = module.__spec__
                assert spec is not None
                assert spec.loader is not None
                spec.loader.exec_module(module)
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None

    return __getattr__


def _relink(package: str) -> None:
    """Make every loaded submodule of `package` an attribute of its parent, as imports do."""
    for name, module in sorted(sys.modules.copy().items()):
        if name.startswith(package + ".") and module is not None:
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is not module:
                setattr(sys.modules[parent], child, module)


def _remove_bypass() -> None:
    for name in BYPASSED_PACKAGES:
        module = sys.modules.get(name)
        if module is not None and module.__dict__.get("_prgcloud_bypassed"):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
                delattr(sys.modules[parent], child)


class _ClientImport:
    """The client import, started once per process on a thread and awaited when needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: tuple[type[Any], str] | None = None
        self._error: BaseException | None = None

    def start(self, *, fast: bool) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(fast,), name="prgcloud-sdk-import", daemon=True
                )
                self._thread.start()

    def _run(self, fast: bool) -> None:
        try:
            self._result = import_client_class(fast=fast)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread as it is
            self._error = error

    def result(self, *, fast: bool) -> tuple[type[Any], str]:
        self.start(fast=fast)
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise PrecheckFailedError(
                f"the Vertex AI SDK (google-cloud-aiplatform) cannot be imported: "
                f"{self._error}. Reinstall prgcloud with its dependencies "
                "(`pip install --force-reinstall prgcloud`)."
            ) from self._error
        assert self._result is not None
        return self._result


_client_import = _ClientImport()


def start_client_import(environ: Mapping[str, str]) -> None:
    """Start importing the client on a thread (once per process), to overlap other work."""
    _client_import.start(fast=fast_import_enabled(environ))


def client_class(environ: Mapping[str, str]) -> type[Any]:
    """`PersistentResourceServiceClient`, once its import is done (PrecheckFailedError if not)."""
    return _client_import.result(fast=fast_import_enabled(environ))[0]


def client_import_path() -> str | None:
    """How this process imported the client ("fast", "normal", "fallback"), None if not yet."""
    result = _client_import._result
    return result[1] if result else None


JOBS_CLIENT_MODULE = "google.cloud.aiplatform_v1.services.job_service.client"


def jobs_client_class() -> type[Any]:
    """The SDK's `JobServiceClient` (to list custom jobs), imported the normal way.

    Only `persistent-resources delete`, `reboot` and `capacity --jobs` list jobs; after a
    fast import of the persistent-resource client it imports only its own modules (the
    bypassed package `__init__`s stay unrun), otherwise the SDK's package with it.
    """
    try:
        module = importlib.import_module(JOBS_CLIENT_MODULE)
    except ImportError as error:
        raise PrecheckFailedError(
            f"the Vertex AI SDK (google-cloud-aiplatform) cannot be imported: {error}. "
            "Reinstall prgcloud with its dependencies (`pip install --force-reinstall prgcloud`)."
        ) from error
    return module.JobServiceClient  # type: ignore[no-any-return]
