"""Policy surgery: the gateway's client certificate bound and unbound without touching anything else."""

import pytest

from ansible_collections.mtls.apim.plugins.module_utils._handlers.policy import (
    DEFAULT_POLICY, Document, PolicyError, bind, canonical, current_binding, hide_passwords, same_policy, unbind)

# rawxml as the service returns it: expressions are not escaped, so this is not XML on its own.
RAW = '''<policies>
  <inbound>
    <base />
    <!-- keep me: <authentication-certificate thumbprint="00"/> is only a comment -->
    <set-variable name="auth" value="@(context.Request.Headers.GetValueOrDefault("Authorization",""))" />
    <set-header name="X-Count" exists-action="override">
      <value>@{ var seen = new List<string>(); return seen.Count < 3 ? "few" : "many"; }</value>
    </set-header>
    <set-header name='X-Key' exists-action="override"><value>{{backend-key}}</value></set-header>
    <choose>
      <when condition="@(context.Variables.GetValueOrDefault<bool>("legacy"))">
        <authentication-certificate thumbprint="FFFF" />
        <set-backend-service base-url="https://legacy.example.com" />
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base/></outbound>
  <on-error />
</policies>'''


def test_bind_then_unbind_gives_back_the_same_bytes():
    bound, replaced = bind(RAW, 'orders-client', 'orders-backend')
    assert replaced == []
    assert ('    <base />\n    <authentication-certificate certificate-id="orders-client" />\n'
            '    <set-backend-service backend-id="orders-backend" />\n    <!-- keep me') in bound
    # Elements nested in <choose> are not the scope's binding and stay.
    assert bound.count('thumbprint="FFFF"') == 1 and 'base-url="https://legacy.example.com"' in bound
    unbound, removed = unbind(bound, 'orders-client', None, 'orders-backend')
    assert unbound == RAW
    assert removed == [{'element': 'authentication-certificate', 'certificate_id': 'orders-client'},
                       {'element': 'set-backend-service', 'backend_id': 'orders-backend'}]


def test_bind_is_idempotent_and_case_insensitive_on_the_id():
    bound = bind(RAW, 'orders-client')[0]
    again, replaced = bind(bound, 'Orders-Client')
    assert again == bound and replaced == []


def test_thumbprint_binding_is_replaced_in_place():
    text = RAW.replace('    <base />\n', '    <base />\n    <authentication-certificate thumbprint="AB12" />\n', 1)
    bound, replaced = bind(text, 'orders-client')
    assert replaced == [{'element': 'authentication-certificate', 'thumbprint': 'AB12'}]
    assert bound == text.replace('thumbprint="AB12"', 'certificate-id="orders-client"')


def test_other_certificate_and_duplicates_are_replaced_by_one_binding():
    text = ('<policies><inbound><authentication-certificate certificate-id="old" />'
            '<authentication-certificate thumbprint="AB" password="s3cret" /></inbound></policies>')
    bound, replaced = bind(text, 'new')
    assert bound == '<policies><inbound><authentication-certificate certificate-id="new" /></inbound></policies>'
    assert {'element': 'authentication-certificate', 'thumbprint': 'AB'} in replaced
    assert 's3cret' not in repr(replaced)


def test_existing_set_backend_service_is_replaced():
    text = ('<policies>\n  <inbound>\n    <base />\n    <set-backend-service base-url="https://x" />\n'
            '  </inbound>\n</policies>')
    bound, replaced = bind(text, 'c', 'b')
    assert '<set-backend-service backend-id="b" />' in bound and 'https://x' not in bound
    assert replaced == [{'element': 'set-backend-service', 'base_url': 'https://x'}]


