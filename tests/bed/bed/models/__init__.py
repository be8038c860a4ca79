"""How ECS deployments behave over time and how ECS shows them: plain models the ECS plug-ins
share (no server API, no moto)."""
