"""The WIT front end: tokenizer, Lark LALR parser, AST and syntax-error wording."""
