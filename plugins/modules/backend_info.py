#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: backend_info
short_description: Read the backends of an Azure API Management service with their client certificates and TLS checks
version_added: 0.2.0
description:
  - Returns one or all backends of an API Management service with URL, protocol, the client certificates the
    gateway presents (name, thumbprint, subject, expiry) and the TLS settings C(validate_certificate_chain) and
    C(validate_certificate_name).
  - Credential values (headers, query parameters, authorization) are never returned; C(other_settings) names
    what is set.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.INFO_MODULE
options:
  name:
    description: Backend identifier. Leave out to list all backends of the service.
    type: str
    aliases: [backend_id]
  routes:
    description:
      - Also find the service, API and operation policies that route calls to each backend
        (C(set-backend-service backend-id="...")). This reads every policy of the service.
    type: bool
    default: false
seealso:
  - module: mtls.apim.backend
  - module: mtls.apim.certificate_info
'''

EXAMPLES = r'''
- name: Read the backends
  mtls.apim.backend_info:
    resource_group: rg-apim
    service_name: apim-dev
  register: backends

- name: Backends whose client certificate expires within 30 days
  ansible.builtin.debug:
    msg: "{{ item.0.name }} uses {{ item.1.name }}, which expires on {{ item.1.expiration_date }}"
  loop: "{{ backends.backends | subelements('client_certificates') }}"
  when: item.1.days_to_expiry is not none and item.1.days_to_expiry < 30
  loop_control:
    label: "{{ item.0.name }}"
'''

RETURN = r'''
backends:
  description: The backends, sorted by name. Empty when O(name) does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ARM id of the backend.
      type: str
    name:
      description: Backend identifier.
      type: str
      sample: orders-backend
    url:
      description: Runtime URL.
      type: str
      sample: https://orders.internal.example.com/api
    protocol:
      description: Protocol.
      type: str
      sample: http
    title:
      description: Title, or null.
      type: str
    description:
      description: Description, or null.
      type: str
    client_certificates:
      description:
        - The client certificates, each with C(name), C(thumbprint), C(subject), C(expiration_date) and
          C(days_to_expiry). A backend bound by thumbprint only lists the thumbprints, with the name of a
          certificate of the service that has it, or null.
      type: list
      elements: dict
      sample: [{"name": "orders-client", "thumbprint": "8E98...", "subject": "CN=orders-client",
                "expiration_date": "2027-11-29T00:00:00Z", "days_to_expiry": 364}]
    tls:
      description: C(validate_certificate_chain) and C(validate_certificate_name) (the service's default is true).
      type: dict
      sample: {"validate_certificate_chain": true, "validate_certificate_name": true}
    other_settings:
      description: Names of other settings the backend has (never their values), such as V(credentials.header).
      type: list
      elements: str
      sample: [credentials.header]
    routed_by:
      description: Policies that route calls to the backend, each with C(kind) and C(api), C(operation) as they apply.
      type: list
      elements: dict
      returned: when O(routes=true)
      sample: [{"kind": "api_policy", "api": "orders", "by": "backend-id"}]
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.backend import (
    BackendHandler, backend_result, backend_state)
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import CertificateHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import ReferenceFinder

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    name=dict(type='str', aliases=['backend_id']),
    routes=dict(type='bool', default=False),
)


def run(azure):
    params = azure.params
    client = azure.client('apim')
    handler = BackendHandler(client, params['resource_group'], params['service_name'])
    certificates = CertificateHandler(client, params['resource_group'], params['service_name'])
    if params['name']:
        found = handler.get(params['name'])
        if not found:
            certificates.require_service()
        backends = [found[0]] if found else []
    else:
        backends = sorted(handler.list(), key=lambda b: b.name)
    listed = certificates.list() if backends else []
    results = [backend_result(backend_state(b), listed, b.id, (b.credentials.certificate or []) if b.credentials else [])
               for b in backends]
    if params['routes'] and results:
        references = ReferenceFinder(client, params['resource_group'], params['service_name']).find()
        for result in results:
            result['routed_by'] = references.routes_to(result['name'])
    return dict(changed=False, backends=results)


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'apim'), supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
