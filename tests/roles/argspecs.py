"""The client_certificate_auth role's argument spec, derived from the three roles it runs.

The inventory's data model (apim_* variables) is the union of the options of keyvault_access,
certificates and backend_auth under shorter names; this module keeps the composite spec in step
with theirs (tests/roles/test_argument_specs.py checks it; run this file to rewrite it).
"""

from __future__ import annotations

import copy
import pathlib
import sys

import yaml

ROLES = pathlib.Path(__file__).resolve().parents[2] / "roles"

# Inventory variable -> (role, role variable).
MODEL = {
    "apim_resource_group": ("certificates", "certificates_resource_group"),
    "apim_service_name": ("certificates", "certificates_service_name"),
    "apim_system_assigned_identity": ("keyvault_access", "keyvault_access_system_assigned_identity"),
    "apim_user_assigned_identities": ("keyvault_access", "keyvault_access_user_assigned_identities"),
    "apim_key_vaults": ("keyvault_access", "keyvault_access_vaults"),
    "apim_network": ("keyvault_access", "keyvault_access_network"),
    "apim_control_node_ip": ("certificates", "certificates_control_node_ip"),
    "apim_key_vault_dns_suffix": ("certificates", "certificates_key_vault_dns_suffix"),
    "apim_certificates": ("certificates", "certificates_client_certificates"),
    "apim_ca_certificates": ("certificates", "certificates_ca_certificates"),
    "apim_wait": ("certificates", "certificates_wait"),
    "apim_backends": ("backend_auth", "backend_auth_backends"),
    "apim_api_bindings": ("backend_auth", "backend_auth_api_bindings"),
}

HEADER = """\
---
# Generated from the argument specs of keyvault_access, certificates and backend_auth by
# tests/roles/argspecs.py (tests/roles/test_argument_specs.py fails when it is out of step).
"""

DESCRIPTION = [
    "Runs keyvault_access, certificates and backend_auth in that order for one API Management service, from the"
    " inventory's data model (the apim_* variables of the host that stands for the service).",
    "See the role's README for a full inventory.",
]


def role_options(role):
    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def rename(text):
    """Option references inside descriptions follow the rename."""
    if isinstance(text, list):
        return [rename(item) for item in text]
    if not isinstance(text, str):
        return text
    for new, (_role, old) in MODEL.items():
        text = text.replace(f"O({old}", f"O({new}").replace(f"<{old}>", f"<{new}>")
    return text


def fix_descriptions(option):
    option["description"] = rename(option.get("description"))
    for sub in (option.get("options") or {}).values():
        fix_descriptions(sub)
    return option


def composite():
    options = {}
    for new, (role, old) in MODEL.items():
        options[new] = fix_descriptions(copy.deepcopy(role_options(role)[old]))
    return {"argument_specs": {"main": {
        "short_description": "Mutual TLS from API Management to its backends, from one inventory data model",
        "description": DESCRIPTION,
        "options": options,
    }}}


class _Dumper(yaml.SafeDumper):
    """Indents sequences inside mappings, as yamllint (and the rest of the repository) expects."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def render():
    return HEADER + yaml.dump(composite(), Dumper=_Dumper, sort_keys=False, width=110, default_flow_style=False)


TARGET = ROLES / "client_certificate_auth" / "meta" / "argument_specs.yml"

if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
