"""Shared plumbing every app may use and that uses no app: the API's error format, schema helpers,
pagination, strict fields and parsers, the offload wrapper, client addresses, cache keys, image
checks, WebSocket origins. It imports Django, DRF and the standard library only (the import
contract in ``.importlinter`` holds it to that)."""
