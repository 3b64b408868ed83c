"""Finding authentication-certificate uses in policy documents."""

from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import (
    References, describe, policy_certificate_uses)

POLICY = '''<policies>
  <inbound>
    <base />
    <!-- gateway credential -->
    <authentication-certificate certificate-id="Backend-Client" />
    <send-request mode="new" response-variable-name="r">
      <set-url>https://x</set-url>
      <authentication-certificate thumbprint="ab12" />
    </send-request>
  </inbound>
  <backend><forward-request /></backend>
</policies>'''


def test_policy_uses_by_id_and_thumbprint():
    assert policy_certificate_uses(POLICY) == [('certificate-id', 'Backend-Client'), ('thumbprint', 'ab12')]
    assert policy_certificate_uses('<policies><inbound') == []


def test_reference_matching_by_name_and_thumbprint():
    refs = References([
        dict(kind='backend', backend='orders', by='certificate-id',
             value='/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/a/certificates/backend-client'),
        dict(kind='backend', backend='orders', by='thumbprint', value='ab12'),
        dict(kind='backend', backend='legacy', by='certificate-id', value='/certificates/other'),
        dict(kind='api_policy', api='orders', by='thumbprint', value='AB12'),
    ])
    found = refs.of('backend-client', 'ab12')
    assert [r.get('backend') or r.get('api') for r in found] == ['orders', 'orders']
    assert found[0]['by'] == 'certificate-id'
    assert describe(found[1]) == 'the policy of API orders (by thumbprint)'
    assert refs.of('unused', 'FFFF') == []


def test_routes_to_a_backend():
    from ansible_collections.mtls.apim.plugins.module_utils._handlers.references import policy_uses

    routed = '<policies><inbound><set-backend-service backend-id="Legacy" /></inbound></policies>'
    assert policy_uses(routed) == [('backend-id', 'Legacy')]
    assert policy_certificate_uses(routed) == []
    refs = References([dict(kind='api_policy', api='orders', by='backend-id', value='Legacy'),
                       dict(kind='backend', backend='legacy', by='certificate-id', value='/certificates/legacy')])
    assert refs.routes_to('legacy') == [dict(kind='api_policy', api='orders', by='backend-id')]
    assert refs.of('legacy') == [dict(kind='backend', backend='legacy', by='certificate-id')]
    assert describe(refs.routes_to('legacy')[0]) == 'the policy of API orders (by backend-id)'
