"""Business microservices: YAML workflows and their REST face.

The build pipeline, in order: ``loader`` (YAML with source positions), ``validate``
(JSON Schema and semantic checks), ``compiler`` (to Amazon States Language), ``linter``
(ASL rules). ``decompiler`` and ``graph`` read ASL back.
"""
