"""The AWS calls of ``cws deploy``: the only deploy module that uses boto3.

:class:`Aws` holds one boto3 session, its region and an optional ``endpoint_url``
(a local moto server, or anything speaking the AWS APIs), and offers one idempotent
*ensure* operation per resource kind: it creates the resource when missing and updates
it when it exists, so running a deploy twice gives the same resources.

Every refusal becomes a :class:`~coworks.errors.DeployError` saying what was being
done, where, what AWS said and what to do; a deploy never ends with a traceback.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from coworks.errors import DeployError

logger = logging.getLogger(__name__)

#: The statement of a function's policy letting the project's API invoke it.
API_STATEMENT = "coworks-apigateway"

#: Seconds between two looks at a resource that is being created or updated, and
#: how many looks before giving up.
POLL_DELAY = 1.0
POLL_ATTEMPTS = 60

#: Attempts of a function's creation while IAM makes a new role known to Lambda.
ROLE_ATTEMPTS = 10

#: Error codes of AWS meaning the credentials are missing, wrong or not allowed.
_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


class Refusal(Exception):
    """AWS refused a call with an error its caller handles (see :meth:`Aws.call`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Aws:
    """The AWS APIs a deploy uses, behind one session.

    Args:
        region: the region of every client.
        endpoint_url: where to send every request; ``None`` for AWS itself.
        session: a boto3 session; a new default one when not given.
        sleep: how to wait between polls (tests give a function that does not).
    """

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None = None,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import boto3  # type: ignore[import-untyped]

        self.region = region
        self.endpoint_url = endpoint_url
        self.session = session or boto3.session.Session()
        self.sleep = sleep
        self._clients: dict[str, Any] = {}

    @property
    def where(self) -> str:
        """Return where requests go, for messages: the endpoint, or AWS's region."""
        return self.endpoint_url or f"AWS ({self.region})"

    def client(self, service: str, *, attempts: int = 5) -> Any:
        """Return the boto3 client of a service (one per service and attempts)."""
        key = f"{service}/{attempts}"
        client = self._clients.get(key)
        if client is None:
            from botocore.config import Config  # type: ignore[import-untyped]

            kwargs: dict[str, Any] = {
                "region_name": self.region,
                "config": Config(
                    retries={"max_attempts": attempts, "mode": "standard"},
                    connect_timeout=5,
                ),
            }
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
                if self.session.get_credentials() is None:
                    # Local endpoints accept any key; AWS itself never gets here.
                    kwargs["aws_access_key_id"] = "coworks"
                    kwargs["aws_secret_access_key"] = "coworks"
            client = self._clients[key] = self.session.client(service, **kwargs)

        return client

    def call(
        self,
        service: str,
        operation: str,
        what: str,
        *,
        missing: Iterable[str] = (),
        refusals: Iterable[str] = (),
        attempts: int = 5,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Call one operation, turning every failure into a :class:`DeployError`.

        Args:
            service: the boto3 service name (``lambda``).
            operation: the client method (``get_function_configuration``).
            what: what the call does, for messages (``reading the function X``).
            missing: error codes answered with ``None`` instead of an error (the
                resource does not exist, or already does).
            refusals: error codes raised as :class:`Refusal`, for the caller to
                look at AWS's message.
            attempts: boto3's attempts, retries included.
            **kwargs: the operation's parameters.

        Returns:
            The answer, or ``None`` for an error code in ``missing``.

        Raises:
            Refusal: AWS refused with a code in ``refusals``.
            DeployError: the endpoint cannot be reached or refused.
        """
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        method = getattr(self.client(service, attempts=attempts), operation)
        try:
            answer: dict[str, Any] = method(**kwargs)
        except ClientError as err:
            error = err.response.get("Error", {})
            code = str(error.get("Code") or "")
            if code in set(missing):
                logger.debug("%s: %s answered %s", what, self.where, code)
                return None
            message = str(error.get("Message") or err).rstrip(".")
            if code in set(refusals):
                raise Refusal(code, message) from err
            raise DeployError(
                f"{_sentence(what)} failed: {self.where} answered {code}: "
                f"{message}. {_fix(code)}"
            ) from err
        except EndpointConnectionError as err:
            raise DeployError(
                f"{_sentence(what)} failed: cannot reach {self.where} ({err}). "
                + (
                    "Start the server there, or pass the right --endpoint-url."
                    if self.endpoint_url
                    else "Check the network and the stage's region."
                )
            ) from err
        except NoCredentialsError as err:
            raise DeployError(
                f"{_sentence(what)} failed: no AWS credentials were found. Set "
                "AWS_PROFILE or run 'aws configure', then deploy again."
            ) from err
        except BotoCoreError as err:
            raise DeployError(
                f"{_sentence(what)} failed on {self.where}: {err}. Fix the cause "
                "and run 'cws deploy' again."
            ) from err

        return answer

    # -- the account ------------------------------------------------------------------

    def account(self) -> str:
        """Return the account of the credentials, failing fast when unreachable.

        Raises:
            DeployError: the endpoint cannot be reached or the credentials are wrong.
        """
        answer = self.call(
            "sts", "get_caller_identity", "finding the account", attempts=1
        )

        return str((answer or {}).get("Account", ""))

    # -- IAM --------------------------------------------------------------------------

    def ensure_role(
        self, name: str, trust: Mapping[str, Any], policy: Mapping[str, Any]
    ) -> str:
        """Create or update a role, its trust policy and its inline policy.

        Args:
            name: the role's name, also its inline policy's.
            trust: the trust (assume role) policy document.
            policy: the inline policy document.

        Returns:
            The role's ARN.

        Raises:
            DeployError: IAM refused.
        """
        what = f"creating the IAM role {name}"
        trust_text = json.dumps(trust)
        answer = self.call(
            "iam",
            "create_role",
            what,
            missing=("EntityAlreadyExists",),
            RoleName=name,
            AssumeRolePolicyDocument=trust_text,
            Description="Created by cws deploy for the project's functions.",
        )
        if answer is None:
            self.call(
                "iam",
                "update_assume_role_policy",
                f"updating the trust policy of the IAM role {name}",
                RoleName=name,
                PolicyDocument=trust_text,
            )
            answer = self.call(
                "iam", "get_role", f"reading the role {name}", RoleName=name
            )
        self.call(
            "iam",
            "put_role_policy",
            f"setting the policy of the IAM role {name}",
            RoleName=name,
            PolicyName=name,
            PolicyDocument=json.dumps(policy),
        )

        return str((answer or {})["Role"]["Arn"])

    # -- Lambda -----------------------------------------------------------------------

    def ensure_function(
        self,
        name: str,
        *,
        role_arn: str,
        handler: str,
        runtime: str,
        timeout: int,
        environment: Mapping[str, str],
        layers: Iterable[str],
        code: bytes,
        code_sha256: str,
    ) -> str:
        """Create a function, or update its configuration and (changed) code.

        Args:
            name: the function's name.
            role_arn: the role it runs with.
            handler: the ``module.attribute`` Lambda calls.
            runtime: the Lambda runtime (``python3.11``).
            timeout: the seconds it may run.
            environment: its environment variables.
            layers: the ARNs of its layers.
            code: the zip's bytes.
            code_sha256: the zip's base64 SHA-256; the code is sent again only when
                it differs from the deployed one.

        Returns:
            The function's ARN.

        Raises:
            DeployError: Lambda refused, or the function failed to start or update.
        """
        settings: dict[str, Any] = {
            "Role": role_arn,
            "Handler": handler,
            "Runtime": runtime,
            "Timeout": timeout,
            "Environment": {"Variables": dict(environment)},
            "Layers": list(layers),
        }
        found = self.call(
            "lambda",
            "get_function_configuration",
            f"reading the Lambda function {name}",
            missing=("ResourceNotFoundException",),
            FunctionName=name,
        )
        if found is None:
            answer = self._create_function(name, settings, code)
            self._wait_function(name)
            return str(answer["FunctionArn"])

        self._wait_function(name)
        self.call(
            "lambda",
            "update_function_configuration",
            f"updating the configuration of the Lambda function {name}",
            FunctionName=name,
            **settings,
        )
        if found.get("CodeSha256") != code_sha256:
            self._wait_function(name)
            self.call(
                "lambda",
                "update_function_code",
                f"updating the code of the Lambda function {name}",
                FunctionName=name,
                ZipFile=code,
            )
        self._wait_function(name)

        return str(found["FunctionArn"])

    def _create_function(
        self, name: str, settings: dict[str, Any], code: bytes
    ) -> dict[str, Any]:
        # A role created a moment ago may not be assumable by Lambda yet: AWS says so
        # with InvalidParameterValueException, which only waiting cures.
        what = f"creating the Lambda function {name}"
        for attempt in range(1, ROLE_ATTEMPTS + 1):
            try:
                return (
                    self.call(
                        "lambda",
                        "create_function",
                        what,
                        refusals=("InvalidParameterValueException",),
                        FunctionName=name,
                        Code={"ZipFile": code},
                        Description="Deployed by cws deploy.",
                        **settings,
                    )
                    or {}
                )
            except Refusal as refusal:
                if "role" not in refusal.message.lower() or attempt == ROLE_ATTEMPTS:
                    raise DeployError(
                        f"{_sentence(what)} failed: {self.where} answered "
                        f"{refusal}. {_fix(refusal.code)}"
                    ) from refusal
            logger.debug("the role of %s is not assumable yet", name)
            self.sleep(POLL_DELAY * attempt)

        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_function(self, name: str) -> None:
        """Wait until a function is neither being created nor being updated.

        Raises:
            DeployError: the creation or update failed, or never ended.
        """
        for _ in range(POLL_ATTEMPTS):
            found = (
                self.call(
                    "lambda",
                    "get_function_configuration",
                    f"reading the Lambda function {name}",
                    FunctionName=name,
                )
                or {}
            )
            state = found.get("State", "Active")
            status = found.get("LastUpdateStatus", "Successful")
            if state == "Failed" or status == "Failed":
                reason = found.get("StateReason") or found.get("LastUpdateStatusReason")
                raise DeployError(
                    f"The Lambda function {name} on {self.where} failed to "
                    f"{'start' if state == 'Failed' else 'update'}: {reason}. Fix the "
                    "cause and run 'cws deploy' again."
                )
            if state != "Pending" and status != "InProgress":
                return
            self.sleep(POLL_DELAY)

        raise DeployError(
            f"The Lambda function {name} on {self.where} was still being updated "
            f"after {POLL_ATTEMPTS} looks. Run 'cws deploy' again later."
        )

    def allow_invoke(self, function: str, principal: str, source_arn: str) -> None:
        """Let an AWS service invoke a function from a source, replacing the grant.

        Args:
            function: the function's name.
            principal: the service, e.g. ``apigateway.amazonaws.com``.
            source_arn: the ARN pattern of the callers allowed.

        Raises:
            DeployError: Lambda refused.
        """
        self.call(
            "lambda",
            "remove_permission",
            f"removing the API permission of the Lambda function {function}",
            missing=("ResourceNotFoundException",),
            FunctionName=function,
            StatementId=API_STATEMENT,
        )
        self.call(
            "lambda",
            "add_permission",
            f"letting the API invoke the Lambda function {function}",
            FunctionName=function,
            StatementId=API_STATEMENT,
            Action="lambda:InvokeFunction",
            Principal=principal,
            SourceArn=source_arn,
        )

    def ensure_event_source(self, function: str, queue_arn: str) -> str:
        """Deliver a queue's messages to a function, reporting failed items.

        Args:
            function: the function's name.
            queue_arn: the queue's ARN.

        Returns:
            The event source mapping's UUID (the existing one, if any).

        Raises:
            DeployError: Lambda refused.
        """
        what = f"reading the event sources of the Lambda function {function}"
        answer = (
            self.call(
                "lambda",
                "list_event_source_mappings",
                what,
                EventSourceArn=queue_arn,
                FunctionName=function,
            )
            or {}
        )
        existing = answer.get("EventSourceMappings") or []
        if existing:
            return str(existing[0]["UUID"])

        created = (
            self.call(
                "lambda",
                "create_event_source_mapping",
                f"delivering {queue_arn} to the Lambda function {function}",
                EventSourceArn=queue_arn,
                FunctionName=function,
                BatchSize=10,
                FunctionResponseTypes=["ReportBatchItemFailures"],
            )
            or {}
        )

        return str(created["UUID"])

    # -- SQS --------------------------------------------------------------------------

    def ensure_queue(self, name: str) -> tuple[str, str]:
        """Create a queue if missing.

        Args:
            name: the queue's name.

        Returns:
            Its URL and ARN.

        Raises:
            DeployError: SQS refused (a queue of that name exists with other
                attributes, for instance).
        """
        created = (
            self.call(
                "sqs", "create_queue", f"creating the SQS queue {name}", QueueName=name
            )
            or {}
        )
        url = str(created["QueueUrl"])
        attributes = (
            self.call(
                "sqs",
                "get_queue_attributes",
                f"reading the SQS queue {name}",
                QueueUrl=url,
                AttributeNames=["QueueArn"],
            )
            or {}
        )

        return url, str(attributes["Attributes"]["QueueArn"])

    # -- Step Functions ---------------------------------------------------------------

    def ensure_state_machine(
        self, name: str, arn: str, definition: Mapping[str, Any], role_arn: str
    ) -> tuple[str, str]:
        """Create a state machine, or update its definition and role when changed.

        Args:
            name: the state machine's name.
            arn: its ARN, to find it.
            definition: the ASL.
            role_arn: the role it runs with.

        Returns:
            Its ARN, and what was done: ``created``, ``updated`` or ``unchanged``.

        Raises:
            DeployError: Step Functions refused (an invalid definition, for instance).
        """
        text = json.dumps(definition)
        found = self.call(
            "stepfunctions",
            "describe_state_machine",
            f"reading the state machine {name}",
            missing=("StateMachineDoesNotExist",),
            stateMachineArn=arn,
        )
        if found is None:
            answer = (
                self.call(
                    "stepfunctions",
                    "create_state_machine",
                    f"creating the state machine {name}",
                    name=name,
                    definition=text,
                    roleArn=role_arn,
                )
                or {}
            )
            return str(answer["stateMachineArn"]), "created"

        try:
            stored = json.loads(found.get("definition") or "null")
        except ValueError:
            stored = None
        if stored == json.loads(text) and found.get("roleArn") == role_arn:
            return arn, "unchanged"
        self.call(
            "stepfunctions",
            "update_state_machine",
            f"updating the state machine {name}",
            stateMachineArn=arn,
            definition=text,
            roleArn=role_arn,
        )

        return arn, "updated"

    # -- EventBridge ------------------------------------------------------------------

    def ensure_rule(
        self,
        name: str,
        *,
        expression: str,
        description: str,
        state: str,
        targets: Iterable[Mapping[str, Any]],
    ) -> str:
        """Create or update a scheduled rule and its targets.

        Args:
            name: the rule's name.
            expression: its ``rate()`` or ``cron()`` expression.
            description: a sentence.
            state: ``ENABLED`` or ``DISABLED``.
            targets: EventBridge's ``Targets``.

        Returns:
            The rule's ARN.

        Raises:
            DeployError: EventBridge refused the rule or a target.
        """
        answer = (
            self.call(
                "events",
                "put_rule",
                f"creating the EventBridge rule {name}",
                Name=name,
                ScheduleExpression=expression,
                Description=description,
                State=state,
            )
            or {}
        )
        result = (
            self.call(
                "events",
                "put_targets",
                f"setting the targets of the EventBridge rule {name}",
                Rule=name,
                Targets=[dict(target) for target in targets],
            )
            or {}
        )
        failed = result.get("FailedEntries") or []
        if failed:
            first = failed[0]
            raise DeployError(
                f"Setting the targets of the EventBridge rule {name} failed on "
                f"{self.where}: {first.get('ErrorCode')}: {first.get('ErrorMessage')}. "
                "Fix the cause and run 'cws deploy' again."
            )

        return str(answer["RuleArn"])

    # -- API Gateway ------------------------------------------------------------------

    def ensure_rest_api(self, name: str) -> str:
        """Return the id of the REST API called ``name``, creating it if missing.

        Raises:
            DeployError: API Gateway refused.
        """
        position: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": 500}
            if position:
                kwargs["position"] = position
            page = (
                self.call(
                    "apigateway", "get_rest_apis", "listing the REST APIs", **kwargs
                )
                or {}
            )
            for api in page.get("items") or []:
                if api.get("name") == name:
                    return str(api["id"])
            position = page.get("position")
            if not position:
                break

        created = (
            self.call(
                "apigateway",
                "create_rest_api",
                f"creating the REST API {name}",
                name=name,
                description="Deployed by cws deploy.",
                endpointConfiguration={"types": ["REGIONAL"]},
            )
            or {}
        )

        return str(created["id"])

    def resources(self, api_id: str) -> dict[str, dict[str, Any]]:
        """Return the resources of a REST API by path, with their methods.

        Raises:
            DeployError: API Gateway refused.
        """
        resources: dict[str, dict[str, Any]] = {}
        position: str | None = None
        while True:
            kwargs: dict[str, Any] = {"restApiId": api_id, "limit": 500}
            if position:
                kwargs["position"] = position
            page = (
                self.call(
                    "apigateway",
                    "get_resources",
                    f"listing the resources of the REST API {api_id}",
                    embed=["methods"],
                    **kwargs,
                )
                or {}
            )
            for resource in page.get("items") or []:
                resources[str(resource["path"])] = resource
            position = page.get("position")
            if not position:
                return resources

    def create_resource(self, api_id: str, parent_id: str, part: str) -> str:
        """Create a resource under another and return its id.

        Raises:
            DeployError: API Gateway refused.
        """
        answer = (
            self.call(
                "apigateway",
                "create_resource",
                f"creating the resource {part} of the REST API {api_id}",
                restApiId=api_id,
                parentId=parent_id,
                pathPart=part,
            )
            or {}
        )

        return str(answer["id"])

    def ensure_authorizer(
        self, api_id: str, name: str, function_arn: str, *, header: str, ttl: int
    ) -> str:
        """Create or update a TOKEN authorizer calling a function.

        Args:
            api_id: the REST API's id.
            name: the authorizer's name.
            function_arn: the function answering the TOKEN events.
            header: the request header holding the token.
            ttl: the seconds API Gateway may reuse an answer for the same token.

        Returns:
            The authorizer's id.

        Raises:
            DeployError: API Gateway refused.
        """
        uri = self.invocation_uri(function_arn)
        page = (
            self.call(
                "apigateway",
                "get_authorizers",
                f"listing the authorizers of the REST API {api_id}",
                restApiId=api_id,
            )
            or {}
        )
        for authorizer in page.get("items") or []:
            if authorizer.get("name") == name:
                self.call(
                    "apigateway",
                    "update_authorizer",
                    f"updating the authorizer {name}",
                    restApiId=api_id,
                    authorizerId=authorizer["id"],
                    patchOperations=[
                        {"op": "replace", "path": "/authorizerUri", "value": uri},
                        {
                            "op": "replace",
                            "path": "/identitySource",
                            "value": f"method.request.header.{header}",
                        },
                        {
                            "op": "replace",
                            "path": "/authorizerResultTtlInSeconds",
                            "value": str(ttl),
                        },
                    ],
                )
                return str(authorizer["id"])

        created = (
            self.call(
                "apigateway",
                "create_authorizer",
                f"creating the authorizer {name}",
                restApiId=api_id,
                name=name,
                type="TOKEN",
                authorizerUri=uri,
                identitySource=f"method.request.header.{header}",
                authorizerResultTtlInSeconds=ttl,
            )
            or {}
        )

        return str(created["id"])

    def put_proxy_method(
        self,
        api_id: str,
        resource: Mapping[str, Any],
        http_method: str,
        function_arn: str,
        authorizer_id: str | None,
    ) -> None:
        """Set a method of a resource to call a function through a proxy integration.

        An existing method is replaced, so that its authorizer follows the plan.

        Args:
            api_id: the REST API's id.
            resource: the resource, as :meth:`resources` gives it.
            http_method: ``ANY``, ``OPTIONS``...
            function_arn: the function answering.
            authorizer_id: the authorizer guarding it, or ``None`` for none.

        Raises:
            DeployError: API Gateway refused.
        """
        resource_id = str(resource["id"])
        where = f"{http_method} {resource['path']}"
        if http_method in (resource.get("resourceMethods") or {}):
            self.call(
                "apigateway",
                "delete_method",
                f"replacing the method {where}",
                missing=("NotFoundException",),
                restApiId=api_id,
                resourceId=resource_id,
                httpMethod=http_method,
            )
        guard: dict[str, Any] = (
            {"authorizationType": "CUSTOM", "authorizerId": authorizer_id}
            if authorizer_id
            else {"authorizationType": "NONE"}
        )
        self.call(
            "apigateway",
            "put_method",
            f"creating the method {where}",
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            **guard,
        )
        self.call(
            "apigateway",
            "put_integration",
            f"integrating the method {where} with its Lambda",
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=self.invocation_uri(function_arn),
        )

    def deploy_api(self, api_id: str, stage: str) -> str:
        """Deploy a REST API's current resources on a stage; return the deployment.

        Raises:
            DeployError: API Gateway refused.
        """
        answer = (
            self.call(
                "apigateway",
                "create_deployment",
                f"deploying the REST API {api_id} on the stage {stage}",
                restApiId=api_id,
                stageName=stage,
                description="Deployed by cws deploy.",
            )
            or {}
        )

        return str(answer["id"])

    def invocation_uri(self, function_arn: str) -> str:
        """Return the URI API Gateway calls a Lambda function by."""
        return (
            f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )

    def api_url(self, api_id: str, stage: str) -> str:
        """Return the base URL of a deployed REST API's stage.

        On a local endpoint it is the moto (and LocalStack) form
        ``<endpoint>/restapis/<id>/<stage>/_user_request_``.
        """
        if self.endpoint_url:
            base = self.endpoint_url.rstrip("/")
            return f"{base}/restapis/{api_id}/{stage}/_user_request_"

        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"


def _sentence(what: str) -> str:
    """Return ``what`` starting a sentence: its first letter upper case, only."""
    return what[:1].upper() + what[1:]


def _fix(code: str) -> str:
    """Return what to do about an error code of AWS."""
    if code in _CREDENTIAL_CODES:
        return (
            "Check the credentials (AWS_PROFILE, 'aws configure') and that they may "
            "manage IAM, Lambda, API Gateway, Step Functions, EventBridge and SQS."
        )
    if code in ("ThrottlingException", "TooManyRequestsException", "Throttling"):
        return "AWS is throttling the account: wait a minute and deploy again."

    return (
        "Fix the cause and run 'cws deploy' again: it updates what exists and creates "
        "what is missing."
    )
