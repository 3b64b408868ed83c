"""Change or show a backend behind the module's back, through the SDK (as another tool would).

    python backend_fixture.py set-header RG SERVICE NAME HEADER VALUE
    python backend_fixture.py show RG SERVICE NAME      -> JSON of the backend's credentials
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
    if command == 'set-header':
        api.backend.update(rg, service, name, '*', models.BackendUpdateParameters(
            credentials=models.BackendCredentialsContract(header={argv[4]: [argv[5]]})))
    elif command == 'show':
        backend = api.backend.get(rg, service, name)
        credentials = backend.credentials.as_dict() if backend.credentials else {}
        print(json.dumps(credentials))
        return
    else:
        raise SystemExit('unknown command %s' % command)
    print('ok')


if __name__ == '__main__':
    main(sys.argv[1:])
