# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The key vault a module manages through Azure Resource Manager."""

    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the key vault.
    type: str
    required: true
  vault_name:
    description: Name of the key vault.
    type: str
    required: true
'''
