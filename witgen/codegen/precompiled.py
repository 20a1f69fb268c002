"""The code generator's templates as plain Python functions (`witgen.codegen.templating`).

Written by `python -m witgen.codegen.write_templates` from templates/*.jinja: do not edit.
"""

# fmt: off
from __future__ import annotations

from typing import Any

from witgen.codegen.templateruntime import Rendering
from witgen.codegen.templateruntime import getattr_ as _getattr
from witgen.codegen.templateruntime import getitem as _getitem
from witgen.codegen.templateruntime import join as _join

__all__ = ["TEMPLATES"]


def _alias_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(_getattr(ctx['t'], 'name')))
    _a(': TypeAlias = ')
    _a(str(_getattr(ctx['t'], 'annot')))
    _a('\n')
    if _getattr(ctx['t'], 'doc'):
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n')
    return ''.join(parts)


def _client_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a('class ')
    _a(str(_getattr(ctx['c'], 'name')))
    _a('(')
    _a(str(_getattr(ctx['c'], 'base')))
    _a('):\n')
    if _getattr(ctx['c'], 'doc'):
        _a('    ')
        _a(str(_getattr(ctx['c'], 'doc')))
        _a('\n')
    else:
        _a('    """Calls `')
        _a(str((_getattr(ctx['c'], 'instance') or "the world's functions")))
        _a('` over a bus."""\n')
    _a('\n    __slots__ = ()\n    INSTANCE = "')
    _a(str(_getattr(ctx['c'], 'instance')))
    _a('"\n    FUNCTIONS = ')
    _a(str(_getattr(ctx['c'], 'functions')))
    _a('\n')
    if _getattr(ctx['c'], 'proxies'):
        _a('    PROXIES = {\n')
        for _l_item_1 in _getattr(ctx['c'], 'proxies'):
            _a('        ')
            _a(str(_l_item_1))
            _a(',\n')
        _a('    }\n')
    for _l_mth_2 in _getattr(ctx['c'], 'methods'):
        _a('\n    ')
        _a(str(_getattr(_l_mth_2, 'client_header')))
        _a('\n')
        if _getattr(_l_mth_2, 'doc'):
            _a('        ')
            _a(str(_getattr(_l_mth_2, 'doc')))
            _a('\n')
        _a(str(filters["block"](_getattr(_l_mth_2, 'body'), 8)))
        _a('\n')
    return ''.join(parts)


def _dispatch_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a('def ')
    _a(str(ctx['table']))
    _a('(*')
    for _l_p_1 in ctx['providers']:
        _a(', ')
        _a(str(_getattr(_l_p_1, 'kw')))
        _a(': ')
        _a(str(_getattr(_getattr(_l_p_1, 'protocol'), 'name')))
    _a(') -> _d.DispatchTable:\n    """A dispatch table answering every export of this world with the given implementations."""\n    table = _d.DispatchTable()\n')
    for _l_p_2 in ctx['providers']:
        _a('    ')
        _a(str(_getattr(_l_p_2, 'add_interface')))
        _a('\n')
    _a('    return table\n\n\ndef ')
    _a(str(ctx['serve']))
    _a('(bus: _b.Bus, *')
    for _l_p_3 in ctx['providers']:
        _a(', ')
        _a(str(_getattr(_l_p_3, 'kw')))
        _a(': ')
        _a(str(_getattr(_getattr(_l_p_3, 'protocol'), 'name')))
    _a(') -> _b.Serving:\n    """Serve this world\'s exports on `bus` until the returned registration is closed."""\n    return bus.serve(')
    _a(str(ctx['table']))
    _a('(')
    _items5 = list(ctx['providers'])
    _n6 = len(_items5)
    for _i7, _l_p_4 in enumerate(_items5):
        _a(str(_getattr(_l_p_4, 'kw')))
        _a('=')
        _a(str(_getattr(_l_p_4, 'kw')))
        _a(str(', ') if (not (_i7 == _n6 - 1)) else '')
    _a('))\n')
    return ''.join(parts)


def _enum_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(_getattr(ctx['t'], 'description')))
    _a('\nclass ')
    _a(str(_getattr(ctx['t'], 'name')))
    _a('(enum.Enum):\n')
    if _getattr(ctx['t'], 'doc'):
        _a('    ')
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n\n')
    else:
        _a('    """WIT enum `')
        _a(str(_getattr(ctx['t'], 'wit')))
        _a('`."""\n\n')
    for _l_c_1 in _getattr(ctx['t'], 'members'):
        _a('    ')
        _a(str(_getattr(_l_c_1, 'name')))
        _a(' = ')
        _a(str(_getattr(_l_c_1, 'value')))
        _a('\n')
        if _getattr(_l_c_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_c_1, 'doc')))
            _a('\n')
    return ''.join(parts)


