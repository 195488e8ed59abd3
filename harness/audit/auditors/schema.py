"""Schema validity: each output has the shape its capability promises."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ValidationError

from harness.audit.auditors.base import OutputAuditor
from harness.audit.findings import Finding
from harness.audit.schemas import DEFAULT_SCHEMAS
from harness.audit.world import AgentOutput, World


class SchemaAuditor(OutputAuditor):
    """An ``ok`` output must validate against its capability's model; a
    ``failed`` one must say why."""

    name = "schema"

    def __init__(self, schemas: Mapping[str, type[BaseModel]] | None = None, max_errors: int = 5) -> None:
        self.schemas = dict(DEFAULT_SCHEMAS if schemas is None else schemas)
        self.max_errors = max_errors

    def audit(self, out: AgentOutput, world: World) -> list[Finding]:
        if out.status == "failed":
            if not out.reason:
                return [
                    self.finding(out, "failure_without_reason", "a failed output gives no reason", "warning")
                ]
            return []
        if out.status != "ok":
            return [self.finding(out, "unknown_status", f"status {out.status!r} is neither ok nor failed")]
        schema = self.schemas.get(out.capability or "")
        if schema is None:
            return [
                self.finding(
                    out, "no_schema", f"no output schema for capability {out.capability!r}", "warning"
                )
            ]
        try:
            schema.model_validate(out.output)
        except ValidationError as e:
            errors = [
                f"{'.'.join(str(p) for p in err['loc']) or '$'}: {err['msg']}"
                for err in e.errors()[: self.max_errors]
            ]
            return [
                self.finding(
                    out,
                    "invalid_output",
                    f"{out.capability} output does not match its schema: {'; '.join(errors)}",
                    errors=errors,
                    error_count=e.error_count(),
                )
            ]
        return []
