"""The WIT resolver: package folders and files -> `witgen.model.Resolve`.

Modules, one per phase: `loader` (files, `deps/`, package order), `package`
(stage A: one package with local ids), `append` (stage B: into the global
arenas), `worlds` (include and elaboration), `gates` (feature gates),
`toposort`, `semver`.
"""

from witgen.resolver.loader import load

__all__ = ["load"]
