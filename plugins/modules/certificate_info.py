#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: certificate_info
short_description: Read the certificates of an Azure API Management service, their expiry and their users
version_added: 0.1.0
description:
  - Returns one or all certificates of an API Management service with thumbprint, subject, expiry, days left,
    the Key Vault reference and its last refresh status, and where each certificate is used (backend
    credentials and C(authentication-certificate) elements of service, API and operation policies).
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.INFO_MODULE
options:
  name:
    description: Certificate identifier. Leave out to list all certificates of the service.
    type: str
    aliases: [certificate_id]
  references:
    description:
      - Whether to find where each certificate is used. This reads every backend and every service, API and
        operation policy; turn it off for a quicker answer on a large service.
    type: bool
    default: true
seealso:
  - module: mtls.apim.certificate
'''

EXAMPLES = r'''
- name: List certificates and where they are used
  mtls.apim.certificate_info:
    resource_group: rg-apim
    service_name: apim-dev
  register: certs

- name: Fail when a certificate expires within 30 days
  ansible.builtin.assert:
    that: item.days_to_expiry >= 30
    fail_msg: "{{ item.name }} expires on {{ item.expiration_date }}"
  loop: "{{ certs.certificates }}"
  loop_control:
    label: "{{ item.name }}"
'''

RETURN = r'''
certificates:
  description: The certificates, sorted by name. Empty when O(name) does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ARM id of the certificate.
      type: str
    name:
      description: Certificate identifier.
      type: str
      sample: backend-client
    thumbprint:
      description: SHA-1 thumbprint, upper-case hex.
      type: str
    subject:
      description: Subject of the certificate.
      type: str
    expiration_date:
      description: Expiry, ISO 8601 UTC.
      type: str
    days_to_expiry:
      description: Whole days until expiry (negative once expired).
      type: int
    key_vault:
      description: Key Vault reference (C(secret_id), C(identity_client_id), C(versionless), C(last_status)); null for a PFX.
      type: dict
    references:
      description:
        - Where the certificate is used; each item has C(kind) (V(backend), V(service_policy), V(api_policy),
          V(operation_policy)), C(by) (V(certificate-id) or V(thumbprint)) and C(backend), C(api), C(operation)
          as they apply.
      type: list
      elements: dict
      returned: when O(references=true)
      sample: [{"kind": "api_policy", "api": "orders", "by": "certificate-id"}]
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import (
    CertificateHandler, certificate_result)
from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import ReferenceFinder

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    name=dict(type='str', aliases=['certificate_id']),
    references=dict(type='bool', default=True),
)


def run(azure):
    params = azure.params
    handler = CertificateHandler(azure.client('apim'), params['resource_group'], params['service_name'])
    if params['name']:
        found = handler.get(params['name'])
        if not found:
            handler.require_service()
        certificates = [found[0]] if found else []
    else:
        certificates = sorted(handler.list(), key=lambda c: c.name)
    references = None
    if params['references'] and certificates:
        references = ReferenceFinder(handler.client, handler.resource_group, handler.service_name).find()
    return dict(changed=False, certificates=[
        certificate_result(c, references.of(c.name, c.thumbprint) if references else
                           ([] if params['references'] else None))
        for c in certificates])


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'apim'), supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
