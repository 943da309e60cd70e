"""The expression languages of Amazon States Language, shared by linter and engine.

JSONPath (AWS's dialect, with the context object), the intrinsic functions, JSONata
with AWS's ``$states`` and extra functions, and payload templates. Each has a parser
that reports syntax problems and an evaluator; none does IO.

The modules, from the ground up:

* :mod:`coworks.asl.errors`: the errors, each with AWS's error name and cause;
* :mod:`coworks.asl.jsonpath`: paths (``$.a[0]``, ``$$.Execution.Id``, ``$var``);
* :mod:`coworks.asl.intrinsics`: ``States.Format(...)`` and the 17 other functions;
* :mod:`coworks.asl.jsonata`: ``{% ... %}`` expressions;
* :mod:`coworks.asl.payload`: templates (``Parameters``, ``Arguments``...) in both
  query languages, and their checks for the linter.
"""
