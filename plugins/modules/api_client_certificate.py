#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: api_client_certificate
short_description: Bind a client certificate to the backend calls of an API Management API or operation
version_added: 0.2.0
description:
  - Sets the portal's "Gateway credentials - Client cert" of an API, or of one operation of it - the client
    certificate the gateway presents to the backend - by ensuring an
    C(<authentication-certificate certificate-id="..." />) element in the C(inbound) section of that policy,
    and optionally a C(<set-backend-service backend-id="..." />) beside it. Creates the policy document when
    there is none. O(state=absent) removes them again.
  - The policy is edited as text. Every other element, attribute, comment and policy expression (C(@(...)),
    C(@{...}), C({{named-value}})) stays byte for byte as it was; comparison ignores insignificant whitespace,
    so a policy that already holds the binding is not written again.
  - A binding by thumbprint (what older portal flows wrote) or to another certificate is replaced by the
    C(certificate-id) form, because a thumbprint binding breaks at every rotation of the certificate.
    Only C(authentication-certificate) and C(set-backend-service) elements directly in C(inbound) are
    managed; those inside C(choose), C(send-request) and the like are left alone.
  - The policy is written with If-Match, so an edit made by someone else since it was read is never
    overwritten silently; the task fails and nothing is written.
  - Fails before any write when the policy is not well-formed XML, or when the API, the operation, the
    certificate or the backend does not exist.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  api:
    description: API identifier (the last segment of its id, not its display name).
    type: str
    required: true
    aliases: [api_id]
  operation:
    description:
      - Operation identifier within O(api). Leave out to bind the certificate for the whole API.
    type: str
    aliases: [operation_id]
  certificate:
    description:
      - Name (identifier) of the APIM certificate the gateway presents to the backend, as managed by
        M(mtls.apim.certificate).
      - Required with O(state=present). With O(state=absent), only a binding to this certificate (by id, or by
        its thumbprint) is removed; leave it out to remove any client certificate binding of the scope.
    type: str
    aliases: [certificate_id]
  backend:
    description:
      - Backend identifier to route the calls of the scope to, written as C(<set-backend-service backend-id="..." />).
        An existing C(set-backend-service) directly in C(inbound) is replaced.
      - With O(state=absent), a C(set-backend-service) naming this backend is removed too.
    type: str
    aliases: [backend_id]
  state:
    description: Whether the binding should be in the policy.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The diff shows the policy XML before and after; values of C(password) attributes are hidden in it.
  - The policy is read and written in the C(rawxml) format, where policy expressions are not XML-escaped.
seealso:
  - module: mtls.apim.certificate
  - module: mtls.apim.backend
  - name: authentication-certificate policy
    description: The policy element this module writes.
    link: https://learn.microsoft.com/azure/api-management/authentication-certificate-policy
'''

EXAMPLES = r'''
- name: Present the certificate orders-client to the backend of the orders API
  mtls.apim.api_client_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    api: orders
    certificate: orders-client

- name: Only for one operation, and route it to a backend entity
  mtls.apim.api_client_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    api: orders
    operation: list-orders
    certificate: orders-client
    backend: orders-backend

- name: Remove the binding
  mtls.apim.api_client_certificate:
    resource_group: rg-apim
    service_name: apim-dev
    api: orders
    certificate: orders-client
    state: absent
'''

RETURN = r'''
binding:
  description: The scope and what is bound in it after the task.
  returned: always
  type: dict
  contains:
    api:
      description: API identifier.
      type: str
      sample: orders
    operation:
      description: Operation identifier; null for the API scope.
      type: str
      sample: list-orders
    certificate:
      description: Certificate identifier bound; null after O(state=absent).
      type: str
      sample: orders-client
    thumbprint:
      description: Thumbprint of the certificate; null after O(state=absent).
      type: str
      sample: 8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2
    expiration_date:
      description: Expiry of the certificate, ISO 8601 UTC; null after O(state=absent).
      type: str
      sample: '2027-11-29T00:00:00Z'
    backend:
      description: Backend the scope is routed to by this module; null when O(backend) is not set or after O(state=absent).
      type: str
      sample: orders-backend
replaced:
  description:
    - Elements the task replaced or removed, each with C(element) and the attributes that identified it
      (C(certificate_id), C(thumbprint), C(backend_id), C(base_url)); never passwords.
  returned: always
  type: list
  elements: dict
  sample: [{"element": "authentication-certificate", "thumbprint": "8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2"}]
'''

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._pfx import format_date
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import CertificateHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.backend import BackendHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.policy import (
    PolicyScope, bind, hide_passwords, same_policy, unbind)

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    api=dict(type='str', required=True, aliases=['api_id']),
    operation=dict(type='str', aliases=['operation_id']),
    certificate=dict(type='str', aliases=['certificate_id'], no_log=False),
    backend=dict(type='str', aliases=['backend_id']),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
)


def _require_scope(scope, certificates):
    try:
        scope.require()
    except ModuleError:
        certificates.require_service()  # a missing resource group or service is the better message
        raise


def _certificate(certificates, name, required):
    found = certificates.get(name)
    if found is None and required:
        raise ModuleError('certificate %r: no certificate of that name in service %s. Upload it first with '
                          'mtls.apim.certificate.' % (name, certificates.service_name))
    return found[0] if found else None


def run(azure):
    params = azure.params
    client = azure.client('apim')
    rg, svc = params['resource_group'], params['service_name']
    present = params['state'] == 'present'
    certificates = CertificateHandler(client, rg, svc)
    scope = PolicyScope(client, rg, svc, params['api'], params['operation'])
    _require_scope(scope, certificates)
    certificate = None
    if params['certificate']:
        certificate = _certificate(certificates, params['certificate'], required=present)
    if present and params['backend'] and BackendHandler(client, rg, svc).get(params['backend']) is None:
        raise ModuleError('backend %r: no backend of that id in service %s. Create it first with mtls.apim.backend.'
                          % (params['backend'], svc))

    found = scope.get()
    before, etag = found if found else (None, None)
    if present:
        after, replaced = bind(before, params['certificate'], params['backend'])
        changed = found is None or not same_policy(before, after)
    else:
        after, replaced = unbind(before, params['certificate'], certificate.thumbprint if certificate else None,
                                 params['backend'])
        changed = found is not None and not same_policy(before, after)

    result = dict(changed=changed, replaced=replaced, binding=dict(
        api=params['api'], operation=params['operation'],
        certificate=params['certificate'] if present else None,
        thumbprint=certificate.thumbprint if present else None,
        expiration_date=format_date(certificate.expiration_date) if present and certificate.expiration_date else None,
        backend=params['backend'] if present else None))
    if changed and not azure.check_mode:
        scope.put(after, etag)
    if azure.diff_mode:
        result['diff'] = dict(before=hide_passwords(before), after=hide_passwords(after if changed else before),
                              before_header='%s (before)' % scope.describe(),
                              after_header='%s (after)' % scope.describe())
    return result


def main():
    azure = AzureModule(
        ARGUMENT_SPEC,
        sdks=('identity', 'apim'),
        required_if=[('state', 'present', ('certificate',))],
        supports_check_mode=True,
    )
    azure.run(run)


if __name__ == '__main__':
    main()
