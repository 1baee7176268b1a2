"""Imports every subcommand module so that each registers itself on the `orchestrate` group."""

import importlib
import pkgutil
from pathlib import Path

_NOT_COMMANDS = {"commands", "entry", "group", "hints", "interrupts", "options", "output", "vm_selection"}

for _module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _module.name not in _NOT_COMMANDS:
        importlib.import_module(f"orchestrator.cli.{_module.name}")
