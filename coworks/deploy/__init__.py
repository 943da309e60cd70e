"""Deploying a project to AWS: ``cws deploy``.

The pipeline has one module per stage, in order:

1. :mod:`coworks.deploy.model` derives the *plan* from the project and a stage: the
   IAM roles, Lambda functions, API Gateway REST API, state machines, EventBridge
   rules and SQS queues to create, with their names and ARNs. It does no IO beyond
   reading the project (its files and its services' modules).
2. :mod:`coworks.deploy.package` builds the code of the functions: one zip of the
   project folder and the ``coworks`` package. Dependencies are not vendored.
3. :mod:`coworks.deploy.executor` applies the plan through :mod:`coworks.deploy.aws`,
   the only module of the deploy path that calls boto3, and returns a record of what
   was deployed (ARNs and the API's URL).

:mod:`coworks.deploy.commands` holds the thin ``cws deploy`` and ``cws package``
commands over these stages.
"""
