#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pfx_info
short_description: Read a PFX's thumbprint, subject and expiry locally, without Azure
version_added: 0.3.0
description:
  - Reads a PFX (a file or base64 content, with its password) on the machine running the module and returns what
    API Management and Key Vault will report for it - thumbprint, subject, expiry - and nothing of the key.
  - Lets a play decide without reaching a vault whether an import is needed, for example by comparing with the
    thumbprint M(mtls.apim.certificate_info) reports for a Key Vault-backed certificate, so that a vault firewall
    is opened only when there is something to import.
  - Bad input fails with the same messages as M(mtls.apim.certificate).
  - Not part of the C(mtls.apim.all) action group, as it takes no Azure options.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.attributes.INFO_MODULE
options:
  pfx_path:
    description: Path of the PFX file. Mutually exclusive with O(pfx_content).
    type: path
  pfx_content:
    description: The PFX, base64-encoded. Never logged.
    type: str
  pfx_password:
    description: Password of the PFX. Never logged.
    type: str
requirements:
  - cryptography
seealso:
  - module: mtls.apim.vault_certificate
  - module: mtls.apim.certificate_info
'''

EXAMPLES = r'''
- name: Thumbprint of the PFX to import
  mtls.apim.pfx_info:
    pfx_path: files/orders-client.pfx
    pfx_password: "{{ vault_orders_client_password }}"
  register: pfx
'''

RETURN = r'''
thumbprint:
  description: SHA-1 thumbprint, upper-case hex.
  returned: success
  type: str
  sample: 8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2
subject:
  description: Subject, as API Management reports it.
  returned: success
  type: str
  sample: CN=orders-client, O=Contoso
expiration_date:
  description: Expiry, ISO 8601 UTC.
  returned: success
  type: str
  sample: '2027-11-29T00:00:00Z'
days_to_expiry:
  description: Whole days until expiry.
  returned: success
  type: int
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mtls.apim.plugins.module_utils import _clients
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._pfx import days_left, format_date, inspect_pfx, read_pfx_bytes


def main():
    module = AnsibleModule(
        argument_spec=dict(pfx_path=dict(type='path'), pfx_content=dict(type='str', no_log=True),
                           pfx_password=dict(type='str', no_log=True)),
        mutually_exclusive=[('pfx_path', 'pfx_content')], required_one_of=[('pfx_path', 'pfx_content')],
        supports_check_mode=True)
    if _clients.import_error('cryptography') is not None:
        module.fail_json(msg=missing_required_lib('cryptography'))
    failure = None
    try:
        data, field = read_pfx_bytes(module.params['pfx_path'], module.params['pfx_content'])
        info = inspect_pfx(data, module.params['pfx_password'], field)
    except ModuleError as exc:
        failure = exc.msg
    if failure is not None:
        module.fail_json(msg=failure)
    module.exit_json(changed=False, thumbprint=info.thumbprint, subject=info.subject,
                     expiration_date=format_date(info.not_after), days_to_expiry=days_left(info.not_after))


if __name__ == '__main__':
    main()
