"""The flow engine: flows.yaml models, loader, validator, compiler, hooks."""
