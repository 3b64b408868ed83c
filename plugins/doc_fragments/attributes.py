# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Shared attributes of the collection's modules."""

    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/mtls.apim.all) in C(module_defaults) to set the Azure options once for a play.
    support: full
    membership:
      - mtls.apim.all
'''

    ACTIONS = r'''
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: Running the module again with the same options changes nothing and reports changed=false.
    support: full
'''

    INFO_MODULE = r'''
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Reads only; has no diff.
    support: N/A
  idempotent:
    description: Reads only.
    support: full
'''