def _flags_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(_getattr(ctx['t'], 'description')))
    _a('\nclass ')
    _a(str(_getattr(ctx['t'], 'name')))
    _a('(enum.Flag):\n')
    if _getattr(ctx['t'], 'doc'):
        _a('    ')
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n\n')
    else:
        _a('    """WIT flags `')
        _a(str(_getattr(ctx['t'], 'wit')))
        _a('`."""\n\n')
    for _l_f_1 in _getattr(ctx['t'], 'members'):
        _a('    ')
        _a(str(_getattr(_l_f_1, 'name')))
        _a(' = ')
        _a(str(_getattr(_l_f_1, 'value')))
        _a('\n')
        if _getattr(_l_f_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_f_1, 'doc')))
            _a('\n')
    return ''.join(parts)


def _host_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _kept2: list[Any] = []
    for _l_e_1 in _getattr(ctx['h'], 'exports'):
        if _getattr(_l_e_1, 'attr'):
            _kept2.append(_l_e_1)
    for _l_e_1 in _kept2:
        _a('class ')
        _a(str(_getattr(_l_e_1, 'cls')))
        _a(':\n')
        if _getattr(_l_e_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_e_1, 'doc')))
            _a('\n')
        else:
            _a('    """The exports of `')
            _a(str(_getattr(_l_e_1, 'instance')))
            _a('`, called on a hosted component."""\n')
        _a('\n    __slots__ = ("_host",)\n\n    def __init__(self, host: _wasm.ComponentHost) -> None:\n        self._host = host\n')
        for _l_mth_3 in _getattr(_l_e_1, 'methods'):
            _a('\n    def ')
            _a(str(_getattr(_l_mth_3, 'name')))
            _a('(self')
            _a(str(_getattr(_l_mth_3, 'signature')))
            _a(') -> ')
            _a(str(_getattr(_l_mth_3, 'result')))
            _a(':\n')
            if _getattr(_l_mth_3, 'doc'):
                _a('        ')
                _a(str(_getattr(_l_mth_3, 'doc')))
                _a('\n')
            _a('        return self._host.call("')
            _a(str(_getattr(_l_e_1, 'instance')))
            _a('", "')
            _a(str(_getattr(_l_mth_3, 'wire')))
            _a('"')
            _a(str(_getattr(_l_mth_3, 'args')))
            _a(')  # type: ignore[no-any-return]\n')
        _a('\n\n')
    _a('class ')
    _a(str(_getattr(ctx['h'], 'name')))
    _a('(_wasm.ComponentHost):\n    """A component of world `')
    _a(str(_getattr(ctx['h'], 'world')))
    _a('` run with wasmtime, its imports answered by Python.\n\n    Each imported interface is a keyword taking the object that answers it directly;\n    the others go through `bus`. `options` are `ComponentHost`\'s (`deadline`, `wasi`,\n    `routes`, `definers`, `name`).\n    """\n\n    IMPORTS: _t.ClassVar[dict[str, dict[str, wit.Func]]] = {\n')
    for _l_i_4 in _getattr(ctx['h'], 'imports'):
        _a('        "')
        _a(str(_getattr(_l_i_4, 'instance')))
        _a('": ')
        _a(str(_getattr(_l_i_4, 'functions')))
        _a(',\n')
    _a('    }\n    EXPORTS: _t.ClassVar[dict[str, dict[str, wit.Func]]] = {\n')
    for _l_e_5 in _getattr(ctx['h'], 'exports'):
        _a('        "')
        _a(str(_getattr(_l_e_5, 'instance')))
        _a('": ')
        _a(str(_getattr(_l_e_5, 'functions')))
        _a(',\n')
    _a('    }\n    METHODS: _t.ClassVar[dict[str, dict[str, str]]] = {\n')
    _items7 = list(_getattr(ctx['h'], 'imports'))
    _n8 = len(_items7)
    for _i9, _l_i_6 in enumerate(_items7):
        _a('        "')
        _a(str(_getattr(_l_i_6, 'instance')))
        _a('": ')
        _a(str('{'))
        _items12 = list(_getattr(_l_i_6, 'methods'))
        _n13 = len(_items12)
        for _i14, (_l_w_10, _l_n_11) in enumerate(_items12):
            _a('"')
            _a(str(_l_w_10))
            _a('": "')
            _a(str(_l_n_11))
            _a('"')
            _a(str(', ') if (not (_i14 == _n13 - 1)) else '')
        _a(str('}'))
        _a(',\n')
    _a('    }\n\n    def __init__(\n        self,\n        component: _t.Any,\n        *,\n')
    for _l_i_15 in _getattr(ctx['h'], 'imports'):
        _a('        ')
        _a(str(_getattr(_l_i_15, 'kw')))
        _a(': object | None = None,\n')
    _a('        bus: _b.Bus | None = None,\n        **options: _t.Any,\n    ) -> None:\n        given: dict[str, object | None] = ')
    _a(str('{'))
    _items17 = list(_getattr(ctx['h'], 'imports'))
    _n18 = len(_items17)
    for _i19, _l_i_16 in enumerate(_items17):
        _a('"')
        _a(str(_getattr(_l_i_16, 'instance')))
        _a('": ')
        _a(str(_getattr(_l_i_16, 'kw')))
        _a(str(', ') if (not (_i19 == _n18 - 1)) else '')
    _a(str('}'))
    _a('\n        super().__init__(\n            component,\n            imports=self.IMPORTS,\n            exports=self.EXPORTS,\n            providers={k: v for k, v in given.items() if v is not None},\n            methods=self.METHODS,\n            bus=bus,\n            **options,\n        )\n')
    _kept21: list[Any] = []
    for _l_e_20 in _getattr(ctx['h'], 'exports'):
        if _getattr(_l_e_20, 'attr'):
            _kept21.append(_l_e_20)
    for _l_e_20 in _kept21:
        _a('        self.')
        _a(str(_getattr(_l_e_20, 'attr')))
        _a(' = ')
        _a(str(_getattr(_l_e_20, 'cls')))
        _a('(self)\n')
    for _l_mth_22 in _getattr(ctx['h'], 'world_methods'):
        _a('\n    def ')
        _a(str(_getattr(_l_mth_22, 'name')))
        _a('(self')
        _a(str(_getattr(_l_mth_22, 'signature')))
        _a(') -> ')
        _a(str(_getattr(_l_mth_22, 'result')))
        _a(':\n')
        if _getattr(_l_mth_22, 'doc'):
            _a('        ')
            _a(str(_getattr(_l_mth_22, 'doc')))
            _a('\n')
        _a('        return self.call("", "')
        _a(str(_getattr(_l_mth_22, 'wire')))
        _a('"')
        _a(str(_getattr(_l_mth_22, 'args')))
        _a(')  # type: ignore[no-any-return]\n')
    return ''.join(parts)


