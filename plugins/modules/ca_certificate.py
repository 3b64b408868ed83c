#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ca_certificate
short_description: Install or remove a CA certificate of an Azure API Management service
version_added: 0.2.0
description:
  - Installs a CA certificate in the C(Root) or C(CertificateAuthority) store of an API Management service
    (C(properties.certificates)), so that the gateway trusts backends whose server certificates a private CA
    issued, or removes it again.
  - The certificate may be given as PEM, DER or PFX (PKCS#12). It is sent as what the service accepts, the
    base64 DER certificate; a PFX's password is used only to open it locally and is never sent, returned or
    logged.
  - Idempotent by thumbprint. The service's update replaces the whole list of CA certificates, so the module
    reads the list, adds, moves or removes only the certificate of the task, and writes the full list back;
    CA certificates it was not asked to remove are kept. The service holds at most 10; adding an eleventh
    fails before any write.
  - The Consumption tier does not support CA certificates; the module fails there before any write. Switch
    off chain validation for the backend instead (M(mtls.apim.backend) with O(mtls.apim.backend#module:validate_certificate_chain=false)).
  - Updating the service is a long-running operation (on Azure it can take many minutes). The module waits
    for it unless O(wait=false).
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  state:
    description: Whether the CA certificate should be installed.
    type: str
    choices: [present, absent]
    default: present
  store:
    description:
      - Certificate store. V(Root) for a root CA, V(CertificateAuthority) for an intermediate CA.
      - With O(state=present) the default is V(Root); a certificate installed in the other store is moved.
      - With O(state=absent) and no O(store), the certificate is removed from either store.
    type: str
    choices: [Root, CertificateAuthority]
  certificate_path:
    description:
      - Path on the control node of the CA certificate, as PEM, DER or PFX. One certificate per task.
    type: path
  certificate_content:
    description:
      - The CA certificate as PEM text, or base64 of a DER certificate or a PFX.
    type: str
  certificate_password:
    description:
      - Password of a PFX given in O(certificate_path) or O(certificate_content). Used locally only. Never logged.
    type: str
  thumbprint:
    description:
      - SHA-1 thumbprint of the CA certificate to remove with O(state=absent), instead of giving the certificate.
    type: str
  wait:
    description:
      - Wait until the service has finished the update. With V(false) the task ends once the service has
        accepted the update; the returned list is then the one requested.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the update with O(wait=true) before failing (the update goes on in Azure).
    type: int
    default: 3600
  polling_interval:
    description:
      - Seconds between status checks while waiting, when the service does not say (with Retry-After) when to
        check again.
    type: int
    default: 15
notes:
  - The v2 tiers of API Management are reported not to support CA certificates either; the module does not
    refuse them, the service does.
seealso:
  - module: mtls.apim.backend
  - name: Add a custom CA certificate in Azure API Management
    description: Microsoft's guide, with the tiers that support it.
    link: https://learn.microsoft.com/azure/api-management/api-management-howto-ca-certificates
'''

EXAMPLES = r'''
- name: Trust the private root CA that issued the backends' server certificates
  mtls.apim.ca_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    certificate_path: files/internal-root-ca.pem

- name: Install an intermediate CA from a PFX, without waiting for the service update
  mtls.apim.ca_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    store: CertificateAuthority
    certificate_path: files/internal-issuing-ca.pfx
    certificate_password: "{{ vault_issuing_ca_pfx_password }}"
    wait: false

- name: Remove a CA certificate by thumbprint
  mtls.apim.ca_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    thumbprint: 8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2
    state: absent
'''

RETURN = r'''
certificate:
  description: The CA certificate of the task.
  returned: when O(state=present), or O(state=absent) with the certificate given
  type: dict
  contains:
    store:
      description: Store it is installed in (null after O(state=absent)).
      type: str
      sample: Root
    thumbprint:
      description: SHA-1 thumbprint, upper-case hex.
      type: str
      sample: 8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2
    subject:
      description: Subject.
      type: str
      sample: CN=Internal Root CA, O=Contoso
    expiration_date:
      description: Expiry, ISO 8601 UTC.
      type: str
      sample: '2035-01-01T00:00:00Z'
ca_certificates:
  description:
    - All CA certificates of the service after the task (as requested when O(wait=false) or in check mode),
      each with C(store), C(thumbprint), C(subject), C(expiration_date).
  returned: always
  type: list
  elements: dict
  sample: [{"store": "Root", "thumbprint": "8E98...", "subject": "CN=Internal Root CA", "expiration_date": "2035-01-01T00:00:00Z"}]
'''

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import ServiceHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.ca_certificate import (
    entry_view, load_ca_certificate, merge_absent, merge_present, planned_view,
    read_certificate_bytes)

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    store=dict(type='str', choices=['Root', 'CertificateAuthority']),
    certificate_path=dict(type='path'),
    certificate_content=dict(type='str'),
    certificate_password=dict(type='str', no_log=True),
    thumbprint=dict(type='str'),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=3600),
    polling_interval=dict(type='int', default=15),
)


def desired_certificate(params):
    if params['certificate_path'] is None and params['certificate_content'] is None:
        return None
    data, field = read_certificate_bytes(params['certificate_path'], params['certificate_content'])
    return load_ca_certificate(data, params['certificate_password'], field)


def _refuse_consumption(service):
    sku = (service.sku.name if service.sku else '') or ''
    if sku.lower() == 'consumption':
        raise ModuleError('CA certificates are not supported in the Consumption tier of API Management (service %s). '
                          'Switch off certificate chain validation for the backend instead: mtls.apim.backend with '
                          'validate_certificate_chain: false.' % service.name)


def run(azure):
    params = azure.params
    for option in ('wait_timeout', 'polling_interval'):
        if params[option] < 1:
            raise ModuleError('%s must be at least 1 second.' % option)
    present = params['state'] == 'present'
    certificate = desired_certificate(params)
    if certificate is not None and present:
        if not certificate.is_ca:
            azure.warn('The certificate %s (thumbprint %s) is not a CA certificate (no basicConstraints CA:TRUE); '
                       'the gateway will not use it to validate a chain.' % (certificate.subject, certificate.thumbprint))
        elif params['store'] in (None, 'Root') and not certificate.self_signed:
            azure.warn('The certificate %s is not self-signed: an intermediate CA belongs in store '
                       'CertificateAuthority.' % certificate.subject)
    store = params['store'] or ('Root' if present else None)
    thumbprint = certificate.thumbprint if certificate is not None else (params['thumbprint'] or '').replace(':', '')
    handler = ServiceHandler(azure.client('apim'), params['resource_group'], params['service_name'])
    service = handler.get()
    if present:
        _refuse_consumption(service)
    entries = list(service.certificates or [])
    if present:
        new_entries = merge_present(entries, certificate, store)
    else:
        new_entries = merge_absent(entries, thumbprint, store)
    before = [entry_view(e) for e in entries]
    result = dict(changed=new_entries is not None)
    after = before
    if new_entries is not None:
        after = [entry_view(e) if e.certificate else planned_view(certificate, e.store_name) for e in new_entries]
        if not azure.check_mode:
            updated = handler.update(params['wait'], params['wait_timeout'], polling_interval=params['polling_interval'],
                                     certificates=list(new_entries))
            if updated is not None:
                after = [entry_view(e) for e in (updated.certificates or [])]
    result['ca_certificates'] = after
    if certificate is not None:
        mine = [v for v in after if v['thumbprint'] == certificate.thumbprint]
        result['certificate'] = dict(planned_view(certificate, mine[0]['store'] if mine else None))
    if azure.diff_mode:
        result['diff'] = dict(before=dict(ca_certificates=before), after=dict(ca_certificates=after))
    return result


def main():
    azure = AzureModule(
        ARGUMENT_SPEC,
        sdks=('identity', 'apim', 'cryptography'),
        mutually_exclusive=[('certificate_path', 'certificate_content', 'thumbprint')],
        required_if=[('state', 'present', ('certificate_path', 'certificate_content'), True),
                     ('state', 'absent', ('certificate_path', 'certificate_content', 'thumbprint'), True)],
        supports_check_mode=True,
    )
    azure.run(run)


if __name__ == '__main__':
    main()
