"""WIT out: the resolved model printed as WIT text (`printer`), and the source formatter (`formatter`)."""

from witgen.witout.printer import print_wit

__all__ = ["print_wit"]
