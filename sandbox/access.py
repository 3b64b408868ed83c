"""Who may do what on a vault: access policies, Azure RBAC role assignments, the firewall.

Shared by the Key Vault data plane (the control node calling with its token) and by APIM's
Key Vault references (the service's managed identity reading a secret).
"""

import fnmatch
import ipaddress

from flask import g

KEYVAULT_TYPE = "Microsoft.KeyVault/vaults"
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"

# Built-in role definitions (ids are the same in every tenant) and their data actions, from
# Azure's built-in roles reference. Roles without data actions grant no data-plane access:
# Owner, Contributor and Reader on a vault do not let anyone read a secret.
ROLES = {
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": ("Key Vault Administrator",
                                             ["Microsoft.KeyVault/vaults/*"]),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": ("Key Vault Secrets Officer",
                                             ["Microsoft.KeyVault/vaults/secrets/*"]),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User",
                                             ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                              "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
    "a4417e6f-fecd-4de8-b567-7b0420556985": ("Key Vault Certificates Officer",
                                             ["Microsoft.KeyVault/vaults/certificatecas/*",
                                              "Microsoft.KeyVault/vaults/certificates/*",
                                              "Microsoft.KeyVault/vaults/certificatecontacts/write"]),
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": ("Key Vault Certificate User",
                                             ["Microsoft.KeyVault/vaults/certificates/read",
                                              "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                              "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                                              "Microsoft.KeyVault/vaults/keys/read"]),
    "21090545-7ca7-4776-b22c-e363652d74d2": ("Key Vault Reader",
                                             ["Microsoft.KeyVault/vaults/*/read",
                                              "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
    "acdd72a7-3c48-4a5b-a4e2-0a0ed5ee4f3a": ("Reader", []),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": ("Contributor", []),
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("Owner", []),
}
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"

# Data-plane operations: (access-policy category, permission, RBAC data action).
CERTIFICATES_IMPORT = ("certificates", "import", "Microsoft.KeyVault/vaults/certificates/import/action")
CERTIFICATES_GET = ("certificates", "get", "Microsoft.KeyVault/vaults/certificates/read")
CERTIFICATES_LIST = ("certificates", "list", "Microsoft.KeyVault/vaults/certificates/read")
SECRETS_GET = ("secrets", "get", "Microsoft.KeyVault/vaults/secrets/getSecret/action")
SECRETS_LIST = ("secrets", "list", "Microsoft.KeyVault/vaults/secrets/readMetadata/action")


def role_grants(role_guid, action):
    _name, actions = ROLES.get(role_guid.lower(), ("", []))
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in actions)


def role_guid_of(role_definition_id):
    return (role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def is_at_or_below(scope_id, resource_id):
    scope, target = scope_id.rstrip("/").lower(), resource_id.rstrip("/").lower()
    return target == scope or target.startswith(scope + "/")


def role_assignments(principal_id=None):
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                (ROLE_ASSIGNMENT_TYPE.lower(),)).fetchall()
    found = [g.store.get(r["id"]) for r in rows]
    if principal_id:
        found = [e for e in found if (e["body"]["properties"].get("principalId") or "").lower()
                 == principal_id.lower()]
    return found


def rbac_allows(principal_id, resource_id, action):
    """A role assignment at the resource or an ancestor scope grants the data action."""
    for entity in role_assignments(principal_id):
        props = entity["body"]["properties"]
        if is_at_or_below(props["scope"], resource_id) and \
                role_grants(role_guid_of(props["roleDefinitionId"]), action):
            return True
    return False


def policy_allows(vault, principal_id, tenant_id, category, permission):
    for entry in vault["body"]["properties"].get("accessPolicies") or []:
        if (entry.get("objectId") or "").lower() != (principal_id or "").lower():
            continue
        if (entry.get("tenantId") or "").lower() != (tenant_id or "").lower():
            continue
        granted = [p.lower() for p in (entry.get("permissions") or {}).get(category) or []]
        if permission in granted or "all" in granted:
            return True
    return False


def uses_rbac(vault):
    return bool(vault["body"]["properties"].get("enableRbacAuthorization"))


def vault_allows(vault, principal_id, tenant_id, operation, resource_id):
    """Whether the principal may run a data-plane operation (see the tuples above)."""
    category, permission, action = operation
    if uses_rbac(vault):  # access policies are ignored (spec: enableRbacAuthorization)
        return rbac_allows(principal_id, resource_id, action)
    return policy_allows(vault, principal_id, tenant_id, category, permission)


def firewall_on(vault):
    acls = vault["body"]["properties"].get("networkAcls") or {}
    return (acls.get("defaultAction") or "Allow").lower() == "deny"


def _addresses(address):
    """The addresses one caller has: 127.0.0.1 and ::1 are the same node (*.localhost resolves
    to both)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return []
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    return [ip]


def ip_rule_matches(rule_value, address):
    try:
        network = ipaddress.ip_network(rule_value.strip(), strict=False)
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for ip in _addresses(address))


def address_allowed(vault, address):
    """The vault firewall for a data-plane caller at ``address``."""
    if not firewall_on(vault):
        return True
    acls = vault["body"]["properties"].get("networkAcls") or {}
    return any(ip_rule_matches(rule.get("value") or "", address)
               for rule in acls.get("ipRules") or [])
