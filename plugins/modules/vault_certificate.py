#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vault_certificate
short_description: Import a PFX into a Key Vault certificate, for API Management to reference
version_added: 0.2.0
description:
  - Imports a PFX (a file or base64 content, with its password) into a Key Vault certificate with
    azure-keyvault-certificates.
  - Idempotent by thumbprint. When the vault's current version holds the same certificate, nothing is imported;
    a different certificate becomes a new version, which API Management picks up through a versionless reference.
  - Returns the versionless secret identifier, the value M(mtls.apim.certificate) wants in O(mtls.apim.certificate#module:key_vault_secret_id).
  - The PFX is checked locally first (readable, password, private key, not expired), so bad input writes nothing.
  - The machine running the module needs certificate import permission in the vault, and must get through the
    vault firewall (see M(mtls.apim.vault_network)).
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  vault_url:
    description:
      - URL of the vault, for example V(https://kv-apim-prod.vault.azure.net).
      - Alternatively give O(resource_group) and O(vault_name), and the module reads the URL from Azure.
    type: str
  resource_group:
    description: Resource group of the vault, with O(vault_name).
    type: str
  vault_name:
    description: Name of the vault, with O(resource_group).
    type: str
  name:
    description: Name of the certificate in the vault (also the name of its secret).
    type: str
    required: true
  pfx_path:
    description: Path of the PFX file on the machine running the module. Mutually exclusive with O(pfx_content).
    type: path
  pfx_content:
    description: The PFX, base64-encoded. Never logged.
    type: str
  pfx_password:
    description: Password of the PFX. Never logged.
    type: str
  expiry_warning_days:
    description: Warn when the certificate expires within this many days. V(0) turns the warning off.
    type: int
    default: 30
seealso:
  - module: mtls.apim.certificate
  - module: mtls.apim.vault_network
'''

EXAMPLES = r'''
- name: Import the client certificate into Key Vault
  mtls.apim.vault_certificate:
    vault_url: https://kv-apim-prod.vault.azure.net
    name: orders-client
    pfx_path: files/orders-client.pfx
    pfx_password: "{{ vault_orders_client_password }}"
  register: imported

- name: Reference it from API Management, versionless
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-prod
    name: orders-client
    key_vault_secret_id: "{{ imported.certificate.secret_id }}"
'''

RETURN = r'''
certificate:
  description: The vault's current version of the certificate after the task.
  returned: always
  type: dict
  contains:
    secret_id:
      description: Versionless secret identifier, for M(mtls.apim.certificate).
      type: str
      sample: https://kv-apim-prod.vault.azure.net/secrets/orders-client
    versioned_secret_id:
      description: Secret identifier of this version. Null in check mode when a version would be imported.
      type: str
    id:
      description: Certificate identifier of this version.
      type: str
    version:
      description: Version id.
      type: str
    thumbprint:
      description: SHA-1 thumbprint, upper-case hex.
      type: str
    subject:
      description: Subject of the certificate (from the PFX given; null when the vault already held it and no PFX was read).
      type: str
    expires_on:
      description: Expiry, ISO 8601 UTC.
      type: str
    name:
      description: Certificate name.
      type: str
    vault_url:
      description: URL of the vault.
      type: str
previous_thumbprint:
  description: Thumbprint of the version that was current before the task; null when there was none.
  returned: always
  type: str
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._pfx import days_left, format_date, inspect_pfx, read_pfx_bytes
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import VaultHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault_certificate import (
    VaultCertificateHandler, thumbprint_of, vault_certificate_result, vault_url_from)

ARGUMENT_SPEC = dict(
    vault_url=dict(type='str'),
    resource_group=dict(type='str'),
    vault_name=dict(type='str'),
    name=dict(type='str', required=True),
    pfx_path=dict(type='path'),
    pfx_content=dict(type='str', no_log=True),
    pfx_password=dict(type='str', no_log=True),
    expiry_warning_days=dict(type='int', default=30),
)


def run(azure):
    params = azure.params
    data, field = read_pfx_bytes(params['pfx_path'], params['pfx_content'])
    info = inspect_pfx(data, params['pfx_password'], field)
    url = vault_url_from(params, lambda: VaultHandler(
        azure.client('keyvault'), params['resource_group'], params['vault_name']).get())
    handler = VaultCertificateHandler(azure.vault_certificates(url), url, params['name'])
    current = handler.get()
    before_thumbprint = thumbprint_of(current)
    changed = before_thumbprint != info.thumbprint
    result = dict(changed=changed, previous_thumbprint=before_thumbprint)
    if not changed:
        result['certificate'] = vault_certificate_result(handler, current, info.subject)
    elif azure.check_mode:
        result['certificate'] = dict(name=handler.name, vault_url=handler.vault_url,
                                     secret_id=handler.versionless_secret_id, versioned_secret_id=None, id=None,
                                     version=None, thumbprint=info.thumbprint, subject=info.subject,
                                     expires_on=format_date(info.not_after))
    else:
        result['certificate'] = vault_certificate_result(handler, handler.import_pfx(data, params['pfx_password']),
                                                         info.subject)
    days = days_left(info.not_after)
    if params['expiry_warning_days'] and days < params['expiry_warning_days']:
        azure.warn('Certificate %s (thumbprint %s) expires in %d days, on %s.'
                   % (handler.name, info.thumbprint, days, format_date(info.not_after)))
    if azure.diff_mode:
        result['diff'] = dict(before=dict(name=handler.name, thumbprint=before_thumbprint) if current else {},
                              after=dict(name=handler.name, thumbprint=info.thumbprint, subject=info.subject,
                                         expires_on=format_date(info.not_after)))
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'vault_certificates', 'cryptography'),
                        mutually_exclusive=[('pfx_path', 'pfx_content'), ('vault_url', 'vault_name')],
                        required_one_of=[('pfx_path', 'pfx_content'), ('vault_url', 'vault_name')],
                        required_together=[('resource_group', 'vault_name')], supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
