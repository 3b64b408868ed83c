# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The API Management service a module works on."""

    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the API Management service.
    type: str
    required: true
  service_name:
    description: Name of the API Management service.
    type: str
    required: true
'''
