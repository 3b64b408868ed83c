"""APIs, operations and raw policies set up behind the module's back, through the SDK.

    python policy_fixture.py api RG SERVICE API
    python policy_fixture.py operation RG SERVICE API OPERATION
    python policy_fixture.py put RG SERVICE API OPERATION|- FILE   (the file's text, as rawxml)
    python policy_fixture.py get RG SERVICE API OPERATION|-        (prints the rawxml text as a JSON string)
"""

import json
import os
import sys

SUPPORT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'support')
sys.path.insert(0, os.environ.get('SUPPORT_DIR', SUPPORT_DIR))

from arm_fixture import client  # noqa: E402  pylint: disable=wrong-import-position


def main(argv):
    from azure.mgmt.apimanagement import models

    command, rg, service, name = argv[:4]
    api = client()
    if command == 'api':
        api.api.begin_create_or_update(rg, service, name, models.ApiCreateOrUpdateParameter(
            display_name=name, path=name, protocols=['https'], service_url='https://backend.mtls.test/api')).result()
    elif command == 'operation':
        api.api_operation.create_or_update(rg, service, name, argv[4], models.OperationContract(
            display_name=argv[4], method='GET', url_template='/' + argv[4]))
    elif command == 'put':
        with open(argv[5], encoding='utf-8') as handle:
            policy = models.PolicyContract(value=handle.read(), format='rawxml')
        if argv[4] == '-':
            api.api_policy.create_or_update(rg, service, name, 'policy', policy)
        else:
            api.api_operation_policy.create_or_update(rg, service, name, argv[4], 'policy', policy)
    elif command == 'get':
        if argv[4] == '-':
            policy = api.api_policy.get(rg, service, name, 'policy', format='rawxml')
        else:
            policy = api.api_operation_policy.get(rg, service, name, argv[4], 'policy', format='rawxml')
        print(json.dumps(policy.value))  # JSON: the text exactly, trailing newline included
        return
    else:
        raise SystemExit('unknown command %s' % command)
    print('ok')


if __name__ == '__main__':
    main(sys.argv[1:])