def _init_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(ctx['header']))
    _a('\n')
    _a(str(ctx['doc']))
    _a('\n')
    return ''.join(parts)


def _module_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(ctx['header']))
    _a('\n')
    _a(str(ctx['doc']))
    _a('\n\nfrom __future__ import annotations\n\n')
    for _l_line_1 in ctx['imports']:
        _a(str(_l_line_1))
        _a('\n')
    _a('\n')
    for _l_chunk_2 in ctx['chunks']:
        _a('\n\n')
        _a(str(_l_chunk_2))
        _a('\n')
    return ''.join(parts)


def _provider_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    for _l_res_1 in _getattr(ctx['p'], 'resources'):
        _a('class ')
        _a(str(_getattr(_l_res_1, 'name')))
        _a('(_t.Protocol):\n')
        if _getattr(_l_res_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_res_1, 'doc')))
            _a('\n')
        else:
            _a('    """An object the provider implements for each resource it hands out."""\n')
        for _l_mth_2 in _getattr(_l_res_1, 'methods'):
            _a('\n')
            if _getattr(_l_mth_2, 'doc'):
                _a('    ')
                _a(str(_getattr(_l_mth_2, 'provider_header')))
                _a('\n        ')
                _a(str(_getattr(_l_mth_2, 'doc')))
                _a('\n        ...\n')
            else:
                _a('    ')
                _a(str(_getattr(_l_mth_2, 'stub_header')))
                _a('\n')
        _a('\n\n')
    _a('class ')
    _a(str(_getattr(_getattr(ctx['p'], 'protocol'), 'name')))
    _a('(_t.Protocol):\n')
    if _getattr(_getattr(ctx['p'], 'protocol'), 'doc'):
        _a('    ')
        _a(str(_getattr(_getattr(ctx['p'], 'protocol'), 'doc')))
        _a('\n')
    else:
        _a('    """What a provider of `')
        _a(str((_getattr(ctx['p'], 'instance') or "the world's functions")))
        _a('` implements."""\n')
    for _l_mth_3 in _getattr(_getattr(ctx['p'], 'protocol'), 'methods'):
        _a('\n')
        if _getattr(_l_mth_3, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_mth_3, 'provider_header')))
            _a('\n        ')
            _a(str(_getattr(_l_mth_3, 'doc')))
            _a('\n        ...\n')
        else:
            _a('    ')
            _a(str(_getattr(_l_mth_3, 'stub_header')))
            _a('\n')
    _a('\n\ndef ')
    _a(str(_getattr(ctx['p'], 'ops_fn')))
    _a('() -> list[_d.Operation]:\n    """The dispatch operations of `')
    _a(str((_getattr(ctx['p'], 'instance') or "the world's functions")))
    _a('`."""\n    return _d.operations(\n        ')
    _a(str(_getattr(ctx['p'], 'functions')))
    _a(',\n        ')
    _a(str('{'))
    _items6 = list(_getattr(ctx['p'], 'methods'))
    _n7 = len(_items6)
    for _i8, (_l_wire_4, _l_name_5) in enumerate(_items6):
        _a('"')
        _a(str(_l_wire_4))
        _a('": "')
        _a(str(_l_name_5))
        _a('"')
        _a(str(', ') if (not (_i8 == _n7 - 1)) else '')
    _a(str('}'))
    _a(',\n')
    if _getattr(ctx['p'], 'local_resources'):
        _a('        resources=[')
        _a(str(_join(_getattr(ctx['p'], 'local_resources'), ', ')))
        _a('],\n')
    _a('    )\n')
    return ''.join(parts)


