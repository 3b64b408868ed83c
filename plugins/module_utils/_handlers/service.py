# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API Management service itself: its managed identities, and long-running updates."""

from __future__ import annotations

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError

SYSTEM = 'SystemAssigned'
USER = 'UserAssigned'
IDENTITY_PROVIDER = '/providers/microsoft.managedidentity/userassignedidentities/'

# Azure's default polling interval for a long-running operation without Retry-After is 30 s; an
# APIM update takes minutes, so a shorter interval ends the wait sooner without flooding ARM.
POLLING_INTERVAL = 10


def identity_id(value, subscription_id, resource_group):
    """A user-assigned identity's ARM id from its id or its name (in `resource_group`)."""
    if value.startswith('/'):
        if IDENTITY_PROVIDER not in value.lower():
            raise ModuleError('%r is not the resource id of a user-assigned managed identity '
                              '(.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>).' % value)
        return value.rstrip('/')
    return ('/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s'
            % (subscription_id, resource_group, value))


class Identity:
    """The managed identities of a service, as plain values."""

    def __init__(self, model):
        kind = (getattr(model, 'type', None) or 'None') if model is not None else 'None'
        self.system = kind.replace(' ', '').lower() in ('systemassigned', 'systemassigned,userassigned')
        self.principal_id = getattr(model, 'principal_id', None) if self.system else None
        self.tenant_id = getattr(model, 'tenant_id', None) if model is not None else None
        self.user_assigned = {}
        for key, value in ((getattr(model, 'user_assigned_identities', None) or {}) if model is not None else {}).items():
            self.user_assigned[key.lower()] = dict(id=key, principal_id=getattr(value, 'principal_id', None),
                                                   client_id=getattr(value, 'client_id', None))

    @staticmethod
    def type_for(system, user_assigned):
        if system and user_assigned:
            return '%s, %s' % (SYSTEM, USER)
        return SYSTEM if system else (USER if user_assigned else 'None')

    def by_client_id(self, client_id):
        for entry in self.user_assigned.values():
            if (entry['client_id'] or '').lower() == (client_id or '').lower():
                return entry
        return None

    def by_principal_id(self, principal_id):
        for entry in self.user_assigned.values():
            if (entry['principal_id'] or '').lower() == (principal_id or '').lower():
                return entry
        return None

    def view(self):
        return dict(type=self.type_for(self.system, self.user_assigned), principal_id=self.principal_id,
                    tenant_id=self.tenant_id,
                    user_assigned_identities=sorted(self.user_assigned.values(), key=lambda e: e['id'].lower()))


class ServiceHandler:
    """One API Management service through azure-mgmt-apimanagement."""

    def __init__(self, client, resource_group, name):
        self.client = client
        self.resource_group = resource_group
        self.name = name

    @_errors.required('Reading the API Management service',
                      'service_name %(name)r: no API Management service of that name in resource group '
                      '%(resource_group)r.')
    def get(self):
        """The service; a ModuleError naming resource_group or service_name when it is not there."""
        return self.client.api_management_service.get(self.resource_group, self.name)

    @_errors.write('Updating the API Management service')
    def update(self, wait, timeout, polling_interval=POLLING_INTERVAL, **properties):
        """PATCH the service, a long-running operation: the service after it, or None when not waiting.

        azure-core's ARM polling honours the service's Retry-After; polling_interval applies without one.
        """
        from azure.mgmt.apimanagement.models import ApiManagementServiceUpdateParameters

        poller = self.client.api_management_service.begin_update(
            self.resource_group, self.name, ApiManagementServiceUpdateParameters(**properties),
            polling_interval=polling_interval)
        if not wait:
            return None
        service = poller.result(timeout=timeout)
        if not poller.done():
            raise ModuleError('The update of service %s did not finish within %d seconds (wait_timeout); it goes on '
                              'in Azure. Run the task again later to see the result.' % (self.name, timeout))
        return service

    def principal(self, service, identity):
        """(kind, principal id, client id) of the service's system-assigned identity or a user-assigned one.

        `identity` is 'SystemAssigned' (or empty), or a user-assigned identity's name, id or client id.
        """
        current = Identity(service.identity)
        if not identity or identity.lower() in ('system', 'systemassigned'):
            if not current.system:
                raise ModuleError('API Management service %s has no system-assigned identity: enable it with '
                                  'mtls.apim.service_identity (system_assigned: true).' % self.name)
            return SYSTEM, current.principal_id, None
        wanted = identity.lower()
        for entry in current.user_assigned.values():
            if wanted in (entry['id'].lower(), entry['id'].lower().rsplit('/', 1)[-1], (entry['client_id'] or '').lower()):
                return USER, entry['principal_id'], entry['client_id']
        raise ModuleError('API Management service %s has no user-assigned identity %r (it has: %s). Attach it with '
                          'mtls.apim.service_identity.' % (self.name, identity, ', '.join(
                              e['id'].rsplit('/', 1)[-1] for e in current.user_assigned.values()) or 'none'))
