"""Create what later modules will manage (backends, APIs, policies) directly through the SDK.

Used by the integration playbooks until the backend and policy modules exist:
    python arm_fixture.py backend RG SERVICE NAME CERT
    python arm_fixture.py api-policy RG SERVICE API CERT_ID
    python arm_fixture.py operation-policy RG SERVICE API OPERATION THUMBPRINT
    python arm_fixture.py delete-backend RG SERVICE NAME
    python arm_fixture.py user-identity RG - NAME      (prints the identity as JSON)
    python arm_fixture.py api RG SERVICE NAME PATH SERVICE_URL
Credentials come from the same environment variables the modules read (AZURE_*).
"""

import os
import sys


def credential_and_cloud():
    from azure.identity import ClientSecretCredential
    from ansible_collections.mtls.apim.plugins.module_utils._auth import AzureAuth, AUTH_ARGSPEC

    auth = AzureAuth({key: None for key in AUTH_ARGSPEC})
    cloud = auth.cloud
    credential = ClientSecretCredential(os.environ['AZURE_TENANT'], os.environ['AZURE_CLIENT_ID'],
                                        os.environ['AZURE_SECRET'], authority=cloud.login,
                                        disable_instance_discovery=True, **auth.transport_kwargs())
    return credential, auth, cloud


def user_identity(rg, name):
    """A user-assigned identity created through ARM (Microsoft.ManagedIdentity), as a user would."""
    import json
    from azure.mgmt.msi import ManagedServiceIdentityClient

    credential, auth, cloud = credential_and_cloud()
    msi = ManagedServiceIdentityClient(credential, auth.subscription_id, base_url=cloud.resource_manager,
                                       credential_scopes=[cloud.arm_scope], **auth.transport_kwargs())
    identity = msi.user_assigned_identities.create_or_update(rg, name, {'location': 'westeurope'})
    print(json.dumps({'id': identity.id, 'principal_id': identity.principal_id, 'client_id': identity.client_id}))


def client():
    from azure.identity import ClientSecretCredential
    from azure.mgmt.apimanagement import ApiManagementClient
    from ansible_collections.mtls.apim.plugins.module_utils._auth import AzureAuth, AUTH_ARGSPEC

    auth = AzureAuth({key: None for key in AUTH_ARGSPEC})
    cloud = auth.cloud
    credential = ClientSecretCredential(os.environ['AZURE_TENANT'], os.environ['AZURE_CLIENT_ID'],
                                        os.environ['AZURE_SECRET'], authority=cloud.login,
                                        disable_instance_discovery=True, **auth.transport_kwargs())
    return ApiManagementClient(credential, auth.subscription_id, base_url=cloud.resource_manager,
                               credential_scopes=[cloud.arm_scope], **auth.transport_kwargs())


def policy(element):
    return ('<policies>\n  <inbound>\n    <base />\n    <!-- keep me -->\n    %s\n  </inbound>\n'
            '  <backend><base /></backend>\n  <outbound><base /></outbound>\n  <on-error><base /></on-error>\n'
            '</policies>' % element)


def main(argv):
    from azure.mgmt.apimanagement import models

    command, rg, service = argv[0], argv[1], argv[2]
    if command == 'user-identity':
        user_identity(rg, argv[3])
        return
    api = client()
    if command == 'backend':
        name, cert = argv[3], argv[4]
        api.backend.create_or_update(rg, service, name, models.BackendContract(
            url='https://backend.mtls.test/api', protocol='http',
            credentials=models.BackendCredentialsContract(certificate_ids=['/certificates/%s' % cert])))
    elif command == 'delete-backend':
        api.backend.delete(rg, service, argv[3], if_match='*')
    elif command == 'api':
        name, path, service_url = argv[3], argv[4], argv[5]
        api.api.begin_create_or_update(rg, service, name, models.ApiCreateOrUpdateParameter(
            display_name=name, path=path, protocols=['https'], service_url=service_url)).result()
    elif command == 'api-policy':
        name, cert = argv[3], argv[4]
        api.api.begin_create_or_update(rg, service, name, models.ApiCreateOrUpdateParameter(
            display_name=name, path=name, protocols=['https'], service_url='https://backend.mtls.test/api')).result()
        api.api_policy.create_or_update(rg, service, name, 'policy', models.PolicyContract(
            value=policy('<authentication-certificate certificate-id="%s" />' % cert), format='rawxml'))
    elif command == 'operation-policy':
        name, operation, thumbprint = argv[3], argv[4], argv[5]
        api.api_operation.create_or_update(rg, service, name, operation, models.OperationContract(
            display_name=operation, method='GET', url_template='/' + operation))
        api.api_operation_policy.create_or_update(rg, service, name, operation, 'policy', models.PolicyContract(
            value=policy('<authentication-certificate thumbprint="%s" />' % thumbprint), format='rawxml'))
    else:
        raise SystemExit('unknown command %s' % command)
    print('ok')


if __name__ == '__main__':
    main(sys.argv[1:])
