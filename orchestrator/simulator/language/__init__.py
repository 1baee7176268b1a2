"""The language layer: PowerShell source -> a cached syntax tree -> values, variables and control flow."""
