"""The sandbox answers like Azure: every operation it emulates, driven by the real SDK clients,
sends request bodies and gets response bodies that validate against the official specs.

One scenario (module fixture) runs every step whose operationId the sandbox registers, with
every raw request/response captured by azure-core's ``raw_response_hook``. The tests then check
each exchange against the spec operation of the same operationId, method and path, using the
api-version the SDK sent (or, when that spec file is absent, the nearest version present).
A route the sandbox registers without a step here fails ``test_every_registered_operation_is_exercised``.
"""

import base64
import datetime
import json
import re
import ssl
import subprocess
import sys
import urllib.request
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

import specs

SPECS = specs.load_or_skip()

from sandbox.routes import OPERATIONS  # noqa: E402  (after the skip: no specs, no sandbox needed)
from sandbox.vault_dataplane import OPERATIONS as DATAPLANE_OPERATIONS  # noqa: E402

# ARM operations and the Key Vault data-plane operations (served on <vault>.vault.localhost).
REGISTRY = sorted({(op[0], op[1].upper(), op[2]) for op in list(OPERATIONS) + DATAPLANE_OPERATIONS})
DATAPLANE_IDS = sorted({op[0] for op in DATAPLANE_OPERATIONS})
REGISTERED_IDS = sorted({op_id for op_id, _, _ in REGISTRY})

RG, SERVICE, VAULT, LOCATION = "rg-conformance", "apim-conformance", "kv-conformance", "westeurope"
SERVICE2, UAI, UAI_GONE = "apim-conformance-2", "uai-conformance", "uai-conformance-gone"
VAULT2 = "kv-conformance-rbac"
VNET, NSG = "vnet", "nsg-conformance"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ASSIGNMENT, ASSIGNMENT_RG = "8f6a3b1e-3c1d-4d8e-9f2a-000000000001", "8f6a3b1e-3c1d-4d8e-9f2a-000000000002"
API, API_OPERATION = "echo-api", "get-echo"
POLICY_XML = "<policies><inbound><base /></inbound><backend><base /></backend>" \
             "<outbound><base /></outbound><on-error><base /></on-error></policies>"


# -- capture --------------------------------------------------------------------------------

@dataclass
class Exchange:
    method: str
    path: str
    api_version: str
    request_body: object
    status: int
    response_body: object
    response_text: str
    step: str

    def describe(self):
        return f"{self.method} {self.path} -> {self.status} (step {self.step})"


def _json_or_text(raw):
    if raw in (None, b"", ""):
        return None, ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    try:
        return json.loads(text), text
    except ValueError:
        return _NOT_JSON, text


_NOT_JSON = object()


class Recorder:
    def __init__(self):
        self.exchanges = []
        self.step = "setup"

    def hook(self, pipeline_response):
        request, response = pipeline_response.http_request, pipeline_response.http_response
        url = urlsplit(request.url)
        request_body, _ = _json_or_text(request.body)
        response_body, text = (None, "") if request.method == "HEAD" else _json_or_text(response.body())
        self.exchanges.append(Exchange(
            request.method, url.path, (parse_qs(url.query).get("api-version") or [""])[0],
            request_body, response.status_code, response_body, text, self.step))


def _template_regex(template):
    def part(match):
        name = match.group(1)
        if name == "scope":                 # spans segments (x-ms-skip-url-encoding)
            return ".+"
        if name.endswith("-version"):       # Key Vault SDKs ask for the latest as /secrets/{name}/
            return "[^/]*"
        return "[^/]+"
    pieces = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(part(re.match(r"\{([^}]+)\}", p)) if p.startswith("{") else re.escape(p)
                      for p in pieces)
    return re.compile("^" + pattern + "/?$", re.IGNORECASE)


_REGISTRY_REGEXES = [(op_id, method, _template_regex(path)) for op_id, method, path in REGISTRY]


def registered_operation(exchange):
    """The sandbox operationId serving this exchange (most specific template), or None."""
    found = [(len(rx.pattern), op_id) for op_id, method, rx in _REGISTRY_REGEXES
             if method == exchange.method and rx.match(exchange.path)]
    return max(found)[1] if found else None


# -- the sandbox ----------------------------------------------------------------------------

def _start_sandbox(state_dir):
    try:
        from sandbox.testing import SandboxProcess
    except ImportError:
        SandboxProcess = None
    if SandboxProcess is not None:
        proc = SandboxProcess(str(state_dir))
        proc.__enter__()
        return proc.info, lambda: proc.__exit__(None, None, None)
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "run", "--state-dir", str(state_dir)],
                               cwd=str(specs.REPO_ROOT), stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"sandbox did not start (exit {process.wait()})")

    def stop():
        process.terminate()
        process.wait(timeout=30)
    return json.loads(line), stop


class Admin:
    def __init__(self, info):
        self.base = info["admin_url"]
        self.context = ssl.create_default_context(cafile=info["ca_bundle"])

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None


