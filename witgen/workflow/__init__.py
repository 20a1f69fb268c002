"""The daily workflow around the generator: config, crash-safe writing, freshness checks.

Data flows one way: `config` turns `[tool.witgen]` (or command-line options) into
`Target`s; a renderer turns a target into an in-memory map of relative POSIX
path -> file text; `writer` puts that map on disk atomically under a journal
and a manifest; `check` compares it with disk. `digest` fingerprints inputs and
outputs so that `check` can skip rendering when nothing changed.

None of these modules imports lark, jinja2 or black: the renderer does, lazily.
"""
