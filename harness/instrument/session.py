"""The seam: a boto3 Session whose clients record every call as history operations.

The hooks are plain botocore event handlers, so they behave the same on moto,
LocalStack and AWS. The chain for one call is::

    before-parameter-build  stash the caller's parameters; stamp correlation
                            and message ids into outgoing message attributes
    before-call             record ``invoke``; run the interceptors (fault
                            injection lives here); the innermost step sends
                            the request
    after-call              record ``ok`` or ``fail`` (AWS error code)
    after-call-error        record ``info`` (outcome unknown) or ``fail``
                            (the request never left)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from harness.backends.endpoints import Endpoints
from harness.history.model import FAIL, INFO, INVOKE, OK
from harness.history.recorder import Recorder
from harness.instrument.context import CORRELATION_ATTR, MESSAGE_ID_ATTR, current_correlation_id
from harness.instrument.extract import DEFAULT_KEY_ATTRS, build_extractors

#: Services whose calls are recorded.
RECORDED_SERVICES = frozenset({"sqs", "sns", "events", "dynamodb", "stepfunctions", "lambda"})


def versioning(items: Any) -> Any:
    """Recording rules (``extract.Versioning``) from a system's versioned items, or None."""
    if items is None:
        return None
    from harness.instrument.extract import Versioning

    return tuple(Versioning(v.table, v.attribute, v.expected) for v in items)


HttpAndParsed = tuple[AWSResponse, dict[str, Any]]

_CTX = "harness_call"


@dataclass(slots=True)
class Call:
    """One AWS call, as interceptors see it."""

    agent: str
    process: str
    service: str
    operation: str
    params: dict[str, Any]
    correlation_id: str | None
    key: Any = None
    outcome: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class CallObserver(Protocol):
    """Sees every recorded call start and end (tracing, metrics). ``end`` gets
    the completion type (ok, fail, info), the error code if any, and the parsed
    response (None when there was none)."""

    def start(self, call: Call) -> None: ...

    def end(self, call: Call, type: str, error: str | None, parsed: dict[str, Any] | None) -> None: ...


#: Called with (service, operation, message params) for every outgoing SQS or
#: SNS message, before it is serialised; may add MessageAttributes.
MessageStamper = Callable[[str, str, dict[str, Any]], None]


class Interceptor(Protocol):
    """Wraps the sending of a call. Return ``proceed()`` to let it through, a
    synthetic response (see :func:`error_response`) to answer in its place, or
    raise a botocore exception to model a network failure."""

    def intercept(self, call: Call, proceed: Callable[[], HttpAndParsed]) -> HttpAndParsed: ...


