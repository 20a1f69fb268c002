"""Runtime support imported by generated bindings (no lark, jinja2, click or black)."""
