"""A choreography of Lambda handlers with no supervisor: order intake, an
EventBridge bus, pricing (which charges the card with an idempotency key)
and stock reacting in parallel, and fulfilment. See README.md."""
