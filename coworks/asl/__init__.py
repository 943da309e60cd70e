"""The expression languages of Amazon States Language, shared by linter and engine.

JSONPath (AWS's dialect, with the context object), the intrinsic functions, JSONata
with AWS's ``$states`` and extra functions, and payload templates. Each has a parser
that reports syntax problems and an evaluator; none does IO.
"""
