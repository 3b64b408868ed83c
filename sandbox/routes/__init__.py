"""ARM routes, each registered under the spec's operationId.

``OPERATIONS`` is the registry the conformance suite reads: a list of
``Operation(operation_id, method, path)`` with the spec's path template, e.g.
``("Certificate_Get", "GET", "/subscriptions/{subscriptionId}/resourceGroups/...")``.
Importing this package fills it (the resource modules are imported at the bottom).
"""

from sandbox.routes.registry import HANDLERS, OPERATIONS, Operation, register_arm_routes

from sandbox.routes import service, certificates, backends, apis, policies  # noqa: E402,F401
from sandbox.routes import identities, vaults, roles  # noqa: E402,F401
from sandbox.routes import network  # noqa: E402,F401

__all__ = ["OPERATIONS", "HANDLERS", "Operation", "register_arm_routes"]
