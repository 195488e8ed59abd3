"""What each agent reads from the messages it consumes (consumer-driven
contracts). ``harness contracts export`` writes them to ``contracts/consumers/``
and the swap gate checks every provider against them.

Paths: ``a.b`` nests, ``[*]`` is every item, ``?`` marks a field the consumer
copes without. Types are JSON Schema type names.
"""

from __future__ import annotations

from harness.contracts.consumers import Consumer

_SUBTASK = {
    "task_id": "string",
    "subtask_id": "string",
    "capability": "string",
    "topic": "string",
    "token_budget": "integer",
    "inputs?": "object",
}

CONSUMERS: list[Consumer] = [
    # The supervisor gathers results, progress and, from the outputs, what the next stage needs.
    Consumer(
        "supervisor",
        "result",
        {
            "task_id": "string",
            "subtask_id": "string",
            "capability": "string",
            "status": "string",
            "output?": "object",
            "reason?": ["string", "null"],
            "tokens_used?": "integer",
        },
    ),
    Consumer("supervisor", "progress", {"task_id": "string", "subtask_id": "string", "event": "string"}),
    Consumer("supervisor", "research_output", {"facts?[*]": "object"}),
    Consumer(
        "supervisor",
        "review_output",
        {"draft": "object", "approved?": "boolean", "score?": "integer"},
    ),
    # Workers read their subtask; the write and review workers read, through
    # the supervisor, what the previous stage produced.
    Consumer("research-worker", "subtask", _SUBTASK),
    Consumer("research-worker", "research_input", {"subtopic?": "string"}),
    Consumer("write-worker", "subtask", _SUBTASK),
    Consumer("write-worker", "write_input", {"facts": "array", "facts[*].text": "string"}),
    Consumer(
        "write-worker",
        "research_output",
        {"facts": "array", "facts[*].text": "string", "facts[*].source_id": "string"},
    ),
    Consumer("review-worker", "subtask", _SUBTASK),
    Consumer("review-worker", "review_input", {"draft": "object"}),
    Consumer(
        "review-worker",
        "write_output",
        {"title?": "string", "paragraphs?[*]": "string", "citations?[*]": "string"},
    ),
    # The auditor tallies status events by their new state.
    Consumer("auditor", "status", {"task_id": "string", "item_id": "string", "to_state": "string"}),
]
