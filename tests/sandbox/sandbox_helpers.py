"""Helpers for the sandbox's own tests (a unique module name: several conftest.py exist)."""

import base64
import datetime

RG, SERVICE, VAULT = "rg1", "apim1", "kv1"
# Fixed ids, so that the seeded vault can grant the seeded identities.
SYSTEM_PRINCIPAL = "5e1f0c4a-0000-4000-8000-000000000001"
UAI_PRINCIPAL, UAI_CLIENT = "5e1f0c4a-0000-4000-8000-000000000002", "5e1f0c4a-0000-4000-8000-000000000003"
READ_SECRETS = {"secrets": ["get", "list"]}


def seed_default(sb, grant=True):
    """rg1, apim1 (system + user-assigned uai1 identities), kv1 (access policies). With
    ``grant`` both identities may read kv1's secrets, as the APIM docs ask."""
    sb.admin("POST", "reset")
    policies = [{"tenantId": sb.info["tenant"], "objectId": pid, "permissions": READ_SECRETS}
                for pid in (SYSTEM_PRINCIPAL, UAI_PRINCIPAL)] if grant else []
    return sb.admin("POST", "seed", {
        "resource_groups": [{"name": RG, "location": "westeurope"}],
        "services": [{"resource_group": RG, "name": SERVICE, "location": "westeurope",
                      "sku": {"name": "Developer", "capacity": 1},
                      "identity": {"type": "SystemAssigned, UserAssigned",
                                   "principalId": SYSTEM_PRINCIPAL,
                                   "userAssignedIdentities": {
                                       uai_id(sb.info, "uai1"): {"principalId": UAI_PRINCIPAL,
                                                                  "clientId": UAI_CLIENT}}}}],
        "vaults": [{"resource_group": RG, "name": VAULT, "location": "westeurope",
                    "accessPolicies": policies}]})


def credential_for(info, secret=None):
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(info["tenant"], info["client_id"], secret or info["secret"],
                                  authority=info["url"], disable_instance_discovery=True,
                                  connection_verify=info["ca_bundle"])


def client_for(info, **kwargs):
    from azure.mgmt.apimanagement import ApiManagementClient

    return ApiManagementClient(credential_for(info), info["subscription_id"],
                               base_url=info["url"], credential_scopes=[info["url"] + "/.default"],
                               connection_verify=info["ca_bundle"], **kwargs)


def bearer(info):
    return {"Authorization": "Bearer " + credential_for(info).get_token(
        info["url"] + "/.default").token}


def make_pfx(password=None, common_name="client.example", days=365):
    """(base64 PFX, expected thumbprint, expected expiry) of a fresh self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    # Encoded most general first, as CAs do: printed "CN=..., O=Contoso".
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expiry = now + datetime.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(expiry)
            .sign(key, hashes.SHA256()))
    enc = (serialization.BestAvailableEncryption(password.encode()) if password
           else serialization.NoEncryption())
    pfx = pkcs12.serialize_key_and_certificates(b"test", key, cert, None, enc)
    thumb = cert.fingerprint(hashes.SHA1()).hex().upper()
    return base64.b64encode(pfx).decode(), thumb, expiry


def arm_path(info, suffix=""):
    return (f"/subscriptions/{info['subscription_id']}/resourceGroups/{RG}/providers/"
            f"Microsoft.ApiManagement/service/{SERVICE}{suffix}")


def etag_of(operation, *args):
    """The ETag header of a get_entity_tag call (the SDK method itself returns a bool)."""
    return operation(*args, cls=lambda _resp, _body, headers: headers["ETag"])


def _mgmt(client_cls, info, **kwargs):
    return client_cls(credential_for(info), info["subscription_id"], base_url=info["url"],
                      credential_scopes=[info["url"] + "/.default"],
                      connection_verify=info["ca_bundle"], polling_interval=0, **kwargs)


def msi_client(info):
    from azure.mgmt.msi import ManagedServiceIdentityClient

    return _mgmt(ManagedServiceIdentityClient, info)


def keyvault_client(info):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    return _mgmt(KeyVaultManagementClient, info)


def authorization_client(info):
    from azure.mgmt.authorization import AuthorizationManagementClient

    return _mgmt(AuthorizationManagementClient, info)


def uai_id(info, name, rg=RG):
    return (f"/subscriptions/{info['subscription_id']}/resourceGroups/{rg}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def make_ca_cer(common_name="Contoso Root CA"):
    """(base64 DER of a self-signed CA certificate, thumbprint)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode(), cert.fingerprint(hashes.SHA1()).hex().upper()


def client_object_id(info):
    """The control node's object id: the oid claim of its tokens."""
    import json

    token = credential_for(info).get_token(info["url"] + "/.default").token
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]


def vault_url(info, vault=VAULT):
    return f"https://{vault}.vault.localhost:{info['url'].rsplit(':', 1)[1]}"


def certificate_client(info, vault=VAULT):
    from azure.keyvault.certificates import CertificateClient

    return CertificateClient(vault_url(info, vault), credential_for(info),
                             connection_verify=info["ca_bundle"], retry_total=0)


def secret_client(info, vault=VAULT):
    from azure.keyvault.secrets import SecretClient

    return SecretClient(vault_url(info, vault), credential_for(info),
                        connection_verify=info["ca_bundle"], retry_total=0)