@pytest.mark.parametrize('text, expected', [
    ('', DEFAULT_POLICY.replace('<base />\n  </inbound>',
                                '<base />\n    <authentication-certificate certificate-id="c" />\n  </inbound>')),
    ('<policies><inbound /></policies>',
     '<policies><inbound><authentication-certificate certificate-id="c" /></inbound></policies>'),
    ('<policies>\n  <inbound>\n  </inbound>\n</policies>',
     '<policies>\n  <inbound>\n    <authentication-certificate certificate-id="c" />\n  </inbound>\n</policies>'),
    ('<policies>\n  <outbound />\n</policies>',
     '<policies>\n  <inbound>\n    <base />\n    <authentication-certificate certificate-id="c" />\n  </inbound>\n'
     '  <outbound />\n</policies>'),
])
def test_bind_creates_what_is_missing(text, expected):
    assert bind(text, 'c')[0] == expected


def test_unbind_by_thumbprint_and_any():
    text = '<policies><inbound><base /><authentication-certificate thumbprint="ab12" /></inbound></policies>'
    assert unbind(text, 'client', 'AB12')[0] == '<policies><inbound><base /></inbound></policies>'
    assert unbind(text, 'client', 'CD34')[0] == text
    assert unbind(text)[0] == '<policies><inbound><base /></inbound></policies>'
    assert unbind('', 'client') == ('', [])
    assert unbind('<policies />', 'client') == ('<policies />', [])


def test_current_binding():
    assert current_binding(bind(RAW, 'c')[0]) == [{'element': 'authentication-certificate', 'certificate_id': 'c'}]
    assert current_binding('') == []


@pytest.mark.parametrize('text, message', [
    ('<policies><inbound></policies>', r'end tag </policies> does not match <inbound>'),
    ('<policies><inbound>@(context.Request</inbound></policies>', 'expression that is never closed'),
    ('<policies><inbound><!-- open</inbound></policies>', 'comment that is never closed'),
    ('<policies a=b />', 'has no quoted value'),
    ('<policies><inbound>', 'never closed'),
    ('hello', 'exactly one root element'),
    ('<policies/><policies/>', 'exactly one root element'),
    ('<policies><inbound a="1" a="2" /></policies>', 'duplicate attribute'),
    ('<root />', 'root element <root>'),
])
def test_malformed_policies_are_refused(text, message):
    with pytest.raises(PolicyError, match=message):
        bind(text, 'c')


def test_errors_give_a_line_and_column():
    with pytest.raises(PolicyError, match=r'line 3, column'):
        Document('<policies>\n  <inbound>\n  </outbound>\n</policies>')


def test_comparison_ignores_insignificant_whitespace_only():
    assert same_policy('<policies>\n  <inbound>\n    <base />\n  </inbound>\n</policies>',
                       '<policies><inbound><base/></inbound></policies>')
    assert not same_policy('<policies><inbound><base /></inbound></policies>',
                           '<policies><inbound><base /><x /></inbound></policies>')
    assert canonical('<a  b="1"   c="2" >t  u</a>') == '<a b="1" c="2">t u</a>'


def test_passwords_are_hidden_in_the_diff_text():
    text = '<authentication-basic username="u" password="p@ss" /><authentication-certificate password=\'x\' />'
    hidden = hide_passwords(text)
    assert 'p@ss' not in hidden and "password='********'" in hidden and 'username="u"' in hidden


class StalePolicies:
    """An api_policy client whose write finds the policy changed since it was read."""

    def create_or_update(self, *args, **kwargs):
        from ansible_collections.mtls.apim.plugins.module_utils._errors import AzureError

        assert kwargs['if_match'] == '"etag-1"'
        raise AzureError(412, 'PreconditionFailed', 'The entity was modified.', None)


def test_a_concurrent_edit_is_not_overwritten():
    from types import SimpleNamespace

    from ansible_collections.mtls.apim.plugins.module_utils._handlers.policy import PolicyScope

    scope = PolicyScope(SimpleNamespace(api_policy=StalePolicies()), 'rg', 'apim', 'orders')
    with pytest.raises(PolicyError.__mro__[1], match='The policy of API orders changed while this task ran'):
        scope.put('<policies />', '"etag-1"')
