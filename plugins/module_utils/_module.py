# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module wrapper: auth options merged into every module, lazy SDK clients, one error exit."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mtls.apim.plugins.module_utils._auth import AUTH_ARGSPEC, AuthError, AzureAuth
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError, from_http_error
from ansible_collections.mtls.apim.plugins.module_utils import _clients


class AzureModule:
    """Wraps AnsibleModule for one Azure module.

    Modules call run(handler_function): everything it raises as ModuleError (bad input, Azure
    errors, refused operations) ends as fail_json with a message, never as a traceback.
    """

    def __init__(self, argument_spec, sdks=(), **kwargs):
        spec = dict(AUTH_ARGSPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self._auth = None
        self._clients = {}
        for sdk in sdks:
            error = _clients.import_error(sdk)
            if error is not None:
                self.module.fail_json(msg=missing_required_lib(_clients.PIP_NAMES[sdk]), exception=error)

    @property
    def auth(self):
        if self._auth is None:
            self._auth = AzureAuth(self.params)
        return self._auth

    def client(self, kind):
        """An SDK client of `kind` (see _clients.FACTORIES), built once per process."""
        if kind not in self._clients:
            self._require(kind)
            self._clients[kind] = _clients.FACTORIES[kind](self.auth)
        return self._clients[kind]

    def vault_certificates(self, vault_url):
        """The Key Vault certificates client of one vault, built once per vault and process."""
        key = ('vault_certificates', vault_url.rstrip('/').lower())
        if key not in self._clients:
            self._require('vault_certificates')
            self._clients[key] = _clients.vault_certificates(self.auth, vault_url)
        return self._clients[key]

    @staticmethod
    def _require(kind):
        """SDKs a task may or may not need are checked when first needed."""
        if _clients.import_error(kind) is not None:
            raise ModuleError(missing_required_lib(_clients.PIP_NAMES[kind]))

    def warn(self, msg):
        self.module.warn(msg)

    def run(self, func):
        """Run func(self) -> result dict and exit with it; turn every expected failure into fail_json.

        fail_json is called outside the except blocks: ansible-core 2.19 attaches the traceback of the
        exception being handled, and an expected failure is reported by its message alone.
        """
        failure = None
        try:
            result = func(self)
        except ModuleError as exc:  # AzureError included
            failure = dict(exc.details, msg=exc.msg)
        except AuthError as exc:
            failure = dict(msg='Authentication: %s' % exc)
        except Exception as exc:  # pylint: disable=broad-except
            failure = self._describe_unexpected(exc)
        if failure is not None:
            self.module.fail_json(**failure)
        self.module.exit_json(**result)

    @staticmethod
    def _describe_unexpected(exc):
        """azure-core errors that escaped a handler (sign-in, TLS, connection) get a clean message."""
        try:
            from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, AzureError as CoreError
        except ImportError:
            CoreError = ClientAuthenticationError = HttpResponseError = ()  # pylint: disable=invalid-name
        if isinstance(exc, ClientAuthenticationError):
            return dict(msg='Authentication failed: %s' % _first_line(exc))
        if isinstance(exc, HttpResponseError):
            error = from_http_error(exc)
            return dict(error.details, msg=error.msg)
        if isinstance(exc, CoreError):
            return dict(msg='Could not reach Azure: %s' % _first_line(exc))
        return dict(msg='Unexpected error: %s' % exc, exception=traceback.format_exc())


def delete_result(azure, before, delete):
    """The result of deleting what is there: the diff when asked for, and the delete itself unless in check mode."""
    result = dict(changed=True)
    if azure.diff_mode:
        result['diff'] = dict(before=before, after={})
    if not azure.check_mode:
        delete()
    return result


def _first_line(exc):
    text = getattr(exc, 'message', None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