def _proxies_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _items2 = list(ctx['proxies'])
    _n3 = len(_items2)
    for _i4, _l_px_1 in enumerate(_items2):
        _a('class ')
        _a(str(_getattr(_l_px_1, 'name')))
        _a('(_r.ResourceProxy):\n')
        if _getattr(_l_px_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_px_1, 'doc')))
            _a('\n')
        else:
            _a('    """A handle to a `')
            _a(str(_getattr(_l_px_1, 'resource')))
            _a('` held by the provider; drop it (or use `with`)."""\n')
        _a('\n    __slots__ = ()\n    RESOURCE = "')
        _a(str(_getattr(_l_px_1, 'resource')))
        _a('"\n')
        for _l_mth_5 in _getattr(_l_px_1, 'methods'):
            _a('\n    ')
            _a(str(_getattr(_l_mth_5, 'client_header')))
            _a('\n')
            if _getattr(_l_mth_5, 'doc'):
                _a('        ')
                _a(str(_getattr(_l_mth_5, 'doc')))
                _a('\n')
            _a(str(filters["block"](_getattr(_l_mth_5, 'body'), 8)))
            _a('\n')
        if (not (_i4 == _n3 - 1)):
            _a('\n\n')
    return ''.join(parts)


def _record_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(_getattr(ctx['t'], 'description')))
    _a('\n@dataclasses.dataclass(slots=True)\nclass ')
    _a(str(_getattr(ctx['t'], 'name')))
    _a(':\n')
    if _getattr(ctx['t'], 'doc'):
        _a('    ')
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n\n')
    else:
        _a('    """WIT record `')
        _a(str(_getattr(ctx['t'], 'wit')))
        _a('`."""\n\n')
    for _l_f_1 in _getattr(ctx['t'], 'members'):
        _a('    ')
        _a(str(_getattr(_l_f_1, 'name')))
        _a(': ')
        _a(str(_getattr(_l_f_1, 'annot')))
        _a('\n')
        if _getattr(_l_f_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_f_1, 'doc')))
            _a('\n')
    return ''.join(parts)


def _registry_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    if ctx['types']:
        _a('TYPES: dict[str, wit.Type] = {\n')
        for _l_t_1 in ctx['types']:
            _a('    "')
            _a(str(_getattr(_l_t_1, 'wit')))
            _a('": ')
            _a(str(_getattr(_l_t_1, 'describe')))
            _a(',\n')
        _a('}\n')
    else:
        _a('TYPES: dict[str, wit.Type] = {}\n')
    _a('"""The named types of this module, by WIT name: `codec.of(TYPES[name])` encodes one."""\n\n')
    if ctx['functions']:
        _a('FUNCTIONS: dict[str, wit.Func] = wit.functions(\n')
        for _l_f_2 in ctx['functions']:
            _a('    ')
            _a(str(_getattr(_l_f_2, 'describe')))
            _a('\n')
        _a(')\n')
    else:
        _a('FUNCTIONS: dict[str, wit.Func] = wit.functions()\n')
    _a('"""The functions of this module, by wire name (`res.method`)."""\n')
    return ''.join(parts)


