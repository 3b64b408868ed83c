"""client_certificate_auth's argument spec stays the union of the three roles' specs (tests/roles/argspecs.py)."""

from __future__ import annotations

import argspecs


def test_composite_spec_is_in_step():
    assert argspecs.TARGET.read_text() == argspecs.render(), (
        'roles/client_certificate_auth/meta/argument_specs.yml is out of step; run python tests/roles/argspecs.py')


def test_every_role_has_its_spec_and_readme():
    for role in argspecs.ROLES.iterdir():
        assert (role / 'meta' / 'argument_specs.yml').is_file(), role
        assert (role / 'README.md').is_file(), role
