# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Authentication options, named and read as azure.azcollection names and reads them."""

    DOCUMENTATION = r'''
options:
  auth_source:
    description:
      - Where the credentials come from. Also read from the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
      - V(auto) tries, in this order, the module options (O(profile), or O(client_id)/O(ad_user)), the
        environment variables (E(AZURE_PROFILE), or E(AZURE_CLIENT_ID)/E(AZURE_AD_USER)), the V(default)
        profile of C(~/.azure/credentials), and finally the Azure CLI's signed-in account.
      - V(env) reads E(AZURE_CLIENT_ID), E(AZURE_SECRET), E(AZURE_TENANT), E(AZURE_SUBSCRIPTION_ID),
        E(AZURE_AD_USER), E(AZURE_PASSWORD) and E(AZURE_CLOUD_ENVIRONMENT), the variables AWX's
        Microsoft Azure Resource Manager credential sets.
      - V(credential_file) reads the O(profile) section (default V(default)) of C(~/.azure/credentials).
      - V(cli) uses the Azure CLI's signed-in account (C(az login)) through azure-identity.
      - V(msi) uses the managed identity of the machine running the module; O(client_id) picks a
        user-assigned identity.
    type: str
    choices: [auto, cli, credential_file, env, msi]
  profile:
    description:
      - Section of C(~/.azure/credentials) to read. Also E(AZURE_PROFILE).
    type: str
  subscription_id:
    description:
      - Subscription holding the resources. Also E(AZURE_SUBSCRIPTION_ID) or the profile's C(subscription_id).
      - With O(auth_source=cli) it defaults to the Azure CLI's default subscription.
    type: str
  client_id:
    description:
      - Application (client) id of the service principal. Also E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Client secret of the service principal. Also E(AZURE_SECRET). Never logged.
    type: str
  tenant:
    description:
      - Tenant (directory) id. Also E(AZURE_TENANT).
    type: str
  ad_user:
    description:
      - User name for signing in as a user (no multi-factor authentication). Also E(AZURE_AD_USER).
    type: str
  password:
    description:
      - Password of O(ad_user). Also E(AZURE_PASSWORD). Never logged.
    type: str
  cloud_environment:
    description:
      - V(AzureCloud) (default), V(AzureChinaCloud), V(AzureUSGovernment), or the https URL of an ARM
        metadata endpoint (as for Azure Stack Hub, a private cloud, or the collection's local sandbox),
        from which the sign-in, resource manager and Key Vault endpoints are read.
        Also E(AZURE_CLOUD_ENVIRONMENT).
    type: str
  ca_bundle:
    description:
      - PEM file of certificate authorities to trust for Azure's endpoints, for private clouds and the
        local sandbox. Also E(AZURE_CA_BUNDLE). TLS certificates are always verified.
    type: path
requirements:
  - python >= 3.9
  - azure-identity
'''