def _resource_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    _a(str(_getattr(ctx['t'], 'description')))
    _a('\nclass ')
    _a(str(_getattr(ctx['t'], 'name')))
    _a('(_v.Handle):\n')
    if _getattr(ctx['t'], 'doc'):
        _a('    ')
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n\n')
    else:
        _a('    """Handle of WIT resource `')
        _a(str(_getattr(ctx['t'], 'wit')))
        _a('`: opaque bytes issued by its owner."""\n\n')
    _a('    __slots__ = ()\n')
    return ''.join(parts)


def _variant_py_jinja(ctx: dict[str, Any], filters: dict[str, Any]) -> str:
    parts: list[str] = []
    _a = parts.append
    for _l_c_1 in _getattr(ctx['t'], 'members'):
        _a('@dataclasses.dataclass(slots=True)\nclass ')
        _a(str(_getattr(_l_c_1, 'cls')))
        _a(':\n')
        if _getattr(_l_c_1, 'doc'):
            _a('    ')
            _a(str(_getattr(_l_c_1, 'doc')))
            _a('\n\n')
        else:
            _a('    """Case `')
            _a(str(_getattr(_l_c_1, 'wit')))
            _a('` of variant `')
            _a(str(_getattr(ctx['t'], 'wit')))
            _a('`."""\n\n')
        if _getattr(_l_c_1, 'annot'):
            _a('    value: ')
            _a(str(_getattr(_l_c_1, 'annot')))
            _a('\n')
        else:
            _a('    pass\n')
        _a('\n\n')
    _a(str(_getattr(ctx['t'], 'name')))
    _a(': TypeAlias = ')
    _a(str(_getattr(ctx['t'], 'annot')))
    _a('\n')
    if _getattr(ctx['t'], 'doc'):
        _a(str(_getattr(ctx['t'], 'doc')))
        _a('\n')
    _a(str(_getattr(ctx['t'], 'description')))
    _a('\n')
    return ''.join(parts)


TEMPLATES: dict[str, tuple[str, Rendering]] = {
    'alias.py.jinja': ('4c5efa49c528293ae8d79cc7f0e5fc22c5e0fe84735c3b180bc07c8395fb60f2', _alias_py_jinja),
    'client.py.jinja': ('4c27006cef2b381236616c7d0dd531233e720e55e433d21a7efcd918566c368c', _client_py_jinja),
    'dispatch.py.jinja': ('486dc58ca087f132cd8ebc94e3cb8e161c0ad7e17f0ac81ea72d1c9e8fbcfcaa', _dispatch_py_jinja),
    'enum.py.jinja': ('7f150d546de7a5d70c27d02e4efdedac7cbbc0465e16d06e59158fe4eae80a57', _enum_py_jinja),
    'flags.py.jinja': ('f2db20dfbf5e9984bb93f90cec60a2076acf34e958f08036752991f69f84c275', _flags_py_jinja),
    'host.py.jinja': ('f2df68046b4c31b957bba556284b1cc883c46803981c7e8769de249a595d4c5a', _host_py_jinja),
    'init.py.jinja': ('b161387fa98f2d4a78930d0609ad571115f8f6b50dec7c692300b77d91534c96', _init_py_jinja),
    'module.py.jinja': ('570f50a9a4a4ce8102d21f62ca9a6bfc742e5cd2db9632726e64ee5978a23fa0', _module_py_jinja),
    'provider.py.jinja': ('8a8c91860f810bdc5fde6105516203a6e7bc67ae5df23a4461e7167896ce1c57', _provider_py_jinja),
    'proxies.py.jinja': ('4cf86d43ec321cd18ae84736cf7c733593ff3ecdd94893a078a61c5574fb57a1', _proxies_py_jinja),
    'record.py.jinja': ('ec0f3a2598784c56b7bc1beed4d16465c28b426d98698a5a362dcb9e0fdf6904', _record_py_jinja),
    'registry.py.jinja': ('12bbd3de17c69d6ae1f97e9ac2b11dd1ca3ab8c150593a64eee6343f4d580a3d', _registry_py_jinja),
    'resource.py.jinja': ('c4492b532b33a378d5bfec2801c018d3d56f27f09fa4ce8d0e01d0a208a3589c', _resource_py_jinja),
    'variant.py.jinja': ('7329b08731c55ac1bccc8eb5158ac5c31ed9d50523d2886d7e7c2d6d0a88c471', _variant_py_jinja),
}