def error_response(code: str, message: str = "", status: int = 400) -> HttpAndParsed:
    """An AWS error answer, as a service would send it."""
    http = AWSResponse("https://harness.invalid/", status, {}, None)
    http._content = b""
    parsed = {
        "Error": {"Code": code, "Message": message or code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return http, parsed


#: Exceptions raised before the request reached the service: it did not apply.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)


class Instrumentation:
    """The hooks and the state they share across one session's clients."""

    def __init__(
        self,
        recorder: Recorder,
        agent: str,
        *,
        process: str | None = None,
        key_attrs: tuple[str, ...] = DEFAULT_KEY_ATTRS,
        stamp_messages: bool = True,
        versioned: Any = None,
    ) -> None:
        self.recorder = recorder
        self.agent = agent
        self.process = process
        self.stamp_messages = stamp_messages
        self.interceptors: list[Interceptor] = []
        self.observers: list[CallObserver] = []
        self.stampers: list[MessageStamper] = []
        self._key_attrs = key_attrs
        self._extractors = build_extractors(key_attrs, versioning(versioned))
        self._receipts: dict[str, str] = {}
        self._receipts_lock = threading.Lock()

    # -- naming ----------------------------------------------------------------

    def process_name(self) -> str:
        if self.process is not None:
            return self.process
        t = threading.current_thread()
        if t is threading.main_thread():
            return self.agent
        return f"{self.agent}/{t.name}"

    # -- hooks -----------------------------------------------------------------

    def before_parameter_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        service = model.service_model.service_name
        if service not in RECORDED_SERVICES:
            return
        context[_CTX] = params
        if not self.stamp_messages:
            return
        op = model.name
        cid = current_correlation_id()
        outgoing: list[dict[str, Any]] = []
        if service == "sqs":
            if op == "SendMessage":
                outgoing = [params]
            elif op == "SendMessageBatch":
                outgoing = params.get("Entries", [])
            elif op == "ReceiveMessage":
                params.setdefault("MessageAttributeNames", ["All"])
                params.setdefault("MessageSystemAttributeNames", ["All"])
        elif service == "sns" and op == "Publish":
            outgoing = [params]
        for entry in outgoing:
            _stamp(entry, cid)
            for stamper in self.stampers:
                stamper(service, op, entry)

    def send(
        self, client: Any, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> HttpAndParsed | None:
        """The ``before-call`` hook: record the invocation, then run interceptors."""
        api_params = context.get(_CTX)
        if api_params is None:
            return None
        service = model.service_model.service_name
        op_name = model.name
        process = self.process_name()
        cid = current_correlation_id()
        ex = self._extractors.get((service, op_name))
        key, value = ex[0](api_params) if ex else (None, None)
        if service == "sqs" and "ReceiptHandle" in api_params:
            value = {"sqs_id": self.sqs_id_for(api_params["ReceiptHandle"])}
        f = f"{service}.{op_name}"
        self.recorder.record(
            process, INVOKE, f, key, value, correlation_id=cid, agent=self.agent, service=service
        )
        call = Call(self.agent, process, service, op_name, api_params, cid, key)
        context[_CTX] = (call, ex, f)
        for obs in self.observers:
            obs.start(call)
        if not self.interceptors:
            return None

        def innermost() -> HttpAndParsed:
            from botocore.compress import maybe_compress_request
            from botocore.httpchecksum import apply_request_checksum

            maybe_compress_request(client.meta.config, params, model)
            apply_request_checksum(params)
            return client._make_request(model, params, context)

        chain = innermost
        for interceptor in reversed(self.interceptors):
            chain = _bind(interceptor, call, chain)
        try:
            return chain()
        except Exception as e:
            self._complete_error(context, e)
            raise

    def after_call(
        self,
        http_response: AWSResponse,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        entry = context.pop(_CTX, None)
        if entry is None or isinstance(entry, dict):
            return
        call, ex, f = entry
        status = http_response.status_code
        if status < 300:
            value = ex[1](call.params, parsed) if ex and ex[1] else None
            if call.service == "sqs":
                self._track_receipts(call, parsed)
            self._complete(call, f, OK, value, None, parsed)
        else:
            code = (parsed.get("Error") or {}).get("Code") or f"HTTP{status}"
            # A 5xx may have been applied before the service failed: unknown.
            self._complete(call, f, INFO if status >= 500 else FAIL, None, code, parsed)

    def after_call_error(self, exception: Exception, context: dict[str, Any], **_: Any) -> None:
        self._complete_error(context, exception)

    def _complete_error(self, context: dict[str, Any], exception: Exception) -> None:
        entry = context.pop(_CTX, None)
        if entry is None or isinstance(entry, dict):
            return
        call, _, f = entry
        typ = FAIL if isinstance(exception, _NOT_SENT) else INFO
        response = getattr(exception, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        self._complete(call, f, typ, None, code or type(exception).__name__, None)

    def _complete(
        self, call: Call, f: str, typ: str, value: Any, error: str | None, parsed: dict[str, Any] | None
    ) -> None:
        call.outcome = typ
        self.recorder.record(
            call.process,
            typ,
            f,
            call.key,
            value,
            correlation_id=call.correlation_id,
            error=error,
            agent=self.agent,
            service=call.service,
        )
        for obs in self.observers:
            obs.end(call, typ, error, parsed)

    # -- SQS receipt handles -> message ids ------------------------------------

    def _track_receipts(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.operation == "ReceiveMessage":
            with self._receipts_lock:
                for m in parsed.get("Messages", []) or []:
                    self._receipts[m["ReceiptHandle"]] = m["MessageId"]
        elif call.operation == "DeleteMessage":
            with self._receipts_lock:
                self._receipts.pop(call.params.get("ReceiptHandle", ""), None)

    def sqs_id_for(self, receipt_handle: str) -> str | None:
        with self._receipts_lock:
            return self._receipts.get(receipt_handle)

    def install(self, client: Any) -> None:
        events = client.meta.events
        sid = client.meta.service_model.service_id.hyphenize()
        events.register(
            f"before-parameter-build.{sid}", self.before_parameter_build, unique_id=f"harness-bpb-{id(self)}"
        )
        events.register(
            f"before-call.{sid}",
            lambda **kw: self.send(client, **kw),
            unique_id=f"harness-send-{id(self)}",
        )
        events.register(f"after-call.{sid}", self.after_call, unique_id=f"harness-after-{id(self)}")
        events.register(f"after-call-error.{sid}", self.after_call_error, unique_id=f"harness-err-{id(self)}")


def _bind(
    interceptor: Interceptor, call: Call, proceed: Callable[[], HttpAndParsed]
) -> Callable[[], HttpAndParsed]:
    return lambda: interceptor.intercept(call, proceed)


def _stamp(params: dict[str, Any], cid: str | None) -> None:
    attrs = params.setdefault("MessageAttributes", {})
    if cid and CORRELATION_ATTR not in attrs:
        attrs[CORRELATION_ATTR] = {"DataType": "String", "StringValue": cid}
    if MESSAGE_ID_ATTR not in attrs:
        attrs[MESSAGE_ID_ATTR] = {"DataType": "String", "StringValue": uuid.uuid4().hex}


_loader_lock = threading.Lock()
_loader: Any = None


def _botocore_session() -> Any:
    """A botocore session sharing one model loader with every other session the
    harness makes: loading service models is the slow part of making a client
    (~0.2 s each), and agents make many sessions."""
    global _loader
    import botocore.loaders
    import botocore.session

    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
    bs = botocore.session.get_session()
    bs.register_component("data_loader", _loader)
    return bs


class InstrumentedSession(boto3.Session):
    """A boto3 Session whose clients (and resources) are instrumented."""

    def __init__(self, endpoints: Endpoints, instrumentation: Instrumentation, **kwargs: Any) -> None:
        kwargs.setdefault("botocore_session", _botocore_session())
        super().__init__(**endpoints.session_kwargs(), **kwargs)
        self.endpoints = endpoints
        self.instrumentation = instrumentation

    @property
    def recorder(self) -> Recorder:
        return self.instrumentation.recorder

    @property
    def agent(self) -> str:
        return self.instrumentation.agent

    def add_interceptor(self, interceptor: Interceptor) -> None:
        self.instrumentation.interceptors.append(interceptor)

    def remove_interceptor(self, interceptor: Interceptor) -> None:
        self.instrumentation.interceptors.remove(interceptor)

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if "endpoint_url" not in kwargs:
            url = self.endpoints.url_for(service_name)
            if url:
                kwargs["endpoint_url"] = url
        client = super().client(service_name, *args, **kwargs)
        if client.meta.service_model.service_name in RECORDED_SERVICES:
            self.instrumentation.install(client)
        return client


def plain_session(endpoints: Endpoints) -> boto3.Session:
    """An uninstrumented Session on the same endpoints (baselines, admin work)."""
    return _PlainSession(endpoints)


class _PlainSession(boto3.Session):
    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__(**endpoints.session_kwargs(), botocore_session=_botocore_session())
        self.endpoints = endpoints

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if "endpoint_url" not in kwargs:
            url = self.endpoints.url_for(service_name)
            if url:
                kwargs["endpoint_url"] = url
        return super().client(service_name, *args, **kwargs)


def session(
    endpoints: Endpoints,
    agent: str = "agent",
    recorder: Recorder | None = None,
    *,
    process: str | None = None,
    key_attrs: tuple[str, ...] = DEFAULT_KEY_ATTRS,
    stamp_messages: bool = True,
    versioned: Any = None,
) -> InstrumentedSession:
    """A boto3 Session for ``agent`` that records every call to SQS, SNS,
    EventBridge, DynamoDB and Step Functions into ``recorder``. ``versioned``:
    the system's versioned items (``harness.system.VersionedItems``), how it
    records the versions its optimistic locking checks (None: the declared
    rules, else ``version`` / ``:expected_version``)."""
    rec = recorder if recorder is not None else Recorder()
    inst = Instrumentation(
        rec, agent, process=process, key_attrs=key_attrs, stamp_messages=stamp_messages, versioned=versioned
    )
    return InstrumentedSession(endpoints, inst)
