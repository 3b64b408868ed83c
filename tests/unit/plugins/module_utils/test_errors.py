"""Reads of what a task names: a missing resource group or resource is the user's to fix, by option."""

import pytest

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import AzureError, ModuleError


class Handler:
    def __init__(self, error):
        self.resource_group = 'rg-x'
        self.name = 'kv-x'
        self.error = error

    @_errors.required('Reading the thing', 'vault_name %(name)r: not in %(resource_group)r.')
    def get(self):
        if self.error:
            raise self.error
        return 'found'


def test_found_passes_through():
    assert Handler(None).get() == 'found'


@pytest.mark.parametrize('code, message', [
    ('ResourceGroupNotFound', "resource_group 'rg-x' was not found in the subscription"),
    ('ResourceNotFound', "vault_name 'kv-x': not in 'rg-x'."),
])
def test_404_names_the_option(code, message):
    with pytest.raises(ModuleError, match=message):
        Handler(AzureError(404, code, 'gone', 'req')).get()


def test_other_errors_stay_azure_errors():
    with pytest.raises(AzureError) as raised:
        Handler(AzureError(403, 'AuthorizationFailed', 'no', 'req')).get()
    assert raised.value.status == 403
