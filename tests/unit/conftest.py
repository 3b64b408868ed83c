"""Make the repository importable as ansible_collections.mtls.apim for the unit tests."""

import os
import sys
import tempfile

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_root():
    root = os.path.join(tempfile.gettempdir(), 'mtls-apim-unit-%d' % os.getuid())
    link = os.path.join(root, 'ansible_collections', 'mtls', 'apim')
    if not os.path.islink(link) or os.path.realpath(link) != _REPO:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(_REPO, link)
    return root


sys.path.insert(0, _collection_root())
