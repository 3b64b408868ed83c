#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: certificate
short_description: Manage a client certificate of an Azure API Management service
version_added: 0.1.0
description:
  - Ensures one certificate of an API Management (APIM) service exists with the given content, or is absent.
  - The certificate comes either from a PFX (a file or base64 content, with its password), or, better,
    from a Key Vault secret identifier. A versionless identifier lets APIM follow rotation in the vault
    (within 4 hours, or at once with O(refresh=true)).
  - Idempotent. A PFX is compared by the SHA-1 thumbprint computed locally with C(cryptography); a Key
    Vault reference by its identifier and identity. When nothing differs, nothing is written.
  - Deleting is refused while a backend's credentials or an C(authentication-certificate) element of a
    service, API or operation policy still uses the certificate; every such reference is listed.
  - The PFX, its password and the service principal secret are never returned, logged or shown in a diff.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  name:
    description:
      - Certificate identifier in the service (the C(certificateId)); policies and backends refer to it.
    type: str
    required: true
    aliases: [certificate_id]
  state:
    description: Whether the certificate should exist.
    type: str
    choices: [present, absent]
    default: present
  pfx_path:
    description:
      - Path of a PFX (PKCS#12) file on the control node holding the certificate and its private key.
      - Mutually exclusive with O(pfx_content) and O(key_vault_secret_id).
    type: path
  pfx_content:
    description:
      - The PFX file, base64-encoded. Never logged.
    type: str
  pfx_password:
    description:
      - Password of the PFX. Leave out for a PFX without a password. Never logged.
    type: str
  key_vault_secret_id:
    description:
      - Key Vault secret identifier of the certificate, for example C(https://myvault.vault.azure.net/secrets/backend-client).
      - Give it without a version, so that APIM follows new versions of the secret; a versioned identifier
        works but never rotates, and gets a warning.
      - Must be a C(/secrets/) identifier; C(/certificates/) and C(/keys/) identifiers are refused.
      - The service's managed identity must be allowed to get and list secrets in the vault.
    type: str
  identity_client_id:
    description:
      - Client id of the user-assigned managed identity of the service that reads the secret.
      - Leave out to use the system-assigned identity.
      - This is the identity's client (application) id, not its principal (object) id.
    type: str
  refresh:
    description:
      - For a Key Vault certificate, make the service read the newest version of the secret now (refreshSecret)
        and return the thumbprint before and after. The task reports changed when the thumbprint changed.
    type: bool
    default: false
  expiry_warning_days:
    description:
      - Warn when the certificate expires within this many days. V(0) turns the warning off.
    type: int
    default: 30
notes:
  - Ansible prints loop items at high verbosity whatever the module hides; when looping over PFX content, set
    C(no_log) on the task or keep the content out of the loop items (loop over names and look the content up).
  - Key Vault references need the service's managed identity to read the secret; see the collection's
    Key Vault modules and roles for the identity, the access and the vault firewall.
seealso:
  - module: mtls.apim.certificate_info
  - name: Use Key Vault certificates in API Management
    description: How API Management reads certificates from Key Vault, and how rotation works.
    link: https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
'''

EXAMPLES = r'''
- name: Upload a client certificate from a PFX file
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-dev
    name: backend-client
    pfx_path: files/backend-client.pfx
    pfx_password: "{{ vault_backend_client_pfx_password }}"

- name: Reference a certificate in Key Vault (versionless, so APIM follows rotation)
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-dev
    name: backend-client-kv
    key_vault_secret_id: https://kv-apim-dev.vault.azure.net/secrets/backend-client

- name: Use a user-assigned identity of the service to read the secret
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-dev
    name: backend-client-kv
    key_vault_secret_id: https://kv-apim-dev.vault.azure.net/secrets/backend-client
    identity_client_id: 00000000-0000-0000-0000-000000000000

- name: Pick up a new version from Key Vault now
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-dev
    name: backend-client-kv
    key_vault_secret_id: https://kv-apim-dev.vault.azure.net/secrets/backend-client
    refresh: true
  register: refreshed

- name: Remove a certificate nothing uses any more
  mtls.apim.certificate:
    resource_group: rg-apim
    service_name: apim-dev
    name: old-client
    state: absent
'''

RETURN = r'''
certificate:
  description: The certificate as the service holds it after the task. Absent after O(state=absent).
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: ARM id of the certificate. Null in check mode when it would be created.
      type: str
      sample: /subscriptions/xxx/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-dev/certificates/backend-client
    name:
      description: Certificate identifier.
      type: str
      sample: backend-client
    thumbprint:
      description: SHA-1 thumbprint, upper-case hex.
      type: str
      sample: 8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2
    subject:
      description: Subject of the certificate.
      type: str
      sample: CN=backend-client,O=Contoso
    expiration_date:
      description: Expiry, ISO 8601 UTC.
      type: str
      sample: '2027-11-29T00:00:00Z'
    days_to_expiry:
      description: Whole days until expiry.
      type: int
      sample: 364
    key_vault:
      description: The Key Vault reference; null for an uploaded PFX.
      type: dict
      contains:
        secret_id:
          description: Secret identifier.
          type: str
        identity_client_id:
          description: Client id of the user-assigned identity; null for the system-assigned one.
          type: str
        versionless:
          description: Whether the identifier follows new versions.
          type: bool
        last_status:
          description: Result of the service's last read of the secret (C(code), C(message), C(time_stamp_utc)).
          type: dict
refresh:
  description: Thumbprints before and after O(refresh=true).
  returned: when O(refresh=true)
  type: dict
  sample: {"thumbprint_before": "8E98...", "thumbprint_after": "1C2B..."}
references:
  description: What uses the certificate, when deletion was refused (also in the failure message).
  returned: when a delete is refused
  type: list
  elements: dict
  sample: [{"kind": "backend", "backend": "orders", "by": "certificate-id"}]
'''

from ansible_collections.mtls.apim.plugins.module_utils._errors import AzureError, ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule, delete_result
from ansible_collections.mtls.apim.plugins.module_utils._pfx import days_left, inspect_pfx, read_pfx_bytes
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import (
    CertificateHandler, KeyVaultCertificate, KeyVaultSecretId, PfxCertificate, certificate_result,
    certificate_view)
from ansible_collections.mtls.apim.plugins.module_utils._handlers.keyvault_diagnosis import diagnose
from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import ReferenceFinder, refuse_deletion

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    name=dict(type='str', required=True, aliases=['certificate_id']),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    pfx_path=dict(type='path'),
    pfx_content=dict(type='str', no_log=True),
    pfx_password=dict(type='str', no_log=True),
    key_vault_secret_id=dict(type='str', no_log=False),
    identity_client_id=dict(type='str'),
    refresh=dict(type='bool', default=False),
    expiry_warning_days=dict(type='int', default=30),
)


def desired_certificate(params):
    """The desired certificate from the options, checked locally before any request."""
    if params['key_vault_secret_id'] is not None:
        secret_id = KeyVaultSecretId(params['key_vault_secret_id'])
        return KeyVaultCertificate(secret_id, params['identity_client_id'])
    if params['identity_client_id']:
        raise ModuleError('identity_client_id applies only with key_vault_secret_id.')
    if params['refresh']:
        raise ModuleError('refresh applies only with key_vault_secret_id: an uploaded PFX has nothing to refresh.')
    data, field = read_pfx_bytes(params['pfx_path'], params['pfx_content'])
    return PfxCertificate(inspect_pfx(data, params['pfx_password'], field), data, params['pfx_password'])


def ensure_present(azure, handler, name, desired):
    params = azure.params
    found = handler.get(name)
    current, etag = found if found else (None, None)
    if current is None:
        handler.require_service()
    result = dict(changed=False)
    before = certificate_view(current)
    if current is None or not desired.matches(current):
        result['changed'] = True
        if isinstance(desired, KeyVaultCertificate) and desired.secret_id.version:
            azure.warn('key_vault_secret_id names version %s of the secret: APIM will keep that version and '
                       'never rotate. Give the identifier without the version to follow rotation.'
                       % desired.secret_id.version)
        if azure.check_mode:
            after = desired.view(name)
            result['certificate'] = _planned_result(current, desired, name)
        else:
            current = put_certificate(azure, handler, name, desired, etag)
            after = certificate_view(current)
            result['certificate'] = certificate_result(current)
    else:
        after = before
        result['certificate'] = certificate_result(current)
    if params['refresh'] and current is not None and not azure.check_mode:
        thumbprint_before = current.thumbprint
        current = handler.refresh(name)
        result['refresh'] = dict(thumbprint_before=thumbprint_before, thumbprint_after=current.thumbprint)
        if current.thumbprint != thumbprint_before:
            result['changed'] = True
        after = certificate_view(current)
        result['certificate'] = certificate_result(current)
    elif params['refresh']:
        result['refresh'] = dict(thumbprint_before=current.thumbprint if current else None, thumbprint_after=None)
    _warn_expiry(azure, result['certificate'])
    if azure.diff_mode:
        result['diff'] = dict(before=before or {}, after=after or {})
    return result


def put_certificate(azure, handler, name, desired, etag):
    """Write the certificate; when the service cannot read a Key Vault secret, say which prerequisite is missing."""
    try:
        return handler.put(name, desired, etag)
    except AzureError as exc:
        key_vault_refusal = exc.code == 'InvalidOperation' or (
            exc.code == 'ValidationError' and 'identityclientid' in (exc.msg or '').lower())
        if not isinstance(desired, KeyVaultCertificate) or not key_vault_refusal:
            raise
        problem = diagnose(azure, handler.resource_group, handler.service_name, desired.secret_id.value,
                           desired.identity_client_id)
        if problem is None:
            raise
        raise ModuleError('%s (The service answered: %s)' % (problem, exc.msg), **exc.details) from None


def _planned_result(current, desired, name):
    """What check mode can tell of the certificate it would write."""
    planned = certificate_result(current) if current is not None else dict(id=None, name=name, key_vault=None)
    if isinstance(desired, PfxCertificate):
        view = desired.view(name)
        planned.update(thumbprint=view['thumbprint'], subject=view['subject'],
                       expiration_date=view['expiration_date'], days_to_expiry=days_left(desired.info.not_after),
                       key_vault=None)
    else:
        planned.setdefault('thumbprint', None)
        planned['key_vault'] = dict(secret_id=desired.secret_id.value, identity_client_id=desired.identity_client_id,
                                    versionless=desired.secret_id.version is None, last_status=None)
    return planned


def _warn_expiry(azure, certificate):
    threshold = azure.params['expiry_warning_days']
    days = certificate.get('days_to_expiry')
    if threshold and days is not None and days < threshold:
        azure.warn('Certificate %s (thumbprint %s) expires in %d days, on %s.'
                   % (certificate['name'], certificate['thumbprint'], days, certificate['expiration_date']))


def ensure_absent(azure, handler, name):
    found = handler.get(name)
    if not found:
        return dict(changed=False)
    current, etag = found
    references = ReferenceFinder(handler.client, handler.resource_group, handler.service_name) \
        .find().of(current.name, current.thumbprint)
    if any(r['by'] == 'thumbprint' for r in references) and any(
            other.name.lower() != name.lower() and (other.thumbprint or '').upper() == current.thumbprint.upper()
            for other in handler.list()):
        # Another certificate with the same thumbprint still satisfies a reference by thumbprint.
        references = [r for r in references if r['by'] != 'thumbprint']
    refuse_deletion('Certificate %s' % name, 'used by', references,
                    'Remove these references first (for example with mtls.apim.backend and '
                    'mtls.apim.api_client_certificate), then delete it.')
    return delete_result(azure, certificate_view(current), lambda: handler.delete(name, etag))


def run(azure):
    params = azure.params
    name = params['name']
    desired = desired_certificate(params) if params['state'] == 'present' else None
    handler = CertificateHandler(azure.client('apim'), params['resource_group'], params['service_name'])
    if desired is None:
        return ensure_absent(azure, handler, name)
    return ensure_present(azure, handler, name, desired)


def main():
    azure = AzureModule(
        ARGUMENT_SPEC,
        sdks=('identity', 'apim', 'cryptography'),
        mutually_exclusive=[('pfx_path', 'pfx_content', 'key_vault_secret_id')],
        required_if=[('state', 'present', ('pfx_path', 'pfx_content', 'key_vault_secret_id'), True)],
        supports_check_mode=True,
    )
    azure.run(run)


if __name__ == '__main__':
    main()