def make_ca_cer():
    """A self-signed CA certificate as base64 DER (what APIM takes as encodedCertificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Conformance Root CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def make_pfx(password=b"conformance"):
    """A self-signed certificate and key as a base64 PKCS#12 (what APIM accepts as `data`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    pfx = pkcs12.serialize_key_and_certificates(b"conformance", key, cert, None, encryption)
    return base64.b64encode(pfx).decode()


# -- the scenario ---------------------------------------------------------------------------

class Scenario:
    """Steps keyed by operationId; each runs the SDK call(s) for that operation."""

    def __init__(self, info, recorder):
        from azure.identity import ClientSecretCredential
        from azure.mgmt.apimanagement import ApiManagementClient

        self.info, self.recorder, self.admin = info, recorder, Admin(info)
        url, ca = info["url"], info["ca_bundle"]
        self.credential = ClientSecretCredential(
            info["tenant"], info["client_id"], info["secret"], authority=url,
            disable_instance_discovery=True, connection_verify=ca)
        common = dict(base_url=url, credential_scopes=[url + "/.default"], connection_verify=ca,
                      raw_response_hook=recorder.hook, retry_total=0, polling_interval=0)
        self.apim = ApiManagementClient(self.credential, info["subscription_id"], **common)
        self.keyvault = self.msi = self.authorization = None
        try:
            from azure.mgmt.keyvault import KeyVaultManagementClient
            self.keyvault = KeyVaultManagementClient(self.credential, info["subscription_id"], **common)
        except ImportError:
            pass
        try:
            from azure.mgmt.msi import ManagedServiceIdentityClient
            self.msi = ManagedServiceIdentityClient(self.credential, info["subscription_id"], **common)
        except ImportError:
            pass
        try:
            from azure.mgmt.authorization import AuthorizationManagementClient
            self.authorization = AuthorizationManagementClient(self.credential, info["subscription_id"],
                                                               **common)
        except ImportError:
            pass
        self.network = None
        try:
            from azure.mgmt.network import NetworkManagementClient
            self.network = NetworkManagementClient(self.credential, info["subscription_id"], **common)
        except ImportError:
            pass
        self.certificates = self.secrets = self.certificates_rbac = None
        try:
            from azure.keyvault.certificates import CertificateClient
            from azure.keyvault.secrets import SecretClient
            port = url.rsplit(":", 1)[1]
            data = dict(connection_verify=ca, raw_response_hook=recorder.hook, retry_total=0)
            self.certificates = CertificateClient(f"https://{VAULT}.vault.localhost:{port}", self.credential, **data)
            self.secrets = SecretClient(f"https://{VAULT}.vault.localhost:{port}", self.credential, **data)
            self.certificates_rbac = CertificateClient(f"https://{VAULT2}.vault.localhost:{port}", self.credential,
                                                       **data)
        except ImportError:
            pass
        self.errors = {}     # step -> unexpected exception text
        self.expected_errors = []  # (step, status wanted, status got)

    def seed(self):
        self.admin.call("POST", "/reset")
        self.admin.call("POST", "/seed", {
            "resource_groups": [{"name": RG, "location": LOCATION}],
            "services": [{"resource_group": RG, "name": SERVICE, "location": LOCATION,
                          "sku": {"name": "Developer", "capacity": 1},
                          "identity": {"type": "SystemAssigned"}}],
            "vaults": [{"resource_group": RG, "name": VAULT, "location": LOCATION}]})
        self.secret = self.admin.call("PUT", f"/vaults/{VAULT}/secrets/conformance-cert",
                                      {"value": make_pfx(password=None), "content_type": "application/x-pkcs12"})

    def run(self, step, fn):
        self.recorder.step = step
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - reported per operation by the tests
            self.errors[step] = f"{type(err).__name__}: {str(err)[:500]}"

    def expect_error(self, step, status, fn):
        from azure.core.exceptions import HttpResponseError

        self.recorder.step = step
        try:
            fn()
        except HttpResponseError as err:
            self.expected_errors.append((step, status, err.status_code))
            return
        self.expected_errors.append((step, status, None))

    # The steps, in an order where every resource exists before it is read, changed or deleted.
    def steps(self):
        m = self.apim
        from azure.mgmt.apimanagement import models as am

        pfx_password = "conformance"
        pfx = make_pfx(pfx_password.encode())

        def grant_vault_access():
            service = m.api_management_service.get(RG, SERVICE)
            from azure.mgmt.keyvault import models as kv
            self.keyvault.vaults.update_access_policy(RG, VAULT, "add", kv.VaultAccessPolicyParameters(
                properties=kv.VaultAccessPolicyProperties(access_policies=[kv.AccessPolicyEntry(
                    tenant_id=service.identity.tenant_id, object_id=service.identity.principal_id,
                    permissions=kv.Permissions(secrets=["get", "list"]))])))

        def uai_id(name):
            return (f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}/providers/"
                    f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")

        def create_identities():
            from azure.mgmt.msi import models as msi
            self.msi.user_assigned_identities.create_or_update(RG, UAI, msi.Identity(location=LOCATION))
            self.msi.user_assigned_identities.create_or_update(RG, UAI, msi.Identity(
                location=LOCATION, tags={"purpose": "conformance"}))
            self.msi.user_assigned_identities.create_or_update(RG, UAI_GONE, msi.Identity(location=LOCATION))

        def create_service():
            m.api_management_service.begin_create_or_update(RG, SERVICE2, am.ApiManagementServiceResource(
                location=LOCATION, publisher_email="ops@example.com", publisher_name="Conformance",
                sku=am.ApiManagementServiceSkuProperties(name="Developer", capacity=1),
                identity=am.ApiManagementServiceIdentity(
                    type="SystemAssigned, UserAssigned",
                    user_assigned_identities={uai_id(UAI): am.UserIdentityProperties()}),
                certificates=[am.CertificateConfiguration(encoded_certificate=make_ca_cer(),
                                                          store_name="Root")])).result()

        def update_service():
            m.api_management_service.begin_update(RG, SERVICE2, am.ApiManagementServiceUpdateParameters(
                tags={"updated": "yes"}, identity=am.ApiManagementServiceIdentity(
                    type="SystemAssigned", user_assigned_identities={uai_id(UAI): None}))).result()

        def vault_id(name):
            return (f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}/providers/"
                    f"Microsoft.KeyVault/vaults/{name}")

        def role_id(guid):
            return (f"/subscriptions/{self.info['subscription_id']}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{guid}")

        def create_vault():
            from azure.mgmt.keyvault import models as kv
            self.keyvault.vaults.begin_create_or_update(RG, VAULT2, kv.VaultCreateOrUpdateParameters(
                location=LOCATION, properties=kv.VaultProperties(
                    tenant_id=self.info["tenant"], sku=kv.Sku(family="A", name="standard"),
                    enable_rbac_authorization=True, network_acls=kv.NetworkRuleSet(
                        bypass="AzureServices", default_action="Deny",
                        ip_rules=[kv.IPRule(value="127.0.0.1")])))).result()

        def update_vault():
            from azure.mgmt.keyvault import models as kv
            self.keyvault.vaults.update(RG, VAULT2, kv.VaultPatchParameters(
                tags={"purpose": "conformance"}, properties=kv.VaultPatchProperties(
                    network_acls=kv.NetworkRuleSet(default_action="Deny", virtual_network_rules=[
                        kv.VirtualNetworkRule(id=f"/subscriptions/{self.info['subscription_id']}/resourceGroups/"
                                                 f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/apim")]))))

        def assign(scope, name, guid=SECRETS_USER):
            from azure.mgmt.authorization.v2022_04_01 import models as az
            principal = m.api_management_service.get(RG, SERVICE).identity.principal_id
            return self.authorization.role_assignments.create(scope, name, az.RoleAssignmentCreateParameters(
                role_definition_id=role_id(guid), principal_id=principal, principal_type="ServicePrincipal"))

        def create_assignments():
            assign(vault_id(VAULT2), ASSIGNMENT)
            assign(f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}", ASSIGNMENT_RG)

        def list_assignments():
            principal = m.api_management_service.get(RG, SERVICE).identity.principal_id
            ra = self.authorization.role_assignments
            list(ra.list_for_scope(vault_id(VAULT2)))
            list(ra.list_for_scope(vault_id(VAULT2), filter="atScope()"))
            list(ra.list_for_scope(f"/subscriptions/{self.info['subscription_id']}",
                                   filter=f"principalId eq '{principal}'"))

        # Virtual networks and security groups (the vault's virtual network rule needs the
        # subnet, with its Microsoft.KeyVault endpoint, before Vaults_Update).
        from azure.mgmt.network import models as nm
        net = self.network

        def outbound_rule(priority, tag):
            return nm.SecurityRule(protocol="Tcp", access="Allow", priority=priority, direction="Outbound",
                                   source_address_prefix="VirtualNetwork", source_port_range="*",
                                   destination_address_prefix=tag, destination_port_range="443")

        def create_nsg():
            net.network_security_groups.begin_create_or_update(RG, NSG, nm.NetworkSecurityGroup(
                location=LOCATION, security_rules=[nm.SecurityRule(name="aad", **outbound_rule(
                    320, "AzureActiveDirectory").as_dict())])).result()

        def create_vnet():
            net.virtual_networks.begin_create_or_update(RG, VNET, nm.VirtualNetwork(
                location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
                subnets=[nm.Subnet(name="apim", address_prefix="10.0.1.0/24",
                                   network_security_group=nm.NetworkSecurityGroup(
                                       id=net.network_security_groups.get(RG, NSG).id),
                                   service_endpoints=[nm.ServiceEndpointPropertiesFormat(service="Microsoft.Storage")],
                                   delegations=[nm.Delegation(name="web", service_name="Microsoft.Web/serverFarms")])]
            )).result()

        def put_subnets():
            net.subnets.begin_create_or_update(RG, VNET, "extra", nm.Subnet(address_prefix="10.0.2.0/24")).result()
            apim_subnet = net.subnets.get(RG, VNET, "apim")   # read, change one thing, write back
            apim_subnet.service_endpoints.append(nm.ServiceEndpointPropertiesFormat(service="Microsoft.KeyVault"))
            net.subnets.begin_create_or_update(RG, VNET, "apim", apim_subnet).result()

        def backend(url="https://backend.example/api"):
            return am.BackendContract(url=url, protocol="http", description="conformance",
                                      tls=am.BackendTlsProperties(validate_certificate_chain=True,
                                                                  validate_certificate_name=True))

        return [
            ("ApiManagementService_Get", lambda: m.api_management_service.get(RG, SERVICE)),
            ("ApiManagementService_ListByResourceGroup",
             lambda: list(m.api_management_service.list_by_resource_group(RG))),
            ("ApiManagementService_List", lambda: list(m.api_management_service.list())),
            ("NetworkSecurityGroups_CreateOrUpdate", create_nsg),
            ("NetworkSecurityGroups_Get", lambda: net.network_security_groups.get(RG, NSG)),
            ("NetworkSecurityGroups_List", lambda: list(net.network_security_groups.list(RG))),
            ("SecurityRules_CreateOrUpdate", lambda: net.security_rules.begin_create_or_update(
                RG, NSG, "keyvault", outbound_rule(310, "AzureKeyVault")).result()),
            ("SecurityRules_Get", lambda: net.security_rules.get(RG, NSG, "keyvault")),
            ("SecurityRules_List", lambda: list(net.security_rules.list(RG, NSG))),
            ("VirtualNetworks_CreateOrUpdate", create_vnet),
            ("VirtualNetworks_Get", lambda: net.virtual_networks.get(RG, VNET)),
            ("VirtualNetworks_List", lambda: list(net.virtual_networks.list(RG))),
            ("Subnets_CreateOrUpdate", put_subnets),
            ("Subnets_Get", lambda: net.subnets.get(RG, VNET, "apim")),
            ("Subnets_List", lambda: list(net.subnets.list(RG, VNET))),
            # managed identities and service updates
            ("UserAssignedIdentities_CreateOrUpdate", create_identities),
            ("UserAssignedIdentities_Get", lambda: self.msi.user_assigned_identities.get(RG, UAI)),
            ("UserAssignedIdentities_ListByResourceGroup",
             lambda: list(self.msi.user_assigned_identities.list_by_resource_group(RG))),
            ("ApiManagementService_CreateOrUpdate", create_service),
            ("ApiManagementService_Update", update_service),
            ("UserAssignedIdentities_Delete", lambda: self.msi.user_assigned_identities.delete(RG, UAI_GONE)),
            ("Vaults_Get", lambda: self.keyvault.vaults.get(RG, VAULT)),
            ("Vaults_CreateOrUpdate", create_vault),
            ("Vaults_Update", update_vault),
            ("Vaults_ListByResourceGroup", lambda: list(self.keyvault.vaults.list_by_resource_group(RG))),
            ("Vaults_ListBySubscription", lambda: list(self.keyvault.vaults.list_by_subscription())),
            ("Vaults_List", lambda: list(self.keyvault.vaults.list())),
            ("RoleAssignments_Create", create_assignments),
            ("RoleAssignments_Get", lambda: self.authorization.role_assignments.get(vault_id(VAULT2), ASSIGNMENT)),
            ("RoleAssignments_ListForScope", list_assignments),
            # Key Vault data plane (the seeded vault grants the control node, as the portal does)
            ("ImportCertificate", lambda: (
                self.certificates.import_certificate("imported", base64.b64decode(pfx), password=pfx_password),
                self.certificates.import_certificate("imported", base64.b64decode(make_pfx(None))))),
            ("GetCertificate", lambda: (
                self.certificates.get_certificate("imported"),
                self.certificates.get_certificate_version(
                    "imported", self.certificates.get_certificate("imported").properties.version))),
            ("GetCertificateVersions", lambda: list(self.certificates.list_properties_of_certificate_versions("imported"))),
            ("GetCertificatePolicy", lambda: self.certificates.get_certificate_policy("imported")),
            ("GetCertificates", lambda: list(self.certificates.list_properties_of_certificates())),
            ("GetSecret", lambda: (self.secrets.get_secret("imported"), self.secrets.get_secret("conformance-cert"))),
            ("GetSecretVersions", lambda: list(self.secrets.list_properties_of_secret_versions("imported"))),
            ("GetSecrets", lambda: list(self.secrets.list_properties_of_secrets())),
            ("Vaults_UpdateAccessPolicy", grant_vault_access),
            # certificates: uploaded PFX and Key Vault reference
            ("Certificate_CreateOrUpdate", lambda: (
                m.certificate.create_or_update(RG, SERVICE, "uploaded", am.CertificateCreateOrUpdateParameters(
                    data=pfx, password=pfx_password)),
                m.certificate.create_or_update(RG, SERVICE, "from-vault", am.CertificateCreateOrUpdateParameters(
                    key_vault=am.KeyVaultContractCreateProperties(
                        secret_identifier=self.secret["versionless_id"]))),
                m.certificate.create_or_update(RG, SERVICE, "uploaded", am.CertificateCreateOrUpdateParameters(
                    data=pfx, password=pfx_password), if_match="*"))),
            ("Certificate_Get", lambda: (m.certificate.get(RG, SERVICE, "uploaded"),
                                         m.certificate.get(RG, SERVICE, "from-vault"))),
            ("Certificate_GetEntityTag", lambda: m.certificate.get_entity_tag(RG, SERVICE, "uploaded")),
            ("Certificate_ListByService", lambda: list(m.certificate.list_by_service(RG, SERVICE))),
            ("Certificate_RefreshSecret", lambda: m.certificate.refresh_secret(RG, SERVICE, "from-vault")),
            # backends
            ("Backend_CreateOrUpdate", lambda: m.backend.create_or_update(RG, SERVICE, "conformance", backend())),
            ("Backend_Get", lambda: m.backend.get(RG, SERVICE, "conformance")),
            ("Backend_GetEntityTag", lambda: m.backend.get_entity_tag(RG, SERVICE, "conformance")),
            ("Backend_ListByService", lambda: list(m.backend.list_by_service(RG, SERVICE))),
            ("Backend_Update", lambda: m.backend.update(RG, SERVICE, "conformance", "*",
                                                        am.BackendUpdateParameters(description="updated"))),
            ("Backend_Reconnect", lambda: m.backend.reconnect(RG, SERVICE, "conformance")),
            # APIs and operations (the places policies live)
            ("Api_CreateOrUpdate", lambda: m.api.begin_create_or_update(
                RG, SERVICE, API, am.ApiCreateOrUpdateParameter(
                    display_name="Echo", path="echo", protocols=["https"],
                    service_url="https://backend.example/echo")).result()),
            ("Api_Get", lambda: m.api.get(RG, SERVICE, API)),
            ("Api_GetEntityTag", lambda: m.api.get_entity_tag(RG, SERVICE, API)),
            ("Api_ListByService", lambda: list(m.api.list_by_service(RG, SERVICE))),
            ("Api_Update", lambda: m.api.update(RG, SERVICE, API, "*", am.ApiUpdateContract(description="x"))),
            ("ApiOperation_CreateOrUpdate", lambda: m.api_operation.create_or_update(
                RG, SERVICE, API, API_OPERATION, am.OperationContract(
                    display_name="Get echo", method="GET", url_template="/echo"))),
            ("ApiOperation_Get", lambda: m.api_operation.get(RG, SERVICE, API, API_OPERATION)),
            ("ApiOperation_GetEntityTag", lambda: m.api_operation.get_entity_tag(RG, SERVICE, API, API_OPERATION)),
            ("ApiOperation_ListByApi", lambda: list(m.api_operation.list_by_api(RG, SERVICE, API))),
            ("ApiOperation_Update", lambda: m.api_operation.update(
                RG, SERVICE, API, API_OPERATION, "*", am.OperationUpdateContract(description="x"))),
            # policies at the three scopes
            ("Policy_CreateOrUpdate", lambda: m.policy.create_or_update(
                RG, SERVICE, "policy", am.PolicyContract(value=POLICY_XML, format="xml"))),
            ("Policy_Get", lambda: m.policy.get(RG, SERVICE, "policy", format="xml")),
            ("Policy_GetEntityTag", lambda: m.policy.get_entity_tag(RG, SERVICE, "policy")),
            ("Policy_ListByService", lambda: list(m.policy.list_by_service(RG, SERVICE))),
            ("ApiPolicy_CreateOrUpdate", lambda: m.api_policy.create_or_update(
                RG, SERVICE, API, "policy", am.PolicyContract(value=POLICY_XML, format="xml"))),
            ("ApiPolicy_Get", lambda: m.api_policy.get(RG, SERVICE, API, "policy", format="xml")),
            ("ApiPolicy_GetEntityTag", lambda: m.api_policy.get_entity_tag(RG, SERVICE, API, "policy")),
            ("ApiPolicy_ListByApi", lambda: m.api_policy.list_by_api(RG, SERVICE, API)),
            ("ApiOperationPolicy_CreateOrUpdate", lambda: m.api_operation_policy.create_or_update(
                RG, SERVICE, API, API_OPERATION, "policy", am.PolicyContract(value=POLICY_XML, format="xml"))),
            ("ApiOperationPolicy_Get", lambda: m.api_operation_policy.get(
                RG, SERVICE, API, API_OPERATION, "policy", format="xml")),
            ("ApiOperationPolicy_GetEntityTag", lambda: m.api_operation_policy.get_entity_tag(
                RG, SERVICE, API, API_OPERATION, "policy")),
            ("ApiOperationPolicy_ListByOperation", lambda: m.api_operation_policy.list_by_operation(
                RG, SERVICE, API, API_OPERATION)),
            # deletes, innermost first
            ("ApiOperationPolicy_Delete", lambda: m.api_operation_policy.delete(
                RG, SERVICE, API, API_OPERATION, "policy", "*")),
            ("ApiPolicy_Delete", lambda: m.api_policy.delete(RG, SERVICE, API, "policy", "*")),
            ("Policy_Delete", lambda: m.policy.delete(RG, SERVICE, "policy", "*")),
            ("ApiOperation_Delete", lambda: m.api_operation.delete(RG, SERVICE, API, API_OPERATION, "*")),
            ("Api_Delete", lambda: m.api.begin_delete(RG, SERVICE, API, "*").result()),
            ("Backend_Delete", lambda: m.backend.delete(RG, SERVICE, "conformance", "*")),
            ("RoleAssignments_Delete", lambda: self.authorization.role_assignments.delete(
                f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}", ASSIGNMENT_RG)),
            ("Certificate_Delete", lambda: (m.certificate.delete(RG, SERVICE, "uploaded", "*"),
                                            m.certificate.delete(RG, SERVICE, "from-vault", "*"))),
            ("SecurityRules_Delete", lambda: net.security_rules.begin_delete(RG, NSG, "keyvault").result()),
            ("Subnets_Delete", lambda: net.subnets.begin_delete(RG, VNET, "extra").result()),
            # Throw-away ones: the error steps below still need the group and the network.
            ("VirtualNetworks_Delete", lambda: (
                net.virtual_networks.begin_create_or_update(RG, "vnet-gone", nm.VirtualNetwork(
                    location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.9.0.0/16"]))).result(),
                net.virtual_networks.begin_delete(RG, "vnet-gone").result())),
            ("NetworkSecurityGroups_Delete", lambda: (
                net.network_security_groups.begin_create_or_update(
                    RG, "nsg-gone", nm.NetworkSecurityGroup(location=LOCATION)).result(),
                net.network_security_groups.begin_delete(RG, "nsg-gone").result())),
        ]

    def _assignment_parameters(self, principal):
        from azure.mgmt.authorization.v2022_04_01 import models as az
        return az.RoleAssignmentCreateParameters(
            role_definition_id=f"/subscriptions/{self.info['subscription_id']}/providers/"
                               f"Microsoft.Authorization/roleDefinitions/{SECRETS_USER}",
            principal_id=principal, principal_type="ServicePrincipal")

    def _assign_unknown_principal(self):
        self.authorization.role_assignments.create(
            f"/subscriptions/{self.info['subscription_id']}", "8f6a3b1e-3c1d-4d8e-9f2a-0000000000ff",
            self._assignment_parameters("11111111-2222-3333-4444-555555555555"))

    def _assign_twice(self):
        # The vault-scope assignment of the scenario exists under another name.
        principal = self.apim.api_management_service.get(RG, SERVICE).identity.principal_id
        self.authorization.role_assignments.create(
            f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}/providers/"
            f"Microsoft.KeyVault/vaults/{VAULT2}", "8f6a3b1e-3c1d-4d8e-9f2a-0000000000fe",
            self._assignment_parameters(principal))

    def error_steps(self):
        """Error answers; their bodies must match the operation's `default` (ErrorResponse) schema."""
        m = self.apim
        from azure.mgmt.apimanagement import models as am

        def raw_put_without_data():
            # The SDK would not send an empty certificate; the service must still answer 400.
            m.certificate.create_or_update(RG, SERVICE, "empty", am.CertificateCreateOrUpdateParameters())

        return [
            ("Certificate_Get", 404, lambda: m.certificate.get(RG, SERVICE, "does-not-exist")),
            ("Certificate_CreateOrUpdate", 400, raw_put_without_data),
            ("Certificate_CreateOrUpdate", 400, lambda: m.certificate.create_or_update(
                RG, SERVICE, "bad-pfx", am.CertificateCreateOrUpdateParameters(
                    data=base64.b64encode(b"not a pfx").decode(), password="x"))),
            ("Certificate_CreateOrUpdate", 400, lambda: m.certificate.create_or_update(
                RG, SERVICE, "unreadable", am.CertificateCreateOrUpdateParameters(
                    key_vault=am.KeyVaultContractCreateProperties(
                        secret_identifier=self.secret["versionless_id"].rsplit("/", 1)[0] + "/absent")))),
            ("Backend_Get", 404, lambda: m.backend.get(RG, SERVICE, "does-not-exist")),
            ("Backend_CreateOrUpdate", 400, lambda: m.backend.create_or_update(
                RG, SERVICE, "bad-url", am.BackendContract(url="not a url", protocol="http"))),
            ("Backend_Update", 412, lambda: (
                m.backend.create_or_update(RG, SERVICE, "etag-check", am.BackendContract(
                    url="https://backend.example", protocol="http")),
                m.backend.update(RG, SERVICE, "etag-check", '"stale"', am.BackendUpdateParameters(description="x")))),
            ("ApiManagementService_Get", 404, lambda: m.api_management_service.get(RG, "no-such-service")),
            ("ApiManagementService_CreateOrUpdate", 400, lambda: m.api_management_service.begin_create_or_update(
                RG, "apim-consumption", am.ApiManagementServiceResource(
                    location=LOCATION, publisher_email="ops@example.com", publisher_name="Conformance",
                    sku=am.ApiManagementServiceSkuProperties(name="Consumption", capacity=0),
                    certificates=[am.CertificateConfiguration(encoded_certificate=make_ca_cer(),
                                                              store_name="Root")])).result()),
            ("ApiManagementService_Update", 400, lambda: m.api_management_service.begin_update(
                RG, SERVICE2, am.ApiManagementServiceUpdateParameters(identity=am.ApiManagementServiceIdentity(
                    type="UserAssigned", user_assigned_identities={
                        f"/subscriptions/{self.info['subscription_id']}/resourceGroups/{RG}/providers/"
                        "Microsoft.ManagedIdentity/userAssignedIdentities/no-such-identity": am.UserIdentityProperties()
                    }))).result()),
            ("UserAssignedIdentities_Get", 404, lambda: self.msi.user_assigned_identities.get(RG, "no-such-identity")),
            ("Vaults_Get", 404, lambda: self.keyvault.vaults.get(RG, "no-such-vault")),
            ("GetCertificate", 404, lambda: self.certificates.get_certificate("no-such-certificate")),
            ("GetSecret", 404, lambda: self.secrets.get_secret("no-such-secret")),
            # An RBAC vault created through the API: the control node holds no role on it.
            ("ImportCertificate", 403, lambda: self.certificates_rbac.import_certificate(
                "denied", base64.b64decode(make_pfx(None)))),
            ("RoleAssignments_Get", 404, lambda: self.authorization.role_assignments.get(
                f"/subscriptions/{self.info['subscription_id']}", "00000000-0000-0000-0000-00000000dead")),
            ("RoleAssignments_Create", 400, lambda: self._assign_unknown_principal()),
            ("RoleAssignments_Create", 409, lambda: self._assign_twice()),
            ("Api_Get", 404, lambda: m.api.get(RG, SERVICE, "no-such-api")),
            ("Policy_Get", 404, lambda: m.policy.get(RG, SERVICE, "policy")),
            ("VirtualNetworks_Get", 404, lambda: self.network.virtual_networks.get(RG, "no-such-vnet")),
            ("Subnets_Get", 404, lambda: self.network.subnets.get(RG, VNET, "no-such-subnet")),
            ("NetworkSecurityGroups_Get", 404, lambda: self.network.network_security_groups.get(RG, "no-such-nsg")),
            ("SecurityRules_Get", 404, lambda: self.network.security_rules.get(RG, NSG, "no-such-rule")),
            ("SecurityRules_CreateOrUpdate", 400, lambda: self._conflicting_rule()),
            ("Subnets_CreateOrUpdate", 400, lambda: self._subnet_outside_the_network()),
        ]

    def _conflicting_rule(self):
        from azure.mgmt.network import models as nm
        # Same priority and direction as the group's "aad" rule.
        self.network.security_rules.begin_create_or_update(RG, NSG, "clash", nm.SecurityRule(
            protocol="Tcp", access="Allow", priority=320, direction="Outbound", source_address_prefix="*",
            source_port_range="*", destination_address_prefix="Storage", destination_port_range="443")).result()

    def _subnet_outside_the_network(self):
        from azure.mgmt.network import models as nm
        self.network.subnets.begin_create_or_update(RG, VNET, "outside", nm.Subnet(
            address_prefix="192.168.0.0/24")).result()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    info, stop = _start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        recorder = Recorder()
        run = Scenario(info, recorder)
        run.seed()
        run.admin.call("DELETE", "/requests")
        for step, fn in run.steps():
            if step in REGISTERED_IDS:
                run.run(step, fn)
        for step, status, fn in run.error_steps():
            if step in REGISTERED_IDS:
                run.expect_error(step, status, fn)
        run.sandbox_log = run.admin.call("GET", "/requests")
        yield run
    finally:
        stop()


def _by_operation(scenario):
    grouped = {}
    for exchange in scenario.recorder.exchanges:
        grouped.setdefault(registered_operation(exchange), []).append(exchange)
    return grouped


# -- the tests ------------------------------------------------------------------------------

def _normalise_template(template):
    return re.sub(r"\{[^}]+\}", "{}", template).rstrip("/").lower()


@pytest.mark.parametrize("operation_id, method, template", REGISTRY, ids=[f"{o}-{m}" for o, m, _ in REGISTRY])
def test_registered_operation_exists_in_specs(operation_id, method, template):
    candidates = [op for op in SPECS.operations_by_id(operation_id) if op.method == method.lower()]
    assert candidates, f"{operation_id}: no {method} operation with this operationId in the specs"
    assert any(_normalise_template(op.template) == _normalise_template(template) for op in candidates), (
        f"{operation_id} {method} {template}: spec templates are {[op.template for op in candidates]}")


def test_every_registered_operation_is_exercised(scenario):
    exercised = {op for op in _by_operation(scenario) if op}
    missing = sorted(set(REGISTERED_IDS) - exercised)
    assert not missing, f"sandbox routes without conformance coverage (add a step): {missing}"


def test_sandbox_request_log_agrees(scenario):
    counts = scenario.sandbox_log.get("counts", {})
    logged = {key.split(" ", 1)[1] for key in counts if " " in key}
    # Data-plane calls are listed (kind "keyvault") but, like all non-ARM calls, never counted.
    logged |= {r["operation"] for r in scenario.sandbox_log.get("requests", []) if r["kind"] == "keyvault"}
    assert set(REGISTERED_IDS) <= logged, sorted(set(REGISTERED_IDS) - logged)


def test_scenario_steps_succeeded(scenario):
    assert scenario.errors == {}


def test_error_answers_have_the_expected_status(scenario):
    wrong = [(step, want, got) for step, want, got in scenario.expected_errors if want != got]
    assert not wrong, f"(operation, expected status, got): {wrong}"


def test_no_unregistered_requests(scenario):
    """Polling URLs and the like: anything the SDK called that the registry does not name."""
    stray = [e.describe() for e in _by_operation(scenario).get(None, [])]
    assert not stray, stray


def _validate(exchange, operation_id):
    spec_op = SPECS.find_operation(exchange.method, exchange.path, exchange.api_version, operation_id=operation_id)
    if spec_op is None:
        return [f"{exchange.describe()}: no spec operation {operation_id} matches"], None
    problems = []
    if exchange.response_body is _NOT_JSON:
        problems.append(f"response is not JSON: {exchange.response_text[:200]!r}")
    else:
        problems += [f"response {e}" for e in SPECS.response_errors(spec_op, exchange.status, exchange.response_body)]
    # Error steps send invalid bodies on purpose; only accepted requests are checked.
    if exchange.status < 400:
        problems += [f"request {e}" for e in SPECS.request_errors(spec_op, exchange.request_body)]
    return [f"{exchange.describe()}: {p}" for p in problems], spec_op


@pytest.mark.parametrize("operation_id", REGISTERED_IDS)
def test_bodies_conform_to_spec(scenario, operation_id):
    exchanges = _by_operation(scenario).get(operation_id, [])
    if not exchanges:
        pytest.fail(f"{operation_id} was not exercised")
    problems, versions = [], set()
    for exchange in exchanges:
        found, spec_op = _validate(exchange, operation_id)
        problems += found
        if spec_op is not None and spec_op.api_version != exchange.api_version:
            versions.add((exchange.api_version, spec_op.api_version, spec_op.spec_file))
    for sent, used, spec_file in sorted(versions):
        warnings.warn(f"{operation_id}: api-version {sent} has no spec file here; "
                      f"validated against the nearest present, {used} ({spec_file})")
    assert not problems, "\n".join(problems)


def test_error_answers_conform_to_default_schema(scenario):
    """At least one 404 and one 400 ValidationError were validated against `default`."""
    errors = [e for e in scenario.recorder.exchanges if e.status >= 400]
    statuses = {e.status for e in errors}
    assert {400, 404} <= statuses, statuses
    validation = [e for e in errors if e.status == 400 and isinstance(e.response_body, dict)
                  and e.response_body.get("error", {}).get("code") == "ValidationError"]
    assert validation, [e.describe() for e in errors]
    problems = []
    for exchange in errors:
        problems += _validate(exchange, registered_operation(exchange))[0]
    assert not problems, "\n".join(problems)


def test_responses_carry_only_documented_properties(scenario):
    """Swagger permits extra members, but a test double that invents fields teaches its users
    to rely on something Azure never sends."""
    found = []
    for exchange in scenario.recorder.exchanges:
        spec_op = SPECS.find_operation(exchange.method, exchange.path, exchange.api_version,
                                       operation_id=registered_operation(exchange))
        if spec_op is None or not isinstance(exchange.response_body, (dict, list)):
            continue
        schema, base, _ = SPECS.response_schema_ref(spec_op, exchange.status)
        if schema is not None:
            extra = specs.undocumented_properties(SPECS, schema, base, "response", exchange.response_body)
            if extra:
                found.append(f"{exchange.describe()}: {extra}")
    assert not found, "\n".join(found)
