"""Imports every subcommand module so that each registers itself on the `orchestrate` group."""

import importlib
import pkgutil

import orchestrator.cli as _cli_package

for _module in pkgutil.iter_modules(_cli_package.__path__):
    if _module.name not in {"commands", "options", "output"}:
        importlib.import_module(f"orchestrator.cli.{_module.name}")
