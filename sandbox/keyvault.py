"""Key Vault references of APIM certificates, resolved against the sandbox's vault store.

Vault secrets come from the admin API (PUT /_sandbox/vaults/{vault}/secrets/{name}) or from
certificates imported through the data plane. APIM reads them as its managed identity, so the
vault's rules for that identity apply: its access policies (or RBAC role assignments) and its
firewall.
"""

import datetime
import re

from flask import g

from sandbox import access, certs, principals
from sandbox.errors import ArmError, validation_error

KEYVAULT_TYPE = access.KEYVAULT_TYPE
# A versionless reference is re-read within 4 hours (APIM docs); the sandbox re-reads it
# lazily, on the first GET/list after the sandbox clock passes that mark.
REFRESH_SECONDS = 4 * 3600

_KV_URL = re.compile(
    r"^https://(?P<vault>[A-Za-z0-9-]+)\.vault\.localhost(?::(?P<port>\d+))?"
    r"/(?P<kind>[^/]+)/(?P<name>[^/?#]+)(?:/(?P<version>[^/?#]*))?/?$")


def parse_secret_identifier(url):
    """Split a Key Vault secret URL; ValidationError (target keyVault) if it is not one."""
    m = _KV_URL.match(url or "")
    if not m:
        # Message wording is the sandbox's; the real service rejects non-Key Vault URLs too.
        raise validation_error("keyVault", f"Invalid Key Vault secret identifier '{url}'. "
                               "Expected https://<vault>.<keyVaultDns>/secrets/<name>"
                               "[/<version>].")
    if m.group("kind").lower() != "secrets":
        # Reported wording (hashicorp/terraform-provider-azurerm#3635); exact text is a choice.
        raise validation_error("keyVault",
                               "ApiManagement service only accepts KeyVault Secrets type. "
                               f"'{url}' is not a secret identifier.")
    return {"vault": m.group("vault").lower(), "name": m.group("name"),
            "version": m.group("version") or None}


def _find_vault(name):
    row = g.store.conn.execute(
        "SELECT id FROM resources WHERE type = ? AND id LIKE ?",
        (KEYVAULT_TYPE.lower(), f"%/vaults/{name.lower()}")).fetchone()
    return g.store.get(row["id"]) if row else None


def _identity(service, identity_client_id):
    """(type, client_id, object_id) of the identity APIM would use for the vault."""
    identity = service["body"].get("identity") or {}
    kind = identity.get("type") or "None"
    if identity_client_id:
        for uai in (identity.get("userAssignedIdentities") or {}).values():
            if (uai.get("clientId") or "").lower() == identity_client_id.lower():
                return "UserAssigned", uai.get("clientId"), uai.get("principalId")
        # Wording from Azure/apiops#257 (see shared/SERVICE-BEHAVIOUR.md).
        raise validation_error(
            "identityClientId",
            f"Can not find Managed Identity with provided IdentityClientId : "
            f"{identity_client_id}. For more information please see aka.ms/apimmsi.")
    if "systemassigned" not in kind.replace(" ", "").lower().split(","):
        # Not documented. The sandbox answers in the shape of the identityClientId refusal
        # (400 ValidationError naming the field, pointing to aka.ms/apimmsi); the wording is
        # its own.
        raise validation_error(
            "keyVault",
            "API Management service has no system-assigned managed identity; enable it or set "
            "identityClientId to the client id of a user-assigned identity of the service. "
            "For more information please see aka.ms/apimmsi.")
    return ("SystemAssigned", service["private"].get("system_client_id"),
            identity.get("principalId"))


def _access_failed(secret_identifier, id_type, client_id, object_id):
    # Message form from Microsoft Q&A 1688796 / SERVICE-BEHAVIOUR.md.
    return ArmError(
        400, "InvalidOperation",
        f"Failed to access KeyVault Secret {secret_identifier} using Managed Service Identity "
        f"(http://aka.ms/apimmsi) of Api Management service. Check if Managed Identity of Type: "
        f"{id_type}, ClientId: {client_id} and ObjectId: {object_id} has GET permissions on "
        "secrets in the KeyVault Access Policies.", apim_shape=True)


