"""Loading a researcher's own theorems and claims: plugin files, modules and entry points.

A *plugin* is Python code that registers theorems (:func:`kdtheory.register`) and claims
(:func:`kdtheory.audit.claim`).  It is loaded by

* ``kdtheory audit|list|show|latex --plugin MODULE_OR_FILE`` (repeatable): a path to a ``.py``
  file, or an importable module name;
* the entry-point group :data:`ENTRY_POINT_GROUP` of installed packages, loaded by every
  command: in a package's ``pyproject.toml``::

      [project.entry-points."kdtheory.plugins"]
      my_bounds = "my_package.bounds"

Everything a plugin registers records the plugin as its origin (``kdtheory list`` shows it), and
an audit report's reproduce line names the ``--plugin`` options it needs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from .theorems.registry import loading

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_plugin", "load_entry_points", "loaded"]

ENTRY_POINT_GROUP = "kdtheory.plugins"
_LOADED: dict[str, str] = {}  # spec -> how it was loaded ("plugin" or "entry point")


class PluginError(Exception):
    """A plugin could not be found or raised while loading (one line, names the plugin)."""


def loaded(how: str = "plugin") -> list[str]:
    """The specs loaded so far by ``how`` (``"plugin"``: :func:`load_plugin`, what a reproduce
    line must pass as ``--plugin``; ``"entry point"``), in order."""
    return [k for k, v in _LOADED.items() if v == how]


def load_plugin(spec: str) -> str:
    """Load the plugin ``spec`` (a ``.py`` path or a module name) once; returns its origin label
    (the path as given, or the module name).  ``PluginError`` if it is missing or fails."""
    if not isinstance(spec, str) or not spec.strip():
        raise PluginError(f"a plugin is a .py file or a module name, got {spec!r}")
    if spec in _LOADED:
        return spec
    path = Path(spec)
    is_file = spec.endswith(".py") or path.suffix == ".py" or path.exists()
    with loading(spec):
        try:
            if is_file:
                _load_file(path)
            else:
                importlib.import_module(spec)
        except PluginError:
            raise
        except ModuleNotFoundError as exc:
            if not is_file and exc.name and spec.startswith(exc.name):
                raise PluginError(
                    f"plugin {spec}: no module named {exc.name!r} (give a .py path or an "
                    f"importable module)"
                ) from None
            raise PluginError(f"plugin {spec} failed: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # a broken plugin: one line naming it, never a traceback
            raise PluginError(f"plugin {spec} failed: {type(exc).__name__}: {exc}") from exc
    _LOADED[spec] = "plugin"
    return spec


def _load_file(path: Path) -> None:
    if not path.is_file():
        raise PluginError(f"plugin {path}: no such file")
    if path.suffix != ".py":
        raise PluginError(f"plugin {path}: a plugin file must end in .py")
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"kdtheory_plugin_{resolved.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise PluginError(f"plugin {path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise


def load_entry_points() -> list[str]:
    """Load every plugin of the :data:`ENTRY_POINT_GROUP` entry points; returns their labels."""
    out = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        label = f"{ep.value} (entry point {ep.name})"
        if ep.value in _LOADED:
            continue
        with loading(label):
            try:
                ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.value} (entry point {ep.name!r}) failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        _LOADED[ep.value] = "entry point"
        out.append(label)
    return out
