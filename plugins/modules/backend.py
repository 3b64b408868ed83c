#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: backend
short_description: Manage a backend of an Azure API Management service, with its client certificates and TLS checks
version_added: 0.2.0
description:
  - Ensures one backend entity of an API Management (APIM) service exists with the given URL, protocol, title,
    description, client certificates and TLS settings, or is absent.
  - Client certificates are named by their APIM certificate name (see M(mtls.apim.certificate)) and written as
    C(credentials.certificateIds). Naming a certificate that does not exist fails before anything is written.
  - Only what the task sets is compared and written. Settings it does not name (credentials headers, query
    parameters and authorization, proxy, circuit breaker and the like) are kept as they are, unless
    O(replace=true).
  - Updates are sent as PATCH and deletes as DELETE with the ETag read before (If-Match), so a change made by
    someone else in between fails the task instead of being overwritten.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  name:
    description: Backend identifier in the service; policies name it in C(set-backend-service backend-id="...").
    type: str
    required: true
    aliases: [backend_id]
  state:
    description: Whether the backend should exist.
    type: str
    choices: [present, absent]
    default: present
  url:
    description:
      - Runtime URL of the backend, absolute (for example C(https://orders.internal.example.com/api)).
      - Required to create a backend.
    type: str
  protocol:
    description: Backend protocol. A new backend gets V(http) unless set.
    type: str
    choices: [http, soap]
  title:
    description: Backend title.
    type: str
  description:
    description: Backend description.
    type: str
  client_certificates:
    description:
      - Names of APIM certificates the gateway presents to this backend.
      - Added to the certificates the backend already has, unless O(purge_client_certificates=true) or
        O(replace=true).
    type: list
    elements: str
  purge_client_certificates:
    description:
      - Remove client certificates not listed in O(client_certificates). With an empty O(client_certificates),
        removes them all (a binding by thumbprint too).
    type: bool
    default: false
  validate_certificate_chain:
    description:
      - Whether the gateway validates the certificate chain of the backend's server certificate.
      - The service's default is V(true). Set V(false) for a backend with a self-signed or privately issued
        certificate when its CA cannot be installed (see M(mtls.apim.ca_certificate)).
    type: bool
  validate_certificate_name:
    description:
      - Whether the gateway checks that the backend's server certificate names the backend's host.
      - The service's default is V(true).
    type: bool
  replace:
    description:
      - Write the backend exactly as the task describes it. Settings the task leaves out are reset to the
        service's defaults, and what the module does not manage (credentials headers, query and
        authorization, proxy, circuit breaker, pool, resource id) is removed. Requires O(url).
      - With V(false) (default) those settings are kept.
    type: bool
    default: false
seealso:
  - module: mtls.apim.backend_info
  - module: mtls.apim.certificate
  - module: mtls.apim.api_client_certificate
'''

EXAMPLES = r'''
- name: A backend that the gateway calls with a client certificate
  mtls.apim.backend:
    resource_group: rg-apim
    service_name: apim-dev
    name: orders-backend
    url: https://orders.internal.example.com/api
    title: Orders
    client_certificates:
      - orders-client

- name: Rotate to another certificate, removing the old one from the backend
  mtls.apim.backend:
    resource_group: rg-apim
    service_name: apim-dev
    name: orders-backend
    client_certificates:
      - orders-client-2026
    purge_client_certificates: true

- name: A test backend with a self-signed certificate
  mtls.apim.backend:
    resource_group: rg-apim
    service_name: apim-dev
    name: orders-test
    url: https://orders-test.internal.example.com/api
    validate_certificate_chain: false
    validate_certificate_name: false

- name: Remove a backend
  mtls.apim.backend:
    resource_group: rg-apim
    service_name: apim-dev
    name: orders-test
    state: absent
'''

RETURN = r'''
backend:
  description: The backend after the task (in check mode, as it would be). Absent after O(state=absent).
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: ARM id of the backend. Null in check mode when it would be created.
      type: str
      sample: /subscriptions/xxx/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-dev/backends/orders-backend
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
          C(days_to_expiry).
      type: list
      elements: dict
      sample: [{"name": "orders-client", "thumbprint": "8E98...", "subject": "CN=orders-client",
                "expiration_date": "2027-11-29T00:00:00Z", "days_to_expiry": 364}]
    tls:
      description: C(validate_certificate_chain) and C(validate_certificate_name).
      type: dict
      sample: {"validate_certificate_chain": true, "validate_certificate_name": true}
    other_settings:
      description:
        - What else the backend sets, which this module keeps (names only, never values), such as
          V(credentials.header).
      type: list
      elements: str
      sample: [credentials.header]
'''

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule, delete_result
from ansible_collections.mtls.apim.plugins.module_utils._handlers.backend import (
    BackendHandler, DesiredBackend, backend_result, backend_state)
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import CertificateHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import ReferenceFinder, refuse_deletion

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    name=dict(type='str', required=True, aliases=['backend_id']),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    url=dict(type='str'),
    protocol=dict(type='str', choices=['http', 'soap']),
    title=dict(type='str'),
    description=dict(type='str'),
    client_certificates=dict(type='list', elements='str', no_log=False),
    purge_client_certificates=dict(type='bool', default=False),
    validate_certificate_chain=dict(type='bool'),
    validate_certificate_name=dict(type='bool'),
    replace=dict(type='bool', default=False),
)


def _existing_certificates(certificates, names):
    """The service's certificates, after checking that every name in `names` is one of them."""
    listed = certificates.list()
    known = {c.name.lower() for c in listed}
    missing = [n for n in names if n.lower() not in known]
    if missing:
        one = len(missing) == 1
        raise ModuleError('client_certificates: %s %s not exist in service %s. Upload %s first with '
                          'mtls.apim.certificate.' % (', '.join(repr(n) for n in missing), 'does' if one else 'do',
                                                      certificates.service_name, 'it' if one else 'them'))
    return listed


def ensure_present(azure, handler, certificates, desired):
    found = handler.get(desired.name)
    contract, etag = found if found else (None, None)
    if contract is None:
        certificates.require_service()
        if 'url' not in desired.settings:
            raise ModuleError('url is required to create backend %s.' % desired.name)
    current = backend_state(contract)
    planned = desired.planned(current)
    listed = _existing_certificates(certificates, desired.certificates or [])
    changes = desired.changes(current, planned)
    result = dict(changed=bool(changes))
    after = planned
    backend_id = contract.id if contract is not None else None
    if changes and not azure.check_mode:
        if contract is None:
            contract = handler.create(desired.name, planned)
        elif desired.replace:
            contract = handler.replace(desired.name, planned, etag)
        else:
            contract = handler.update(desired.name, contract, planned, changes, etag)
        after, backend_id = backend_state(contract), contract.id
    elif not changes:
        after = current
    thumbprints = contract.credentials.certificate or [] if contract is not None and contract.credentials else []
    result['backend'] = backend_result(after, listed, backend_id, thumbprints)
    if azure.diff_mode:
        result['diff'] = dict(before=current or {}, after=after)
    return result


def ensure_absent(azure, handler, name):
    found = handler.get(name)
    if not found:
        return dict(changed=False)
    contract, etag = found
    routes = ReferenceFinder(handler.client, handler.resource_group, handler.service_name).find().routes_to(name)
    refuse_deletion('Backend %s' % name, 'the target of', routes,
                    'Route those calls elsewhere first (for example mtls.apim.api_client_certificate with another '
                    'backend, or state: absent), then delete it.')
    return delete_result(azure, backend_state(contract), lambda: handler.delete(name, etag))


def run(azure):
    params = azure.params
    client = azure.client('apim')
    handler = BackendHandler(client, params['resource_group'], params['service_name'])
    if params['state'] == 'absent':
        return ensure_absent(azure, handler, params['name'])
    desired = DesiredBackend(params)
    return ensure_present(azure, handler, CertificateHandler(client, params['resource_group'],
                                                             params['service_name']), desired)


def main():
    azure = AzureModule(
        ARGUMENT_SPEC,
        sdks=('identity', 'apim'),
        required_if=[('replace', True, ('url',))],
        supports_check_mode=True,
    )
    azure.run(run)


if __name__ == '__main__':
    main()