def _network_allows(service, vault, id_type):
    """The vault firewall for APIM: with defaultAction Deny, only the trusted-services bypass
    used with the system-assigned identity (the documented set-up, includes/api-management-
    key-vault-network.md) or the service's subnet in virtualNetworkRules lets it through. A
    user-assigned identity is not a trusted service even with the bypass on (SERVICE-BEHAVIOUR.md,
    Microsoft Q&A 1688796). The sandbox service's public address is loopback, shared with the
    control node, so ipRules are not matched against it (a simplification).

    A virtual network rule admits the service's subnet only while that subnet has the
    Microsoft.KeyVault service endpoint: without it the traffic leaves the virtual network from a
    public address and the vault never sees the subnet (Key Vault's service endpoint docs). So a
    rule added with ignoreMissingVnetServiceEndpoint, or an endpoint removed later, lets nothing
    through."""
    from sandbox.routes import network

    if not access.firewall_on(vault):
        return True
    acls = vault["body"]["properties"].get("networkAcls") or {}
    subnet = ((service["body"].get("properties") or {}).get("virtualNetworkConfiguration")
              or {}).get("subnetResourceId")
    if subnet and any((rule.get("id") or "").lower() == subnet.lower()
                      for rule in acls.get("virtualNetworkRules") or []) and \
            network.has_endpoint(network.find_subnet(subnet)):
        return True
    return (acls.get("bypass") or "AzureServices") == "AzureServices" and \
        id_type == "SystemAssigned"


def _may_read(vault, object_id, secret_name):
    """Access-policy vault: a policy for the identity granting secrets get AND list (what the
    APIM docs ask for). RBAC vault: a role granting secret reads (Key Vault Secrets User,
    Secrets Officer, Administrator, Certificate User) at the vault or an ancestor scope."""
    resource = f"{vault['body']['id']}/secrets/{secret_name}"
    if access.uses_rbac(vault):
        return access.rbac_allows(object_id, resource, access.SECRETS_GET[2])
    tenant = g.settings["tenant"]
    return all(access.policy_allows(vault, object_id, tenant, category, permission)
               for category, permission, _action in (access.SECRETS_GET, access.SECRETS_LIST))


def resolve_key_vault_secret(service, secret_identifier, identity_client_id):
    """Read the secret as the service's identity would; the one place for access rules.

    Returns {"version", "value", "content_type"}. Raises ArmError as APIM would: a missing
    vault or secret, a deleted identity, missing permissions and a firewall refusal all give
    the same InvalidOperation message, as on Azure (it names GET permissions even when the
    firewall is the cause, SERVICE-BEHAVIOUR.md).
    """
    ref = parse_secret_identifier(secret_identifier)
    id_type, client_id, object_id = _identity(service, identity_client_id)
    failed = _access_failed(secret_identifier, id_type, client_id, object_id)
    vault = _find_vault(ref["vault"])
    if vault is None or principals.find_principal(object_id) is None:
        raise failed
    if not _network_allows(service, vault, id_type) or \
            not _may_read(vault, object_id, ref["name"]):
        raise failed
    versions = g.store.secret_versions(ref["vault"], ref["name"])
    if ref["version"]:
        versions = [v for v in versions if v["version"].lower() == ref["version"].lower()]
    if not versions:
        raise failed
    newest = versions[0]
    return {"version": newest["version"], "value": newest["value"],
            "content_type": newest["content_type"]}


def iso_utc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f0Z")


def load_certificate(service, key_vault):
    """Resolve a keyVault block and read its PFX: (facts, private, last_status).

    Raises ArmError for an unreachable secret or content that is not a PFX.
    """
    resolved = resolve_key_vault_secret(service, key_vault.get("secretIdentifier"),
                                        key_vault.get("identityClientId"))
    try:
        # Key Vault exports certificates as password-less PKCS#12.
        facts = certs.parse_pfx(resolved["value"], None)
    except certs.PfxError as exc:
        # Not documented; the sandbox reports the secret content as a keyVault problem.
        raise validation_error(
            "keyVault", f"Key Vault secret {key_vault.get('secretIdentifier')} does not hold a "
            f"PKCS#12 certificate (content type '{resolved['content_type']}'): "
            f"{exc.message}") from None
    now = g.store.now()
    private = {"kv_version": resolved["version"], "kv_synced_at": now}
    status = {"code": "Success", "message": "", "timeStampUtc": iso_utc(now)}
    return facts, private, status


def needs_refresh(entity):
    """A versionless Key Vault certificate last synced 4 hours or more ago (sandbox clock)."""
    kv = entity["body"].get("properties", {}).get("keyVault")
    if not kv:
        return False
    if parse_secret_identifier(kv["secretIdentifier"])["version"]:
        return False
    return g.store.now() - entity["private"].get("kv_synced_at", 0) >= REFRESH_SECONDS
