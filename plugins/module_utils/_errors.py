# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors, and the one place that reads an Azure error response.

Reads turn 404 into None and deletes turn 404 into False, so callers handle "not there" as an
ordinary value; every other Azure error becomes one AzureError that the module wrapper reports.
"""

from __future__ import annotations

import functools


class ModuleError(Exception):
    """A failure to report as it is: bad input, a refused operation, a missing prerequisite.

    Raised before any write whenever the problem is knowable before writing.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class AzureError(ModuleError):
    """An error answer from Azure, reduced to what a user needs: status, code, message, request id."""

    def __init__(self, status, code, message, request_id, operation=None):
        text = 'Azure answered %s %s: %s' % (status, code or 'error', message or '(no message)')
        if operation:
            text = '%s failed. %s' % (operation, text)
        if request_id:
            text += ' (request id %s)' % request_id
        super().__init__(text, status=status, error_code=code, error_message=message, request_id=request_id)
        self.status = status
        self.code = code
        self.error_message = message
        self.request_id = request_id


def from_http_error(exc, operation=None):
    """An AzureError from an azure-core HttpResponseError (never its raw body: it may echo secrets)."""
    response = getattr(exc, 'response', None)
    status = getattr(exc, 'status_code', None) or getattr(response, 'status_code', None)
    headers = getattr(response, 'headers', None) or {}
    request_id = headers.get('x-ms-request-id') or headers.get('x-ms-correlation-request-id')
    error = getattr(exc, 'error', None)
    code = getattr(error, 'code', None)
    message = getattr(error, 'message', None)
    details = getattr(error, 'details', None) or []
    detail_text = '; '.join('%s: %s' % (d.target, d.message) if getattr(d, 'target', None) else str(d.message)
                            for d in details if getattr(d, 'message', None))
    if detail_text:
        message = '%s %s' % (message or '', detail_text)
    if not message:
        message = getattr(exc, 'reason', None) or str(exc).splitlines()[0]
    return AzureError(status, code, message.strip(), request_id, operation)


def _http_error_type():
    from azure.core.exceptions import HttpResponseError

    return HttpResponseError


def azure_call(operation, missing=None, missing_value=None):
    """Decorator: run an SDK call, mapping 404 to `missing_value` when `missing` is set, else to AzureError."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            http_error = _http_error_type()
            try:
                return func(*args, **kwargs)
            except http_error as exc:
                if missing and getattr(exc, 'status_code', None) == 404:
                    return missing_value
                raise from_http_error(exc, operation) from None

        return wrapper

    return decorate


def read(operation):
    """A read: 404 gives None."""
    return azure_call(operation, missing=True, missing_value=None)


def delete(operation):
    """A delete: 404 gives False (nothing was there)."""
    return azure_call(operation, missing=True, missing_value=False)


def write(operation):
    """A write: every error is an AzureError."""
    return azure_call(operation)


def required(operation, missing):
    """A handler method reading something the task names: 404 is the user's to fix.

    A missing resource group, or the thing itself, becomes a ModuleError naming the option; `missing`
    is formatted with the handler's attributes (%(name)r, %(resource_group)r, ...).
    """

    def decorate(func):
        call = azure_call(operation)(func)

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            try:
                return call(self, *args, **kwargs)
            except AzureError as exc:
                if exc.status != 404:
                    raise
                if exc.code == 'ResourceGroupNotFound':
                    raise ModuleError('resource_group %r was not found in the subscription: check resource_group '
                                      'and subscription_id.' % self.resource_group) from None
                raise ModuleError(missing % vars(self)) from None

        return wrapper

    return decorate
